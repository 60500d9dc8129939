//! [`ChainRoots`]: a [`RootSource`] backed by the on-chain identity tree (`ZkmedIdentity`)
//! and anchored state (`StateRegistry`), over a node's JSON-RPC or the embedded chain.
//!
//! For a root an attestation names, the source says what the chain holds, the same facts
//! the contracts' `isIdentityRootAccepted` / `isStateRootAccepted` read:
//! - the current root: [`RootStatus::Current`];
//! - a past root: [`RootStatus::Superseded`] with how long ago (against the chain's clock,
//!   the latest block's timestamp), for the verifier's window to judge;
//! - a global state root created before the last issuer suspension and since superseded:
//!   [`RootStatus::Refused`] (no window accepts it: it may commit to the suspended issuer's
//!   notes);
//! - anything else: [`RootStatus::Unknown`].
//!
//! Nothing is cached: every answer is read from the chain. The trait is synchronous; over
//! JSON-RPC the calls run on the backend's own thread and runtime, so the source can be
//! called from any thread, async executors' included (it blocks the caller until the chain
//! answers).

use crate::backend::{Backend, Registry, RpcBackend, RpcOptions};
use crate::client::Deployment;
use crate::error::ChainError;
use std::sync::Mutex;
use zkmed_core::roots::{RootSource, RootSourceError, RootStatus};
use zkmed_core::Fr;

/// The chain-backed root source, over any [`Backend`]: a node over JSON-RPC
/// ([`ChainRoots::connect`]) or the embedded chain ([`ChainRoots::new`]). The verifier
/// does not know which.
pub struct ChainRoots<B: Backend + Send> {
    registry: Mutex<Registry<B>>,
    name: String,
}

impl ChainRoots<RpcBackend> {
    /// Reads the contracts of `deployment` at `rpc_url` (no key needed), with the default
    /// [`RpcOptions`].
    pub fn connect(
        rpc_url: &str,
        deployment: Deployment,
    ) -> Result<ChainRoots<RpcBackend>, ChainError> {
        Self::connect_with(rpc_url, deployment, RpcOptions::default())
    }

    /// [`ChainRoots::connect`] with the connection's timeouts and retries: a dead node makes
    /// a lookup fail with [`RootSourceError`] within them.
    pub fn connect_with(
        rpc_url: &str,
        deployment: Deployment,
        options: RpcOptions,
    ) -> Result<ChainRoots<RpcBackend>, ChainError> {
        let backend = RpcBackend::read_only_with(rpc_url, options)?;
        let mut roots = ChainRoots::new(Registry::attach(backend, deployment));
        roots.name = format!(
            "chain {} over JSON-RPC (identity {}, state {})",
            shown_url(rpc_url),
            deployment.identity,
            deployment.state
        );
        Ok(roots)
    }
}

/// `scheme://host:port` of an RPC URL (its path can hold a provider's API key).
fn shown_url(rpc_url: &str) -> String {
    let rest = rpc_url.split_once("://");
    match rest {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            let host = host.rsplit('@').next().unwrap_or(host);
            format!("{scheme}://{host}")
        }
        None => "?".into(),
    }
}

impl<B: Backend + Send> ChainRoots<B> {
    /// Reads `registry`'s deployment, over whatever backend it has (e.g. the embedded chain).
    pub fn new(registry: Registry<B>) -> ChainRoots<B> {
        let d = registry.deployment;
        ChainRoots {
            name: format!("chain (identity {}, state {})", d.identity, d.state),
            registry: Mutex::new(registry),
        }
    }

    /// Names the chain in [`RootSource::describe`] (e.g. "the embedded chain in DIR").
    pub fn named(mut self, name: impl Into<String>) -> ChainRoots<B> {
        self.name = name.into();
        self
    }

    /// Reads the chain id: `Ok` when the chain answers (a service's readiness probe).
    pub fn ping(&self) -> Result<(), ChainError> {
        self.registry
            .lock()
            .map_err(|_| ChainError::Invalid("registry lock poisoned".into()))?
            .ping()
    }

    fn registry(&self) -> Result<std::sync::MutexGuard<'_, Registry<B>>, RootSourceError> {
        self.registry
            .lock()
            .map_err(|_| RootSourceError("registry lock poisoned".into()))
    }
}

fn unavailable(e: ChainError) -> RootSourceError {
    RootSourceError(e.to_string())
}

fn ago(now: u64, at: u64) -> RootStatus {
    RootStatus::Superseded {
        ago_s: now.saturating_sub(at),
    }
}

impl<B: Backend + Send> RootSource for ChainRoots<B> {
    fn identity_root(&self, root: &Fr) -> Result<RootStatus, RootSourceError> {
        let mut r = self.registry()?;
        if r.identity_root().map_err(unavailable)? == *root {
            return Ok(RootStatus::Current);
        }
        match r.identity_root_superseded_at(root).map_err(unavailable)? {
            None => Ok(RootStatus::Unknown),
            Some(at) => {
                let now = r.backend.timestamp().map_err(unavailable)?;
                Ok(ago(now, at))
            }
        }
    }

    fn state_root(&self, root: &Fr) -> Result<RootStatus, RootSourceError> {
        let mut r = self.registry()?;
        if r.global_root().map_err(unavailable)? == *root {
            return Ok(RootStatus::Current);
        }
        let Some(t) = r.global_root_times(root).map_err(unavailable)? else {
            return Ok(RootStatus::Unknown);
        };
        let Some(at) = t.superseded_at else {
            // Recorded but neither current nor superseded: not a root the chain vouches for.
            return Ok(RootStatus::Unknown);
        };
        let epoch = r.suspension_epoch().map_err(unavailable)?;
        if t.epoch != epoch {
            return Ok(RootStatus::Refused(format!(
                "the global state root was created in suspension epoch {}, before an issuer's \
                 suspension (epoch {epoch} now): it may commit to a suspended issuer's notes",
                t.epoch
            )));
        }
        let now = r.backend.timestamp().map_err(unavailable)?;
        Ok(ago(now, at))
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}
