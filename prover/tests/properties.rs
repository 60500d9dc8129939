//! Property tests: random record sets and random queries.
//!
//! * `proven_answer_equals_reference` — real Groth16 proofs (exists / scan64, so few
//!   cases): the proven answer equals the reference evaluator's and the attestation verifies;
//!   where the reference finds the records undecided, the prover refuses (`Indeterminate`).
//! * `circuit_relation_equals_reference` — no Groth16, many cases: the hand-built witness with
//!   the reference answer satisfies the constraint system, and the same witness with the
//!   answer flipped does not; an undecided query is satisfied by NEITHER answer.
//!
//! Records carry one to three codings, censored values (`<`, `<=`, `>`, `>=`) and coded
//! results; queries use every clause type and every quantifier, `latest` included.

mod support;

use ark_bn254::Fr;
use chrono::{Duration, NaiveDate};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use support::circuits::{
    exists_circuit, public_inputs, satisfies_matrices, scan_circuit_selecting,
};
use support::reference::{self, evaluate_opening};
use support::*;
use zkmed_circuits::CircuitId;
use zkmed_core::encoding::{Kind, Status};
use zkmed_core::query::{
    AgeClause, Decimal, Filter, Quantifier, Query, RecordClause, ValueBound, ValueRange,
};
use zkmed_prover::KeyStore;
use zkmed_records::{Code, Comparator, Gender, ImportedPatient, PatientInfo, Record};
use zkmed_verifier::KeySet;

const KINDS: [Kind; 2] = [Kind::Condition, Kind::Observation];
/// Record codings: a small pool so that code clauses match often. The same code under two
/// systems (a SNOMED-labelled "4548-4") checks that the system takes part in the match; the
/// local coding can never be named by a query.
const CODES: [(&str, &str); 5] = [
    ("http://snomed.info/sct", "38341003"),
    ("http://snomed.info/sct", "44054006"),
    ("http://snomed.info/sct", "4548-4"),
    ("http://loinc.org", "4548-4"),
    ("urn:oid:1.2.3.4", "local-7"),
];
/// Query tokens: aliases and full URIs, plus one code no record has.
const TOKENS: [&str; 6] = [
    "sct|38341003",
    "http://snomed.info/sct|44054006",
    "snomed|44054006",
    "loinc|4548-4",
    "LOINC|4548-4",
    "cvx|9",
];
/// Coded results (valueCodeableConcept) and the tokens that ask about them.
const VALUE_CODES: [(&str, &str); 2] = [
    ("http://snomed.info/sct", "449868002"),
    ("http://snomed.info/sct", "8517006"),
];
const VALUE_TOKENS: [&str; 3] = ["sct|449868002", "snomed|8517006", "sct|266919005"];
const COMPARATORS: [Option<Comparator>; 8] = [
    None,
    None,
    None,
    None,
    Some(Comparator::Lt),
    Some(Comparator::Le),
    Some(Comparator::Gt),
    Some(Comparator::Ge),
];
const UNITS: [&str; 2] = ["%", "mg"];
const STATUSES: [Status; 8] = [
    Status::Void,
    Status::Active,
    Status::Inactive,
    Status::Completed,
    Status::InProgress,
    Status::Stopped,
    Status::NotDone,
    Status::Unknown,
];
const QUERYABLE: [&str; 7] = [
    "active",
    "inactive",
    "completed",
    "in-progress",
    "stopped",
    "not-done",
    "unknown",
];

fn base_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 1, 1).unwrap()
}

fn day_str(offset: i64) -> String {
    (base_day() + Duration::days(offset)).to_string()
}

/// Fixed point (3 decimals) as a decimal string, e.g. -1250 → "-1.250".
fn dec(v: i64) -> Decimal {
    let sign = if v < 0 { "-" } else { "" };
    Decimal(format!("{sign}{}.{:03}", v.abs() / 1000, v.abs() % 1000))
}

fn arb_record() -> impl Strategy<Value = Record> {
    (
        0..KINDS.len(),
        prop::collection::vec(0..CODES.len(), 1..=3),
        prop::option::weighted(0.3, 0..VALUE_CODES.len()),
        prop::option::weighted(0.8, 0i64..10),
        prop::option::weighted(0.75, (-8i64..8, 0..COMPARATORS.len())),
        prop::option::weighted(0.8, 0..UNITS.len()),
        0..STATUSES.len(),
    )
        .prop_map(|(k, cs, vc, d, v, u, s)| Record {
            kind: KINDS[k],
            codes: cs
                .iter()
                .map(|&c| Code::new(CODES[c].0, CODES[c].1))
                .collect(),
            value_codes: vc
                .map(|i| vec![Code::new(VALUE_CODES[i].0, VALUE_CODES[i].1)])
                .unwrap_or_default(),
            display: None,
            date: d.map(|o| base_day() + Duration::days(o)),
            end: None,
            // Values on a 0.25 grid (and the odd non-grid one) so that bounds hit exactly.
            value: v.map(|(x, _)| x * 250 + if x == 7 { 1 } else { 0 }),
            comparator: v.and_then(|(_, c)| COMPARATORS[c]),
            unit: u.map(|i| UNITS[i].to_string()),
            status: STATUSES[s],
            source: "unknown".into(),
            fhir_id: None,
        })
}

/// A filter; value clauses carry a flag "names the query's unit".
fn arb_filter() -> impl Strategy<Value = (Filter, bool)> {
    let date = 0i64..10;
    let value = -8i64..8;
    prop_oneof![
        3 => prop::collection::vec(0..TOKENS.len(), 1..4).prop_map(|ix| (Filter::CodeIn(ix.into_iter().map(|i| TOKENS[i].to_string()).collect()), false)),
        1 => date.clone().prop_map(|d| (Filter::DateOnOrAfter(day_str(d)), false)),
        1 => date.clone().prop_map(|d| (Filter::DateAfter(day_str(d)), false)),
        1 => date.clone().prop_map(|d| (Filter::DateBefore(day_str(d)), false)),
        1 => date.prop_map(|d| (Filter::DateOnOrBefore(day_str(d)), false)),
        1 => (value.clone(), 0..5u8, any::<bool>()).prop_map(|(v, op, unit)| {
            let b = ValueBound { value: dec(v * 250), unit: None };
            (match op { 0 => Filter::ValueLt(b), 1 => Filter::ValueLe(b), 2 => Filter::ValueGt(b), _ => Filter::ValueGe(b) }, unit)
        }),
        1 => (value.clone(), value, any::<bool>()).prop_map(|(a, b, unit)| {
            let (lo, hi) = (a.min(b), a.max(b));
            (Filter::ValueBetween(ValueRange { min: dec(lo * 250), max: dec(hi * 250), unit: None }), unit)
        }),
        2 => prop::collection::vec(0..QUERYABLE.len(), 1..4).prop_map(|ix| (Filter::StatusIn(ix.into_iter().map(|i| QUERYABLE[i].to_string()).collect()), false)),
        1 => prop::collection::vec(0..VALUE_TOKENS.len(), 1..3).prop_map(|ix| (Filter::ValueCodeIn(ix.into_iter().map(|i| VALUE_TOKENS[i].to_string()).collect()), false)),
    ]
}

fn arb_quantifier() -> impl Strategy<Value = Quantifier> {
    prop_oneof![
        1 => Just(Quantifier::Exists),
        1 => Just(Quantifier::None),
        1 => (0u32..6).prop_map(Quantifier::CountAtLeast),
        1 => (0u32..6).prop_map(Quantifier::CountAtMost),
        2 => Just(Quantifier::Latest),
    ]
}

/// Evaluation days for the age clause (including a 29 February).
const ON_DAYS: [&str; 3] = ["2026-11-21", "2024-02-29", "2023-02-28"];

/// A case: the records, the patient's birth date, the query, a seed.
#[derive(Debug, Clone)]
struct Case {
    records: Vec<Record>,
    birth: NaiveDate,
    gender: Gender,
    query: Query,
    seed: u64,
}

fn arb_case() -> impl Strategy<Value = Case> {
    let records_clause = (
        0..KINDS.len(),
        arb_quantifier(),
        prop::collection::vec(arb_filter(), 0..=5),
        0..UNITS.len(),
    );
    let age = (1u32..90, -1i32..=1, -2i64..=2, 0..ON_DAYS.len());
    (
        prop::collection::vec(arb_record(), 0..40),
        prop::option::weighted(0.9, records_clause),
        prop::option::weighted(0.35, Just(())),
        age,
        0..4usize,
        any::<u64>(),
    )
        .prop_map(|(records, rc, with_age, (age, dy, dd, on_ix), g, seed)| {
            let on = reference::date(ON_DAYS[on_ix]);
            // Born close to the birthday boundary: `age` years (±`dd` days) before `on`.
            let birth = zkmed_core::query::years_before(on, age).unwrap() + Duration::days(dd);
            let clause = rc.map(|(k, quantifier, filters, u)| {
                let unit = UNITS[u];
                let filters = filters
                    .into_iter()
                    .map(|(f, named)| match f {
                        Filter::ValueLt(b) if named => Filter::ValueLt(ValueBound {
                            unit: Some(unit.into()),
                            ..b
                        }),
                        Filter::ValueLe(b) if named => Filter::ValueLe(ValueBound {
                            unit: Some(unit.into()),
                            ..b
                        }),
                        Filter::ValueGt(b) if named => Filter::ValueGt(ValueBound {
                            unit: Some(unit.into()),
                            ..b
                        }),
                        Filter::ValueGe(b) if named => Filter::ValueGe(ValueBound {
                            unit: Some(unit.into()),
                            ..b
                        }),
                        Filter::ValueBetween(r) if named => Filter::ValueBetween(ValueRange {
                            unit: Some(unit.into()),
                            ..r
                        }),
                        other => other,
                    })
                    // One code list and one value-code list per clause (the compiler
                    // refuses a second: core/src/query.rs).
                    .scan((false, false), |(code, vcode), f| {
                        Some(match f {
                            Filter::CodeIn(_) if *code => None,
                            Filter::ValueCodeIn(_) if *vcode => None,
                            Filter::CodeIn(_) => {
                                *code = true;
                                Some(f)
                            }
                            Filter::ValueCodeIn(_) => {
                                *vcode = true;
                                Some(f)
                            }
                            f => Some(f),
                        })
                    })
                    .flatten()
                    .collect();
                RecordClause {
                    kind: KINDS[k],
                    quantifier,
                    filters,
                }
            });
            let age_at_least = (with_age.is_some() || clause.is_none()).then(|| AgeClause {
                years: (age as i32 + dy).max(0) as u32,
                on: Some(on.to_string()),
            });
            let query = Query {
                version: 1,
                records: clause,
                age_at_least,
            };
            if query.compile().is_err() {
                // Contradictory value clauses (a query error by design): ask without them.
                let mut q = query.clone();
                if let Some(rc) = q.records.as_mut() {
                    rc.filters.retain(|f| {
                        !matches!(
                            f,
                            Filter::ValueLt(_)
                                | Filter::ValueLe(_)
                                | Filter::ValueGt(_)
                                | Filter::ValueGe(_)
                                | Filter::ValueBetween(_)
                        )
                    });
                }
                q.compile().expect("generated queries are valid");
                return Case {
                    records,
                    birth,
                    gender: [Gender::Unknown, Gender::Female, Gender::Male, Gender::Other][g],
                    query: q,
                    seed,
                };
            }
            Case {
                records,
                birth,
                gender: [Gender::Unknown, Gender::Female, Gender::Male, Gender::Other][g],
                query,
                seed,
            }
        })
}

fn make_patient(c: &Case) -> Patient {
    let imported = ImportedPatient {
        patient: PatientInfo {
            birth_date: c.birth,
            gender: c.gender,
        },
        patient_id: None,
        records: c.records.clone(),
        report: Default::default(),
    };
    patient_from("generated", imported, c.seed)
}

/// The leaf index of the first record of the query's kind that the reference evaluator says
/// matches.
fn first_match(p: &Patient, q: &Query) -> Option<usize> {
    let rc = q.records.as_ref()?;
    p.opening
        .records_of(rc.kind)
        .iter()
        .position(|(_, r)| reference::record_matches(&r.record, &rc.filters))
}

/// Keys for the proving property, loaded once per binary.
fn proving_keys() -> &'static (KeyStore, KeySet) {
    static K: OnceLock<(KeyStore, KeySet)> = OnceLock::new();
    K.get_or_init(|| {
        let ks = keys(&[CircuitId::Exists, CircuitId::Scan64]);
        let set = keyset(&ks);
        (ks, set)
    })
}

/// The witness satisfies the circuit's R1CS (matrices of the real keys).
fn ok_scan(c: zkmed_circuits::scan::ScanCircuit) -> bool {
    satisfies_matrices(CircuitId::Scan64, c).unwrap_or(false)
}

fn ok_exists(c: zkmed_circuits::exists::ExistsCircuit) -> bool {
    satisfies_matrices(CircuitId::Exists, c).unwrap_or(false)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, max_shrink_iters: 32, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn proven_answer_equals_reference(case in arb_case()) {
        let (keys, set) = proving_keys();
        let p = make_patient(&case);
        let expected = evaluate_opening(&case.query, &p.opening);
        let challenge = Fr::from(case.seed);
        let result = prove_query(keys, &p, &case.query, challenge, case.seed);
        if expected.indeterminate {
            prop_assert!(matches!(result, Err(zkmed_prover::ProveError::Indeterminate { .. })), "undecided, yet: {:?}", result.map(|p| p.attestation.public.answer));
            return Ok(());
        }
        let proven = result.unwrap();
        let att = &proven.attestation;
        prop_assert_eq!(att.public.answer, expected.answer, "query {:?}", serde_json::to_string(&case.query).unwrap());
        prop_assert_eq!(proven.plan.matching, expected.matching);
        prop_assert!(att.circuit == CircuitId::Exists.as_str() || att.circuit == CircuitId::Scan64.as_str(), "{}", att.circuit);
        verify_for(set, &p, att, &case.query, challenge).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn circuit_relation_equals_reference(case in arb_case()) {
        let p = make_patient(&case);
        let q = &case.query;
        let eval = evaluate_opening(q, &p.opening);
        let expected = eval.answer;
        let (challenge, scope) = (Fr::from(3u64), Fr::from(4u64));
        let public = |answer| public_inputs(&p, q, challenge, scope, answer);
        let json = serde_json::to_string(q).unwrap();
        let sel = reference::latest_index(q, &p.opening);
        let scan = |answer| scan_circuit_selecting(&p, q, public(answer), None, 64, sel);
        if q.records.is_some() && eval.indeterminate {
            prop_assert!(!ok_scan(scan(true)) && !ok_scan(scan(false)), "scan accepts an answer to the undecided {}", json);
            return Ok(());
        }
        if q.records.is_some() {
            // The scan circuit proves either answer, and only the true one.
            prop_assert!(ok_scan(scan(expected)), "scan rejects the true answer {} of {}", expected, json);
            prop_assert!(!ok_scan(scan(!expected)), "scan accepts the false answer {} of {}", !expected, json);
            if matches!(q.records.as_ref().map(|r| &r.quantifier), Some(Quantifier::Latest)) {
                // Any other selection is unsatisfiable, whatever the answer.
                let n = p.opening.records_of(q.kind().unwrap()).len();
                for other in std::iter::once(None).chain((0..n.min(6)).map(Some)).filter(|o| *o != sel) {
                    for answer in [true, false] {
                        prop_assert!(!ok_scan(scan_circuit_selecting(&p, q, public(answer), None, 64, other)), "latest accepts selection {:?} (true one {:?}) of {}", other, sel, json);
                    }
                }
            }
        }
        let exists_quantifier = matches!(q.records.as_ref().map(|r| &r.quantifier), Some(Quantifier::Exists));
        if q.records.is_none() || (exists_quantifier && expected) {
            let ix = first_match(&p, q);
            prop_assert!(ok_exists(exists_circuit(&p, q, public(expected), ix)), "exists rejects the true answer of {}", json);
            prop_assert!(!ok_exists(exists_circuit(&p, q, public(!expected), ix)), "exists accepts the false answer of {}", json);
        }
        if exists_quantifier && first_match(&p, q).is_none() {
            // No matching record: the inclusion circuit cannot open any record of the kind
            // (the first few slots, filled or empty), for either answer.
            let n = p.opening.records_of(q.kind().unwrap()).len();
            for i in 0..=n.min(3) {
                prop_assert!(!ok_exists(exists_circuit(&p, q, public(true), Some(i))), "exists opens non-matching slot {} of {}", i, json);
                prop_assert!(!ok_exists(exists_circuit(&p, q, public(false), Some(i))), "exists proves \"no\" with slot {} of {}", i, json);
            }
        }
    }
}

/// The generator is not degenerate: over a fixed sample it produces both answers, every
/// quantifier, every filter type, code clauses, age clauses, void records, and empty
/// record sets. (A generator that stopped producing any of these would make the properties
/// above vacuous for it.)
#[test]
fn generator_covers_the_interesting_cases() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = arb_case();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut hit = |k: &'static str, cond: bool| {
        if cond {
            *seen.entry(k).or_default() += 1;
        }
    };
    const N: usize = 400;
    for _ in 0..N {
        let c = strategy.new_tree(&mut runner).unwrap().current();
        let recs: Vec<&Record> = c.records.iter().collect();
        let e = reference::evaluate(&c.query, c.birth, &recs);
        hit("answer true", e.answer);
        hit("answer false", !e.answer && !e.indeterminate);
        hit("indeterminate", e.indeterminate);
        hit(
            "censored value",
            c.records.iter().any(|r| r.comparator.is_some()),
        );
        hit("multi-coded", c.records.iter().any(|r| r.codes.len() > 1));
        hit("no records", c.records.is_empty());
        hit(
            "void record",
            c.records.iter().any(|r| r.status == Status::Void),
        );
        hit("age clause", c.query.age_at_least.is_some());
        hit("age only", c.query.records.is_none());
        if let Some(rc) = &c.query.records {
            hit("some match", e.matching > 0);
            hit("several match", e.matching > 2);
            let q = &rc.quantifier;
            hit("exists", *q == Quantifier::Exists);
            hit("none", *q == Quantifier::None);
            hit("count_at_least", matches!(q, Quantifier::CountAtLeast(_)));
            hit("count_at_most", matches!(q, Quantifier::CountAtMost(_)));
            hit("latest", *q == Quantifier::Latest);
            hit("latest yes", *q == Quantifier::Latest && e.answer);
            hit(
                "value_code_in",
                rc.filters
                    .iter()
                    .any(|f| matches!(f, Filter::ValueCodeIn(_))),
            );
            let count = |f: fn(&Filter) -> bool| rc.filters.iter().filter(|x| f(x)).count();
            hit("code_in", count(|f| matches!(f, Filter::CodeIn(_))) == 1);
            hit(
                "value_between",
                count(|f| matches!(f, Filter::ValueBetween(_))) >= 1,
            );
            hit(
                "value with unit",
                rc.filters.iter().any(|f| {
                    matches!(
                        f,
                        Filter::ValueLt(ValueBound { unit: Some(_), .. })
                            | Filter::ValueBetween(ValueRange { unit: Some(_), .. })
                    )
                }),
            );
            hit(
                "date clause",
                count(|f| {
                    matches!(
                        f,
                        Filter::DateAfter(_)
                            | Filter::DateBefore(_)
                            | Filter::DateOnOrAfter(_)
                            | Filter::DateOnOrBefore(_)
                    )
                }) >= 1,
            );
            hit(
                "status_in",
                count(|f| matches!(f, Filter::StatusIn(_))) >= 1,
            );
            hit("5 filters", rc.filters.len() == 5);
            hit("no filter", rc.filters.is_empty());
        }
    }
    println!("{seen:#?}");
    for k in [
        "answer true",
        "answer false",
        "indeterminate",
        "censored value",
        "multi-coded",
        "latest",
        "latest yes",
        "value_code_in",
        "no records",
        "void record",
        "age clause",
        "age only",
        "some match",
        "several match",
        "exists",
        "none",
        "count_at_least",
        "count_at_most",
        "code_in",
        "value_between",
        "value with unit",
        "date clause",
        "status_in",
        "5 filters",
        "no filter",
    ] {
        assert!(
            seen.get(k).copied().unwrap_or(0) >= 3,
            "generator rarely produces {k:?}: {seen:?}"
        );
    }
    // Neither answer dominates.
    assert!(
        seen["answer true"] >= N / 5 && seen["answer false"] >= N / 5,
        "{seen:?}"
    );
}
