use ark_bn254::{Bn254, Fr};
use ark_groth16::{r1cs_to_qap::LibsnarkReduction, Groth16};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisMode, R1CS_PREDICATE_LABEL};
use ark_std::UniformRand;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::collections::BTreeMap;
use zkmed_circuits::CircuitId;
use zkmed_core::predicates;
use zkmed_prover::{prove, setup, IdentitySecret, KeyStore, ProveRequest};
use zkmed_records::{import_bundle, Opening};

#[test]
fn profile() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    setup(dir.path(), &[CircuitId::Exists, CircuitId::Scan64], &mut rng, &mut |_| {}).unwrap();
    let keys = KeyStore::open(dir.path()).unwrap();
    for id in [CircuitId::Exists, CircuitId::Scan64] {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        id.blank().generate_constraints(cs.clone()).unwrap();
        cs.finalize();
        let t = std::time::Instant::now();
        let m = cs.to_matrices().unwrap();
        let mats = m[R1CS_PREDICATE_LABEL].clone();
        let nnz: usize = mats.iter().map(|mm| mm.iter().map(|r| r.len()).sum::<usize>()).sum();
        println!("{id}: to_matrices {:?}, nnz {nnz}, inputs {} constraints {}", t.elapsed(), cs.num_instance_variables(), cs.num_constraints());
    }
    let path = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/synthea"))
        .unwrap().map(|e| e.unwrap().path()).find(|p| p.to_string_lossy().contains("Jonathan_Hermiston")).unwrap();
    let imported = import_bundle(&std::fs::read(path).unwrap()).unwrap();
    let id = IdentitySecret::random(&mut rng);
    let opening = Opening::create(imported, id.commitment(), &mut rng).unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    let q = predicates::get("has-organ-transplant").unwrap().instantiate(&BTreeMap::new(), today).unwrap();
    let req = ProveRequest { opening: &opening, identity: &id, query: &q, challenge: Fr::from(42u64), scope: Fr::from(7u64) };
    for _ in 0..3 {
        let t = std::time::Instant::now();
        prove(&keys, &req, &mut rng).unwrap();
        println!("full prove {:?}", t.elapsed());
    }
    let _ = (Fr::rand(&mut rng), std::marker::PhantomData::<(Bn254, LibsnarkReduction, Groth16<Bn254>)>);
}
