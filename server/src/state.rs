//! What every handler shares: the state the start-up code builds and the routes read.
//! Neither the routes nor this module know how the service is started.

use crate::auth::Authenticator;
use crate::config::Settings;
use crate::jobs::JobStore;
use crate::metrics::Metrics;
use crate::pool::ProverPool;
use crate::roots::{ChainHealth, ChainReader};
use std::sync::{Arc, Mutex};
use zkmed_prover::KeyStore;
use zkmed_verifier::KeySet;

/// Whether the service can prove yet.
#[derive(Debug, Clone)]
pub enum Readiness {
    Ready,
    Loading(String),
    Failed(String),
}

/// What every handler shares.
pub struct AppState {
    pub settings: Settings,
    pub keys: Arc<KeyStore>,
    pub vkeys: KeySet,
    pub pool: ProverPool,
    pub jobs: Arc<JobStore>,
    pub metrics: Arc<Metrics>,
    pub auth: Authenticator,
    /// The chain-backed root source, when `[chain]` is configured.
    pub chain: Option<Arc<ChainReader>>,
    pub(crate) readiness: Arc<Mutex<Readiness>>,
    pub(crate) chain_health: Arc<Mutex<ChainHealth>>,
}

impl AppState {
    /// Ready when the proving keys are loaded and, with `[chain]`, the node answered its
    /// last probe.
    pub fn readiness(&self) -> Readiness {
        let keys = self.readiness.lock().expect("readiness lock").clone();
        if !matches!(keys, Readiness::Ready) || self.chain.is_none() {
            return keys;
        }
        match self.chain_health.lock().expect("chain health lock").clone() {
            ChainHealth::Up => Readiness::Ready,
            ChainHealth::Unknown => Readiness::Loading("checking the chain node".into()),
            ChainHealth::Down(why) => Readiness::Failed(format!(
                "the chain node does not answer ([chain] rpc): {why}"
            )),
        }
    }
}
