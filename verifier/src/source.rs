//! Where the verifier learns whether an attestation's roots are anchored, and how recent
//! they are (docs/state.md, "Verifying with a window").
//!
//! An attestation names two public roots: the identity tree's and the global state root.
//! A [`RootSource`] (the chain's contracts in `zkmed-chain`; `zkmed-state`'s in-memory model
//! in tests and demos) says whether each is the current root, a superseded one (and since
//! when), refused outright (a state root from before an issuer's suspension) or unknown. A
//! [`RootPolicy`] pairs a source with a [`Window`]: a root is accepted if it is current, or
//! was superseded at most `window` seconds ago. [`Window::CurrentOnly`] is the "current roots
//! only" mode: complete as of now (a correction, recovery or revocation takes effect at once)
//! at the price of re-proving whenever a batch lands.

pub use zkmed_core::roots::{RootSource, RootSourceError, RootStatus};
use zkmed_core::Fr;

/// The default window: one hour.
pub const DEFAULT_WINDOW_S: u64 = 3_600;

/// Which past roots a verifier accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// Only the current roots.
    CurrentOnly,
    /// A root current at some moment in the last `seconds`.
    Within { seconds: u64 },
}

impl Default for Window {
    fn default() -> Self {
        Window::Within {
            seconds: DEFAULT_WINDOW_S,
        }
    }
}

impl Window {
    /// `0` = current roots only.
    pub fn from_seconds(s: u64) -> Window {
        if s == 0 {
            Window::CurrentOnly
        } else {
            Window::Within { seconds: s }
        }
    }

    pub fn seconds(self) -> u64 {
        match self {
            Window::CurrentOnly => 0,
            Window::Within { seconds } => seconds,
        }
    }
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Window::CurrentOnly => f.write_str("current roots only"),
            Window::Within { seconds } => {
                write!(f, "roots current at some moment in the last {seconds} s")
            }
        }
    }
}

/// Which root of an attestation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Identity,
    State,
}

impl Which {
    pub fn as_str(self) -> &'static str {
        match self {
            Which::Identity => "identity",
            Which::State => "state",
        }
    }
}

impl std::fmt::Display for Which {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a root was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RootError {
    #[error("{which} root {root} is unknown to the root source (never anchored here)")]
    Unknown { which: Which, root: Fr },
    #[error(
        "{which} root {root} was superseded {ago_s} s ago, outside the window ({window}); \
         ask for an attestation against a recent root"
    )]
    Expired {
        which: Which,
        root: Fr,
        ago_s: u64,
        window: Window,
    },
    #[error("{which} root {root} is refused: {reason}")]
    Refused {
        which: Which,
        root: Fr,
        reason: String,
    },
    #[error(transparent)]
    Unavailable(#[from] RootSourceError),
}

/// A root the verifier accepted, and how recent it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsedRoot {
    pub which: Which,
    pub root: Fr,
    pub status: RootStatus,
}

/// The two roots an accepted attestation was checked against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedRoots {
    pub identity: UsedRoot,
    pub state: UsedRoot,
}

/// A root source and the window a verifier accepts.
#[derive(Clone, Copy)]
pub struct RootPolicy<'a> {
    pub source: &'a dyn RootSource,
    pub window: Window,
}

impl<'a> RootPolicy<'a> {
    /// The default window (one hour).
    pub fn new(source: &'a dyn RootSource) -> RootPolicy<'a> {
        RootPolicy {
            source,
            window: Window::default(),
        }
    }

    pub fn current_only(source: &'a dyn RootSource) -> RootPolicy<'a> {
        RootPolicy {
            source,
            window: Window::CurrentOnly,
        }
    }

    pub fn with_window(source: &'a dyn RootSource, window: Window) -> RootPolicy<'a> {
        RootPolicy { source, window }
    }

    fn judge(&self, which: Which, root: &Fr, status: RootStatus) -> Result<UsedRoot, RootError> {
        match &status {
            RootStatus::Current => {}
            RootStatus::Superseded { ago_s } => {
                if *ago_s > self.window.seconds() || self.window == Window::CurrentOnly {
                    return Err(RootError::Expired {
                        which,
                        root: *root,
                        ago_s: *ago_s,
                        window: self.window,
                    });
                }
            }
            RootStatus::Refused(reason) => {
                return Err(RootError::Refused {
                    which,
                    root: *root,
                    reason: reason.clone(),
                })
            }
            RootStatus::Unknown => return Err(RootError::Unknown { which, root: *root }),
        }
        Ok(UsedRoot {
            which,
            root: *root,
            status,
        })
    }

    /// Accepts both roots of an attestation or says why not (identity root first).
    pub fn accept(&self, identity_root: &Fr, state_root: &Fr) -> Result<AcceptedRoots, RootError> {
        let identity = self.judge(
            Which::Identity,
            identity_root,
            self.source.identity_root(identity_root)?,
        )?;
        let state = self.judge(
            Which::State,
            state_root,
            self.source.state_root(state_root)?,
        )?;
        Ok(AcceptedRoots { identity, state })
    }
}

/// A fixed set of roots the caller vouches for (e.g. read from its own node), all current.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallerRoots {
    pub identity_roots: Vec<Fr>,
    pub state_roots: Vec<Fr>,
}

impl RootSource for CallerRoots {
    fn identity_root(&self, root: &Fr) -> Result<RootStatus, RootSourceError> {
        Ok(if self.identity_roots.contains(root) {
            RootStatus::Current
        } else {
            RootStatus::Unknown
        })
    }

    fn state_root(&self, root: &Fr) -> Result<RootStatus, RootSourceError> {
        Ok(if self.state_roots.contains(root) {
            RootStatus::Current
        } else {
            RootStatus::Unknown
        })
    }

    fn describe(&self) -> String {
        "roots given by the caller".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(RootStatus);
    impl RootSource for Fixed {
        fn identity_root(&self, _: &Fr) -> Result<RootStatus, RootSourceError> {
            Ok(RootStatus::Current)
        }
        fn state_root(&self, _: &Fr) -> Result<RootStatus, RootSourceError> {
            Ok(self.0.clone())
        }
        fn describe(&self) -> String {
            "fixed".into()
        }
    }

    #[test]
    fn windows_accept_exactly_what_they_say() {
        let r = Fr::from(5u64);
        let at = |ago_s| Fixed(RootStatus::Superseded { ago_s });
        let s = at(3_600);
        assert!(RootPolicy::new(&s).accept(&r, &r).is_ok());
        let s = at(3_601);
        assert!(matches!(
            RootPolicy::new(&s).accept(&r, &r),
            Err(RootError::Expired { ago_s: 3_601, .. })
        ));
        let s = at(0);
        assert!(RootPolicy::current_only(&s).accept(&r, &r).is_err());
        assert_eq!(Window::from_seconds(0), Window::CurrentOnly);
        let s = Fixed(RootStatus::Current);
        let ok = RootPolicy::current_only(&s).accept(&r, &r).unwrap();
        assert_eq!(ok.state.status, RootStatus::Current);
        let s = Fixed(RootStatus::Refused("suspended".into()));
        assert!(matches!(
            RootPolicy::new(&s).accept(&r, &r),
            Err(RootError::Refused { .. })
        ));
        let s = Fixed(RootStatus::Unknown);
        assert!(matches!(
            RootPolicy::new(&s).accept(&r, &r),
            Err(RootError::Unknown {
                which: Which::State,
                ..
            })
        ));
    }
}
