//! Gadget-versus-native agreement for the parts not covered by the unit tests in
//! `circuits/src`: Merkle paths, the scan circuit's tree-from-prefix, the record leaf and
//! per-record filter, and the query hash. The native twins are `zkmed-records` (trees,
//! leaves) and `zkmed-core` (query compilation and hash).

use ark_bn254::Fr;
use ark_ff::{UniformRand, Zero};
use ark_r1cs_std::{alloc::AllocVar, boolean::Boolean, GR1CSVar};
use ark_relations::gr1cs::{ConstraintSystem, ConstraintSystemRef};
use chrono::NaiveDate;
use rand::{rngs::StdRng, SeedableRng};
use zkmed_circuits::common::{QueryVars, RecordVars};
use zkmed_circuits::gadgets::merkle::{root_from_path, PathLevelVar};
use zkmed_circuits::gadgets::FrVar;
use zkmed_circuits::scan::tree_root_from_prefix;
use zkmed_circuits::witness::{CommonWitness, RecordWitness, StateWitness};
use zkmed_core::encoding::{Kind, Status, NO_STATUS, TREE_DEPTH};
use zkmed_core::query::{CompiledQuery, Query};
use zkmed_records::{Code, Comparator, EncodedRecord, KindTree, MerklePath, Record, TREE_CAPACITY};

fn random_leaves(n: usize, seed: u64) -> Vec<Fr> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| Fr::rand(&mut rng)).collect()
}

fn alloc_path(cs: &ConstraintSystemRef<Fr>, p: &MerklePath) -> Vec<PathLevelVar> {
    p.siblings()
        .iter()
        .zip(p.positions())
        .map(|(sib, &pos)| PathLevelVar {
            pos: [
                Boolean::new_witness(cs.clone(), || Ok(pos & 1 == 1)).unwrap(),
                Boolean::new_witness(cs.clone(), || Ok(pos & 2 == 2)).unwrap(),
            ],
            siblings: sib.map(|s| FrVar::new_witness(cs.clone(), || Ok(s)).unwrap()),
        })
        .collect()
}

#[test]
fn merkle_path_gadget_matches_native_paths() {
    let leaves = random_leaves(70, 1);
    let tree = KindTree::from_leaves(leaves.clone()).unwrap();
    for i in [
        0,
        1,
        2,
        3,
        4,
        15,
        16,
        63,
        64,
        69,
        70,
        1000,
        TREE_CAPACITY - 1,
    ] {
        let path = tree.path(i).unwrap();
        assert_eq!(path.positions().len(), TREE_DEPTH);
        let leaf = leaves.get(i).copied().unwrap_or(Fr::zero());
        let cs = ConstraintSystem::<Fr>::new_ref();
        let leaf_var = FrVar::new_witness(cs.clone(), || Ok(leaf)).unwrap();
        let root = root_from_path(&leaf_var, &alloc_path(&cs, &path)).unwrap();
        assert_eq!(root.value().unwrap(), path.root_from(leaf), "slot {i}");
        assert_eq!(root.value().unwrap(), tree.root(), "slot {i}");
        assert!(cs.is_satisfied().unwrap());
    }
}

#[test]
fn merkle_path_gadget_is_sensitive_to_position_sibling_and_leaf() {
    let leaves = random_leaves(20, 2);
    let tree = KindTree::from_leaves(leaves.clone()).unwrap();
    let path = tree.path(5).unwrap();
    let run = |leaf: Fr, p: &MerklePath| {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let leaf_var = FrVar::new_witness(cs.clone(), || Ok(leaf)).unwrap();
        let r = root_from_path(&leaf_var, &alloc_path(&cs, p))
            .unwrap()
            .value()
            .unwrap();
        assert_eq!(
            r,
            p.root_from(leaf),
            "gadget and native agree on every input"
        );
        r
    };
    assert_eq!(run(leaves[5], &path), tree.root());
    assert_ne!(run(leaves[6], &path), tree.root(), "another leaf at slot 5");
    let mut positions = path.positions().to_vec();
    positions[0] = 2;
    let moved = MerklePath::new(path.siblings().to_vec(), positions).unwrap();
    assert_ne!(
        run(leaves[5], &moved),
        tree.root(),
        "same leaf, wrong position"
    );
    let mut siblings = path.siblings().to_vec();
    siblings[3][1] += Fr::from(1u64);
    let bent = MerklePath::new(siblings, path.positions().to_vec()).unwrap();
    assert_ne!(run(leaves[5], &bent), tree.root(), "tampered sibling");
}

#[test]
fn tree_root_from_prefix_matches_kind_tree_root() {
    for n in [0usize, 1, 2, 4, 5, 16, 17, 63, 64, 65] {
        let leaves = random_leaves(n, 3 + n as u64);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let vars = leaves
            .iter()
            .map(|l| FrVar::new_witness(cs.clone(), || Ok(*l)).unwrap())
            .collect();
        let root = tree_root_from_prefix(vars).unwrap();
        assert_eq!(
            root.value().unwrap(),
            KindTree::from_leaves(leaves).unwrap().root(),
            "{n} leaves"
        );
        assert!(cs.is_satisfied().unwrap());
    }
    // The empty tree is a constant: no constraints at all.
    let cs = ConstraintSystem::<Fr>::new_ref();
    let root = tree_root_from_prefix(vec![]).unwrap();
    assert_eq!(cs.num_constraints(), 0);
    assert_eq!(root.value().unwrap(), KindTree::empty().root());
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn hba1c(
    value: Option<i64>,
    unit: Option<&str>,
    status: Status,
    date: Option<NaiveDate>,
) -> Record {
    Record {
        kind: Kind::Observation,
        codes: vec![Code::new("http://loinc.org", "4548-4")],
        value_codes: Vec::new(),
        display: None,
        date,
        end: None,
        value,
        comparator: None,
        unit: unit.map(str::to_string),
        status,
        source: "General Hospital".into(),
        fhir_id: None,
    }
}

fn common_witness(cq: CompiledQuery) -> CommonWitness {
    CommonWitness {
        // The query gadgets read only the query; the state witness is not synthesized here.
        state: StateWitness {
            identity_secret: Fr::from(11u64),
            nullifier_key: Fr::from(13u64),
            scope: Fr::zero(),
            request: Fr::zero(),
            identity_path: Default::default(),
            rho: Fr::zero(),
            note_path: Default::default(),
            issuers_path: Default::default(),
            spent_root: Fr::zero(),
            low_value: Fr::zero(),
            low_next: Fr::zero(),
            spent_path: Default::default(),
        },
        birth_date: 700_000,
        gender: 1,
        patient_salt: Fr::from(12u64),
        roots: [Fr::zero(); 6],
        query: cq,
    }
}

fn q(json: &str) -> Query {
    Query::from_json(json.as_bytes()).unwrap_or_else(|e| panic!("{json}: {e}"))
}

/// The gadget's verdict on one record: certainly matches, certainly not, or undecided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum V {
    In,
    Out,
    Undecided,
}

/// Synthesizes the query (with its true hash) and one record; returns `(leaf, kind,
/// verdict)` where the verdict combines the base clauses with the value clauses.
fn open_record(e: &EncodedRecord, cq: &CompiledQuery) -> (Fr, Fr, V) {
    let cs = ConstraintSystem::<Fr>::new_ref();
    let h = FrVar::new_input(cs.clone(), || Ok(cq.hash())).unwrap();
    let w = common_witness(cq.clone());
    let qv = QueryVars::alloc(cs.clone(), Some(&w), &h).unwrap();
    let rw = RecordWitness {
        meta: e.meta,
        value_lo: e.value_lo,
        value_hi: e.value_hi,
        unit: e.unit,
        aux: e.aux,
        codes: e.codes,
        value_codes: e.value_codes,
    };
    let r = RecordVars::synthesize(cs.clone(), Some(&rw), &qv).unwrap();
    assert!(cs.is_satisfied().unwrap());
    let (base, vin, vout) = (
        r.base.value().unwrap(),
        r.value_in.value().unwrap(),
        r.value_out.value().unwrap(),
    );
    assert!(!(vin && vout), "in and out at once");
    let v = if !base || vout {
        V::Out
    } else if vin {
        V::In
    } else {
        V::Undecided
    };
    (r.leaf.value().unwrap(), r.kind.value().unwrap(), v)
}

#[test]
fn record_leaf_gadget_matches_encoded_record_leaf() {
    let any = q(r#"{"version":1,"records":{"kind":"Observation","quantifier":"exists"}}"#)
        .compile()
        .unwrap();
    let records = [
        hba1c(
            Some(5_900),
            Some("%"),
            Status::Completed,
            Some(day(2020, 1, 1)),
        ),
        hba1c(None, None, Status::Void, None),
        hba1c(
            Some(-123_456),
            Some("mg"),
            Status::Unknown,
            Some(day(1, 1, 1)),
        ),
        Record {
            kind: Kind::AllergyIntolerance,
            codes: vec![Code::new("http://snomed.info/sct", "300916003")],
            value_codes: Vec::new(),
            display: Some("Latex allergy".into()),
            date: Some(day(45000, 12, 31)),
            end: Some(day(2000, 2, 29)),
            value: None,
            comparator: None,
            unit: None,
            status: Status::Inactive,
            source: "unknown".into(),
            fhir_id: Some("x".into()),
        },
    ];
    for (i, r) in records.iter().enumerate() {
        let e = r.encode(Fr::from(1000 + i as u64)).unwrap();
        let (leaf, kind, _) = open_record(&e, &any);
        assert_eq!(leaf, e.leaf(), "record {i}");
        assert_eq!(
            kind,
            Fr::from(r.kind.id() as u64),
            "record {i}: kind decoded from meta"
        );
    }
}

#[test]
fn record_filter_gadget_evaluates_each_clause() {
    let obs = hba1c(
        Some(5_900),
        Some("%"),
        Status::Completed,
        Some(day(2020, 1, 1)),
    );
    let with = |filters: &str| {
        q(&format!(r#"{{"version":1,"records":{{"kind":"Observation","quantifier":"exists","where":[{filters}]}}}}"#))
            .compile()
            .unwrap()
    };
    let censored = |v: i64, c: Comparator| Record {
        value: Some(v),
        comparator: Some(c),
        ..obs.clone()
    };
    let multi = Record {
        codes: vec![
            Code::new("urn:oid:2.16.840.1.113883.6.96.local", "hba1c"),
            Code::new("http://loinc.org", "17856-6"),
            Code::new("http://loinc.org", "4548-4"),
        ],
        ..obs.clone()
    };
    let smoker = Record {
        codes: vec![Code::new("http://loinc.org", "72166-2")],
        value_codes: vec![Code::new("http://snomed.info/sct", "449868002")],
        value: None,
        unit: None,
        ..obs.clone()
    };
    let (t, f, u) = (V::In, V::Out, V::Undecided);
    let cases: Vec<(&str, Record, V)> = vec![
        (r#"{"code_in":["loinc|4548-4"]}"#, obs.clone(), t),
        (
            r#"{"code_in":["http://loinc.org|4548-4","loinc|8480-6"]}"#,
            obs.clone(),
            t,
        ),
        (r#"{"code_in":["sct|38341003"]}"#, obs.clone(), f),
        // Any coding of a multi-coded record matches; an unqueryable coding is ignored.
        (r#"{"code_in":["loinc|4548-4"]}"#, multi.clone(), t),
        (r#"{"code_in":["loinc|17856-6"]}"#, multi.clone(), t),
        (r#"{"code_in":["loinc|8480-6"]}"#, multi.clone(), f),
        // Coded results: value_code_in, never code_in.
        (r#"{"value_code_in":["sct|449868002"]}"#, smoker.clone(), t),
        (r#"{"value_code_in":["sct|266919005"]}"#, smoker.clone(), f),
        (r#"{"code_in":["sct|449868002"]}"#, smoker.clone(), f),
        (r#"{"value_code_in":["sct|449868002"]}"#, obs.clone(), f),
        // Censored values by interval logic.
        (
            r#"{"value_lt":{"value":"6.5"}}"#,
            censored(5_000, Comparator::Lt),
            t,
        ),
        (
            r#"{"value_lt":{"value":"5"}}"#,
            censored(5_000, Comparator::Lt),
            t,
        ),
        (
            r#"{"value_le":{"value":"4.999"}}"#,
            censored(5_000, Comparator::Lt),
            u,
        ),
        (
            r#"{"value_lt":{"value":"5"}}"#,
            censored(5_000, Comparator::Le),
            u,
        ),
        (
            r#"{"value_lt":{"value":"6.5"}}"#,
            censored(14_000, Comparator::Gt),
            f,
        ),
        (
            r#"{"value_gt":{"value":"14"}}"#,
            censored(14_000, Comparator::Gt),
            t,
        ),
        (
            r#"{"value_gt":{"value":"14"}}"#,
            censored(14_000, Comparator::Ge),
            u,
        ),
        (
            r#"{"value_ge":{"value":"14"}}"#,
            censored(14_000, Comparator::Ge),
            t,
        ),
        (
            r#"{"value_lt":{"value":"14"}}"#,
            censored(14_000, Comparator::Ge),
            f,
        ),
        (
            r#"{"value_lt":{"value":"6.5"}}"#,
            censored(7_000, Comparator::Lt),
            u,
        ),
        (
            r#"{"value_between":{"min":"3","max":"6.5"}}"#,
            censored(5_000, Comparator::Lt),
            u,
        ),
        (r#"{"value_lt":{"value":"5.9"}}"#, obs.clone(), f),
        (r#"{"value_le":{"value":"5.9"}}"#, obs.clone(), t),
        (r#"{"value_gt":{"value":"5.899"}}"#, obs.clone(), t),
        (r#"{"value_ge":{"value":"5.901"}}"#, obs.clone(), f),
        (
            r#"{"value_between":{"min":"5.9","max":"5.9","unit":"%"}}"#,
            obs.clone(),
            t,
        ),
        // A value in another unit is not comparable: undecided, never a silent "no".
        (r#"{"value_lt":{"value":"7","unit":"mg"}}"#, obs.clone(), u),
        (
            r#"{"value_lt":{"value":"7"}}"#,
            hba1c(None, None, Status::Completed, None),
            f,
        ),
        (
            r#"{"value_lt":{"value":"7","unit":"%"}}"#,
            hba1c(None, None, Status::Completed, None),
            f,
        ),
        (
            r#"{"value_gt":{"value":"-1000"}}"#,
            hba1c(Some(-1_000_000), None, Status::Completed, None),
            f,
        ),
        (
            r#"{"value_gt":{"value":"-1000"}}"#,
            hba1c(Some(-999_999), None, Status::Completed, None),
            t,
        ),
        (
            r#"{"value_ge":{"value":"-1000"}}"#,
            hba1c(Some(-1_000_000), None, Status::Completed, None),
            t,
        ),
        (r#"{"date_after":"2020-01-01"}"#, obs.clone(), f),
        (r#"{"date_on_or_after":"2020-01-01"}"#, obs.clone(), t),
        (r#"{"date_before":"2020-01-01"}"#, obs.clone(), f),
        (r#"{"date_on_or_before":"2020-01-01"}"#, obs.clone(), t),
        (
            r#"{"date_before":"2030-01-01"}"#,
            hba1c(Some(1), None, Status::Completed, None),
            f,
        ),
        (r#"{"status_in":["active"]}"#, obs.clone(), f),
        (r#"{"status_in":["completed","active"]}"#, obs.clone(), t),
        (
            r#"{"status_in":["not-done"]}"#,
            hba1c(None, None, Status::NotDone, None),
            t,
        ),
        ("", hba1c(None, None, Status::NotDone, None), f),
        ("", hba1c(None, None, Status::Void, None), f),
        (
            r#"{"code_in":["loinc|4548-4"]}"#,
            hba1c(None, None, Status::Void, None),
            f,
        ),
        ("", obs.clone(), t),
    ];
    for (filters, rec, expected) in cases {
        let e = rec.encode(Fr::from(5u64)).unwrap();
        let (_, _, verdict) = open_record(&e, &with(filters));
        assert_eq!(verdict, expected, "filters [{filters}] on {rec:?}");
    }
}

fn query_hash_satisfied(cq: &CompiledQuery, claimed: Fr) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    let h = FrVar::new_input(cs.clone(), || Ok(claimed)).unwrap();
    QueryVars::alloc(cs.clone(), Some(&common_witness(cq.clone())), &h).unwrap();
    cs.is_satisfied().unwrap()
}

#[test]
fn query_hash_gadget_matches_compiled_query_hash() {
    let queries = [
        r#"{"version":1,"age_at_least":{"years":18,"on":"2026-11-21"}}"#,
        r#"{"version":1,"records":{"kind":"Condition","quantifier":"none","where":[{"code_in":["sct|38341003","sct|44054006"]},{"status_in":["active"]}]},"age_at_least":{"years":65,"on":"2024-02-29"}}"#,
        r#"{"version":1,"records":{"kind":"Observation","quantifier":{"count_at_least":3},"where":[{"value_between":{"min":"-1.5","max":"99.999","unit":"mg/dL"}},{"date_after":"2000-01-01"},{"date_before":"2020-01-01"}]}}"#,
        r#"{"version":1,"records":{"kind":"AllergyIntolerance","quantifier":{"count_at_most":65535}}}"#,
        r#"{"version":1,"records":{"kind":"Immunization","quantifier":"exists","where":[{"code_in":["cvx|1","cvx|2"]},{"status_in":["active"]},{"status_in":["inactive"]}]}}"#,
    ];
    for json in queries {
        let cq = q(json).compile().unwrap();
        assert!(query_hash_satisfied(&cq, cq.hash()), "{json}");
        assert!(
            !query_hash_satisfied(&cq, cq.hash() + Fr::from(1u64)),
            "{json}: wrong hash accepted"
        );
    }
}

#[test]
fn query_gadget_rejects_void_status_and_bad_kind() {
    let mut cq = q(r#"{"version":1,"records":{"kind":"Condition","quantifier":"exists","where":[{"status_in":["active","inactive"]}]}}"#)
        .compile()
        .unwrap();
    assert!(query_hash_satisfied(&cq, cq.hash()));
    // A status set containing 0 (void) is unsatisfiable even with the matching hash.
    cq.statuses[7] = 0;
    assert!(
        !query_hash_satisfied(&cq, cq.hash()),
        "void in the status set"
    );
    cq.statuses[7] = NO_STATUS;
    assert!(query_hash_satisfied(&cq, cq.hash()));
    cq.kind = 7;
    assert!(
        !query_hash_satisfied(&cq, cq.hash()),
        "kind 7 is not a kind"
    );
}
