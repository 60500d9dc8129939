//! The JSON shapes of the HTTP API (docs/issuer.md).

use crate::store::{BatchStatus, UpdateStatus};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use zeroize::Zeroize;
use zkmed_core::encoding::Kind;
use zkmed_core::field::{serde_fr, serde_fr_vec, Fr};
use zkmed_records::tree::Frontier;
use zkmed_records::OpenedRecord;
use zkmed_state::{MerklePath, NonMembership};

/// A secret field element (`rho`): zeroed on drop, never printed.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretFr(#[serde(with = "serde_fr")] pub Fr);

impl Drop for SecretFr {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretFr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `POST /v1/updates`: a transition of the patient's state (docs/state.md, "Transition at
/// issuer B"), signed by the token's owner ([`crate::auth`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    /// The issuer this request is for (`GET /v1/info`'s `issuer`).
    pub issuer: String,
    #[serde(with = "serde_fr")]
    pub identity_commitment: Fr,
    #[serde(with = "serde_fr")]
    pub patient_leaf: Fr,
    /// The state being replaced.
    pub old: OldState,
    /// The right-edge frontier of each kind tree this issuer appends to (more are ignored).
    #[serde(default)]
    pub frontiers: Vec<KindFrontier>,
    /// `t_new = H(rho_new, 0)` for the new note.
    #[serde(with = "serde_fr")]
    pub tag_new: Fr,
}

/// The old state: none yet (genesis: spends `H(idc, 2)`), or an anchored note.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum OldState {
    Genesis,
    Note {
        /// `rho_old`: the issuer learns it (and so `sn_old = H(rho_old, 1)`); it is zeroed
        /// after use and never stored.
        rho: SecretFr,
        /// The six kind roots of the old record commitment.
        #[serde(with = "serde_fr_vec")]
        roots: Vec<Fr>,
        /// The anchored note root (any issuer's) the path leads to.
        #[serde(with = "serde_fr")]
        note_root: Fr,
        /// The old note's path in that issuer's note tree.
        path: MerklePath,
    },
}

/// One kind's frontier.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindFrontier {
    pub kind: Kind,
    pub frontier: Frontier,
}

/// The new state, returned with an accepted update: with `records` appended to its opening
/// (in order) and its `rho_new`, the patient can open and prove from it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewState {
    #[serde(with = "serde_fr")]
    pub identity_commitment: Fr,
    #[serde(with = "serde_fr")]
    pub patient_leaf: Fr,
    #[serde(with = "serde_fr_vec")]
    pub roots: Vec<Fr>,
    #[serde(with = "serde_fr")]
    pub record_commitment: Fr,
    /// Leaf counts after the append, for the kinds this issuer appended to.
    pub counts: BTreeMap<Kind, u64>,
}

/// `202` answer to `POST /v1/updates`.
#[derive(Debug, Serialize, Deserialize)]
pub struct UpdateAccepted {
    pub update_id: String,
    pub status: UpdateStatus,
    /// The old state's nullifier, spent by the batch.
    #[serde(with = "serde_fr")]
    pub nullifier: Fr,
    /// The new note `L_new`.
    #[serde(with = "serde_fr")]
    pub note: Fr,
    pub state: NewState,
    /// The issuer's records appended to the state, with their salts, in append order.
    pub records: Vec<OpenedRecord>,
}

/// `GET /v1/updates/{id}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UpdateView {
    pub update_id: String,
    pub status: UpdateStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<BatchView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note_index: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A batch, as an update's status shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BatchView {
    pub id: i64,
    pub status: BatchStatus,
    #[serde(with = "serde_fr")]
    pub note_root: Fr,
    pub note_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx: Option<String>,
}

/// `GET /v1/notes/{index}`: the note's path against the latest anchored note root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotePath {
    pub index: u64,
    #[serde(with = "serde_fr")]
    pub note: Fr,
    #[serde(with = "serde_fr")]
    pub note_root: Fr,
    pub note_count: u64,
    pub path: MerklePath,
}

/// `GET /v1/spent/{nullifier}`: non-membership against the latest spent root known.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SpentProof {
    #[serde(with = "serde_fr")]
    pub nullifier: Fr,
    #[serde(with = "serde_fr")]
    pub spent_root: Fr,
    pub proof: NonMembership,
}

/// `POST /v1/records` (operator): the issuer's own records for one identity.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[serde(with = "serde_fr")]
    pub identity_commitment: Fr,
    /// A FHIR R4 Bundle.
    pub bundle: serde_json::Value,
}

/// `201` answer to `POST /v1/records`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Registered {
    pub registration_id: i64,
    pub records: usize,
    pub kinds: BTreeMap<Kind, usize>,
}

/// `GET /v1/info`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Info {
    pub issuer: String,
    pub note_count: u64,
    #[serde(with = "serde_fr")]
    pub note_root: Fr,
    #[serde(with = "serde_fr")]
    pub spent_root: Fr,
    pub chain_batches: u64,
    pub queued: usize,
}
