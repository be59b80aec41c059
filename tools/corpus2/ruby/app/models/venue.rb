class Venue
  attr_reader :name, :owner

  def initialize(name, owner)
    @name = name
    @owner = owner
  end

  def owner_label
    "#{name} (#{owner.name})"
  end
end
