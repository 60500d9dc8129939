use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::collections::BTreeMap;
use zkmed_circuits::CircuitId;
use zkmed_core::field::Fr;
use zkmed_core::predicates;
use zkmed_prover::{prove, setup, IdentitySecret, KeyStore, ProveRequest};
use zkmed_records::{import_bundle, Opening};

#[test]
fn smoke() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let t = std::time::Instant::now();
    setup(dir.path(), &[CircuitId::Exists, CircuitId::Scan64], &mut rng, &mut |e| println!("{e:?}")).unwrap();
    println!("setup {:?}", t.elapsed());
    let keys = KeyStore::open(dir.path()).unwrap();
    let path = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/synthea"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("Jonathan_Hermiston"))
        .unwrap();
    let imported = import_bundle(&std::fs::read(path).unwrap()).unwrap();
    let id = IdentitySecret::random(&mut rng);
    let opening = Opening::create(imported, id.commitment(), &mut rng).unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    for name in ["has-organ-transplant", "no-chronic-conditions", "age-at-least"] {
        let q = predicates::get(name).unwrap().instantiate(&BTreeMap::new(), today).unwrap();
        let req = ProveRequest { opening: &opening, identity: &id, query: &q, challenge: Fr::from(42u64), scope: Fr::from(7u64) };
        let t = std::time::Instant::now();
        let p = prove(&keys, &req, &mut rng).unwrap();
        println!("{name}: {:?} answer={} in {:?}", p.plan.circuit, p.attestation.public.answer, t.elapsed());
    }
}
