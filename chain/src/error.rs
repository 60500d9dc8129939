/// Errors talking to the chain.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("chain RPC: {0}")]
    Rpc(String),
    /// The node did not answer (connection refused or reset, timed out, HTTP 5xx) within
    /// the connection's timeouts and retries.
    #[error("chain node unreachable: {0}")]
    Unreachable(String),
    #[error("contract call {call} reverted or failed: {reason}")]
    Call { call: String, reason: String },
    #[error("transaction {call} failed on chain (status 0, tx {tx})")]
    Failed { call: String, tx: String },
    #[error("{0}")]
    Invalid(String),
}
