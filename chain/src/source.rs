//! A [`CommitmentSource`] backed by the on-chain registries, over a node's JSON-RPC or the
//! embedded chain.
//!
//! `check_commitment(idc, rc)` accepts `rc` when, on chain:
//! 1. `idc` belongs to an identity token (`tokenOfCommitment`) that is active and still
//!    holds `idc` (not revoked, not replaced by recovery);
//! 2. `rc` is that token's current root ([`Freshness::Current`]) or was current at some
//!    moment in the last N seconds ([`Freshness::Within`]);
//! 3. the issuer that anchored `rc` is accredited now (a suspended issuer's roots are
//!    refused).
//!
//! Reads are cached: an *accepted* pair is remembered for `max_age`, so with caching the
//! effective rule is "current within `max_age`" (12 s is about one Ethereum block;
//! `max_age = 0` disables the cache). Refusals and failures are never cached.
//!
//! The trait is synchronous; over JSON-RPC the calls run on the backend's own thread and
//! runtime, so the source can be called from any thread, async executors' included (it
//! blocks the caller until the chain answers).

use crate::backend::{Backend, Registry, RpcBackend, RpcOptions};
use crate::client::Deployment;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use zkmed_core::Fr;
use zkmed_verifier::{CommitmentSource, SourceError};

/// How fresh a root must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Freshness {
    /// The token's current root.
    Current,
    /// Current at some moment within the last this many seconds.
    Within(u64),
}

impl Freshness {
    /// From the contracts' `window` (seconds; 0: the current root only).
    pub fn from_window_s(s: u64) -> Freshness {
        match s {
            0 => Freshness::Current,
            s => Freshness::Within(s),
        }
    }

    /// As the contracts' `window` (seconds; 0: the current root only).
    pub fn window_s(self) -> u64 {
        match self {
            Freshness::Current => 0,
            Freshness::Within(s) => s,
        }
    }
}

/// The chain-backed commitment source, over any [`Backend`]: a node over JSON-RPC
/// ([`ChainCommitments`]) or the embedded chain. The verifier does not know which.
pub struct RegistryCommitments<B: Backend + Send> {
    registry: Mutex<Registry<B>>,
    freshness: Freshness,
    cache: Mutex<HashMap<(Fr, Fr), Instant>>,
    max_age: Duration,
}

/// The chain-backed commitment source over Ethereum JSON-RPC.
pub type ChainCommitments = RegistryCommitments<RpcBackend>;

impl ChainCommitments {
    /// Reads the registries of `deployment` at `rpc_url` (no key needed), with the
    /// default [`RpcOptions`].
    pub fn connect(
        rpc_url: &str,
        deployment: Deployment,
        freshness: Freshness,
        max_age: Duration,
    ) -> Result<ChainCommitments, crate::ChainError> {
        Self::connect_with(
            rpc_url,
            deployment,
            freshness,
            max_age,
            RpcOptions::default(),
        )
    }

    /// [`ChainCommitments::connect`] with the connection's timeouts and retries: a dead
    /// node makes `check_commitment` fail with `SourceError::Unavailable` within them.
    pub fn connect_with(
        rpc_url: &str,
        deployment: Deployment,
        freshness: Freshness,
        max_age: Duration,
        options: RpcOptions,
    ) -> Result<ChainCommitments, crate::ChainError> {
        let backend = RpcBackend::read_only_with(rpc_url, options)?;
        Ok(RegistryCommitments::new(
            Registry::attach(backend, deployment),
            freshness,
            max_age,
        ))
    }
}

impl<B: Backend + Send> RegistryCommitments<B> {
    /// Checks against `registry`'s deployment; accepted pairs are cached for `max_age`
    /// (`Duration::ZERO`: no cache).
    pub fn new(registry: Registry<B>, freshness: Freshness, max_age: Duration) -> Self {
        RegistryCommitments {
            registry: Mutex::new(registry),
            freshness,
            cache: Mutex::new(HashMap::new()),
            max_age,
        }
    }

    /// Reads the chain id: `Ok` when the chain answers (a service's readiness probe).
    pub fn ping(&self) -> Result<(), crate::ChainError> {
        self.registry
            .lock()
            .map_err(|_| crate::ChainError::Invalid("registry lock poisoned".into()))?
            .ping()
    }

    fn lookup(&self, idc: &Fr, rc: &Fr) -> Result<(), SourceError> {
        let unavailable = |e: crate::ChainError| SourceError::Unavailable(e.to_string());
        let mut r = self
            .registry
            .lock()
            .map_err(|_| SourceError::Unavailable("registry lock poisoned".into()))?;
        let token = r
            .token_of_commitment(idc)
            .map_err(unavailable)?
            .ok_or(SourceError::UnknownIdentity { identity: *idc })?;
        if r.identity_commitment(token).map_err(unavailable)? != Some(*idc) {
            return Err(SourceError::Policy(format!(
                "identity token {token} is revoked or no longer holds this identity commitment"
            )));
        }
        let (ok, issuer) = r
            .was_current_within(token, rc, self.freshness.window_s())
            .map_err(unavailable)?;
        if !ok {
            let current = r.current_root(token).map_err(unavailable)?;
            return Err(match current {
                None => SourceError::UnknownIdentity { identity: *idc },
                Some(current) => SourceError::NotCurrent {
                    identity: *idc,
                    presented: *rc,
                    current,
                    superseded: false,
                },
            });
        }
        if !r.is_accredited(issuer).map_err(unavailable)? {
            return Err(SourceError::Policy(format!(
                "the issuer that anchored this root ({issuer}) is not accredited now"
            )));
        }
        Ok(())
    }
}

impl<B: Backend + Send> CommitmentSource for RegistryCommitments<B> {
    fn check_commitment(&self, idc: &Fr, rc: &Fr) -> Result<(), SourceError> {
        let key = (*idc, *rc);
        let cached = || -> Result<bool, SourceError> {
            let c = self
                .cache
                .lock()
                .map_err(|_| SourceError::Unavailable("cache lock poisoned".into()))?;
            Ok(c.get(&key).is_some_and(|t| t.elapsed() < self.max_age))
        };
        if !self.max_age.is_zero() && cached()? {
            return Ok(());
        }
        self.lookup(idc, rc)?;
        if !self.max_age.is_zero() {
            if let Ok(mut c) = self.cache.lock() {
                c.retain(|_, t| t.elapsed() < self.max_age);
                c.insert(key, Instant::now());
            }
        }
        Ok(())
    }
}
