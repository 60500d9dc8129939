/// Errors talking to the chain.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("chain RPC: {0}")]
    Rpc(String),
    #[error("contract call {call} reverted or failed: {reason}")]
    Call { call: String, reason: String },
    #[error("transaction {call} failed on chain (status 0, tx {tx})")]
    Failed { call: String, tx: String },
    #[error("{0}")]
    Invalid(String),
}
