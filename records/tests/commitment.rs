//! Trees, paths, the record commitment and the opening file.

mod common;

use ark_ff::{UniformRand, Zero};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkmed_core::encoding::TREE_DEPTH;
use zkmed_core::field::{fr_to_dec, fr_to_hex, Fr};
use zkmed_core::poseidon::poseidon;
use zkmed_records::{
    import_bundle, record_commitment, zero_hashes, Kind, KindTree, Opening, RecordsError,
    OPENING_VERSION,
};

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

#[test]
fn every_path_verifies_for_random_sizes() {
    let mut r = rng(1);
    for n in [1usize, 2, 5, 64, 300] {
        let leaves: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut r)).collect();
        let t = KindTree::from_leaves(leaves.clone()).unwrap();
        assert_eq!(t.len(), n);
        for (i, l) in leaves.iter().enumerate() {
            let p = t.path(i).unwrap();
            assert_eq!(p.siblings().len(), TREE_DEPTH);
            assert_eq!(p.index(), i);
            assert_eq!(p.root_from(*l), t.root(), "n={n} i={i}");
            assert_ne!(p.root_from(*l + Fr::from(1u64)), t.root());
        }
        // The first empty slot proves it is empty.
        assert_eq!(t.path(n).unwrap().root_from(Fr::zero()), t.root());
        // A leaf at the wrong index does not verify (when two leaves differ).
        if n > 1 {
            assert!(!t.path(1).unwrap().verify(leaves[0], t.root()));
        }
    }
}

#[test]
fn empty_tree_and_trailing_zeros() {
    let z = zero_hashes();
    assert_eq!(z[0], Fr::zero());
    for h in 0..TREE_DEPTH {
        assert_eq!(z[h + 1], poseidon(&[z[h]; 4]).unwrap());
    }
    assert_eq!(KindTree::from_leaves(vec![]).unwrap().root(), z[TREE_DEPTH]);
    // Same table as the one zkmed-core exposes for the circuits.
    assert_eq!(zkmed_core::poseidon::zero_hashes(), &z[..]);
    let x = Fr::from(12345u64);
    let one = KindTree::from_leaves(vec![x]).unwrap();
    // An empty slot is 0, so a trailing zero leaf does not change the root (documented:
    // a real leaf is a Poseidon output and never 0).
    assert_eq!(
        one.root(),
        KindTree::from_leaves(vec![x, Fr::zero()]).unwrap().root()
    );
    assert_ne!(
        one.root(),
        KindTree::from_leaves(vec![x, Fr::from(1u64)])
            .unwrap()
            .root()
    );
    assert_ne!(
        one.root(),
        KindTree::from_leaves(vec![Fr::zero(), x]).unwrap().root()
    );
    assert_ne!(one.root(), z[TREE_DEPTH]);
}

#[test]
fn building_1000_leaves_is_fast() {
    let mut r = rng(2);
    let leaves: Vec<Fr> = (0..1000).map(|_| Fr::rand(&mut r)).collect();
    let _ = zero_hashes();
    let t0 = std::time::Instant::now();
    let t = KindTree::from_leaves(leaves).unwrap();
    let el = t0.elapsed();
    assert_ne!(t.root(), Fr::zero());
    // 50 ms is the release target; the test profile is optimised too, leave slack for CI noise.
    assert!(el.as_millis() < 150, "building 1000 leaves took {el:?}");
    eprintln!("1000-leaf tree: {el:?}");
}

fn opening(seed: u64) -> Opening {
    let imp = import_bundle(common::bundle(&[
        r#"{"resourceType":"Condition","id":"c1","code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003"}]},"onsetDateTime":"2010-01-01"}"#,
        r#"{"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]},"effectiveDateTime":"2020-01-01","valueQuantity":{"value":6.5,"code":"%"}}"#,
        r#"{"resourceType":"Condition","id":"c2","code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006"}]},"onsetDateTime":"2012-01-01"}"#,
    ]).as_bytes())
    .unwrap();
    Opening::create(imp, Fr::from(99u64), &mut rng(seed)).unwrap()
}

#[test]
fn commitment_layout() {
    let o = opening(3);
    let roots = o.roots().unwrap();
    let pl = o.patient_leaf().unwrap();
    assert_eq!(
        o.commitment().unwrap(),
        record_commitment(Fr::from(99u64), pl, &roots)
    );
    let mut inputs = vec![Fr::from(99u64), pl];
    inputs.extend(roots);
    assert_eq!(o.commitment().unwrap(), poseidon(&inputs).unwrap());
    // Kinds without records have the empty root; the others do not.
    assert_eq!(roots[Kind::Procedure.index()], zero_hashes()[TREE_DEPTH]);
    assert_ne!(roots[Kind::Condition.index()], zero_hashes()[TREE_DEPTH]);
    // Leaf order within a kind = chronological (this data is already in date order).
    let conds = o.records_of(Kind::Condition);
    assert_eq!(
        conds
            .iter()
            .map(|(i, r)| (*i, r.record.codes[0].code.as_str()))
            .collect::<Vec<_>>(),
        vec![(0, "38341003"), (1, "44054006")]
    );
    let tree = o.tree(Kind::Condition).unwrap();
    assert_eq!(
        tree.leaves(),
        &[conds[0].1.leaf().unwrap(), conds[1].1.leaf().unwrap()][..]
    );
    assert_eq!(o.records_of(Kind::Observation)[0].0, 0);
}

#[test]
fn commitment_changes_with_any_input() {
    let base = opening(4);
    let c0 = base.commitment().unwrap();
    let changed = |f: &dyn Fn(&mut Opening)| {
        let mut o = base.clone();
        f(&mut o);
        o.commitment().unwrap()
    };
    assert_eq!(changed(&|_| {}), c0);
    assert_ne!(
        changed(&|o| o.identity_commitment = Fr::from(100u64)),
        c0,
        "identity commitment"
    );
    assert_ne!(
        changed(&|o| o.patient_salt += Fr::from(1u64)),
        c0,
        "patient salt"
    );
    assert_ne!(
        changed(&|o| o.patient.birth_date = o.patient.birth_date.succ_opt().unwrap()),
        c0,
        "birth date"
    );
    assert_ne!(
        changed(&|o| o.patient.gender = zkmed_records::Gender::Other),
        c0,
        "gender"
    );
    for i in 0..base.records.len() {
        assert_ne!(
            changed(&|o| o.records[i].salt += Fr::from(1u64)),
            c0,
            "salt of record {i}"
        );
        assert_ne!(
            changed(&|o| o.records[i].record.codes[0].code.push('9')),
            c0,
            "code of record {i}"
        );
        assert_ne!(
            changed(&|o| o.records[i].record.date = None),
            c0,
            "date of record {i}"
        );
        assert_ne!(
            changed(&|o| o.records[i].record.end = o.records[i].record.date),
            c0,
            "end of record {i}"
        );
        assert_ne!(
            changed(&|o| o.records[i].record.value = Some(1)),
            c0,
            "value of record {i}"
        );
        assert_ne!(
            changed(&|o| o.records[i].record.status = zkmed_records::Status::Void),
            c0,
            "status of record {i}"
        );
        assert_ne!(
            changed(&|o| o.records[i].record.source.push('!')),
            c0,
            "source of record {i}"
        );
        // The display and the FHIR id are not committed.
        assert_eq!(
            changed(&|o| o.records[i].record.display = Some("x".into())),
            c0
        );
        assert_eq!(changed(&|o| o.records[i].record.fhir_id = None), c0);
    }
    // Reordering two records of one kind changes the commitment.
    assert_ne!(changed(&|o| o.records.swap(0, 2)), c0);
    // Moving a record to another kind changes it.
    assert_ne!(
        changed(&|o| o.records[0].record.kind = Kind::AllergyIntolerance),
        c0
    );
    // Fresh salts: a different rng gives a different commitment for the same records.
    assert_ne!(opening(5).commitment().unwrap(), c0);
}

#[test]
fn salts_are_248_bit_and_distinct() {
    let o = opening(6);
    let mut all: Vec<Fr> = o.records.iter().map(|r| r.salt).collect();
    all.push(o.patient_salt);
    for s in &all {
        assert_eq!(
            zkmed_core::field::fr_to_be_bytes(s)[0],
            0,
            "salt below 2^248"
        );
    }
    all.sort_by_key(fr_to_dec);
    all.dedup();
    assert_eq!(all.len(), o.records.len() + 1);
}

#[test]
fn save_load_roundtrip_and_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opening.json");
    let o = opening(7);
    o.save(&path).unwrap();
    let back = Opening::load(&path).unwrap();
    assert_eq!(back, o);
    assert_eq!(back.commitment().unwrap(), o.commitment().unwrap());
    assert_eq!(back.version, OPENING_VERSION);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Overwriting works and leaves no temporary file behind.
    opening(8).save(&path).unwrap();
    assert_ne!(Opening::load(&path).unwrap(), o);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("opening.json")]);
    // Field elements are decimal strings.
    let text = std::fs::read_to_string(&path).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["identity_commitment"], "99");
    assert!(v["records"][0]["salt"]
        .as_str()
        .unwrap()
        .bytes()
        .all(|b| b.is_ascii_digit()));
}

#[test]
fn load_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.json");
    let o = opening(9);
    let good: serde_json::Value = serde_json::from_str(&o.to_json().unwrap()).unwrap();
    let write =
        |v: &serde_json::Value| std::fs::write(&path, serde_json::to_vec(v).unwrap()).unwrap();
    let load_err = || Opening::load(&path).unwrap_err().to_string();

    let mut v = good.clone();
    v["version"] = 1.into(); // the format before issue 14 (one coding per record)
    write(&v);
    let m = load_err();
    assert!(
        m.contains("unsupported opening version 1") && m.contains("o.json"),
        "{m}"
    );

    let mut v = good.clone();
    v.as_object_mut().unwrap().remove("version");
    write(&v);
    assert!(load_err().contains("no `version`"));

    std::fs::write(&path, b"{ not json").unwrap();
    assert!(load_err().contains("malformed opening JSON"));

    let mut v = good.clone();
    v["records"][0]["salt"] = zkmed_core::field::MODULUS_DEC.into();
    write(&v);
    let m = load_err();
    assert!(m.contains("not canonical"), "{m}");

    let mut v = good.clone();
    v["patient_salt"] = "0x12".into();
    write(&v);
    assert_eq!(
        Opening::load(&path).unwrap().patient_salt,
        Fr::from(0x12u64),
        "hex is accepted"
    );

    let mut v = good.clone();
    v["records"][0]["record"]["value"] = serde_json::json!(1i64 << 50);
    write(&v);
    assert!(load_err().contains("outside the encodable range"));

    let mut v = good.clone();
    v["records"][0]["record"]["kind"] = "Encounter".into();
    write(&v);
    assert!(load_err().contains("malformed opening"));

    let missing = dir.path().join("missing.json");
    assert!(matches!(
        Opening::load(&missing),
        Err(RecordsError::Io { .. })
    ));
}

#[test]
fn debug_never_shows_salts() {
    let o = opening(10);
    let mut secrets: Vec<Fr> = o.records.iter().map(|r| r.salt).collect();
    secrets.push(o.patient_salt);
    let texts = [
        format!("{o:?}"),
        format!("{o:#?}"),
        format!("{:?}", o.records),
        format!("{:#?}", o.records[0]),
    ];
    for t in &texts {
        assert!(t.contains("<redacted>"), "{t}");
        for s in &secrets {
            let dec = fr_to_dec(s);
            let hex = fr_to_hex(s);
            // Fr's own Debug/Display forms, decimal and hex, must not appear.
            for form in [
                dec.clone(),
                hex[2..].to_string(),
                hex[2..].trim_start_matches('0').to_string(),
                format!("{s}"),
                format!("{s:?}"),
            ] {
                assert!(!t.contains(&form), "salt leaked in {t}");
            }
        }
    }
    assert!(texts[0].contains("salts"), "{}", texts[0]);
    assert!(!texts[0].contains("1980"), "birth date is not printed");
    assert!(texts[3].contains("salt: <redacted>"), "{}", texts[3]);
}
