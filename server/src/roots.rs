//! The commitment sources the service and the CLI check attestations against, labelled for
//! verification reports, and the health of a configured chain node.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use zkmed_core::Fr;
use zkmed_verifier::{Accepted, CommitmentSource, FreshnessRule, Origin, SourceError, SourceInfo};

/// A commitment source with the description a verification report gives of it (where its
/// commitments come from and which anchors it accepts); checks go to `inner`.
pub struct Labelled<S> {
    pub inner: S,
    pub info: SourceInfo,
}

impl<S: CommitmentSource> CommitmentSource for Labelled<S> {
    fn check_commitment(&self, idc: &Fr, rc: &Fr) -> Result<(), SourceError> {
        self.inner.check_commitment(idc, rc)
    }
    fn describe(&self) -> SourceInfo {
        self.info.clone()
    }
    fn accept(&self, idc: &Fr, rc: &Fr) -> Result<Accepted, SourceError> {
        self.inner.accept(idc, rc)
    }
}

/// How a chain-backed source is described: which chain, and the freshness rule in effect.
/// An accepted pair reused from a cache for `cache_s` seconds widens "current" to
/// "current within `within_s + cache_s`", and the report says so.
pub fn chain_info(chain: String, within_s: u64, cache_s: u64) -> SourceInfo {
    let window = within_s + cache_s;
    SourceInfo {
        origin: Origin::Chain { chain },
        freshness: Some(if window == 0 {
            FreshnessRule::CurrentOnly
        } else {
            FreshnessRule::Within { seconds: window }
        }),
    }
}

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

/// The service's chain: the registries over JSON-RPC, labelled for reports.
pub type ChainReader = Labelled<zkmed_chain::ChainCommitments>;

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
            let outcome = match chain.inner.ping() {
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
