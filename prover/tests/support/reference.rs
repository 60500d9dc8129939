//! An independent reference evaluator of the query language.
//!
//! It evaluates the `Query` AST (never `CompiledQuery`) directly over decoded
//! `zkmed_records::Record`s, with plain Rust semantics written from the query-language
//! documentation (`core/src/query.rs`, `docs/encoding.md`):
//!
//! * the records clause counts the records of its kind that satisfy every filter, then
//!   applies the quantifier (`exists` = at least 1, `none` = 0, `count_at_least k`,
//!   `count_at_most k`);
//! * `code_in`: the record's `(system, code)` is one of the listed `system|code` tokens
//!   (short system aliases `sct`, `snomed`, `loinc`, `cvx`, `rxnorm`, `ucum` normalised here);
//! * date clauses compare the record's start `date` (a record without a date fails every
//!   date clause);
//! * value clauses compare the record's fixed-point `value` (no value fails); a clause that
//!   names a unit requires the record's unit to be exactly that unit;
//! * `status_in`: the record's status is one of the listed ones; without a `status_in`
//!   clause the set is {active, inactive, completed, in-progress, stopped, unknown}; a
//!   `void` record never matches anything;
//! * `age_at_least {years, on}`: the patient's age in whole calendar years on `on` is at
//!   least `years`.
//!
//! It deliberately shares no code with the circuits, with `zkmed_prover::prove::{plan,
//! record_matches}` or with the query compiler: dates and decimals are parsed here, codes
//! are compared as strings, nothing is hashed or field-encoded.

use chrono::{Datelike, NaiveDate};
use zkmed_core::query::{Filter, Quantifier, Query};
use zkmed_records::{Record, Status};

/// Resolves the short code-system aliases of the query language to their URIs.
pub fn system_uri(system: &str) -> String {
    let s = system.trim();
    match s {
        "sct" | "snomed" => "http://snomed.info/sct".to_string(),
        "loinc" => "http://loinc.org".to_string(),
        "cvx" => "http://hl7.org/fhir/sid/cvx".to_string(),
        "rxnorm" => "http://www.nlm.nih.gov/research/umls/rxnorm".to_string(),
        "ucum" => "http://unitsofmeasure.org".to_string(),
        other => other.to_string(),
    }
}

/// `YYYY-MM-DD` (longer strings are cut to their first 10 characters, like a FHIR dateTime).
pub fn date(s: &str) -> NaiveDate {
    let d = if s.len() > 10 { &s[..10] } else { s };
    NaiveDate::parse_from_str(d, "%Y-%m-%d")
        .unwrap_or_else(|e| panic!("reference: bad date {s:?}: {e}"))
}

/// A decimal string to fixed point with 3 decimals, exactly (panics on more decimals).
pub fn fixed(s: &str) -> i64 {
    let t = s.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int_part, frac_part) = match body.find('.') {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, ""),
    };
    let frac_part = frac_part.trim_end_matches('0');
    assert!(
        frac_part.len() <= 3,
        "reference: {s:?} has more than 3 decimals"
    );
    let mut v: i64 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().expect("integer part")
    };
    v *= 1000;
    let mut scale = 100;
    for ch in frac_part.chars() {
        v += scale * ch.to_digit(10).expect("digit") as i64;
        scale /= 10;
    }
    if neg {
        -v
    } else {
        v
    }
}

fn default_status(s: Status) -> bool {
    matches!(
        s,
        Status::Active
            | Status::Inactive
            | Status::Completed
            | Status::InProgress
            | Status::Stopped
            | Status::Unknown
    )
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Void => "void",
        Status::Active => "active",
        Status::Inactive => "inactive",
        Status::Completed => "completed",
        Status::InProgress => "in-progress",
        Status::Stopped => "stopped",
        Status::NotDone => "not-done",
        Status::Unknown => "unknown",
    }
}

fn unit_ok(record: &Record, unit: &Option<String>) -> bool {
    match unit {
        None => true,
        Some(u) => record.unit.as_deref().map(str::trim) == Some(u.trim()),
    }
}

/// Does `record` satisfy one filter? (The status filter is handled by [`record_matches`].)
fn filter_ok(record: &Record, f: &Filter) -> bool {
    match f {
        Filter::CodeIn(tokens) => tokens.iter().any(|t| {
            let (sys, code) = t.split_once('|').expect("token system|code");
            system_uri(sys) == system_uri(&record.system) && code.trim() == record.code.trim()
        }),
        Filter::DateOnOrAfter(d) => record.date.is_some_and(|r| r >= date(d)),
        Filter::DateAfter(d) => record.date.is_some_and(|r| r > date(d)),
        Filter::DateBefore(d) => record.date.is_some_and(|r| r < date(d)),
        Filter::DateOnOrBefore(d) => record.date.is_some_and(|r| r <= date(d)),
        Filter::ValueLt(b) => {
            unit_ok(record, &b.unit) && record.value.is_some_and(|v| v < fixed(&b.value.0))
        }
        Filter::ValueLe(b) => {
            unit_ok(record, &b.unit) && record.value.is_some_and(|v| v <= fixed(&b.value.0))
        }
        Filter::ValueGt(b) => {
            unit_ok(record, &b.unit) && record.value.is_some_and(|v| v > fixed(&b.value.0))
        }
        Filter::ValueGe(b) => {
            unit_ok(record, &b.unit) && record.value.is_some_and(|v| v >= fixed(&b.value.0))
        }
        Filter::ValueBetween(r) => {
            unit_ok(record, &r.unit)
                && record
                    .value
                    .is_some_and(|v| fixed(&r.min.0) <= v && v <= fixed(&r.max.0))
        }
        Filter::StatusIn(names) => names.iter().any(|n| n == status_name(record.status)),
    }
}

/// Does `record` satisfy the conjunction `filters` (kind not checked)?
pub fn record_matches(record: &Record, filters: &[Filter]) -> bool {
    if record.status == Status::Void {
        return false;
    }
    let has_status_clause = filters.iter().any(|f| matches!(f, Filter::StatusIn(_)));
    if !has_status_clause && !default_status(record.status) {
        return false;
    }
    filters.iter().all(|f| filter_ok(record, f))
}

/// Age in whole years on `on` of someone born on `birth`.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> i64 {
    let mut years = on.year() as i64 - birth.year() as i64;
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years
}

/// What the reference evaluator found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    pub answer: bool,
    /// Records of the queried kind (0 without a records clause).
    pub of_kind: usize,
    /// Of those, how many satisfy the filters.
    pub matching: usize,
}

/// Evaluates `query` for a patient born on `birth` with `records`.
pub fn evaluate(query: &Query, birth: NaiveDate, records: &[&Record]) -> Evaluation {
    let mut answer = true;
    let (mut of_kind, mut matching) = (0, 0);
    if let Some(rc) = &query.records {
        for r in records.iter().filter(|r| r.kind == rc.kind) {
            of_kind += 1;
            if record_matches(r, &rc.filters) {
                matching += 1;
            }
        }
        let n = matching as u64;
        answer &= match rc.quantifier {
            Quantifier::Exists => n >= 1,
            Quantifier::None => n == 0,
            Quantifier::CountAtLeast(k) => n >= k as u64,
            Quantifier::CountAtMost(k) => n <= k as u64,
        };
    }
    if let Some(a) = &query.age_at_least {
        answer &= age_on(birth, date(&a.on)) >= a.years as i64;
    }
    Evaluation {
        answer,
        of_kind,
        matching,
    }
}

/// [`evaluate`] over an opening's records.
pub fn evaluate_opening(query: &Query, opening: &zkmed_records::Opening) -> Evaluation {
    let recs: Vec<&Record> = opening.records.iter().map(|r| &r.record).collect();
    evaluate(query, opening.patient.birth_date, &recs)
}
