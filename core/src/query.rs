//! The versioned JSON query language and its compilation to the fixed field layout that the
//! circuits constrain (see `docs/encoding.md`, "Query encoding and query hash").
//!
//! ```json
//! { "version": 1,
//!   "records": { "kind": "Condition", "quantifier": "none",
//!                "where": [ { "code_in": ["sct|38341003", "sct|44054006"] },
//!                           { "status_in": ["active"] } ] },
//!   "age_at_least": { "years": 18, "on": "2026-11-21" } }
//! ```

use crate::codes::{check_unit, token_to_field, CodeRole};
use crate::encoding::*;
use crate::error::{CoreError, Result};
use crate::field::Fr;
use crate::poseidon::{hash32, poseidon};
use ark_ff::Zero;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// The only query-language version this build understands (the JSON language; version 1
/// gained `latest` and `value_code_in` without changing the meaning of any version-1 query).
pub const QUERY_VERSION: u32 = 1;

/// Version of the compiled encoding (the low byte of `flags`): 2 since censored values,
/// value codes and `latest` (docs/encoding.md).
pub const ENCODING_VERSION: u32 = 2;

/// `quant_op` values of the compiled query.
pub const OP_AT_LEAST: u8 = 0;
/// `count <= k`.
pub const OP_AT_MOST: u8 = 1;
/// The latest matching record satisfies the value clauses.
pub const OP_LATEST: u8 = 2;

/// A query: an optional quantified clause over the records of one kind, AND an optional age
/// clause. At least one of the two must be present.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<RecordClause>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_at_least: Option<AgeClause>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordClause {
    pub kind: Kind,
    pub quantifier: Quantifier,
    /// Conjunction of filters; empty = every non-void record of the kind.
    #[serde(default, rename = "where")]
    pub filters: Vec<Filter>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantifier {
    Exists,
    None,
    CountAtLeast(u32),
    CountAtMost(u32),
    /// Among the records matching the code, date and status clauses, the one with the
    /// latest date (same-day ties: the one committed last) satisfies the value clauses
    /// (`value_*`, `value_code_in`). No such record: the answer is no.
    Latest,
}

/// A decimal number, given in JSON as a string (`"6.5"`) or a number (`6.5`); kept as text so
/// that no binary floating point is involved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Decimal(pub String);

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(Decimal(s)),
            serde_json::Value::Number(n) => Ok(Decimal(n.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "expected a decimal, got {other}"
            ))),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueBound {
    pub value: Decimal,
    /// UCUM unit code the record must carry; absent = any unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueRange {
    pub min: Decimal,
    pub max: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// One conjunct of a record filter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Filter {
    /// Code is one of these FHIR tokens `system|code` (system may be `sct`, `loinc`, `cvx`,
    /// `rxnorm` or a full URI). At most 32 codes.
    CodeIn(Vec<String>),
    DateOnOrAfter(String),
    DateAfter(String),
    DateBefore(String),
    DateOnOrBefore(String),
    ValueLt(ValueBound),
    ValueLe(ValueBound),
    ValueGt(ValueBound),
    ValueGe(ValueBound),
    /// Inclusive on both ends.
    ValueBetween(ValueRange),
    /// Status is one of these (`active`, `inactive`, `completed`, `in-progress`, `stopped`,
    /// `not-done`, `unknown`). Void records never match.
    StatusIn(Vec<String>),
    /// The coded result (`valueCodeableConcept`) has one of these FHIR tokens. At most 8.
    ValueCodeIn(Vec<String>),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeClause {
    pub years: u32,
    /// The day on which the age is evaluated (`YYYY-MM-DD`); absent = today (UTC) at
    /// compilation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
}

/// A query compiled to the fields the circuits constrain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompiledQuery {
    pub kind: u8,
    pub quant_op: u8,
    pub quant_k: u32,
    pub code_any: bool,
    pub codes: [Fr; CODE_SET_SIZE],
    pub value_code_any: bool,
    pub value_codes: [Fr; VALUE_CODE_SET_SIZE],
    pub date_lo: u32,
    pub date_hi: u32,
    pub value_lo: u64,
    pub value_hi: u64,
    pub unit: Fr,
    pub statuses: [u8; STATUS_SET_SIZE],
    pub age_enabled: bool,
    pub birth_cutoff: u32,
}

impl Query {
    /// Parses and validates a query from JSON, with messages that say what is wrong.
    pub fn from_json(bytes: &[u8]) -> Result<Query> {
        let q: Query = serde_json::from_slice(bytes)
            .map_err(|e| CoreError::Query(format!("malformed query JSON: {e}")))?;
        q.compile()?;
        Ok(q)
    }

    /// The kind whose records the query opens, if any.
    pub fn kind(&self) -> Option<Kind> {
        self.records.as_ref().map(|r| r.kind)
    }

    pub fn compile(&self) -> Result<CompiledQuery> {
        if self.version != QUERY_VERSION {
            return Err(CoreError::Query(format!(
                "unsupported query version {} (this build supports {QUERY_VERSION})",
                self.version
            )));
        }
        if self.records.is_none() && self.age_at_least.is_none() {
            return Err(CoreError::Query(
                "empty query: give `records`, `age_at_least`, or both".into(),
            ));
        }
        let mut c = CompiledQuery {
            kind: 0,
            quant_op: 0,
            quant_k: 0,
            code_any: true,
            codes: [Fr::zero(); CODE_SET_SIZE],
            value_code_any: true,
            value_codes: [Fr::zero(); VALUE_CODE_SET_SIZE],
            date_lo: 0,
            date_hi: (1 << DATE_BITS) - 1,
            value_lo: 0,
            value_hi: VALUE_MAX,
            unit: Fr::zero(),
            statuses: [0; STATUS_SET_SIZE],
            age_enabled: false,
            birth_cutoff: 0,
        };
        let mut status_set: Vec<u8> = Status::DEFAULT_SET.iter().map(|s| s.id()).collect();
        if let Some(r) = &self.records {
            c.kind = r.kind.id();
            let (op, k) = match r.quantifier {
                Quantifier::Exists => (OP_AT_LEAST, 1),
                Quantifier::None => (OP_AT_MOST, 0),
                Quantifier::CountAtLeast(k) => (OP_AT_LEAST, k),
                Quantifier::CountAtMost(k) => (OP_AT_MOST, k),
                Quantifier::Latest => (OP_LATEST, 0),
            };
            if k >= 1 << COUNT_BITS {
                return Err(CoreError::Query(format!(
                    "count threshold {k} exceeds 2^{COUNT_BITS} - 1"
                )));
            }
            c.quant_op = op;
            c.quant_k = k;
            let mut codes: Option<Vec<Fr>> = None;
            let mut value_codes: Option<Vec<Fr>> = None;
            let mut any_date = false;
            let mut any_value = false;
            let mut unit: Option<String> = None;
            let mut status_given: Option<Vec<u8>> = None;
            for (i, f) in r.filters.iter().enumerate() {
                let at = |e: CoreError| match e {
                    CoreError::Query(m) => CoreError::Query(format!("where[{i}]: {m}")),
                    other => other,
                };
                match f {
                    // One list per clause type: a record matches a list if ANY of its codings
                    // is in it, so two lists may be met by two different codings of one
                    // record (SNOMED CT in one, ICD-10-CM in the other) — a relation the
                    // single compiled set cannot express. Intersecting the lists would answer
                    // "no" for such a record, a false statement; refusing is honest.
                    Filter::CodeIn(list) => {
                        if codes.is_some() {
                            return Err(at(CoreError::Query(ONE_LIST.replace("{}", "code_in"))));
                        }
                        let set = code_set("code_in", list, CODE_SET_SIZE, CodeRole::Concept)
                            .map_err(at)?;
                        codes = Some(intersect(codes, set));
                    }
                    Filter::ValueCodeIn(list) => {
                        if value_codes.is_some() {
                            return Err(at(CoreError::Query(
                                ONE_LIST.replace("{}", "value_code_in"),
                            )));
                        }
                        let set =
                            code_set("value_code_in", list, VALUE_CODE_SET_SIZE, CodeRole::Value)
                                .map_err(at)?;
                        value_codes = Some(intersect(value_codes, set));
                    }
                    Filter::DateOnOrAfter(d)
                    | Filter::DateAfter(d)
                    | Filter::DateBefore(d)
                    | Filter::DateOnOrBefore(d) => {
                        any_date = true;
                        let n = encode_date(parse_date(d).map_err(at)?).map_err(at)?;
                        match f {
                            Filter::DateOnOrAfter(_) => c.date_lo = c.date_lo.max(n),
                            Filter::DateAfter(_) => c.date_lo = c.date_lo.max(n + 1),
                            Filter::DateBefore(_) => c.date_hi = c.date_hi.min(n - 1),
                            _ => c.date_hi = c.date_hi.min(n),
                        }
                    }
                    Filter::ValueLt(b)
                    | Filter::ValueLe(b)
                    | Filter::ValueGt(b)
                    | Filter::ValueGe(b) => {
                        any_value = true;
                        merge_unit(&mut unit, &b.unit).map_err(at)?;
                        let v = encode_point(parse_fixed(&b.value.0).map_err(at)?);
                        // Points are even; `v ± 1` stands for "strictly below/above v".
                        match f {
                            Filter::ValueLt(_) => c.value_hi = c.value_hi.min(v - 1),
                            Filter::ValueLe(_) => c.value_hi = c.value_hi.min(v),
                            Filter::ValueGt(_) => c.value_lo = c.value_lo.max(v + 1),
                            _ => c.value_lo = c.value_lo.max(v),
                        }
                    }
                    Filter::ValueBetween(r) => {
                        any_value = true;
                        merge_unit(&mut unit, &r.unit).map_err(at)?;
                        let lo = encode_point(parse_fixed(&r.min.0).map_err(at)?);
                        let hi = encode_point(parse_fixed(&r.max.0).map_err(at)?);
                        if lo > hi {
                            return Err(at(CoreError::Query("value_between: min > max".into())));
                        }
                        c.value_lo = c.value_lo.max(lo);
                        c.value_hi = c.value_hi.min(hi);
                    }
                    Filter::StatusIn(names) => {
                        if names.is_empty() {
                            return Err(at(CoreError::Query(
                                "status_in needs at least one status".into(),
                            )));
                        }
                        let mut set = Vec::new();
                        for n in names {
                            let s = Status::from_name(n).ok_or_else(|| {
                                at(CoreError::Query(format!(
                                    "unknown status {n:?} (known: active, inactive, completed, in-progress, stopped, not-done, unknown)"
                                )))
                            })?;
                            if s == Status::Void {
                                return Err(at(CoreError::Query(
                                    "status \"void\" cannot be queried: entered-in-error and refuted records never count".into(),
                                )));
                            }
                            if !set.contains(&s.id()) {
                                set.push(s.id());
                            }
                        }
                        status_given = Some(match status_given {
                            None => set,
                            Some(prev) => prev.into_iter().filter(|x| set.contains(x)).collect(),
                        });
                    }
                }
            }
            if let Some(set) = codes {
                c.code_any = false;
                fill_set(&mut c.codes, &set);
            }
            if let Some(set) = value_codes {
                c.value_code_any = false;
                fill_set(&mut c.value_codes, &set);
            }
            if any_date {
                c.date_lo = c.date_lo.max(1);
            }
            if any_value {
                c.value_lo = c.value_lo.max(VALUE_MIN);
                if c.value_lo > c.value_hi {
                    // No value satisfies the clauses: almost certainly a mistake in the
                    // question, so say so instead of proving a confident "none".
                    return Err(CoreError::Query(
                        "the value clauses contradict each other (no value satisfies all)".into(),
                    ));
                }
            }
            if let Some(u) = unit {
                c.unit = unit_to_field(&u);
            }
            if let Some(s) = status_given {
                status_set = s;
            }
        }
        if status_set.is_empty() {
            status_set.push(NO_STATUS);
        }
        for (i, slot) in c.statuses.iter_mut().enumerate() {
            *slot = *status_set.get(i).unwrap_or(&status_set[0]);
        }
        if let Some(a) = &self.age_at_least {
            let on = match &a.on {
                Some(d) => parse_date(d)?,
                None => today_utc(),
            };
            let cutoff = years_before(on, a.years).ok_or_else(|| {
                CoreError::Query(format!(
                    "age_at_least: {} years before {on} is out of range",
                    a.years
                ))
            })?;
            c.age_enabled = true;
            c.birth_cutoff = encode_date(cutoff)?;
        }
        Ok(c)
    }

    /// `query_hash`, the public input that binds a proof to this exact question.
    pub fn hash(&self) -> Result<Fr> {
        Ok(self.compile()?.hash())
    }
}

/// A code clause's set: 1 to `max` tokens of known systems with valid codes, deduplicated.
fn code_set(what: &str, list: &[String], max: usize, role: CodeRole) -> Result<Vec<Fr>> {
    if list.is_empty() || list.len() > max {
        return Err(CoreError::Query(format!(
            "{what} needs 1 to {max} codes, got {}",
            list.len()
        )));
    }
    let mut set = Vec::new();
    for t in list {
        let x = token_to_field(role, t)?;
        if !set.contains(&x) {
            set.push(x);
        }
    }
    Ok(set)
}

const ONE_LIST: &str = "a record clause takes one {} list: each list may be met by a \
different coding of the same record, which one proof cannot express; merge the codes into \
one list";

/// Several clauses of one type intersect (status clauses; code lists are refused above).
fn intersect(prev: Option<Vec<Fr>>, set: Vec<Fr>) -> Vec<Fr> {
    match prev {
        None => set,
        Some(prev) => prev.into_iter().filter(|x| set.contains(x)).collect(),
    }
}

/// Fills a fixed-size query set: the codes, padded by repeating the first; an empty set
/// (an empty intersection) is all [`NO_CODE`], which matches nothing.
fn fill_set(slots: &mut [Fr], set: &[Fr]) {
    let nothing = Fr::from(NO_CODE);
    for (i, slot) in slots.iter_mut().enumerate() {
        *slot = set.get(i).or(set.first()).copied().unwrap_or(nothing);
    }
}

fn merge_unit(acc: &mut Option<String>, u: &Option<String>) -> Result<()> {
    if let Some(u) = u {
        check_unit(u)?;
        match acc {
            Some(prev) if prev != u => {
                return Err(CoreError::Query(format!(
                    "conflicting units {prev:?} and {u:?} in one query"
                )))
            }
            _ => *acc = Some(u.clone()),
        }
    }
    Ok(())
}

/// The calendar date `years` years before `on` (29 February maps to 28 February).
pub fn years_before(on: NaiveDate, years: u32) -> Option<NaiveDate> {
    let y = on.year().checked_sub(years as i32)?;
    NaiveDate::from_ymd_opt(y, on.month(), on.day())
        .or_else(|| NaiveDate::from_ymd_opt(y, on.month(), on.day() - 1))
}

impl CompiledQuery {
    pub fn status_pack(&self) -> u64 {
        self.statuses
            .iter()
            .enumerate()
            .map(|(i, s)| (*s as u64) << (4 * i))
            .sum()
    }

    pub fn codes_hash(&self) -> Fr {
        hash32(&self.codes)
    }

    pub fn value_codes_hash(&self) -> Fr {
        poseidon(&self.value_codes).expect("8 inputs are supported")
    }

    /// `flags = 2 | kind << 8 | quant_op << 11 | code_any << 13 | value_code_any << 14 |
    /// age_enabled << 15 | quant_k << 16` (32 bits; the low byte is the encoding version).
    pub fn flags(&self) -> u64 {
        ENCODING_VERSION as u64
            | (self.kind as u64) << 8
            | (self.quant_op as u64) << 11
            | (self.code_any as u64) << 13
            | (self.value_code_any as u64) << 14
            | (self.age_enabled as u64) << 15
            | (self.quant_k as u64) << 16
    }

    /// The 10 inputs of the query hash, in order (see `docs/encoding.md`).
    pub fn hash_inputs(&self) -> [Fr; 10] {
        [
            Fr::from(self.flags()),
            Fr::from(self.date_lo as u64),
            Fr::from(self.date_hi as u64),
            Fr::from(self.value_lo),
            Fr::from(self.value_hi),
            self.unit,
            Fr::from(self.status_pack()),
            Fr::from(self.birth_cutoff as u64),
            self.codes_hash(),
            self.value_codes_hash(),
        ]
    }

    pub fn hash(&self) -> Fr {
        poseidon(&self.hash_inputs()).expect("10 inputs are supported")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(json: &str) -> Result<Query> {
        Query::from_json(json.as_bytes())
    }

    #[test]
    fn compiles_conjunction() {
        let query = q(r#"{"version":1,"records":{"kind":"Observation","quantifier":"exists","where":[
            {"code_in":["loinc|4548-4","loinc|17856-6"]},{"date_on_or_after":"2020-01-01"},
            {"value_lt":{"value":"6.5","unit":"%"}},{"value_ge":{"value":4}},{"status_in":["completed"]}]}}"#)
        .unwrap();
        let c = query.compile().unwrap();
        assert_eq!(c.kind, Kind::Observation.id());
        assert_eq!((c.quant_op, c.quant_k), (0, 1));
        assert!(!c.code_any);
        assert_eq!(
            c.codes[0],
            crate::codes::code_to_field(CodeRole::Concept, "http://loinc.org", "4548-4")
        );
        assert_eq!(c.codes[2], c.codes[0], "padded by repetition");
        assert_eq!(c.value_hi, encode_point(6500) - 1);
        assert_eq!(c.value_lo, encode_point(4000));
        assert_eq!(c.statuses, [3; 8]);
        assert_eq!(c.unit, unit_to_field("%"));
        assert_eq!(
            c.date_lo,
            encode_date(parse_date("2020-01-01").unwrap()).unwrap()
        );
    }

    #[test]
    fn hash_binds_every_field() {
        let base = r#"{"version":1,"records":{"kind":"Condition","quantifier":"none","where":[{"code_in":["sct|38341003"]}]}}"#;
        let h = q(base).unwrap().hash().unwrap();
        for other in [
            base.replace("none", "exists"),
            base.replace("Condition", "Procedure"),
            base.replace("none", "latest"),
            base.replace("sct|38341003", "sct|44054006"),
            base.replace(r#""where""#, r#""where":[],"x""#)
                .replace(r#","x":[{"code_in":["sct|38341003"]}]"#, ""),
        ] {
            if let Ok(o) = q(&other) {
                assert_ne!(o.hash().unwrap(), h, "{other}");
            }
        }
    }

    #[test]
    fn empty_intersections_match_nothing() {
        let c = q(
            r#"{"version":1,"records":{"kind":"Condition","quantifier":"exists","where":[
            {"code_in":["sct|38341003"]},{"status_in":["active"]},{"status_in":["inactive"]},
            {"value_code_in":["sct|266919005"]}]}}"#,
        )
        .unwrap()
        .compile()
        .unwrap();
        assert!(!c.code_any && !c.value_code_any);
        assert_eq!(c.statuses, [NO_STATUS; 8]);
        // Two code lists would intersect into a false "no" for a record coded in both
        // systems (one coding in each list): refused, with the reason.
        for (clause, name) in [
            (
                r#"{"code_in":["sct|38341003"]},{"code_in":["icd10cm|I10"]}"#,
                "code_in",
            ),
            (
                r#"{"value_code_in":["sct|266919005"]},{"value_code_in":["sct|77176002"]}"#,
                "value_code_in",
            ),
        ] {
            let json = format!(
                r#"{{"version":1,"records":{{"kind":"Condition","quantifier":"exists","where":[{clause}]}}}}"#
            );
            let e = q(&json).unwrap_err().to_string();
            assert!(
                e.contains(&format!("one {name} list")) && e.contains("where[1]"),
                "{e}"
            );
        }
    }

    #[test]
    fn age_cutoff() {
        let c = q(r#"{"version":1,"age_at_least":{"years":18,"on":"2024-02-29"}}"#)
            .unwrap()
            .compile()
            .unwrap();
        assert!(c.age_enabled);
        assert_eq!(
            decode_date(c.birth_cutoff).unwrap().to_string(),
            "2006-02-28"
        );
        assert_eq!(c.kind, 0);
    }

    #[test]
    fn clear_errors() {
        for (json, needle) in [
            ("{", "malformed query JSON"),
            (
                r#"{"version":2,"age_at_least":{"years":1,"on":"2020-01-01"}}"#,
                "unsupported query version 2",
            ),
            (r#"{"version":1}"#, "empty query"),
            (
                r#"{"version":1,"records":{"kind":"Encounter","quantifier":"exists"}}"#,
                "unknown variant",
            ),
            (
                r#"{"version":1,"records":{"kind":"Condition","quantifier":"exists","where":[{"code_in":["38341003"]}]}}"#,
                "where[0]",
            ),
            (
                r#"{"version":1,"records":{"kind":"Condition","quantifier":"none","where":[{"code_in":["snomedct|38341003"]}]}}"#,
                "unknown code system \"snomedct\"",
            ),
            (
                r#"{"version":1,"records":{"kind":"Observation","quantifier":"none","where":[{"code_in":["lonic|4548-4"]}]}}"#,
                "known: SNOMED CT",
            ),
            (
                r#"{"version":1,"records":{"kind":"Condition","quantifier":"none","where":[{"code_in":["sct|38341004"]}]}}"#,
                "SNOMED CT code \"38341004\" fails its Verhoeff check digit",
            ),
            (
                r#"{"version":1,"records":{"kind":"Observation","quantifier":"none","where":[{"code_in":["loinc|4548-5"]}]}}"#,
                "LOINC code \"4548-5\" fails its mod-10 check digit",
            ),
            (
                r#"{"version":1,"records":{"kind":"Observation","quantifier":"exists","where":[{"value_lt":{"value":1}},{"value_gt":{"value":2}}]}}"#,
                "contradict",
            ),
            (
                r#"{"version":1,"records":{"kind":"Observation","quantifier":"exists","where":[{"value_lt":{"value":1,"unit":"m g"}}]}}"#,
                "not a UCUM code",
            ),
            (
                r#"{"version":1,"records":{"kind":"Condition","quantifier":"exists","where":[{"status_in":["void"]}]}}"#,
                "never count",
            ),
            (
                r#"{"version":1,"records":{"kind":"Observation","quantifier":"exists","where":[{"value_lt":{"value":"1.23456"}}]}}"#,
                "decimal places",
            ),
            (
                r#"{"version":1,"records":{"kind":"Observation","quantifier":"exists","where":[{"value_lt":{"value":1,"unit":"%"}},{"value_gt":{"value":0,"unit":"mg"}}]}}"#,
                "conflicting units",
            ),
            (
                r#"{"version":1,"records":{"kind":"Condition","quantifier":{"count_at_least":70000}}}"#,
                "exceeds",
            ),
            (
                r#"{"version":1,"records":{"kind":"Condition","quantifier":"exists","where":[{"date_after":"2020-02-30"}]}}"#,
                "YYYY-MM-DD",
            ),
            (
                r#"{"version":1,"age_at_least":{"years":18,"on":"2020-01-01"},"extra":1}"#,
                "unknown field",
            ),
        ] {
            let e = q(json).unwrap_err().to_string();
            assert!(e.contains(needle), "{json}: {e}");
        }
        let many: Vec<String> = (0..33).map(|i| format!("\"cvx|{i}\"")).collect();
        let json = format!(
            r#"{{"version":1,"records":{{"kind":"Condition","quantifier":"exists","where":[{{"code_in":[{}]}}]}}}}"#,
            many.join(",")
        );
        assert!(q(&json).unwrap_err().to_string().contains("1 to 32 codes"));
    }
}
