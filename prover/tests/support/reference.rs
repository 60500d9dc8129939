//! An independent reference evaluator of the query language.
//!
//! It evaluates the `Query` AST (never `CompiledQuery`) directly over decoded
//! `zkmed_records::Record`s, with plain Rust semantics written from the query-language
//! documentation (README, `docs/encoding.md`), in three-valued logic (yes / no / unknown):
//!
//! * `code_in`: ANY of the record's codings is one of the listed `system|code` tokens
//!   (system aliases resolved, CVX leading zeros and ICD-10 case/dots ignored);
//! * date clauses compare the record's start `date` (a record without a date fails every
//!   date clause);
//! * value clauses compare the record's value as a set of reals: exact → a point, with a
//!   comparator → a half-line (`<5` = (−∞, 5)); a clause is yes if every value of the set
//!   satisfies it, no if none does, unknown otherwise; no value → no; if any value clause
//!   names a unit, a record with another (or no) unit is unknown;
//! * `value_code_in`: ANY of the record's value codings is listed;
//! * `status_in`: the record's status is one of the listed ones; without a `status_in`
//!   clause the set is {active, inactive, completed, in-progress, stopped, unknown}; a
//!   `void` record never matches anything;
//! * counting quantifiers: with `lo` records certainly and `hi` possibly matching, the
//!   answer is decided when the threshold falls outside `(lo, hi]`-style ambiguity;
//! * `latest`: among records passing code/date/status, the one with the greatest date (ties:
//!   later in leaf order) decides by its value clauses; none → no; an undated one → unknown;
//! * `age_at_least {years, on}`: the patient's age in whole calendar years on `on` (default
//!   today, UTC) is at least `years`.
//!
//! It deliberately shares no code with the circuits, with `zkmed_prover::prove` or with the
//! query compiler: dates and decimals are parsed here, codes are compared as strings,
//! nothing is hashed or field-encoded.

use chrono::{Datelike, NaiveDate};
use zkmed_core::query::{Filter, Quantifier, Query};
use zkmed_records::{Code, Comparator, Record, Status};

/// Resolves the short code-system aliases of the query language to their URIs.
pub fn system_uri(system: &str) -> String {
    let s = system.trim();
    // Aliases are case-insensitive (`LOINC|4548-4`), URIs exact.
    match s.to_ascii_lowercase().as_str() {
        "sct" | "snomed" => "http://snomed.info/sct".to_string(),
        "loinc" => "http://loinc.org".to_string(),
        "cvx" => "http://hl7.org/fhir/sid/cvx".to_string(),
        "rxnorm" => "http://www.nlm.nih.gov/research/umls/rxnorm".to_string(),
        "icd10cm" | "icd-10-cm" => "http://hl7.org/fhir/sid/icd-10-cm".to_string(),
        "icd10" | "icd-10" => "http://hl7.org/fhir/sid/icd-10".to_string(),
        "ndc" => "http://hl7.org/fhir/sid/ndc".to_string(),
        _ => s.to_string(),
    }
}

/// `YYYY-MM-DD`.
pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .unwrap_or_else(|e| panic!("reference: bad date {s:?}: {e}"))
}

/// A code as compared: CVX without leading zeros, ICD-10 upper case without dots.
fn code_key(system: &str, code: &str) -> (String, String) {
    let sys = system_uri(system);
    let c = code.trim();
    let c = if sys.ends_with("/cvx") {
        let t = c.trim_start_matches('0');
        if t.is_empty() { "0" } else { t }.to_string()
    } else if sys.contains("icd-10") {
        c.to_ascii_uppercase().replace('.', "")
    } else {
        c.to_string()
    };
    (sys, c)
}

fn any_listed(codes: &[Code], tokens: &[String]) -> bool {
    codes.iter().any(|rc| {
        tokens.iter().any(|t| {
            let (sys, code) = t.split_once('|').expect("token system|code");
            code_key(sys, code) == code_key(&rc.system, &rc.code)
        })
    })
}

/// Three-valued truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tri {
    Yes,
    No,
    Unknown,
}

impl Tri {
    fn of(b: bool) -> Tri {
        if b {
            Tri::Yes
        } else {
            Tri::No
        }
    }
    fn and(self, o: Tri) -> Tri {
        match (self, o) {
            (Tri::No, _) | (_, Tri::No) => Tri::No,
            (Tri::Yes, Tri::Yes) => Tri::Yes,
            _ => Tri::Unknown,
        }
    }
}

/// One end of a set of reals: `(bound, strict)`; `None` = unbounded on that side.
type End = Option<(i64, bool)>;

/// The set of reals a record's value may be, as (lower, upper) ends.
fn value_set(v: i64, c: Option<Comparator>) -> (End, End) {
    match c {
        None => (Some((v, false)), Some((v, false))),
        Some(Comparator::Lt) => (None, Some((v, true))),
        Some(Comparator::Le) => (None, Some((v, false))),
        Some(Comparator::Gt) => (Some((v, true)), None),
        Some(Comparator::Ge) => (Some((v, false)), None),
    }
}

/// Does every / some value of the set satisfy `x OP a`? (`op`: "<", "<=", ">", ">=").
fn clause_on_set(set: (End, End), op: &str, a: i64) -> Tri {
    let (lo, hi) = set;
    // all: the whole set on the right side of a; some: part of it.
    let (all, some) = match op {
        "<" => (
            hi.is_some_and(|(h, strict)| h < a || (h == a && strict)),
            lo.is_none_or(|(l, _)| l < a),
        ),
        "<=" => (
            hi.is_some_and(|(h, _)| h <= a),
            lo.is_none_or(|(l, strict)| l < a || (l == a && !strict)),
        ),
        ">" => (
            lo.is_some_and(|(l, strict)| l > a || (l == a && strict)),
            hi.is_none_or(|(h, _)| h > a),
        ),
        _ => (
            lo.is_some_and(|(l, _)| l >= a),
            hi.is_none_or(|(h, strict)| h > a || (h == a && !strict)),
        ),
    };
    if all {
        Tri::Yes
    } else if !some {
        Tri::No
    } else {
        Tri::Unknown
    }
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

/// Does `record` satisfy the code, date and status clauses (kind not checked)?
pub fn base_matches(record: &Record, filters: &[Filter]) -> bool {
    if record.status == Status::Void {
        return false;
    }
    let has_status_clause = filters.iter().any(|f| matches!(f, Filter::StatusIn(_)));
    if !has_status_clause && !default_status(record.status) {
        return false;
    }
    filters.iter().all(|f| match f {
        Filter::CodeIn(tokens) => any_listed(&record.codes, tokens),
        Filter::DateOnOrAfter(d) => record.date.is_some_and(|r| r >= date(d)),
        Filter::DateAfter(d) => record.date.is_some_and(|r| r > date(d)),
        Filter::DateBefore(d) => record.date.is_some_and(|r| r < date(d)),
        Filter::DateOnOrBefore(d) => record.date.is_some_and(|r| r <= date(d)),
        Filter::StatusIn(names) => names.iter().any(|n| n == status_name(record.status)),
        _ => true,
    })
}

/// The value clauses (`value_*`, `value_code_in`) on `record`, three-valued.
pub fn value_verdict(record: &Record, filters: &[Filter]) -> Tri {
    let unit = filters.iter().find_map(|f| match f {
        Filter::ValueLt(b) | Filter::ValueLe(b) | Filter::ValueGt(b) | Filter::ValueGe(b) => {
            b.unit.clone()
        }
        Filter::ValueBetween(r) => r.unit.clone(),
        _ => None,
    });
    let mut t = Tri::Yes;
    for f in filters {
        let clause = |op: &str, a: &str| -> Tri {
            let Some(v) = record.value else {
                return Tri::No;
            };
            if let Some(u) = &unit {
                if record.unit.as_deref().map(str::trim) != Some(u.trim()) {
                    return Tri::Unknown;
                }
            }
            clause_on_set(value_set(v, record.comparator), op, fixed(a))
        };
        let c = match f {
            Filter::ValueLt(b) => clause("<", &b.value.0),
            Filter::ValueLe(b) => clause("<=", &b.value.0),
            Filter::ValueGt(b) => clause(">", &b.value.0),
            Filter::ValueGe(b) => clause(">=", &b.value.0),
            Filter::ValueBetween(r) => clause(">=", &r.min.0).and(clause("<=", &r.max.0)),
            Filter::ValueCodeIn(tokens) => Tri::of(any_listed(&record.value_codes, tokens)),
            _ => Tri::Yes,
        };
        t = t.and(c);
    }
    t
}

/// Does `record` certainly satisfy the conjunction `filters` (kind not checked)?
pub fn record_matches(record: &Record, filters: &[Filter]) -> bool {
    base_matches(record, filters) && value_verdict(record, filters) == Tri::Yes
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
    /// The answer (meaningless when `indeterminate`).
    pub answer: bool,
    /// The records do not decide the answer: the prover must refuse.
    pub indeterminate: bool,
    /// Records of the queried kind (0 without a records clause).
    pub of_kind: usize,
    /// Of those, how many certainly satisfy every clause.
    pub matching: usize,
}

/// Evaluates `query` for a patient born on `birth` with `records` (in leaf order).
pub fn evaluate(query: &Query, birth: NaiveDate, records: &[&Record]) -> Evaluation {
    let mut t = Tri::Yes;
    let (mut of_kind, mut matching) = (0, 0);
    if let Some(rc) = &query.records {
        let mine: Vec<&&Record> = records.iter().filter(|r| r.kind == rc.kind).collect();
        of_kind = mine.len();
        let (mut lo, mut hi) = (0u64, 0u64);
        let mut latest: Option<(NaiveDate, usize)> = None;
        let mut undated = false;
        for (i, r) in mine.iter().enumerate() {
            if !base_matches(r, &rc.filters) {
                continue;
            }
            let v = value_verdict(r, &rc.filters);
            if v == Tri::Yes {
                lo += 1;
            }
            if v != Tri::No {
                hi += 1;
            }
            match r.date {
                None => undated = true,
                Some(d) if latest.is_none_or(|(ld, _)| d >= ld) => latest = Some((d, i)),
                Some(_) => {}
            }
        }
        matching = lo as usize;
        let at_least = |k: u64| {
            if lo >= k {
                Tri::Yes
            } else if hi < k {
                Tri::No
            } else {
                Tri::Unknown
            }
        };
        let at_most = |k: u64| {
            if hi <= k {
                Tri::Yes
            } else if lo > k {
                Tri::No
            } else {
                Tri::Unknown
            }
        };
        t = match rc.quantifier {
            Quantifier::Exists => at_least(1),
            Quantifier::None => at_most(0),
            Quantifier::CountAtLeast(k) => at_least(k as u64),
            Quantifier::CountAtMost(k) => at_most(k as u64),
            Quantifier::Latest if undated => Tri::Unknown,
            Quantifier::Latest => match latest {
                None => Tri::No,
                Some((_, i)) => value_verdict(mine[i], &rc.filters),
            },
        };
    }
    if let Some(a) = &query.age_at_least {
        let on =
            a.on.as_deref()
                .map(date)
                .unwrap_or_else(|| chrono::Utc::now().date_naive());
        // The records part must be decided on its own (the circuits refuse an undecided
        // records clause even when the age clause is false).
        if t != Tri::Unknown {
            t = t.and(Tri::of(age_on(birth, on) >= a.years as i64));
        }
    }
    Evaluation {
        answer: t == Tri::Yes,
        indeterminate: t == Tri::Unknown,
        of_kind,
        matching,
    }
}

/// For a `latest` query: the leaf index (within the kind) of the record that decides it —
/// the base-matching record with the greatest date, same-day ties to the later leaf. `None`
/// for other queries, no matching record, or an undated matching record.
pub fn latest_index(query: &Query, opening: &zkmed_records::Opening) -> Option<usize> {
    let rc = query.records.as_ref()?;
    if rc.quantifier != Quantifier::Latest {
        return None;
    }
    let mut best: Option<(NaiveDate, usize)> = None;
    for (i, (_, r)) in opening.records_of(rc.kind).iter().enumerate() {
        if base_matches(&r.record, &rc.filters) {
            let d = r.record.date?;
            if best.is_none_or(|(bd, _)| d >= bd) {
                best = Some((d, i));
            }
        }
    }
    best.map(|(_, i)| i)
}

/// [`evaluate`] over an opening's records.
pub fn evaluate_opening(query: &Query, opening: &zkmed_records::Opening) -> Evaluation {
    let recs: Vec<&Record> = opening.records.iter().map(|r| &r.record).collect();
    evaluate(query, opening.patient.birth_date, &recs)
}
