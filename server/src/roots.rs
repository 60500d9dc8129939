//! The chain the service checks attestations' roots against (the identity and global state
//! roots, with their history: `zkmed_chain::ChainRoots`), the health of its node, and how
//! a node's URL is shown.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// A node's URL as reports and errors may show it: scheme, host and port only (a
/// provider's URL path or user part can hold an API key).
pub fn node_label(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or(authority);
    if scheme.is_empty() {
        host.to_string()
    } else {
        format!("{scheme}://{host}")
    }
}

/// The service's chain: the identity tree and the anchored state over JSON-RPC.
pub type ChainReader = zkmed_chain::ChainRoots<zkmed_chain::RpcBackend>;

/// Whether the configured node answered its last readiness probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainHealth {
    /// Not probed yet.
    Unknown,
    Up,
    /// The last probe failed, with why.
    Down(String),
}

/// Probes the node every `interval` (the first probe at once) on a thread of its own and
/// records the outcome in `health`; stops when the service (the last strong reference to
/// `chain`) is gone.
pub fn spawn_probe(
    chain: &Arc<ChainReader>,
    health: Arc<Mutex<ChainHealth>>,
    interval: Duration,
) -> std::io::Result<()> {
    let weak: Weak<ChainReader> = Arc::downgrade(chain);
    std::thread::Builder::new()
        .name("zkmed-chain-probe".into())
        .spawn(move || loop {
            let Some(chain) = weak.upgrade() else {
                return;
            };
            let outcome = match chain.ping() {
                Ok(()) => ChainHealth::Up,
                Err(e) => ChainHealth::Down(e.to_string()),
            };
            drop(chain);
            if let Ok(mut h) = health.lock() {
                if *h != outcome {
                    match &outcome {
                        ChainHealth::Down(why) => {
                            tracing::warn!(error = %why, "chain node unreachable: not ready")
                        }
                        _ => tracing::info!("chain node answers"),
                    }
                }
                *h = outcome;
            }
            // Sleep in short steps so a stopped service's probe exits promptly.
            let mut left = interval;
            while !left.is_zero() {
                let step = left.min(Duration::from_millis(200));
                std::thread::sleep(step);
                left -= step;
                if weak.strong_count() == 0 {
                    return;
                }
            }
        })
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_labels_never_carry_paths_or_credentials() {
        assert_eq!(node_label("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
        assert_eq!(
            node_label("https://user:pw@rpc.example/v3/SECRETKEY?x=1"),
            "https://rpc.example"
        );
        assert_eq!(node_label("localhost:8545/abc"), "localhost:8545");
    }
}
