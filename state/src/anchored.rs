//! What a patient needs to prove against the anchored state: its note's blinding and the
//! paths (docs/state.md). Assembled from the chain (identity path, issuers path) and its
//! issuer (note path, spent-set non-membership). Holds the secret `rho`: saved 0600,
//! zeroized on drop.

use crate::error::{Result, StateError};
use crate::indexed::NonMembership;
use crate::note::{global_root, note_tag, state_note, state_nullifier};
use crate::tree::MerklePath;
use crate::{IDENTITY_SHAPE, ISSUERS_SHAPE, NOTE_SHAPE};
use serde::{Deserialize, Serialize};
use zkmed_core::field::{serde_fr, Fr};
use zkmed_core::poseidon::zeroize_fr;

pub const ANCHORED_STATE_VERSION: u32 = 1;

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchoredState {
    pub version: u32,
    /// The note's blinding (secret).
    #[serde(with = "serde_fr")]
    pub rho: Fr,
    #[serde(with = "serde_fr")]
    pub identity_root: Fr,
    pub identity_path: MerklePath,
    #[serde(with = "serde_fr")]
    pub state_root: Fr,
    pub note_path: MerklePath,
    pub issuers_path: MerklePath,
    #[serde(with = "serde_fr")]
    pub spent_root: Fr,
    pub non_membership: NonMembership,
}

impl Drop for AnchoredState {
    fn drop(&mut self) {
        zeroize_fr(&mut self.rho);
    }
}

impl std::fmt::Debug for AnchoredState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnchoredState")
            .field("rho", &"<redacted>")
            .field("identity_root", &self.identity_root)
            .field("state_root", &self.state_root)
            .finish_non_exhaustive()
    }
}

impl AnchoredState {
    /// Checks natively what the circuit checks: `idc` under `identity_root`, the note of
    /// `record_commitment` under `state_root`, and its state nullifier not spent. A clear
    /// error instead of an unsatisfiable circuit.
    pub fn check(&self, idc: Fr, record_commitment: Fr) -> Result<()> {
        if self.version != ANCHORED_STATE_VERSION {
            return Err(StateError::MalformedPath(format!(
                "anchored state version {} (expected {ANCHORED_STATE_VERSION})",
                self.version
            )));
        }
        let shapes = [
            (&self.identity_path, IDENTITY_SHAPE, "identity"),
            (&self.note_path, NOTE_SHAPE, "note"),
            (&self.issuers_path, ISSUERS_SHAPE, "issuers"),
        ];
        for (p, shape, name) in shapes {
            if p.shape != shape {
                return Err(StateError::MalformedPath(format!(
                    "the {name} path has shape {:?}, expected {shape:?}",
                    p.shape
                )));
            }
        }
        if self.identity_path.root_of(idc)? != self.identity_root {
            return Err(StateError::NotAnchored(
                "the identity commitment is not in the identity tree under this root".into(),
            ));
        }
        let note = state_note(record_commitment, note_tag(self.rho));
        let issuers_root = self.issuers_path.root_of(self.note_path.root_of(note)?)?;
        if global_root(issuers_root, self.spent_root) != self.state_root {
            return Err(StateError::NotAnchored(
                "the state note is not under this global state root (stale paths, or another \
                 record state)"
                    .into(),
            ));
        }
        self.non_membership
            .verify(&state_nullifier(self.rho), &self.spent_root)
    }
}
