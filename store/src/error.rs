//! The store's error type and its classification.

/// What went wrong talking to ClickHouse.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The server could not be reached, timed out, or answered with a transient error
    /// (overloaded, too many parts, memory limit). Retrying later may succeed.
    #[error("ClickHouse unavailable: {0}")]
    Unavailable(String),
    /// The server rejected the statement or the data (syntax, types, schema). Retrying the same
    /// thing will fail again.
    #[error("ClickHouse rejected the request: {0}")]
    Rejected(String),
    /// Configuration or local problem (bad URL, missing binary, I/O).
    #[error("{0}")]
    Local(String),
}

impl StoreError {
    /// Whether the same request may succeed if tried again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// ClickHouse server error codes that are worth retrying: the server, the network or the
/// cluster is busy or failing, not the data. TIMEOUT_EXCEEDED (159), SOCKET_TIMEOUT (209),
/// NETWORK_ERROR (210), TOO_MANY_SIMULTANEOUS_QUERIES (202), NO_FREE_CONNECTION (203),
/// MEMORY_LIMIT_EXCEEDED (241), TABLE_IS_READ_ONLY (242: a replica without ZooKeeper),
/// TOO_MANY_PARTS (252), ALL_CONNECTION_TRIES_FAILED (279: a shard down), CANNOT_ALLOCATE_MEMORY
/// (173), ABORTED (236), NO_ZOOKEEPER (225), TOO_FEW_LIVE_REPLICAS (285),
/// UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE (286), UNKNOWN_STATUS_OF_INSERT (319: ZooKeeper lost
/// while a replicated insert committed — "client must retry"; a replay is deduplicated),
/// QUERY_WAS_CANCELLED (394: the server is stopping), SYSTEM_ERROR (425), KEEPER_EXCEPTION (999).
const RETRYABLE_CODES: &[u32] = &[
    159, 173, 202, 203, 209, 210, 225, 236, 241, 242, 252, 279, 285, 286, 319, 394, 425, 999,
];

/// Extracts `N` from a server message such as `Code: 60. DB::Exception: ...`.
fn server_code(msg: &str) -> Option<u32> {
    let rest = msg.split("Code: ").nth(1)?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

impl From<clickhouse::error::Error> for StoreError {
    fn from(e: clickhouse::error::Error) -> Self {
        use clickhouse::error::Error as E;
        match e {
            E::Network(_) | E::TimedOut => StoreError::Unavailable(e.to_string()),
            E::BadResponse(ref msg) => match server_code(msg) {
                Some(code) if RETRYABLE_CODES.contains(&code) => {
                    StoreError::Unavailable(e.to_string())
                }
                Some(_) => StoreError::Rejected(e.to_string()),
                // No code: a proxy or a server that died mid-answer.
                None => StoreError::Unavailable(e.to_string()),
            },
            E::InvalidParams(_) | E::Unsupported(_) => StoreError::Local(e.to_string()),
            _ => StoreError::Rejected(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_codes_are_classified() {
        assert_eq!(
            server_code("Code: 60. DB::Exception: Table x doesn't exist"),
            Some(60)
        );
        assert_eq!(
            server_code("bad response: Code: 252, e.displayText()"),
            Some(252)
        );
        assert_eq!(server_code("502 Bad Gateway"), None);
        let e: StoreError = clickhouse::error::Error::BadResponse(
            "Code: 252. DB::Exception: Too many parts".into(),
        )
        .into();
        assert!(e.is_retryable());
        let e: StoreError = clickhouse::error::Error::BadResponse(
            "Code: 27. DB::Exception: Cannot parse input".into(),
        )
        .into();
        assert!(!e.is_retryable());
        let e: StoreError = clickhouse::error::Error::TimedOut.into();
        assert!(e.is_retryable());
        // A replicated insert whose commit lost ZooKeeper: retried, never quarantined.
        let e: StoreError = clickhouse::error::Error::BadResponse(
            "Code: 319, e.displayText() = DB::Exception: Unknown status, client must retry. Reason: Connection loss".into(),
        )
        .into();
        assert!(e.is_retryable());
    }
}
