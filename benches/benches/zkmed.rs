//! `cargo bench -p zkmed-benches` — warm proving (exists-v3 over 2^20-record trees, scan64-v3
//! over 64 records, each with the identity, note, issuers and spent-set paths of the
//! anchored state), single and batch verification against the roots (an in-memory model of
//! the chain), key loading. Prints constraint counts first.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::Duration;
use zkmed_benches::{challenge, fixture, predicate, request, scope};
use zkmed_circuits::CircuitId;
use zkmed_core::field::Fr;
use zkmed_prover::keys::R1csShape;
use zkmed_prover::{prove, KeyStore, ProveRequest};
use zkmed_verifier::{verify, verify_batch, verify_with_query_hash, BatchItem, KeySet, RootPolicy};

fn constraint_counts() {
    for c in CircuitId::ALL {
        println!("constraints {:<11} {:>7}", c.as_str(), c.num_constraints());
    }
}

fn bench_prove(c: &mut Criterion) {
    constraint_counts();
    let mut f = fixture();
    let mut g = c.benchmark_group("prove");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(1));
    for (pred, circuit) in [
        ("has-organ-transplant", CircuitId::Exists),
        ("no-chronic-conditions", CircuitId::Scan64),
    ] {
        let q = predicate(pred);
        f.keys.get(circuit).expect("keys"); // load outside the measurement
        let req = ProveRequest {
            opening: &f.opening,
            identity: &f.identity,
            state: &f.state,
            query: &q,
            request: request(0),
            scope: scope(),
        };
        let p = prove(&f.keys, &req, &mut f.rng).expect("prove");
        assert_eq!(p.attestation.circuit, circuit.as_str());
        g.bench_with_input(BenchmarkId::new(circuit.as_str(), pred), &req, |b, req| {
            b.iter(|| prove(&f.keys, req, &mut f.rng).expect("prove"))
        });
    }
    g.finish();
}

fn bench_verify(c: &mut Criterion) {
    let mut f = fixture();
    let vkeys = KeySet::load_manifest_dir(f.keys.dir()).expect("vks");
    let source = RootPolicy::new(&f.local);
    let q = predicate("has-organ-transplant");
    let atts: Vec<_> = (0..64)
        .map(|i| {
            let req = ProveRequest {
                opening: &f.opening,
                identity: &f.identity,
                state: &f.state,
                query: &q,
                request: request(i),
                scope: scope(),
            };
            prove(&f.keys, &req, &mut f.rng).expect("prove").attestation
        })
        .collect();
    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(1));
    g.bench_function(BenchmarkId::new("single", "exists-v3"), |b| {
        b.iter(|| verify(&vkeys, &atts[0], &q, &challenge(0), &source).expect("valid"))
    });
    let qh = q.hash().expect("query hash");
    g.bench_function(
        BenchmarkId::new("single_cached_question", "exists-v3"),
        |b| {
            b.iter(|| {
                verify_with_query_hash(&vkeys, &atts[0], &qh, &challenge(0), &source)
                    .expect("valid")
            })
        },
    );
    for n in [16usize, 64] {
        let items: Vec<BatchItem> = atts[..n]
            .iter()
            .enumerate()
            .map(|(i, a)| BatchItem {
                attestation: a,
                expected_query: &q,
                expected_challenge: challenge(i as u64),
            })
            .collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("batch", n), &items, |b, items| {
            b.iter(|| verify_batch(&vkeys, items, &source, &mut f.rng).expect("valid batch"))
        });
    }
    g.finish();
}

fn bench_native(c: &mut Criterion) {
    use zkmed_core::poseidon::{poseidon, poseidon_reference};
    let mut g = c.benchmark_group("native");
    for n in [2usize, 5, 8] {
        let xs: Vec<Fr> = (0..n as u64).map(|i| Fr::from(i + 7)).collect();
        g.bench_with_input(BenchmarkId::new("poseidon", n), &xs, |b, xs| {
            b.iter(|| poseidon(xs).expect("hash"))
        });
        g.bench_with_input(BenchmarkId::new("poseidon_textbook", n), &xs, |b, xs| {
            b.iter(|| poseidon_reference(xs).expect("hash"))
        });
    }
    let q = predicate("no-chronic-conditions");
    g.bench_function("query_hash", |b| b.iter(|| q.hash().expect("hash")));
    let f = fixture();
    g.bench_function(BenchmarkId::new("commitment", "demo-patient"), |b| {
        b.iter(|| f.opening.commitment().expect("commitment"))
    });
    g.finish();
}

fn bench_keys(c: &mut Criterion) {
    let f = fixture();
    let dir = f.keys.dir().to_path_buf();
    let mut g = c.benchmark_group("keys");
    g.sample_size(10);
    g.bench_function("load_verifying_keys", |b| {
        b.iter(|| KeySet::load_manifest_dir(&dir).expect("vks"))
    });
    g.bench_function(BenchmarkId::new("load_proving_key", "exists-v3"), |b| {
        b.iter(|| {
            KeyStore::open(&dir)
                .expect("store")
                .get(CircuitId::Exists)
                .expect("pk")
        })
    });
    // Once per process the prover also derives the circuit's R1CS matrices (cached after).
    for id in [CircuitId::Exists, CircuitId::Scan64] {
        g.bench_function(BenchmarkId::new("derive_r1cs_matrices", id.as_str()), |b| {
            b.iter(|| R1csShape::of(id).expect("shape"))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_prove, bench_verify, bench_native, bench_keys);
criterion_main!(benches);
