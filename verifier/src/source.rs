//! Where the verifier learns which record commitment is anchored for a patient identity.
//!
//! A proof shows a statement about the records behind `record_commitment`; it is only worth
//! something if that commitment is the one the data holder anchored for this identity. The
//! [`CommitmentSource`] trait is that lookup; [`InMemoryCommitments`] is a simple in-process
//! implementation (tests, single-node deployments); a chain-backed implementation with
//! freshness policies can implement the same trait.

use std::collections::HashMap;
use std::sync::Arc;
use zkmed_core::Fr;

/// Why a commitment source rejected `(identity_commitment, record_commitment)`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("no record commitment is anchored for identity commitment {identity}")]
    UnknownIdentity { identity: Fr },

    #[error(
        "record commitment {presented} is not the current anchor for identity commitment \
         {identity} (current: {current}); it {}",
        if *.superseded { "was superseded by a later correction" } else { "was never anchored for this identity" }
    )]
    NotCurrent {
        identity: Fr,
        presented: Fr,
        current: Fr,
        /// True if `presented` is an older anchor of this identity (a superseded version).
        superseded: bool,
    },

    #[error(
        "record commitment {presented} was never anchored for identity commitment {identity} \
         ({history_len} anchors on record)"
    )]
    NotInHistory {
        identity: Fr,
        presented: Fr,
        history_len: usize,
    },

    #[error(
        "record commitment {presented} is not the one the verifier expects for this \
         identity ({expected})"
    )]
    NotExpected { presented: Fr, expected: Fr },

    /// The backing store could not be consulted (network, chain node, database, ...).
    #[error("commitment source unavailable: {0}")]
    Unavailable(String),

    /// A source-specific policy refused the commitment (e.g. an anchor that is too old).
    #[error("commitment refused by policy: {0}")]
    Policy(String),
}

/// Answers "is this record commitment acceptable for this identity, right now?".
///
/// Object-safe and `Send + Sync`, so a verifier service can share one `&dyn
/// CommitmentSource` (or `Arc<dyn CommitmentSource>`) across threads.
pub trait CommitmentSource: Send + Sync {
    /// `Ok(())` if `record_commitment` is acceptable for `identity_commitment`.
    fn check_commitment(
        &self,
        identity_commitment: &Fr,
        record_commitment: &Fr,
    ) -> Result<(), SourceError>;

    /// Where this source's commitments come from and which anchors it accepts, for
    /// verification reports ([`crate::VerifyReport`]). Must not do I/O. The default says
    /// nothing beyond "some other store"; sources should override it.
    fn describe(&self) -> SourceInfo {
        SourceInfo {
            origin: Origin::Store("unspecified commitment source".into()),
            freshness: None,
        }
    }

    /// [`check_commitment`](Self::check_commitment), saying what was accepted (e.g. the
    /// identity token on chain). The default knows only the accepted root.
    fn accept(
        &self,
        identity_commitment: &Fr,
        record_commitment: &Fr,
    ) -> Result<Accepted, SourceError> {
        self.check_commitment(identity_commitment, record_commitment)
            .map(|()| Accepted {
                token: None,
                root: *record_commitment,
            })
    }
}

/// Where a [`CommitmentSource`]'s record commitments come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The verifier's caller named the commitment it expects (e.g. from the issuer).
    Caller,
    /// The on-chain registries; `chain` names which (`embedded`, or a node's
    /// `scheme://host:port`).
    Chain { chain: String },
    /// Another store (in-memory anchors, a database, ...).
    Store(String),
}

/// Which anchors of an identity a source accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreshnessRule {
    /// Only the identity's current anchor.
    CurrentOnly,
    /// An anchor that was current at some moment in the last `seconds`.
    Within { seconds: u64 },
    /// Any anchor ever made for the identity (audits of past decisions).
    AnyInHistory,
    /// The commitment is the caller's: the verifier did not judge how current it is.
    CallersChoice,
}

impl std::fmt::Display for FreshnessRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FreshnessRule::CurrentOnly => f.write_str("current root only"),
            FreshnessRule::Within { seconds } => {
                write!(f, "a root current at some moment in the last {seconds} s")
            }
            FreshnessRule::AnyInHistory => f.write_str("any root ever anchored (audit)"),
            FreshnessRule::CallersChoice => {
                f.write_str("not judged: the caller vouches for its commitment")
            }
        }
    }
}

/// What a source says about itself ([`CommitmentSource::describe`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceInfo {
    pub origin: Origin,
    /// `None`: the source does not say.
    pub freshness: Option<FreshnessRule>,
}

/// What a source accepted ([`CommitmentSource::accept`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The identity token holding the identity commitment, where the source has tokens
    /// (the chain's, as a decimal id).
    pub token: Option<String>,
    /// The anchored record commitment that matched.
    pub root: Fr,
}

/// The record commitment the verifier's caller expects (e.g. given by the issuer out of
/// band): accepts exactly that one, for the attestation's identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallerCommitment(pub Fr);

impl CommitmentSource for CallerCommitment {
    fn check_commitment(&self, _identity: &Fr, record_commitment: &Fr) -> Result<(), SourceError> {
        if *record_commitment == self.0 {
            Ok(())
        } else {
            Err(SourceError::NotExpected {
                presented: *record_commitment,
                expected: self.0,
            })
        }
    }

    fn describe(&self) -> SourceInfo {
        SourceInfo {
            origin: Origin::Caller,
            freshness: Some(FreshnessRule::CallersChoice),
        }
    }
}

impl<T: CommitmentSource + ?Sized> CommitmentSource for &T {
    fn check_commitment(
        &self,
        identity_commitment: &Fr,
        record_commitment: &Fr,
    ) -> Result<(), SourceError> {
        (**self).check_commitment(identity_commitment, record_commitment)
    }
    fn describe(&self) -> SourceInfo {
        (**self).describe()
    }
    fn accept(
        &self,
        identity_commitment: &Fr,
        record_commitment: &Fr,
    ) -> Result<Accepted, SourceError> {
        (**self).accept(identity_commitment, record_commitment)
    }
}

impl<T: CommitmentSource + ?Sized> CommitmentSource for Box<T> {
    fn check_commitment(
        &self,
        identity_commitment: &Fr,
        record_commitment: &Fr,
    ) -> Result<(), SourceError> {
        (**self).check_commitment(identity_commitment, record_commitment)
    }
    fn describe(&self) -> SourceInfo {
        (**self).describe()
    }
    fn accept(
        &self,
        identity_commitment: &Fr,
        record_commitment: &Fr,
    ) -> Result<Accepted, SourceError> {
        (**self).accept(identity_commitment, record_commitment)
    }
}

impl<T: CommitmentSource + ?Sized> CommitmentSource for Arc<T> {
    fn check_commitment(
        &self,
        identity_commitment: &Fr,
        record_commitment: &Fr,
    ) -> Result<(), SourceError> {
        (**self).check_commitment(identity_commitment, record_commitment)
    }
    fn describe(&self) -> SourceInfo {
        (**self).describe()
    }
    fn accept(
        &self,
        identity_commitment: &Fr,
        record_commitment: &Fr,
    ) -> Result<Accepted, SourceError> {
        (**self).accept(identity_commitment, record_commitment)
    }
}

/// Which anchors of an identity [`InMemoryCommitments`] accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    /// Only the latest anchor (the default): a record set that was later corrected no
    /// longer counts.
    #[default]
    CurrentOnly,
    /// Any anchor ever made for the identity. For audits of past decisions only.
    AnyInHistory,
}

/// In-memory anchors: for every identity commitment, the history of its record commitments
/// (oldest first). Anchoring is append-only: a correction is a new anchor and the old ones
/// stay in the history.
#[derive(Clone, Debug, Default)]
pub struct InMemoryCommitments {
    history: HashMap<Fr, Vec<Fr>>,
    policy: Policy,
}

impl InMemoryCommitments {
    /// An empty store with the default policy ([`Policy::CurrentOnly`]).
    pub fn new() -> InMemoryCommitments {
        InMemoryCommitments::default()
    }

    pub fn with_policy(policy: Policy) -> InMemoryCommitments {
        InMemoryCommitments {
            history: HashMap::new(),
            policy,
        }
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    pub fn set_policy(&mut self, policy: Policy) {
        self.policy = policy;
    }

    /// Anchors `record_commitment` as the current one for `identity_commitment` (a first
    /// anchor or a correction). Re-anchoring the current commitment is a no-op.
    pub fn anchor(&mut self, identity_commitment: Fr, record_commitment: Fr) {
        let h = self.history.entry(identity_commitment).or_default();
        if h.last() != Some(&record_commitment) {
            h.push(record_commitment);
        }
    }

    /// The current (latest) anchor of an identity.
    pub fn current(&self, identity_commitment: &Fr) -> Option<&Fr> {
        self.history.get(identity_commitment).and_then(|h| h.last())
    }

    /// All anchors of an identity, oldest first.
    pub fn history(&self, identity_commitment: &Fr) -> &[Fr] {
        self.history
            .get(identity_commitment)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

impl CommitmentSource for InMemoryCommitments {
    fn describe(&self) -> SourceInfo {
        SourceInfo {
            origin: Origin::Store("in-memory anchors".into()),
            freshness: Some(match self.policy {
                Policy::CurrentOnly => FreshnessRule::CurrentOnly,
                Policy::AnyInHistory => FreshnessRule::AnyInHistory,
            }),
        }
    }

    fn check_commitment(
        &self,
        identity_commitment: &Fr,
        record_commitment: &Fr,
    ) -> Result<(), SourceError> {
        let h = match self.history.get(identity_commitment) {
            Some(h) if !h.is_empty() => h,
            _ => {
                return Err(SourceError::UnknownIdentity {
                    identity: *identity_commitment,
                })
            }
        };
        let current = h.last().expect("non-empty");
        if current == record_commitment {
            return Ok(());
        }
        let in_history = h.contains(record_commitment);
        match self.policy {
            Policy::AnyInHistory if in_history => Ok(()),
            Policy::AnyInHistory => Err(SourceError::NotInHistory {
                identity: *identity_commitment,
                presented: *record_commitment,
                history_len: h.len(),
            }),
            Policy::CurrentOnly => Err(SourceError::NotCurrent {
                identity: *identity_commitment,
                presented: *record_commitment,
                current: *current,
                superseded: in_history,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + ?Sized>() {}

    #[test]
    fn object_safe_and_thread_safe() {
        assert_send_sync::<dyn CommitmentSource>();
        let s: Arc<dyn CommitmentSource> = Arc::new(InMemoryCommitments::new());
        let e = s
            .check_commitment(&Fr::from(1u64), &Fr::from(2u64))
            .unwrap_err();
        assert_eq!(
            e,
            SourceError::UnknownIdentity {
                identity: Fr::from(1u64)
            }
        );
        assert!(
            e.to_string().contains("no record commitment is anchored"),
            "{e}"
        );
    }

    #[test]
    fn current_only_and_history() {
        let (id, v1, v2, other) = (
            Fr::from(7u64),
            Fr::from(10u64),
            Fr::from(11u64),
            Fr::from(12u64),
        );
        let mut s = InMemoryCommitments::new();
        s.anchor(id, v1);
        s.check_commitment(&id, &v1).unwrap();
        s.anchor(id, v2);
        s.anchor(id, v2); // idempotent
        assert_eq!(s.history(&id), &[v1, v2]);
        assert_eq!(s.current(&id), Some(&v2));
        s.check_commitment(&id, &v2).unwrap();
        let e = s.check_commitment(&id, &v1).unwrap_err();
        assert!(
            matches!(
                e,
                SourceError::NotCurrent {
                    superseded: true,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(
            e.to_string().contains("superseded by a later correction"),
            "{e}"
        );
        let e = s.check_commitment(&id, &other).unwrap_err();
        assert!(
            matches!(
                e,
                SourceError::NotCurrent {
                    superseded: false,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("never anchored"), "{e}");

        s.set_policy(Policy::AnyInHistory);
        s.check_commitment(&id, &v1).unwrap();
        s.check_commitment(&id, &v2).unwrap();
        let e = s.check_commitment(&id, &other).unwrap_err();
        assert!(
            matches!(e, SourceError::NotInHistory { history_len: 2, .. }),
            "{e:?}"
        );
    }
}
