//! Single-attestation verification, key loading and root windows, against real Groth16
//! proofs of a toy circuit with the six zkmed public inputs.

mod common;

use ark_bn254::{Bn254, Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::One;
use ark_groth16::{Proof, VerifyingKey};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use common::*;
use std::time::Instant;
use zkmed_core::attestation::Attestation;
use zkmed_core::field::MODULUS_DEC;
use zkmed_core::manifest::{sha256_hex, CircuitEntry, KeyFile, Manifest};
use zkmed_core::Fr;
use zkmed_verifier::{
    decode_proof, verify, verify_statement_unbound, verify_with_query_hash, KeySet, RootError,
    RootPolicy, RootStatus, VerifierKey, VerifyError, Which, Window,
};

fn check(att: &Attestation, challenge: Fr) -> Result<(), VerifyError> {
    let f = fixture();
    verify(&f.keys, att, &query(), &challenge, &f.policy())
}

#[test]
fn valid_attestations_verify() {
    let f = fixture();
    for i in 0..4 {
        let att = f.key.attest(&public(i), i);
        check(&att, challenge(i)).unwrap();
        // The same attestation after the JSON and the binary round trip.
        let j = Attestation::from_json(att.to_json().as_bytes()).unwrap();
        check(&j, challenge(i)).unwrap();
        let b = Attestation::from_bytes(&att.to_bytes().unwrap()).unwrap();
        check(&b, challenge(i)).unwrap();
        verify_with_query_hash(
            &f.keys,
            &att,
            &query().hash().unwrap(),
            &challenge(i),
            &f.policy(),
        )
        .unwrap();
        verify_statement_unbound(f.keys.get(CIRCUIT).unwrap(), &att).unwrap();
        // The answer is whatever was proven; both values occur.
        assert_eq!(att.public.answer, i % 3 != 0);
    }
    // The second circuit's key verifies its own proofs.
    let att = f.other.attest(&public(9), 9);
    check(&att, challenge(9)).unwrap();
}

#[test]
fn tampered_proof_bytes_are_rejected() {
    let f = fixture();
    let att = f.key.attest(&public(1), 1);
    let bytes = att.proof_bytes().unwrap();
    assert_eq!(bytes.len(), 128);
    let (mut malformed, mut invalid) = (0, 0);
    for at in 0..bytes.len() {
        for bit in [0x01u8, 0x80] {
            let mut b = bytes.clone();
            b[at] ^= bit;
            let t = Attestation {
                proof: hex::encode(&b),
                ..att.clone()
            };
            match check(&t, challenge(1)) {
                Err(VerifyError::MalformedProof(_)) => malformed += 1,
                Err(VerifyError::InvalidProof { circuit }) => {
                    assert_eq!(circuit, CIRCUIT);
                    invalid += 1
                }
                other => panic!("byte {at} bit {bit:#x}: expected a proof error, got {other:?}"),
            }
        }
    }
    // Both failure modes are exercised: non-points and valid-but-wrong points.
    assert!(
        malformed > 0 && invalid > 0,
        "malformed {malformed}, invalid {invalid}"
    );

    // Truncated and extended proofs.
    let t = Attestation {
        proof: hex::encode(&bytes[..127]),
        ..att.clone()
    };
    assert!(matches!(
        check(&t, challenge(1)),
        Err(VerifyError::MalformedProof(_))
    ));
    let mut long = bytes.clone();
    long.push(0);
    let t = Attestation {
        proof: hex::encode(&long),
        ..att.clone()
    };
    let e = check(&t, challenge(1)).unwrap_err();
    assert!(e.to_string().contains("1 trailing bytes"), "{e}");
    // A proof that is not hex at all is a core (format) error.
    let t = Attestation {
        proof: "zz".into(),
        ..att.clone()
    };
    assert!(matches!(check(&t, challenge(1)), Err(VerifyError::Core(_))));
    // Another valid proof (for different inputs) does not verify these inputs.
    let other = f.key.attest(&public(2), 2);
    let t = Attestation {
        proof: other.proof.clone(),
        ..att.clone()
    };
    assert!(matches!(
        check(&t, challenge(1)),
        Err(VerifyError::InvalidProof { .. })
    ));
}

#[test]
fn every_public_input_is_bound() {
    let f = fixture();
    let att = f.key.attest(&public(4), 4);
    let p = att.public.clone();
    let with = |g: &dyn Fn(&mut zkmed_core::attestation::PublicInputs)| {
        let mut a = att.clone();
        g(&mut a.public);
        a
    };
    let x = Fr::from(987_654_321u64);

    // identity_root / state_root: unknown to the chain → the root check says so; known (so
    // the source accepts) → the pairing check fails.
    for which in ["identity", "state"] {
        let a = if which == "identity" {
            with(&|q| q.identity_root = x)
        } else {
            with(&|q| q.state_root = x)
        };
        let e = check(&a, challenge(4)).unwrap_err();
        assert!(
            matches!(e, VerifyError::Root(RootError::Unknown { .. })),
            "{which}: {e:?}"
        );
        assert!(e.to_string().contains(&format!("{which} root")), "{e}");
        let accepting = TestRoots::current();
        accepting.set_identity(x, RootStatus::Current);
        accepting.set_state(x, RootStatus::Current);
        let e = verify(
            &f.keys,
            &a,
            &query(),
            &challenge(4),
            &RootPolicy::new(&accepting),
        )
        .unwrap_err();
        assert!(matches!(e, VerifyError::InvalidProof { .. }), "{e:?}");
    }
    let _ = &p;

    // query_hash: relabelled to another question → mismatch with the question asked; and if
    // the verifier did ask that other question, the proof does not answer it.
    let a = with(&|q| q.query_hash = other_query().hash().unwrap());
    let e = check(&a, challenge(4)).unwrap_err();
    assert!(matches!(e, VerifyError::QueryMismatch { .. }), "{e:?}");
    assert!(e.to_string().starts_with("query mismatch"), "{e}");
    let e = verify(&f.keys, &a, &other_query(), &challenge(4), &f.policy()).unwrap_err();
    assert!(matches!(e, VerifyError::InvalidProof { .. }), "{e:?}");
    // The verifier's own question decides: the original attestation does not answer it.
    let e = verify(&f.keys, &att, &other_query(), &challenge(4), &f.policy()).unwrap_err();
    assert!(matches!(e, VerifyError::QueryMismatch { .. }), "{e:?}");

    // challenge: a replay under a new challenge is refused; a relabelled one fails the proof.
    let e = check(&att, challenge(5)).unwrap_err();
    assert!(matches!(e, VerifyError::ChallengeMismatch { .. }), "{e:?}");
    assert!(e.to_string().contains("challenge mismatch"), "{e}");
    let a = with(&|q| q.challenge = challenge(5));
    let e = check(&a, challenge(5)).unwrap_err();
    assert!(matches!(e, VerifyError::InvalidProof { .. }), "{e:?}");

    // scope, nullifier, answer: only the pairing check can catch these.
    for (name, a) in [
        ("nullifier", with(&|q| q.nullifier = x)),
        ("answer", with(&|q| q.answer = !q.answer)),
    ] {
        let e = check(&a, challenge(4)).unwrap_err();
        assert!(
            matches!(e, VerifyError::InvalidProof { .. }),
            "{name}: {e:?}"
        );
        assert!(e.to_string().contains("pairing check failed"), "{e}");
        let e = verify_statement_unbound(f.keys.get(CIRCUIT).unwrap(), &a).unwrap_err();
        assert!(
            matches!(e, VerifyError::InvalidProof { .. }),
            "{name}: {e:?}"
        );
    }
    check(&att, challenge(4)).unwrap();
}

#[test]
fn key_binding_circuit_and_version() {
    let f = fixture();
    let att = f.key.attest(&public(6), 6);

    let a = Attestation {
        key_hash: hex::encode([0xab; 32]),
        ..att.clone()
    };
    let e = check(&a, challenge(6)).unwrap_err();
    assert!(matches!(e, VerifyError::KeyHashMismatch { .. }), "{e:?}");
    assert!(
        e.to_string().contains(&f.key.key_hash) && e.to_string().contains(&"ab".repeat(32)),
        "{e}"
    );
    // Upper-case hex of the right hash is the same key.
    let a = Attestation {
        key_hash: att.key_hash.to_uppercase(),
        ..att.clone()
    };
    check(&a, challenge(6)).unwrap();

    let a = Attestation {
        circuit: "nope-v1".into(),
        ..att.clone()
    };
    let e = check(&a, challenge(6)).unwrap_err();
    assert!(matches!(e, VerifyError::UnknownCircuit { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains(&format!("{OTHER_CIRCUIT}, {CIRCUIT}")),
        "{e}"
    );
    let e = verify(&KeySet::new(), &att, &query(), &challenge(6), &f.policy()).unwrap_err();
    assert!(e.to_string().contains("loaded: none"), "{e}");

    // Claiming the other circuit (with its correct key hash) for this proof fails the
    // pairing check under that key.
    let a = Attestation {
        circuit: OTHER_CIRCUIT.into(),
        key_hash: f.other.key_hash.clone(),
        ..att.clone()
    };
    assert!(matches!(
        check(&a, challenge(6)),
        Err(VerifyError::InvalidProof { .. })
    ));
    assert!(matches!(
        verify_statement_unbound(f.keys.get(OTHER_CIRCUIT).unwrap(), &att),
        Err(VerifyError::UnknownCircuit { .. })
    ));

    let a = Attestation {
        version: 3,
        ..att.clone()
    };
    let e = check(&a, challenge(6)).unwrap_err();
    assert!(
        matches!(
            e,
            VerifyError::UnsupportedVersion {
                got: 3,
                expected: 2
            }
        ),
        "{e:?}"
    );
}

#[test]
fn non_canonical_public_input_rejected_at_parse() {
    let f = fixture();
    let att = f.key.attest(&public(7), 7);
    let json = att.to_json();
    let c = zkmed_core::field::fr_to_dec(&att.public.challenge);
    // p itself, and the alias challenge + p (which would reduce to the same field element).
    let alias = {
        let p: num_bigint_free::Big = num_bigint_free::Big::parse(MODULUS_DEC);
        p.add(&num_bigint_free::Big::parse(&c)).to_string()
    };
    for bad in [MODULUS_DEC.to_string(), alias] {
        let j = json.replace(
            &format!("\"challenge\": \"{c}\""),
            &format!("\"challenge\": \"{bad}\""),
        );
        assert_ne!(j, json);
        let e: VerifyError = Attestation::from_json(j.as_bytes()).unwrap_err().into();
        assert!(matches!(e, VerifyError::Core(_)));
        assert!(e.to_string().contains("not canonical"), "{e}");
    }
    // Binary form: a record commitment of all 0xff bytes.
    let mut b = att.to_bytes().unwrap();
    let at = 4 + 2 + CIRCUIT.len() + 32;
    b[at..at + 32].copy_from_slice(&[0xff; 32]);
    assert!(Attestation::from_bytes(&b)
        .unwrap_err()
        .to_string()
        .contains("not canonical"));
}

/// Minimal decimal addition so the test needs no bignum dependency.
mod num_bigint_free {
    pub struct Big(Vec<u8>); // little-endian decimal digits
    impl Big {
        pub fn parse(s: &str) -> Big {
            Big(s.bytes().rev().map(|c| c - b'0').collect())
        }
        pub fn add(&self, o: &Big) -> Big {
            let (mut out, mut carry) = (Vec::new(), 0);
            for i in 0..self.0.len().max(o.0.len()) {
                let s = self.0.get(i).unwrap_or(&0) + o.0.get(i).unwrap_or(&0) + carry;
                out.push(s % 10);
                carry = s / 10;
            }
            if carry > 0 {
                out.push(carry);
            }
            Big(out)
        }
    }
    impl std::fmt::Display for Big {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            let s: String = self.0.iter().rev().map(|d| (b'0' + d) as char).collect();
            f.write_str(&s)
        }
    }
}

/// An x coordinate with no point on y² = x³ + 3.
fn g1_non_point_x() -> Fq {
    (1u64..)
        .map(Fq::from)
        .find(|x| G1Affine::get_point_from_x_unchecked(*x, false).is_none())
        .unwrap()
}

/// A point on the G2 twist that is not in the prime-order subgroup.
fn g2_off_subgroup() -> G2Affine {
    (1u64..)
        .filter_map(|i| {
            G2Affine::get_point_from_x_unchecked(Fq2::new(Fq::from(i), Fq::one()), false)
        })
        .find(|p| !p.is_in_correct_subgroup_assuming_on_curve())
        .unwrap()
}

#[test]
fn proof_points_must_be_valid_curve_points() {
    let f = fixture();
    let att = f.key.attest(&public(8), 8);
    let good = att.proof_bytes().unwrap();
    decode_proof(&good).unwrap();
    let proof = Proof::<Bn254>::deserialize_compressed(&good[..]).unwrap();

    // A: an x with no curve point.
    let mut b = good.clone();
    let mut x = Vec::new();
    g1_non_point_x().serialize_compressed(&mut x).unwrap();
    b[..32].copy_from_slice(&x);
    let e = check(
        &Attestation {
            proof: hex::encode(&b),
            ..att.clone()
        },
        challenge(8),
    )
    .unwrap_err();
    assert!(matches!(e, VerifyError::MalformedProof(_)), "{e:?}");
    assert!(e.to_string().contains("do not decode"), "{e}");

    // A: a coordinate >= the base-field modulus.
    let mut b = good.clone();
    b[..31].copy_from_slice(&[0xff; 31]);
    b[31] = 0x3f; // keep the flag bits clear
    assert!(matches!(
        decode_proof(&b),
        Err(VerifyError::MalformedProof(_))
    ));

    // B: on the twist but outside the prime-order subgroup (invalid-curve / small-subgroup
    // attack); only the full validation catches it.
    let bad_b = Proof::<Bn254> {
        a: proof.a,
        b: g2_off_subgroup(),
        c: proof.c,
    };
    let mut b = Vec::new();
    bad_b.serialize_compressed(&mut b).unwrap();
    assert_eq!(b.len(), 128);
    let e = check(
        &Attestation {
            proof: hex::encode(&b),
            ..att.clone()
        },
        challenge(8),
    )
    .unwrap_err();
    assert!(matches!(e, VerifyError::MalformedProof(_)), "{e:?}");

    // C at infinity (a structurally valid encoding).
    let inf = Proof::<Bn254> {
        a: proof.a,
        b: proof.b,
        c: G1Affine::zero(),
    };
    let mut b = Vec::new();
    inf.serialize_compressed(&mut b).unwrap();
    let e = decode_proof(&b).unwrap_err();
    assert!(
        e.to_string().contains("point C is the point at infinity"),
        "{e}"
    );
}

#[test]
fn superseded_roots_are_accepted_within_the_window_only() {
    let f = fixture();
    let p = public(11);
    let att = f.key.attest(&p, 11);
    let roots = TestRoots::current();
    verify(
        &f.keys,
        &att,
        &query(),
        &challenge(11),
        &RootPolicy::new(&roots),
    )
    .unwrap();

    // A later batch supersedes the state root: inside the default window (1 h) it is still
    // accepted, and the report says which root and how old; past it, or with current roots
    // only, refused.
    roots.set_state(p.state_root, RootStatus::Superseded { ago_s: 3_600 });
    let (r, report) = zkmed_verifier::verify_with_report(
        &f.keys,
        &att,
        &query(),
        &challenge(11),
        &RootPolicy::new(&roots),
    );
    r.unwrap();
    let j = report.to_json();
    assert_eq!(j["roots"]["state"]["status"], "superseded");
    assert_eq!(j["roots"]["state"]["superseded_s_ago"], 3_600);
    assert_eq!(j["roots"]["identity"]["status"], "current");
    assert_eq!(j["window_s"], 3_600);
    let e = verify(
        &f.keys,
        &att,
        &query(),
        &challenge(11),
        &RootPolicy::current_only(&roots),
    )
    .unwrap_err();
    assert!(
        matches!(
            &e,
            VerifyError::Root(RootError::Expired { ago_s: 3_600, .. })
        ),
        "{e:?}"
    );
    roots.set_state(p.state_root, RootStatus::Superseded { ago_s: 3_601 });
    let e = verify(
        &f.keys,
        &att,
        &query(),
        &challenge(11),
        &RootPolicy::new(&roots),
    )
    .unwrap_err();
    assert!(e.to_string().contains("outside the window"), "{e}");
    // A longer window (an audit of past decisions) accepts it again.
    verify(
        &f.keys,
        &att,
        &query(),
        &challenge(11),
        &RootPolicy::with_window(&roots, Window::from_seconds(86_400)),
    )
    .unwrap();
    // A root from before an issuer's suspension: refused whatever the window.
    roots.set_state(
        p.state_root,
        RootStatus::Refused("before a suspension".into()),
    );
    let e = verify(
        &f.keys,
        &att,
        &query(),
        &challenge(11),
        &RootPolicy::with_window(&roots, Window::from_seconds(86_400)),
    )
    .unwrap_err();
    assert!(
        matches!(&e, VerifyError::Root(RootError::Refused { .. })),
        "{e:?}"
    );
    // The identity root, likewise (recovery or revocation supersedes it).
    let roots = TestRoots::current();
    roots.set_identity(p.identity_root, RootStatus::Superseded { ago_s: 7_200 });
    let e = verify(
        &f.keys,
        &att,
        &query(),
        &challenge(11),
        &RootPolicy::new(&roots),
    )
    .unwrap_err();
    assert!(
        matches!(
            &e,
            VerifyError::Root(RootError::Expired {
                which: Which::Identity,
                ..
            })
        ),
        "{e:?}"
    );
}

fn write_manifest(dir: &std::path::Path, keys: &[&ToyKey]) {
    let mut m = Manifest::new();
    for k in keys {
        let file = format!("{}.vk", k.id);
        std::fs::write(dir.join(&file), &k.vk_bytes).unwrap();
        m.upsert(CircuitEntry {
            id: k.id.clone(),
            version: 1,
            constraints: 8,
            public_inputs: 6,
            capacity: 0,
            r1cs_sha256: "00".repeat(32),
            pk: KeyFile {
                file: format!("{}.pk", k.id),
                sha256: "00".repeat(32),
                bytes: 0,
            },
            vk: KeyFile {
                file,
                sha256: sha256_hex(&k.vk_bytes),
                bytes: k.vk_bytes.len() as u64,
            },
        });
    }
    m.save(dir).unwrap();
}

#[test]
fn keyset_loads_manifest_and_rejects_tampered_vk() {
    let f = fixture();
    // Eight keys, like a full zkmed key directory (a vk's size depends only on the number
    // of public inputs, so the toy keys load exactly like the real ones).
    let extra: Vec<ToyKey> = (0..6)
        .map(|i| ToyKey::new(&format!("toy-{i}-v1"), 50 + i))
        .collect();
    let mut all: Vec<&ToyKey> = vec![&f.key, &f.other];
    all.extend(extra.iter());
    let dir = tempfile::tempdir().unwrap();
    write_manifest(dir.path(), &all);

    let start = Instant::now();
    let keys = KeySet::load_manifest_dir(dir.path()).unwrap();
    let took = start.elapsed();
    println!(
        "TIMING key load: {} verifying keys from manifest in {:.2} ms",
        keys.len(),
        took.as_secs_f64() * 1e3
    );
    assert_eq!(keys.len(), 8);
    assert!(keys.insecure_setup());
    for k in &all {
        let loaded = keys.get(&k.id).unwrap();
        assert_eq!(loaded.key_hash(), k.key_hash);
        assert_eq!(loaded.to_bytes(), k.vk_bytes);
        assert_eq!(loaded.vk(), &k.pk.vk);
    }
    let att = f.key.attest(&public(3), 3);
    verify(&keys, &att, &query(), &challenge(3), &f.policy()).unwrap();

    // One flipped byte in a vk file: the manifest hash check refuses the whole set.
    let path = dir.path().join(format!("{CIRCUIT}.vk"));
    let mut b = f.key.vk_bytes.clone();
    b[40] ^= 1;
    std::fs::write(&path, &b).unwrap();
    let e = KeySet::load_manifest_dir(dir.path()).unwrap_err();
    assert!(matches!(e, VerifyError::Core(_)), "{e:?}");
    assert!(e.to_string().contains("does not match the manifest"), "{e}");
    std::fs::write(&path, &f.key.vk_bytes).unwrap();
    KeySet::load_manifest_dir(dir.path()).unwrap();

    // A manifest entry with the wrong public-input count.
    let mut m = Manifest::load(dir.path()).unwrap();
    m.circuits[0].public_inputs = 7;
    m.save(dir.path()).unwrap();
    let e = KeySet::load_manifest_dir(dir.path()).unwrap_err();
    assert!(
        e.to_string().contains("manifest lists 7 public inputs"),
        "{e}"
    );

    // No manifest at all.
    let empty = tempfile::tempdir().unwrap();
    assert!(KeySet::load_manifest_dir(empty.path()).is_err());
}

#[test]
fn verifier_key_decoding() {
    let f = fixture();
    let bytes = &f.key.vk_bytes;
    let checked = VerifierKey::from_bytes("k", bytes).unwrap();
    let unchecked = VerifierKey::from_bytes_unchecked("k", bytes).unwrap();
    assert_eq!(checked.vk(), unchecked.vk());
    assert_eq!(checked.key_hash(), sha256_hex(bytes));
    assert_eq!(checked.to_bytes(), *bytes);
    assert_eq!(
        VerifierKey::from_vk("k", &f.key.pk.vk).unwrap().key_hash(),
        checked.key_hash()
    );
    assert_eq!(checked.id(), "k");

    let mut long = bytes.clone();
    long.push(0);
    assert!(VerifierKey::from_bytes("k", &long)
        .unwrap_err()
        .to_string()
        .contains("1 trailing bytes"));
    assert!(VerifierKey::from_bytes("k", &bytes[..bytes.len() - 1]).is_err());
    assert!(VerifierKey::from_bytes("k", &[]).is_err());

    // A key for a different number of public inputs.
    let mut vk: VerifyingKey<Bn254> = f.key.pk.vk.clone();
    vk.gamma_abc_g1.truncate(4);
    let mut b = Vec::new();
    vk.serialize_compressed(&mut b).unwrap();
    let e = VerifierKey::from_bytes("k", &b).unwrap_err();
    assert!(e.to_string().contains("key has 3 public inputs"), "{e}");
    assert!(VerifierKey::from_bytes_unchecked("k", &b).is_err());

    // gamma_g2 outside the subgroup: full validation rejects it; the unchecked path (only
    // for hash-pinned bytes) does not look.
    let mut vk: VerifyingKey<Bn254> = f.key.pk.vk.clone();
    vk.gamma_g2 = g2_off_subgroup();
    let mut b = Vec::new();
    vk.serialize_compressed(&mut b).unwrap();
    let e = VerifierKey::from_bytes("k", &b).unwrap_err();
    assert!(matches!(e, VerifyError::InvalidKey { .. }), "{e:?}");
    assert!(e.to_string().contains("do not decode"), "{e}");
    VerifierKey::from_bytes_unchecked("k", &b).unwrap();

    // Degenerate keys.
    let mut vk: VerifyingKey<Bn254> = f.key.pk.vk.clone();
    vk.delta_g2 = G2Affine::zero();
    let mut b = Vec::new();
    vk.serialize_compressed(&mut b).unwrap();
    assert!(VerifierKey::from_bytes("k", &b)
        .unwrap_err()
        .to_string()
        .contains("delta_g2 is the point at infinity"));
}

/// Prints single-verification latency (no timing assertion: the numbers depend on the
/// machine and its load). Run with `cargo test --release -p zkmed-verifier --test verify
/// timing -- --nocapture`.
#[test]
fn timing_single_verify() {
    let f = fixture();
    let atts: Vec<Attestation> = (0..16).map(|i| f.key.attest(&public(i), 500 + i)).collect();
    let q = query();
    let h = q.hash().unwrap();
    let median_min = |run: &dyn Fn(usize)| {
        let mut t: Vec<f64> = (0..8 * atts.len())
            .map(|n| {
                let start = Instant::now();
                run(n % atts.len());
                start.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        t.sort_by(f64::total_cmp);
        (t[t.len() / 2], t[0])
    };
    let full = |i: usize| verify(&f.keys, &atts[i], &q, &challenge(i as u64), &f.policy()).unwrap();
    let cached = |i: usize| {
        verify_with_query_hash(&f.keys, &atts[i], &h, &challenge(i as u64), &f.policy()).unwrap()
    };
    let hash = |_: usize| {
        std::hint::black_box(q.hash().unwrap());
    };
    (0..atts.len()).for_each(full); // warm up (thread pool, caches)
    let (full_med, full_min) = median_min(&full);
    let (cached_med, cached_min) = median_min(&cached);
    let (hash_med, _) = median_min(&hash);
    println!(
        "TIMING single verify: median {full_med:.3} ms (min {full_min:.3}) per attestation incl. query hash \
         ({hash_med:.3} ms alone); with a cached query hash median {cached_med:.3} ms (min {cached_min:.3})"
    );
}
