//! The fixed-layout record encoding shared by the importer, the circuits and the query
//! compiler. The math and the soundness argument are in `docs/encoding.md`.
#![doc = include_str!("../../docs/encoding.md")]

use crate::error::{CoreError, Result};
use crate::field::{hash_to_field, Fr};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// Bits of an encoded date (days since 0001-01-01 = day 1; 0 = missing).
pub const DATE_BITS: u32 = 24;
/// Bits of an encoded value bound (see [`encode_point`]; 0 = missing).
pub const VALUE_BITS: u32 = 41;
/// Fixed-point scale: values carry 3 decimal places.
pub const VALUE_SCALE: i64 = 1000;
/// Offset added to a fixed-point value so that encoded values are positive: a value `v`
/// must satisfy `|v| < VALUE_OFFSET - 1`.
pub const VALUE_OFFSET: i64 = 1 << 39;
/// Encoded lower bound of an interval open to the left ("below x"): below every point.
pub const VALUE_MIN: u64 = 1;
/// Encoded upper bound of an interval open to the right ("above x"): above every point.
pub const VALUE_MAX: u64 = (1 << VALUE_BITS) - 1;
/// Concept-code slots of a record leaf (codings of the resource's code).
pub const CODE_SLOTS: usize = 4;
/// Value-code slots of a record leaf (codings of `valueCodeableConcept`).
pub const VALUE_CODE_SLOTS: usize = 2;
/// Codes per query value-code set (`value_code_in`).
pub const VALUE_CODE_SET_SIZE: usize = 8;
/// Query-set padding meaning "matches nothing" (an empty intersection of code clauses). No
/// code hashes to 1 (that would take a 248-bit SHA-256 preimage) and record slots are padded
/// with 0, never 1.
pub const NO_CODE: u64 = 1;
/// Bits of the packed `meta` word: date (24) | status (4) << 24 | kind (4) << 28.
pub const META_BITS: u32 = 32;
/// Status bits inside `meta`.
pub const STATUS_BITS: u32 = 4;
/// Codes per query code set.
pub const CODE_SET_SIZE: usize = 32;
/// Statuses per query status set.
pub const STATUS_SET_SIZE: usize = 8;
/// Bits of a count / quantifier threshold.
pub const COUNT_BITS: u32 = 16;
/// Depth of each per-kind quaternary Merkle tree: 4^10 = 2^20 records per kind.
pub const TREE_DEPTH: usize = 10;
/// Arity of the Merkle trees.
pub const TREE_ARITY: usize = 4;
/// Status value used to fill an empty status set: no record ever has it.
pub const NO_STATUS: u8 = 15;

/// The clinical resource kinds that are committed, one Merkle tree each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    Condition,
    Procedure,
    Observation,
    Immunization,
    MedicationRequest,
    AllergyIntolerance,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Condition,
        Kind::Procedure,
        Kind::Observation,
        Kind::Immunization,
        Kind::MedicationRequest,
        Kind::AllergyIntolerance,
    ];
    /// 1-based id used in `meta` and in the query encoding (0 = "no record clause").
    pub fn id(self) -> u8 {
        self as u8 + 1
    }
    /// 0-based index of this kind's tree in the record commitment.
    pub fn index(self) -> usize {
        self as usize
    }
    pub fn from_id(id: u8) -> Option<Kind> {
        Kind::ALL.get((id as usize).checked_sub(1)?).copied()
    }
    pub fn fhir_name(self) -> &'static str {
        match self {
            Kind::Condition => "Condition",
            Kind::Procedure => "Procedure",
            Kind::Observation => "Observation",
            Kind::Immunization => "Immunization",
            Kind::MedicationRequest => "MedicationRequest",
            Kind::AllergyIntolerance => "AllergyIntolerance",
        }
    }
    pub fn from_fhir_name(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.fhir_name() == s)
    }
}

/// Normalised status of a record (4 bits). `Void` records (entered-in-error, refuted,
/// cancelled) are committed — nothing is lost — but no query can ever count them: the
/// circuits reject status sets that contain 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Void = 0,
    Active = 1,
    Inactive = 2,
    Completed = 3,
    InProgress = 4,
    Stopped = 5,
    NotDone = 6,
    Unknown = 7,
}

impl Status {
    pub const QUERYABLE: [Status; 7] = [
        Status::Active,
        Status::Inactive,
        Status::Completed,
        Status::InProgress,
        Status::Stopped,
        Status::NotDone,
        Status::Unknown,
    ];
    /// Statuses matched when a query has no `status_in` clause (everything real:
    /// not void, not "not-done").
    pub const DEFAULT_SET: [Status; 6] = [
        Status::Active,
        Status::Inactive,
        Status::Completed,
        Status::InProgress,
        Status::Stopped,
        Status::Unknown,
    ];
    pub fn id(self) -> u8 {
        self as u8
    }
    pub fn name(self) -> &'static str {
        match self {
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
    pub fn from_name(s: &str) -> Option<Status> {
        Status::QUERYABLE
            .into_iter()
            .chain([Status::Void])
            .find(|x| x.name() == s)
    }
}

/// Field encoding of a UCUM unit code (0 = no unit).
pub fn unit_to_field(unit: &str) -> Fr {
    hash_to_field("zkmed/unit/v1", unit.trim().as_bytes())
}

/// Days since 0001-01-01 (that day = 1). Always in `1..2^24` for years 1..=45000.
pub fn encode_date(d: NaiveDate) -> Result<u32> {
    let n = d.num_days_from_ce();
    if !(1..(1 << DATE_BITS)).contains(&n) {
        return Err(CoreError::Query(format!(
            "date {d} outside the encodable range"
        )));
    }
    Ok(n as u32)
}

pub fn decode_date(n: u32) -> Option<NaiveDate> {
    if n == 0 {
        return None;
    }
    NaiveDate::from_num_days_from_ce_opt(n as i32)
}

/// Parses a query date: `YYYY-MM-DD`, or an RFC 3339 date-time (`2020-01-01T23:30:00-05:00`)
/// which is converted to UTC before its calendar date is taken (2020-01-02 here). Every date
/// zkmed compares is a UTC calendar date.
pub fn parse_date(s: &str) -> Result<NaiveDate> {
    let t = s.trim();
    if t.len() > 10 {
        return chrono::DateTime::parse_from_rfc3339(t)
            .map(|d| d.with_timezone(&chrono::Utc).date_naive())
            .map_err(|e| {
                CoreError::Query(format!(
                    "date {s:?} is neither YYYY-MM-DD nor an RFC 3339 date-time with offset: {e}"
                ))
            });
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .map_err(|e| CoreError::Query(format!("date {s:?} is not YYYY-MM-DD: {e}")))
}

/// Today's date in UTC (what `"$today"` and an `age_at_least` without `on` mean).
pub fn today_utc() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// Parses a decimal string into fixed point with 3 decimals (exact; more digits is an error).
pub fn parse_fixed(s: &str) -> Result<i64> {
    let err = |why: &str| CoreError::Query(format!("value {s:?}: {why}"));
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty() && frac.is_empty() {
        return Err(err("empty"));
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("not a decimal number"));
    }
    let frac_trim = frac.trim_end_matches('0');
    if frac_trim.len() > 3 {
        return Err(err("more than 3 decimal places"));
    }
    let i: i64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| err("too large"))?
    };
    let f: i64 = format!("{frac_trim:0<3}").parse().unwrap_or(0);
    let v = i
        .checked_mul(VALUE_SCALE)
        .and_then(|x| x.checked_add(f))
        .ok_or_else(|| err("too large"))?;
    let v = if neg { -v } else { v };
    if v.abs() >= VALUE_OFFSET - 1 {
        return Err(err("outside the encodable range"));
    }
    Ok(v)
}

/// Encoding of an exact fixed-point value: `2·(v + 2^39)`, an EVEN number in
/// `[2, 2^41 - 2]`. The odd numbers between two points stand for "strictly between":
/// `e(v) - 1` is above every point below `v` and below `v` itself, so a censored value
/// "< v" is the interval `[VALUE_MIN, e(v) - 1]` and a query bound "< v" is `e(v) - 1`, and
/// interval containment decides every comparison exactly (docs/encoding.md, "Values").
/// The caller checks `|v| < VALUE_OFFSET - 1` (see [`parse_fixed`]).
pub fn encode_point(fixed: i64) -> u64 {
    2 * (fixed + VALUE_OFFSET) as u64
}

/// Inverse of [`encode_point`] for even, non-zero encodings.
pub fn decode_point(enc: u64) -> Option<i64> {
    (enc != 0 && enc.is_multiple_of(2)).then(|| (enc / 2) as i64 - VALUE_OFFSET)
}

/// FHIR `Quantity.comparator`: the true value is below / above the stated one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Comparator {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
}

impl Comparator {
    /// Parses FHIR's `<`, `<=`, `>`, `>=` (`ad` is not an interval: `None`).
    pub fn from_fhir(s: &str) -> Option<Comparator> {
        match s {
            "<" => Some(Comparator::Lt),
            "<=" => Some(Comparator::Le),
            ">" => Some(Comparator::Gt),
            ">=" => Some(Comparator::Ge),
            _ => None,
        }
    }
    /// The FHIR spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
        }
    }
}

/// The encoded interval `[lo, hi]` a record's value is known to lie in: a point for an exact
/// value, half-open to one side for a censored one, `[0, 0]` for no value.
pub fn encode_value_interval(value: Option<i64>, comparator: Option<Comparator>) -> (u64, u64) {
    let Some(v) = value else { return (0, 0) };
    let e = encode_point(v);
    match comparator {
        None => (e, e),
        Some(Comparator::Lt) => (VALUE_MIN, e - 1),
        Some(Comparator::Le) => (VALUE_MIN, e),
        Some(Comparator::Gt) => (e + 1, VALUE_MAX),
        Some(Comparator::Ge) => (e, VALUE_MAX),
    }
}

/// Formats a fixed-point value back to a decimal string.
pub fn format_fixed(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    let frac = a % VALUE_SCALE as u64;
    if frac == 0 {
        format!("{sign}{}", a / VALUE_SCALE as u64)
    } else {
        format!(
            "{sign}{}.{}",
            a / VALUE_SCALE as u64,
            format!("{frac:03}").trim_end_matches('0')
        )
    }
}

/// Packs `date | status << 24 | kind << 28` into the 32-bit `meta` word of a leaf.
pub fn pack_meta(kind: Kind, status: Status, date: u32) -> u64 {
    debug_assert!(date < (1 << DATE_BITS));
    (date as u64)
        | ((status.id() as u64) << DATE_BITS)
        | ((kind.id() as u64) << (DATE_BITS + STATUS_BITS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point() {
        assert_eq!(parse_fixed("6.5").unwrap(), 6500);
        assert_eq!(parse_fixed("-0.125").unwrap(), -125);
        assert_eq!(parse_fixed("7").unwrap(), 7000);
        assert_eq!(parse_fixed("7.1000").unwrap(), 7100);
        assert!(parse_fixed("1.2345").is_err());
        assert!(parse_fixed("1e3").is_err());
        assert!(parse_fixed("").is_err());
        assert!(parse_fixed("99999999999999").is_err());
        assert_eq!(format_fixed(-125), "-0.125");
        assert_eq!(format_fixed(7000), "7");
        assert_eq!(decode_point(encode_point(-125)), Some(-125));
        assert!(encode_point(-(VALUE_OFFSET - 2)) > VALUE_MIN);
        assert!(encode_point(VALUE_OFFSET - 2) < VALUE_MAX);
        // "< 5" lies strictly between 4.999 and 5.
        let (lo, hi) = encode_value_interval(Some(5000), Some(Comparator::Lt));
        assert_eq!((lo, hi), (VALUE_MIN, encode_point(5000) - 1));
        assert!(hi > encode_point(4999));
        assert_eq!(encode_value_interval(None, Some(Comparator::Gt)), (0, 0));
    }

    #[test]
    fn dates() {
        let d = parse_date("2020-02-29T10:00:00Z").unwrap();
        assert_eq!(
            parse_date("2020-01-01T23:30:00-05:00").unwrap(),
            NaiveDate::from_ymd_opt(2020, 1, 2).unwrap()
        );
        assert!(parse_date("2020-01-01T23:30:00").is_err());
        assert_eq!(decode_date(encode_date(d).unwrap()), Some(d));
        assert_eq!(
            encode_date(NaiveDate::from_ymd_opt(1, 1, 1).unwrap()).unwrap(),
            1
        );
        assert!(parse_date("2020-13-01").is_err());
    }

    #[test]
    fn codes_and_kinds() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_id(k.id()), Some(k));
            assert_eq!(Kind::from_fhir_name(k.fhir_name()), Some(k));
        }
        assert_eq!(Kind::from_id(0), None);
        assert_eq!(
            pack_meta(Kind::Procedure, Status::Completed, 5),
            5 | (3 << 24) | (2 << 28)
        );
    }
}
