/// Documents per shard.
pub fn per_shard(docs: u64, shards: u64) -> u64 {
    docs / shards
}

pub struct Node {
    pub name: Option<String>,
    pub children: Vec<Node>,
}

pub fn nested(depth: usize) -> Node {
    let mut n = Node { name: None, children: vec![] };
    for i in 0..depth {
        n = Node { name: Some(format!("n{i}")), children: vec![n] };
    }
    n
}

/// The depth of the tree (a node without a name: the bug).
pub fn depth_of(n: &Node, depth: usize) -> usize {
    let name = n.name.as_ref().expect("index node without a name");
    let _ = name;
    n.children.iter().map(|c| depth_of(c, depth + 1)).max().unwrap_or(depth)
}
