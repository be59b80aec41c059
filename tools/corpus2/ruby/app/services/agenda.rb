class Agenda
  def self.nested(depth)
    node = { title: nil, children: [] }
    depth.times { |i| node = { title: "s#{i}", children: [node] } }
    node
  end

  def self.titles(node, depth = 0)
    raise ArgumentError, "session without title at depth #{depth}" if node[:title].nil?

    [node[:title]] + node[:children].flat_map { |c| titles(c, depth + 1) }
  end
end
