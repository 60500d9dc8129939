//! Malformed input: each case is an error whose message names the problem, and no input,
//! random or mutated, makes the importer panic.

mod common;

use common::bundle;
use proptest::prelude::*;
use serde_json::Value;
use zkmed_records::{import_bundle, RecordsError};

fn err(json: &str) -> String {
    match import_bundle(json.as_bytes()) {
        Ok(_) => panic!("expected an error for {json}"),
        Err(e) => e.to_string(),
    }
}

fn assert_contains(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "{msg:?} should mention {p:?}");
    }
}

#[test]
fn not_json() {
    let m = err("this is not json");
    assert_contains(&m, &["not valid JSON"]);
    assert!(matches!(
        import_bundle(b"{\"resourceType\":"),
        Err(RecordsError::Json(_))
    ));
    assert!(matches!(import_bundle(b""), Err(RecordsError::Json(_))));
    assert!(matches!(
        import_bundle(&[0xff, 0xfe, 0x00]),
        Err(RecordsError::Json(_))
    ));
}

#[test]
fn not_a_bundle() {
    assert_contains(&err("[1,2,3]"), &["not a FHIR Bundle", "an array"]);
    assert_contains(&err("42"), &["not a FHIR Bundle", "a number"]);
    assert_contains(
        &err(r#"{"resourceType":"Patient","birthDate":"2000-01-01"}"#),
        &["\"Patient\"", "\"Bundle\""],
    );
    assert_contains(&err(r#"{"entry":[]}"#), &["no resourceType"]);
    assert_contains(
        &err(r#"{"resourceType":"Bundle","entry":{}}"#),
        &["Bundle.entry", "an object", "expected an array"],
    );
    assert_contains(
        &err(r#"{"resourceType":"Bundle","type":5,"entry":[]}"#),
        &["Bundle.type"],
    );
}

#[test]
fn patient_count() {
    assert_contains(
        &err(r#"{"resourceType":"Bundle","type":"collection"}"#),
        &["no Patient"],
    );
    assert_contains(
        &err(r#"{"resourceType":"Bundle","entry":[]}"#),
        &["no Patient", "exactly one"],
    );
    let two = r#"{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","birthDate":"1990-01-01"}},{"resource":{"resourceType":"Claim"}},{"resource":{"resourceType":"Patient","birthDate":"1991-01-01"}}]}"#;
    assert_contains(
        &err(two),
        &["2 Patient resources", "entries 0, 2", "exactly one"],
    );
}

#[test]
fn patient_fields() {
    let p = |fields: &str| {
        format!(
            r#"{{"resourceType":"Bundle","entry":[{{"resource":{{"resourceType":"Patient","id":"pp"{fields}}}}}]}}"#
        )
    };
    assert_contains(&err(&p("")), &["no birthDate", "Patient/pp", "entry 0"]);
    assert_contains(&err(&p(r#","birthDate":"""#)), &["no birthDate"]);
    assert_contains(
        &err(&p(r#","birthDate":"1980""#)),
        &["partial birthDate", "\"1980\""],
    );
    assert_contains(
        &err(&p(r#","birthDate":"1980-02-30""#)),
        &["birthDate", "1980-02-30", "day 30"],
    );
    assert_contains(
        &err(&p(r#","birthDate":19800101"#)),
        &["birthDate", "wrong JSON type"],
    );
    assert_contains(
        &err(&p(r#","birthDate":"1980-01-01","gender":"M""#)),
        &["gender", "\"M\"", "AdministrativeGender"],
    );
    let ok = import_bundle(p(r#","birthDate":"1980-01-01","gender":"other""#).as_bytes()).unwrap();
    assert_eq!(ok.patient.gender.id(), 3);
}

#[test]
fn entries() {
    let b = |entry: &str| format!(r#"{{"resourceType":"Bundle","entry":[{entry}]}}"#);
    assert_contains(&err(&b(r#"{"fullUrl":"x"}"#)), &["entry 0", "no resource"]);
    assert_contains(
        &err(&b(r#"{"resource":null}"#)),
        &["entry 0", "no resource"],
    );
    assert_contains(
        &err(&b(r#"7"#)),
        &["entry 0", "a number", "expected an object"],
    );
    assert_contains(
        &err(&b(r#"{"resource":"Patient"}"#)),
        &["entry 0", "`resource` is a string"],
    );
    assert_contains(
        &err(&b(r#"{"resource":{"id":"x"}}"#)),
        &["entry 0", "no resourceType"],
    );
    assert_contains(
        &err(&b(r#"{"resource":{"resourceType":3}}"#)),
        &["entry 0", "resourceType is a number"],
    );
    assert_contains(
        &err(&bundle(&[r#"{"resourceType":"Condition","id":7}"#])),
        &["entry 1", "Condition", "`id`"],
    );
}

#[test]
fn condition_with_code_as_a_string() {
    let m = err(&bundle(&[
        r#"{"resourceType":"Condition","id":"c9","code":"38341003"}"#,
    ]));
    assert_contains(
        &m,
        &[
            "entry 1",
            "Condition/c9",
            "field `code`",
            "wrong JSON type",
            "string",
        ],
    );
}

#[test]
fn wrong_types_deeper_down() {
    let m = err(&bundle(&[
        r#"{"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"1"}]},"valueQuantity":{"value":"5.7"}}"#,
    ]));
    assert_contains(&m, &["Observation/o1", "field `valueQuantity`", "string"]);
    let m = err(&bundle(&[
        r#"{"resourceType":"Procedure","id":"p1","status":["completed"]}"#,
    ]));
    assert_contains(&m, &["Procedure/p1", "field `status`"]);
    let m = err(&bundle(&[
        r#"{"resourceType":"Condition","code":{"coding":{"system":"s","code":"1"}}}"#,
    ]));
    assert_contains(&m, &["Condition without id", "field `code`", "sequence"]);
    // Fields the model does not read may hold anything.
    import_bundle(
        bundle(&[r#"{"resourceType":"Condition","code":{"coding":[{"system":"s","code":"1"}]},"note":7,"extension":"x","subject":[1]}"#])
            .as_bytes(),
    )
    .unwrap();
}

#[test]
fn bad_dates() {
    let m = err(&bundle(&[
        r#"{"resourceType":"Condition","id":"c1","code":{"coding":[{"system":"http://snomed.info/sct","code":"1"}]},"onsetDateTime":"2020-13-45"}"#,
    ]));
    assert_contains(
        &m,
        &[
            "entry 1",
            "Condition/c1",
            "field `onsetDateTime`",
            "\"2020-13-45\"",
            "not a valid FHIR date",
            "month 13",
        ],
    );
    let m = err(&bundle(&[
        r#"{"resourceType":"Procedure","id":"p","status":"completed","code":{"coding":[{"system":"s","code":"1"}]},"performedPeriod":{"start":"2020-01-01","end":"soon"}}"#,
    ]));
    assert_contains(&m, &["field `performedPeriod.end`", "\"soon\""]);
    let m = err(&bundle(&[
        r#"{"resourceType":"Immunization","id":"i","status":"completed","vaccineCode":{"coding":[{"system":"s","code":"1"}]},"occurrenceDateTime":"0000-01-01"}"#,
    ]));
    assert_contains(&m, &["occurrenceDateTime", "year 0000"]);
    // Times and offsets are checked too: an offset decides the UTC date.
    for (raw, why) in [
        ("2020-01-01T10:00:00+0500", "time-zone offset"),
        ("2020-01-01T10:00:00+15:00", "time-zone offset"),
        ("2020-01-01T24:00:00Z", "time part"),
        ("2020-01-01T10:00:00.Z", "time part"),
    ] {
        let m = err(&bundle(&[&format!(
            r#"{{"resourceType":"Observation","id":"o","status":"final","code":{{"coding":[{{"system":"s","code":"1"}}]}},"effectiveDateTime":"{raw}"}}"#
        )]));
        assert_contains(
            &m,
            &["Observation/o", "field `effectiveDateTime`", raw, why],
        );
    }
    let m = err(&bundle(&[
        r#"{"resourceType":"Observation","id":"o","status":"final","code":{"coding":[{"system":"s","code":"1"}]},"effectivePeriod":{"start":"2020-01-01T10:00:00Z","end":"2020-02-30"}}"#,
    ]));
    assert_contains(&m, &["field `effectivePeriod.end`", "day 30"]);
    // A birth date is a date, not a dateTime.
    let m = err(
        r#"{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"pp","birthDate":"1980-01-01T00:00:00Z"}}]}"#,
    );
    assert_contains(&m, &["Patient/pp", "birthDate", "dateTime"]);
}

#[test]
fn wrong_types_in_the_new_fields() {
    let m = err(&bundle(&[
        r##"{"resourceType":"MedicationRequest","id":"mr","status":"active","contained":{"resourceType":"Medication"},"medicationReference":{"reference":"#m"}}"##,
    ]));
    assert_contains(
        &m,
        &[
            "MedicationRequest/mr",
            "field `contained`",
            "wrong JSON type",
        ],
    );
    let m = err(&bundle(&[
        r#"{"resourceType":"Observation","id":"o","status":"final","code":{"coding":[{"system":"s","code":"1"}]},"component":[{"code":{"coding":[{"system":"s","code":"2"}]},"valueCodeableConcept":"pos"}]}"#,
    ]));
    assert_contains(
        &m,
        &["Observation/o", "field `component`", "wrong JSON type"],
    );
    let m = err(&bundle(&[
        r#"{"resourceType":"Observation","id":"o","status":"final","code":{"coding":[{"system":"s","code":"1"}]},"valueCodeableConcept":["positive"]}"#,
    ]));
    assert_contains(&m, &["Observation/o", "field `valueCodeableConcept`"]);
    let m = err(&bundle(&[
        r#"{"resourceType":"Condition","id":"c","code":{"coding":[{"system":"s","code":"1"}]},"onsetPeriod":"2020"}"#,
    ]));
    assert_contains(&m, &["Condition/c", "field `onsetPeriod`"]);
    let m = err(&bundle(&[
        r#"{"resourceType":"Observation","id":"o","status":"final","code":{"coding":[{"system":"s","code":"1"}]},"valueQuantity":{"value":5,"comparator":7}}"#,
    ]));
    assert_contains(&m, &["Observation/o", "field `valueQuantity`"]);
}

// ---------------------------------------------------------------------------------------
// Never panics
// ---------------------------------------------------------------------------------------

fn small_fixture() -> &'static [u8] {
    static F: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    F.get_or_init(|| {
        // Trim the smallest fixture to its first 120 entries to keep each case fast.
        let mut v: Value = serde_json::from_slice(&common::fixture("Chet_Hoeger")).unwrap();
        v["entry"].as_array_mut().unwrap().truncate(120);
        serde_json::to_vec(&v).unwrap()
    })
}

/// A hand-made bundle with the shapes the Synthea fixtures lack: Medications by reference
/// (bundle and contained), multi-coded resources, components with coded values and
/// comparators, offsets.
fn rich_bundle() -> Value {
    serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient", "id": "p", "birthDate": "1970-01-01"}},
        {"fullUrl": "urn:uuid:m1", "resource": {"resourceType": "Medication", "id": "m1", "identifier": [{"system": "urn:x", "value": "1"}],
            "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "860975"}]}}},
        {"resource": {"resourceType": "MedicationRequest", "id": "a", "status": "active", "medicationReference": {"reference": "urn:uuid:m1"}, "authoredOn": "2020-01-01T23:30:00-05:00"}},
        {"resource": {"resourceType": "MedicationRequest", "id": "b", "status": "active", "medicationReference": {"reference": "Medication?identifier=urn:x|1"}}},
        {"resource": {"resourceType": "MedicationRequest", "id": "c", "status": "stopped", "medicationReference": {"reference": "#med"},
            "contained": [{"resourceType": "Medication", "id": "med", "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "197361"}]}}]}},
        {"resource": {"resourceType": "Condition", "id": "d", "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"},
            {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E11.9"}, {"system": "urn:local", "code": "DM"}]}, "onsetPeriod": {"start": "2010-01-01T00:00:00+01:00"}}},
        {"resource": {"resourceType": "Observation", "id": "e", "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "24356-8"}]},
            "effectiveDateTime": "2021-01-01T12:00:00Z", "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "260385009"}]},
            "component": [{"code": {"coding": [{"system": "http://loinc.org", "code": "5799-2"}]}, "valueQuantity": {"value": 25, "comparator": "<", "code": "/uL"}},
                          {"code": {"coding": [{"system": "http://loinc.org", "code": "5778-6"}]}, "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "371244009"}]}}]}}
    ]})
}

fn random_value(seed: u64) -> Value {
    match seed % 8 {
        0 => Value::Null,
        1 => Value::Bool(seed % 16 == 1),
        2 => Value::from(seed as i64 - 1_000_000),
        3 => Value::from(-1.5e300),
        4 => Value::String("2020-13-45".into()),
        5 => Value::String(String::new()),
        6 => Value::Array(vec![Value::from(1), Value::String("x".into())]),
        _ => serde_json::json!({"coding": [{"system": 5}], "value": "5"}),
    }
}

/// Walks `path` (a list of choices) down `v` and replaces (or deletes a key of) the node
/// reached.
fn mutate(v: &mut Value, path: &[usize], seed: u64) {
    if let Some((&c, rest)) = path.split_first() {
        match v {
            Value::Array(a) if !a.is_empty() => {
                let n = a.len();
                return mutate(&mut a[c % n], rest, seed);
            }
            Value::Object(o) if !o.is_empty() => {
                let key = o.keys().nth(c % o.len()).unwrap().clone();
                if seed.is_multiple_of(5) && rest.is_empty() {
                    o.remove(&key);
                    return;
                }
                return mutate(o.get_mut(&key).unwrap(), rest, seed);
            }
            _ => {}
        }
    }
    *v = random_value(seed);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = import_bundle(&bytes);
    }

    #[test]
    fn random_json_never_panics(s in r#"\{"resourceType":"Bundle","entry":\[(\{"resource":\{"resourceType":"(Patient|Condition|Observation)"(,"[a-zA-Z]{1,12}":("[0-9T:-]{0,12}"|[0-9.e-]{1,8}|\{\}|\[\]|null))*\}\},?){0,4}\]\}"#) {
        let _ = import_bundle(s.as_bytes());
    }

    #[test]
    fn byte_mutations_of_a_fixture_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let mut b = small_fixture().to_vec();
        for (pos, byte) in edits {
            let i = pos % b.len();
            b[i] = byte;
        }
        let _ = import_bundle(&b);
    }

    #[test]
    fn structural_mutations_of_a_fixture_never_panic(
        muts in proptest::collection::vec((proptest::collection::vec(any::<usize>(), 1..7), any::<u64>()), 1..4)
    ) {
        let mut v: Value = serde_json::from_slice(small_fixture()).unwrap();
        for (path, seed) in &muts {
            // Aim most mutations inside the entries: entry -> resource -> field -> ...
            if seed % 4 == 0 {
                mutate(&mut v, path, *seed);
            } else {
                mutate(&mut v["entry"], path, *seed);
            }
        }
        let bytes = serde_json::to_vec(&v).unwrap();
        match import_bundle(&bytes) {
            Ok(imp) => {
                prop_assert!(imp.records.iter().all(|r| r.validate().is_ok()));
                prop_assert_eq!(imp.report.accounted_entries(), imp.report.entries);
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn structural_mutations_of_a_rich_bundle_never_panic(
        muts in proptest::collection::vec((proptest::collection::vec(any::<usize>(), 1..8), any::<u64>()), 1..4)
    ) {
        let mut v = rich_bundle();
        for (path, seed) in &muts {
            mutate(&mut v["entry"], path, *seed);
        }
        let bytes = serde_json::to_vec(&v).unwrap();
        match import_bundle(&bytes) {
            Ok(imp) => {
                prop_assert!(imp.records.iter().all(|r| r.validate().is_ok()));
                prop_assert_eq!(imp.report.accounted_entries(), imp.report.entries);
                let _ = imp.report.to_string();
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}

#[test]
fn the_rich_bundle_imports() {
    let imp = import_bundle(&serde_json::to_vec(&rich_bundle()).unwrap()).unwrap();
    assert_eq!(imp.records.len(), 7);
    assert_eq!(imp.report.accounted_entries(), imp.report.entries);
    assert!(imp.report.warnings.is_empty(), "{:?}", imp.report.warnings);
}
