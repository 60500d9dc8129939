//! The issuer over real HTTP and SQLite: the full transition flow, and each attack on it.

mod common;

use common::*;
use serde_json::Value;
use zkmed_core::field::fr_to_dec;
use zkmed_issuer::api::{OldState, UpdateAccepted};
use zkmed_issuer::LedgerAnchor;
use zkmed_state::note::genesis_nullifier;

fn accepted(st: u16, v: Value) -> UpdateAccepted {
    assert_eq!(st, 202, "{v}");
    serde_json::from_value(v).unwrap()
}

/// Genesis, then a transition appending this issuer's records, each anchored; paths and
/// spent proofs check out; the records are this issuer's (source) and the patient's state
/// matches its own computation.
#[test]
fn full_flow_and_refusals() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("b");
    let ledger = LedgerAnchor::open(&tmp.path().join("ledger.jsonl"), "x").unwrap();
    let b = start(&dir, &ledger, "clinic-b");
    let mut p = Patient::new(&[&dir]);

    // Files are private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |f: &str| std::fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("issuer.sqlite"), 0o600);
        assert_eq!(mode("operator.token"), 0o600);
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }

    // Operator registration: a wrong token is refused.
    let (st, v) = b.register(p.idc, &bundle("g", 2), "not-the-token");
    assert_eq!((st, v["error"].as_str()), (401, Some("unauthorized")));
    let (st, v) = b.register(p.idc, &bundle("g", 2), &b.token);
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["records"], 3);

    // Genesis with the registered records.
    let req = p.request("clinic-b", false);
    let (body, sig) = p.sign(&req);
    let a = accepted_or_panic(b.post_update(&body, Some(&sig)));
    assert_eq!(a.nullifier, genesis_nullifier(p.idc));
    assert!(a.records.iter().all(|r| r.record.source == "clinic-b"));
    p.accept(&a);

    // Replay of the accepted request: its nullifier is queued.
    let (st, v) = b.post_update(&body, Some(&sig));
    assert_eq!((st, v["error"].as_str()), (409, Some("spent")), "{v}");

    b.issuer.step(true).unwrap();
    let path = p.fetch_path(&b, &a.update_id);
    assert_eq!(path.note_count, 1);
    // A second genesis (replayed after anchoring) is spent too.
    let (st, v) = b.post_update(&body, Some(&sig));
    assert_eq!((st, v["error"].as_str()), (409, Some("spent")), "{v}");
    let (st, _) = b.get(&format!(
        "/v1/spent/{}",
        fr_to_dec(&genesis_nullifier(p.idc))
    ));
    assert_eq!(st, 409);
    let (st, v) = b.get(&format!("/v1/spent/{}", fr_to_dec(&p.nullifier())));
    assert_eq!(st, 200, "{v}");
    let proof: zkmed_issuer::api::SpentProof = serde_json::from_value(v).unwrap();
    proof
        .proof
        .verify(&p.nullifier(), &proof.spent_root)
        .unwrap();

    // New records: without frontiers the issuer names the kinds it appends to.
    let (st, _) = b.register(p.idc, &bundle("n", 1), &b.token);
    assert_eq!(st, 201);
    let req = p.request("clinic-b", false);
    let (body, sig) = p.sign(&req);
    let (st, v) = b.post_update(&body, Some(&sig));
    assert_eq!(
        (st, v["error"].as_str()),
        (409, Some("frontier_required")),
        "{v}"
    );
    assert_eq!(v["kinds"], serde_json::json!(["Condition", "Observation"]));

    // Drop records: a frontier of a tree without the last Condition.
    let mut req = p.request("clinic-b", true);
    let short: Vec<_> = p.leaves[0][..p.leaves[0].len() - 1].to_vec();
    req.frontiers[0].frontier = zkmed_records::KindTree::from_leaves(short)
        .unwrap()
        .frontier()
        .unwrap();
    let (body, sig) = p.sign(&req);
    let (st, v) = b.post_update(&body, Some(&sig));
    assert_eq!(
        (st, v["error"].as_str()),
        (422, Some("bad_frontier")),
        "{v}"
    );

    // Drop records another way: claim old roots without the records (the note won't open).
    let mut req = p.request("clinic-b", true);
    if let OldState::Note { roots, .. } = &mut req.old {
        roots[0] = zkmed_records::KindTree::empty().root();
    }
    req.frontiers[0].frontier = zkmed_records::tree::Frontier::empty();
    let (body, sig) = p.sign(&req);
    let (st, v) = b.post_update(&body, Some(&sig));
    assert_eq!((st, v["error"].as_str()), (422, Some("not_in_tree")), "{v}");

    // Forged authentication: another key, a tampered body, no signature.
    let req = p.request("clinic-b", true);
    let (body, _) = p.sign(&req);
    let mallory = alloy::signers::local::PrivateKeySigner::random();
    let forged = zkmed_issuer::sign_request(&mallory, &body).unwrap();
    let (st, v) = b.post_update(&body, Some(&forged));
    assert_eq!(
        (st, v["error"].as_str()),
        (401, Some("unauthenticated")),
        "{v}"
    );
    let (_, sig) = p.sign(&req);
    let mut tampered = req.clone();
    tampered.tag_new = rand_fr();
    let tampered_body = serde_json::to_vec(&tampered).unwrap();
    let (st, _) = b.post_update(&tampered_body, Some(&sig));
    assert_eq!(st, 401);
    let (st, _) = b.post_update(&body, None);
    assert_eq!(st, 401);
    let (st, _) = b.post_update(&body, Some("0x1234"));
    assert_eq!(st, 401);

    // A request signed for another issuer.
    let req_a = p.request("clinic-a", true);
    let (body_a, sig_a) = p.sign(&req_a);
    let (st, v) = b.post_update(&body_a, Some(&sig_a));
    assert_eq!(
        (st, v["error"].as_str()),
        (403, Some("wrong_issuer")),
        "{v}"
    );

    // Malformed input is a clear 400, not a panic.
    let (st, v) = b.post_update(b"{\"issuer\":", Some(&sig));
    assert_eq!((st, v["error"].as_str()), (400, Some("bad_request")));

    // The honest transition.
    let req = p.request("clinic-b", true);
    let (body, sig) = p.sign(&req);
    let old_nullifier = p.nullifier();
    let a = accepted_or_panic(b.post_update(&body, Some(&sig)));
    assert_eq!(a.nullifier, old_nullifier);
    assert_eq!(a.records.len(), 2);
    let old_state = (p.rho, p.anchored.clone(), p.leaves.clone());
    p.accept(&a);
    b.issuer.step(true).unwrap();
    p.fetch_path(&b, &a.update_id);

    // Omission: go back to the previous state (which lacks the new records).
    let mut stale = Patient {
        owner: p.owner.clone(),
        idc: p.idc,
        patient_leaf: p.patient_leaf,
        leaves: old_state.2,
        rho: old_state.0,
        anchored: old_state.1,
        pending_rho: None,
    };
    let req = stale.request("clinic-b", true);
    let (body, sig) = stale.sign(&req);
    let (st, v) = b.post_update(&body, Some(&sig));
    assert_eq!((st, v["error"].as_str()), (409, Some("spent")), "{v}");
    let (st, _) = b.get(&format!("/v1/spent/{}", fr_to_dec(&old_nullifier)));
    assert_eq!(st, 409);

    // An unknown root: a path to a tree nobody anchored.
    let mut fake = zkmed_state::MerkleTree::new(zkmed_state::NOTE_SHAPE).unwrap();
    let rho = rand_fr();
    p.rho = Some(rho);
    let note = zkmed_state::note::state_note(p.commitment(), zkmed_state::note::note_tag(rho));
    fake.set(0, note).unwrap();
    p.anchored = Some((fake.root(), fake.path(0).unwrap()));
    let req = p.request("clinic-b", true);
    let (body, sig) = p.sign(&req);
    let (st, v) = b.post_update(&body, Some(&sig));
    assert_eq!(
        (st, v["error"].as_str()),
        (422, Some("unknown_root")),
        "{v}"
    );

    // Reads: unknown update, note out of range, bad nullifier.
    assert_eq!(b.get("/v1/updates/nope").0, 404);
    assert_eq!(b.get("/v1/notes/99").0, 404);
    assert_eq!(b.get("/v1/notes/x").0, 400);
    assert_eq!(b.get("/v1/spent/abc").0, 400);
    let (st, info) = b.get("/v1/info");
    assert_eq!(st, 200);
    assert_eq!(info["note_count"], 2);
}

fn accepted_or_panic((st, v): (u16, Value)) -> UpdateAccepted {
    accepted(st, v)
}

/// Two issuers on one ledger. B appends only its own records (A's registrations are A's);
/// a state transitioned at both is anchored once: the second issuer's update is rejected
/// when the first issuer's batch spends the state.
#[test]
fn two_issuers_own_records_and_double_spend_race() {
    let tmp = tempfile::tempdir().unwrap();
    let (da, db) = (tmp.path().join("a"), tmp.path().join("b"));
    let ledger = LedgerAnchor::open(&tmp.path().join("ledger.jsonl"), "x").unwrap();
    let a = start(&da, &ledger, "clinic-a");
    let b = start(&db, &ledger, "clinic-b");
    let on_ledger = race(&da, &db, &a, &b);
    let all: Vec<_> = ledger
        .all_batches()
        .unwrap()
        .into_iter()
        .flat_map(|b| b.nullifiers)
        .filter(|n| *n == on_ledger)
        .collect();
    assert_eq!(all.len(), 1);
}

/// The same on the embedded chain: two accredited issuers' `ChainAnchor`s, one chain.
#[test]
fn two_issuers_on_the_embedded_chain() {
    use std::sync::{Arc, Mutex};
    use zkmed_chain::backend::{Address, EmbeddedBackend, Registry};
    let tmp = tempfile::tempdir().unwrap();
    let (da, db) = (tmp.path().join("a"), tmp.path().join("b"));
    let chain = Arc::new(Mutex::new(zkmed_chain::embedded::EmbeddedChain::in_memory()));
    let gov = EmbeddedBackend::new(chain, Address::repeat_byte(0x01));
    let (ia, ib) = (Address::repeat_byte(0x0a), Address::repeat_byte(0x0b));
    let mut g = Registry::deploy(gov.clone()).unwrap();
    g.accredit(ia, "clinic a").unwrap();
    g.accredit(ib, "clinic b").unwrap();
    let anchor = |who| {
        zkmed_issuer::ChainAnchor::new(Registry::attach(gov.as_account(who), g.deployment)).unwrap()
    };
    let a = start_with(&da, Box::new(anchor(ia)));
    let b = start_with(&db, Box::new(anchor(ib)));
    assert_eq!(a.issuer.id(), ia.to_string());
    let spent = race(&da, &db, &a, &b);
    let mut r = Registry::attach(gov.clone(), g.deployment);
    let batches = r.state_batches().unwrap();
    let n = batches
        .iter()
        .flat_map(|b| b.nullifiers.clone())
        .filter(|n| *n == spent)
        .count();
    assert_eq!(n, 1);
    assert_eq!(
        zkmed_core::field::fr_to_dec(&r.spent_root().unwrap()),
        b.get("/v1/info").1["spent_root"].as_str().unwrap()
    );
}

/// A patient with records at A transitions at B (B appends only its own records: none)
/// and, from the same state, at A again; A anchors first, so B's update is rejected.
/// Returns the contested nullifier.
fn race(
    da: &std::path::Path,
    db: &std::path::Path,
    a: &Server,
    b: &Server,
) -> zkmed_core::field::Fr {
    let (ida, idb) = (a.issuer.id().to_string(), b.issuer.id().to_string());
    let mut p = Patient::new(&[da, db]);

    // Records registered at A only.
    assert_eq!(a.register(p.idc, &bundle("a", 3), &a.token).0, 201);
    let req = p.request(&ida, false);
    let (body, sig) = p.sign(&req);
    let (st, v) = a.post_update(&body, Some(&sig));
    let acc = accepted(st, v);
    assert!(acc.records.iter().all(|r| r.record.source == ida));
    p.accept(&acc);
    a.issuer.step(true).unwrap();
    p.fetch_path(a, &acc.update_id);

    // At B: B has nothing registered for the patient; its transition appends nothing.
    let before = p.roots();
    let req = p.request(&idb, true);
    let (body, sig) = p.sign(&req);
    let (st, v) = b.post_update(&body, Some(&sig));
    let at_b = accepted(st, v);
    assert!(at_b.records.is_empty());
    assert_eq!(at_b.state.roots, before.to_vec());

    // The same old state at A as well (the patient tries to fork its state).
    let req_a = p.request(&ida, true);
    let (body_a, sig_a) = p.sign(&req_a);
    let (st, v) = a.post_update(&body_a, Some(&sig_a));
    let at_a = accepted(st, v);
    a.issuer.step(true).unwrap();
    b.issuer.step(true).unwrap();
    let (_, va) = a.get(&format!("/v1/updates/{}", at_a.update_id));
    let (_, vb) = b.get(&format!("/v1/updates/{}", at_b.update_id));
    assert_eq!(va["status"], "anchored", "{va}");
    assert_eq!(vb["status"], "rejected", "{vb}");
    // B's view of the spent set follows the chain.
    assert_eq!(
        b.get("/v1/info").1["spent_root"],
        a.get("/v1/info").1["spent_root"]
    );
    at_a.nullifier
}
