/// The first `n` bytes of a document (cutting inside a character: the bug).
pub fn snippet(text: &str, n: usize) -> String {
    let end = n.min(text.len());
    text[..end].to_string()
}

/// The page number of a query string.
pub fn page_param(raw: &str) -> u32 {
    raw.trim().parse::<u32>().unwrap()
}
