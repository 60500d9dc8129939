//! Test support: a key directory shared by all test binaries of a `cargo test` run, made
//! once with a FIXED seed (deterministic, and therefore insecure: tests only) and reused
//! while the circuits do not change. Guarded by a file lock so parallel test binaries do
//! not race.

use crate::keys::{setup, KeyStore};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::path::PathBuf;
use zkmed_circuits::CircuitId;

/// Seed of the test keys. Anyone can forge proofs for these keys: never deploy them.
pub const TEST_SEED: u64 = 0x7a6b_6d65_6400_0001;

/// `target/zkmed-test-keys`, holding keys for `circuits` (generated if missing or stale).
pub fn test_keys(circuits: &[CircuitId]) -> KeyStore {
    let dir = std::env::var_os("ZKMED_TEST_KEYS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/zkmed-test-keys")
        });
    std::fs::create_dir_all(&dir).expect("create test key dir");
    let lock = std::fs::File::create(dir.join(".lock")).expect("lock file");
    lock.lock().expect("lock test key dir");
    let fresh = |id: CircuitId| {
        KeyStore::open(&dir)
            .ok()
            .and_then(|ks| {
                let shape = crate::keys::R1csShape::cached(id).ok()?;
                ks.manifest()
                    .get(id.as_str())
                    .map(|e| e.r1cs_sha256 == shape.sha256)
            })
            .unwrap_or(false)
    };
    for &id in circuits {
        if !fresh(id) {
            let mut rng = ChaCha20Rng::seed_from_u64(TEST_SEED ^ id as u64);
            setup(&dir, &[id], &mut rng, &mut |_| {}).expect("test setup");
        }
    }
    drop(lock);
    KeyStore::open(&dir).expect("open test keys")
}
