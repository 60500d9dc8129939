//! Shared by the issuer tests: a patient model that computes its state natively, a real
//! HTTP server on port 0, and FHIR bundles.
#![allow(dead_code)]

use alloy::signers::local::PrivateKeySigner;
use ark_ff::UniformRand;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use zkmed_core::encoding::Kind;
use zkmed_core::field::{fr_to_dec, Fr};
use zkmed_issuer::api::{
    KindFrontier, NotePath, OldState, SecretFr, UpdateAccepted, UpdateRequest,
};
use zkmed_issuer::{Config, FileIdentities, Issuer, LedgerAnchor, Parts, SqliteStore};
use zkmed_records::{record_commitment, KindTree};
use zkmed_state::note::{note_tag, state_note, state_nullifier};

pub fn rand_fr() -> Fr {
    Fr::rand(&mut rand::rngs::OsRng)
}

/// A bundle with a Patient, `n_conditions` Conditions and one Observation.
pub fn bundle(tag: &str, n_conditions: usize) -> Value {
    let mut entries = vec![
        json!({"resource": {"resourceType":"Patient","id":"p1","birthDate":"1980-05-06","gender":"female"}}),
    ];
    for i in 0..n_conditions {
        entries.push(
            json!({"resource": {"resourceType":"Condition","id":format!("{tag}-c{i}"),
            "code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006"}]},
            "onsetDateTime": format!("201{}-01-01", i % 10)}}),
        );
    }
    entries.push(
        json!({"resource": {"resourceType":"Observation","id":format!("{tag}-o"),"status":"final",
        "code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]},
        "effectiveDateTime":"2020-01-01","valueQuantity":{"value":6.5,"code":"%"}}}),
    );
    json!({"resourceType":"Bundle","type":"collection","entry":entries})
}

/// A running issuer.
pub struct Server {
    pub url: String,
    pub issuer: Arc<Issuer>,
    pub token: String,
}

impl Server {
    pub fn client() -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }

    /// Registers a bundle for `idc` as the operator; returns the status and JSON.
    pub fn register(&self, idc: Fr, bundle: &Value, token: &str) -> (u16, Value) {
        let r = Self::client()
            .post(format!("{}/v1/records", self.url))
            .bearer_auth(token)
            .json(&json!({"identity_commitment": fr_to_dec(&idc), "bundle": bundle}))
            .send()
            .unwrap();
        (r.status().as_u16(), r.json().unwrap())
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        let r = Self::client()
            .get(format!("{}{path}", self.url))
            .send()
            .unwrap();
        (r.status().as_u16(), r.json().unwrap_or(Value::Null))
    }

    /// Posts a raw update body with an optional signature header.
    pub fn post_update(&self, body: &[u8], signature: Option<&str>) -> (u16, Value) {
        let mut rb = Self::client()
            .post(format!("{}/v1/updates", self.url))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(s) = signature {
            rb = rb.header(zkmed_issuer::SIGNATURE_HEADER, s);
        }
        let r = rb.send().unwrap();
        (r.status().as_u16(), r.json().unwrap_or(Value::Null))
    }
}

/// Starts an issuer in-process (its own actix system on a thread), on `ledger` as `name`,
/// batching only when the test calls `step` (huge batch size and interval).
pub fn start(dir: &Path, ledger: &LedgerAnchor, name: &str) -> Server {
    start_with(dir, Box::new(ledger.as_issuer(name)))
}

/// [`start`] on any anchor.
pub fn start_with(dir: &Path, anchor: Box<dyn zkmed_issuer::Anchor>) -> Server {
    let mut cfg = Config::new(dir);
    cfg.batch_size = 1_000_000;
    cfg.batch_interval = Duration::from_secs(3600);
    let identities = dir.join("identities.json");
    let parts_dir = dir.to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let parts = Parts {
                store: Box::new(SqliteStore::open_in(&parts_dir).unwrap()),
                anchor,
                identities: Box::new(FileIdentities::new(&identities)),
            };
            let app = zkmed_issuer::Application::build_with(cfg, parts).unwrap();
            tx.send((app.port(), app.issuer())).unwrap();
            app.run_until_stopped().await.unwrap();
        })
    });
    let (port, issuer) = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    let token = std::fs::read_to_string(dir.join("operator.token")).unwrap();
    Server {
        url: format!("http://127.0.0.1:{port}"),
        issuer,
        token: token.trim().to_string(),
    }
}

/// A patient: its key, identity, and state, computed natively (it never trusts the issuer).
pub struct Patient {
    pub owner: PrivateKeySigner,
    pub idc: Fr,
    pub patient_leaf: Fr,
    pub leaves: [Vec<Fr>; 6],
    pub rho: Option<Fr>,
    /// (note root, path) once anchored.
    pub anchored: Option<(Fr, zkmed_state::MerklePath)>,
    pub pending_rho: Option<Fr>,
}

impl Patient {
    /// A new patient, registered as its token's owner in `dirs`' identities files.
    pub fn new(dirs: &[&Path]) -> Patient {
        let p = Patient {
            owner: PrivateKeySigner::random(),
            idc: rand_fr(),
            patient_leaf: rand_fr(),
            leaves: Default::default(),
            rho: None,
            anchored: None,
            pending_rho: None,
        };
        for d in dirs {
            FileIdentities::insert(&d.join("identities.json"), &p.idc, p.owner.address()).unwrap();
        }
        p
    }

    pub fn roots(&self) -> [Fr; 6] {
        std::array::from_fn(|i| {
            KindTree::from_leaves(self.leaves[i].clone())
                .unwrap()
                .root()
        })
    }

    pub fn commitment(&self) -> Fr {
        record_commitment(self.idc, self.patient_leaf, &self.roots())
    }

    pub fn frontiers(&self) -> Vec<KindFrontier> {
        Kind::ALL
            .iter()
            .map(|k| KindFrontier {
                kind: *k,
                frontier: KindTree::from_leaves(self.leaves[k.index()].clone())
                    .unwrap()
                    .frontier()
                    .unwrap(),
            })
            .collect()
    }

    /// The next request to `issuer` (genesis if the patient has no anchored state), with a
    /// fresh `rho_new` remembered as pending.
    pub fn request(&mut self, issuer: &str, frontiers: bool) -> UpdateRequest {
        let rho_new = rand_fr();
        self.pending_rho = Some(rho_new);
        let old = match (&self.rho, &self.anchored) {
            (Some(rho), Some((root, path))) => OldState::Note {
                rho: SecretFr(*rho),
                roots: self.roots().to_vec(),
                note_root: *root,
                path: path.clone(),
            },
            _ => OldState::Genesis,
        };
        UpdateRequest {
            issuer: issuer.to_string(),
            identity_commitment: self.idc,
            patient_leaf: self.patient_leaf,
            old,
            frontiers: if frontiers { self.frontiers() } else { vec![] },
            tag_new: note_tag(rho_new),
        }
    }

    /// Body and owner signature of `req`.
    pub fn sign(&self, req: &UpdateRequest) -> (Vec<u8>, String) {
        let body = serde_json::to_vec(req).unwrap();
        let sig = zkmed_issuer::sign_request(&self.owner, &body).unwrap();
        (body, sig)
    }

    /// Takes an accepted update: appends the returned records to its trees and checks the
    /// issuer's new state against its own computation.
    pub fn accept(&mut self, a: &UpdateAccepted) {
        for r in &a.records {
            self.leaves[r.record.kind.index()].push(r.leaf().unwrap());
        }
        assert_eq!(a.state.roots, self.roots().to_vec(), "the issuer's roots");
        assert_eq!(a.state.record_commitment, self.commitment());
        let rho = self.pending_rho.take().unwrap();
        assert_eq!(a.note, state_note(self.commitment(), note_tag(rho)));
        self.rho = Some(rho);
        self.anchored = None;
    }

    /// After anchoring: fetch the note's path and check it opens the note.
    pub fn fetch_path(&mut self, server: &Server, update_id: &str) -> NotePath {
        let (st, v) = server.get(&format!("/v1/updates/{update_id}"));
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["status"], "anchored", "{v}");
        let index = v["note_index"].as_u64().unwrap();
        let (st, p) = server.get(&format!("/v1/notes/{index}"));
        assert_eq!(st, 200, "{p}");
        let p: NotePath = serde_json::from_value(p).unwrap();
        let note = state_note(self.commitment(), note_tag(self.rho.unwrap()));
        assert_eq!(p.note, note);
        assert_eq!(p.path.root_of(note).unwrap(), p.note_root);
        self.anchored = Some((p.note_root, p.path.clone()));
        p
    }

    pub fn nullifier(&self) -> Fr {
        state_nullifier(self.rho.unwrap())
    }
}

impl Server {
    pub fn get_url(url: &str, path: &str) -> (u16, Value) {
        let r = Self::client().get(format!("{url}{path}")).send().unwrap();
        (r.status().as_u16(), r.json().unwrap_or(Value::Null))
    }
}
