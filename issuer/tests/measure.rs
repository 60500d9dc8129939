//! Rough figures (ignored in CI): `cargo test -p zkmed-issuer --release --test measure -- --ignored --nocapture`.

mod common;

use common::*;
use std::time::Instant;

#[test]
#[ignore]
fn accept_and_anchor_throughput() {
    use std::sync::{Arc, Mutex};
    use zkmed_chain::backend::{Address, EmbeddedBackend, Registry};
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("i");
    let chain = Arc::new(Mutex::new(zkmed_chain::embedded::EmbeddedChain::in_memory()));
    let gov = EmbeddedBackend::new(chain, Address::repeat_byte(0x01));
    let me = Address::repeat_byte(0x0a);
    let mut g = Registry::deploy(gov.clone()).unwrap();
    g.accredit(me, "clinic").unwrap();
    let s = start_with(
        &dir,
        Box::new(
            zkmed_issuer::ChainAnchor::new(Registry::attach(gov.as_account(me), g.deployment))
                .unwrap(),
        ),
    );
    std::fs::create_dir_all(&dir).unwrap();
    let mut ps: Vec<Patient> = (0..n).map(|_| Patient::new(&[&dir])).collect();
    let reqs: Vec<_> = ps
        .iter_mut()
        .map(|p| {
            let r = p.request(&me.to_string(), false);
            p.sign(&r)
        })
        .collect();
    let t = Instant::now();
    for (body, sig) in &reqs {
        assert_eq!(s.post_update(body, Some(sig)).0, 202);
    }
    let accept = t.elapsed();
    let t = Instant::now();
    s.issuer.step(true).unwrap();
    let anchor = t.elapsed();
    let info = s.get("/v1/info").1;
    assert_eq!(info["note_count"], n);
    println!(
        "{n} genesis updates over HTTP (sequential): {:.2} ms each; one batch of {n} prepared, anchored on the embedded chain and mirrored: {:.0} ms",
        accept.as_secs_f64() * 1000.0 / n as f64,
        anchor.as_secs_f64() * 1000.0
    );
}
