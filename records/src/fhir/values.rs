//! Codes and values: the codings of a CodeableConcept, a Quantity's value, comparator and
//! unit, and exact decimal rounding.

use super::model::{CodeableConcept, Quantity};
use crate::record::{Code, CodeRole, Comparator};
use zkmed_core::codes::code_to_field;
use zkmed_core::encoding::VALUE_OFFSET;

pub(crate) fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A trimmed, non-empty string, or `None`.
pub(crate) fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|x| !x.is_empty())
}

/// What a CodeableConcept contributes to a record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Concept {
    /// Every coding with a non-empty system and code, in the order given, duplicates (the
    /// same system and code after normalisation) removed.
    pub codes: Vec<Code>,
    /// Human-readable name: the first coding's display (first coding that has one), else
    /// the concept's text.
    pub display: Option<String>,
    /// Codings that were dropped for want of a system or a code, as `system|code` text.
    pub dropped: Vec<String>,
}

/// Reads every usable coding of a CodeableConcept (see [`Concept`]).
pub fn concept(cc: &CodeableConcept, role: CodeRole) -> Concept {
    let mut out = Concept::default();
    let mut seen = Vec::new();
    for c in cc.coding.iter().flatten() {
        match (non_empty(&c.system), non_empty(&c.code)) {
            (Some(system), Some(code)) => {
                let key = code_to_field(role, system, code);
                if seen.contains(&key) {
                    continue;
                }
                seen.push(key);
                out.codes.push(Code {
                    system: system.to_string(),
                    code: code.to_string(),
                    display: non_empty(&c.display).map(str::to_string),
                });
            }
            (None, None) => {}
            (s, c) => out
                .dropped
                .push(format!("{}|{}", s.unwrap_or(""), c.unwrap_or(""))),
        }
    }
    out.display = cc
        .coding
        .iter()
        .flatten()
        .find_map(|c| non_empty(&c.display))
        .or(non_empty(&cc.text))
        .map(str::to_string);
    out
}

/// A Quantity's contribution: value, comparator and unit, or why the value was dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuantityValue {
    /// No `value` in the quantity.
    Absent,
    /// A usable value (fixed point, 3 decimals) with its comparator and UCUM unit.
    Value {
        /// `round(v·1000)`.
        value: i64,
        /// `<`, `<=`, `>`, `>=`, if any.
        comparator: Option<Comparator>,
        /// `code`, else `unit`.
        unit: Option<String>,
    },
    /// The value cannot be represented; the reason.
    Dropped(String),
}

/// Reads a Quantity: the value rounded to 3 decimals ([`decimal_to_fixed`]), a comparator
/// `<`, `<=`, `>`, `>=` kept as an interval bound, the unit from `code` else `unit`. A
/// comparator `ad` ("sufficient to achieve this total quantity") or any other code, or a
/// value outside the encodable range, drops the value.
pub fn quantity(q: &Quantity) -> QuantityValue {
    let Some(n) = &q.value else {
        return QuantityValue::Absent;
    };
    let comparator = match non_empty(&q.comparator) {
        None => None,
        Some(c) => match Comparator::from_fhir(c) {
            Some(c) => Some(c),
            None if c == "ad" => {
                return QuantityValue::Dropped(format!(
                    "value {n} with comparator \"ad\" (\"sufficient to achieve this total quantity\") is not an interval zkmed can represent"
                ))
            }
            None => {
                return QuantityValue::Dropped(format!(
                    "value {n} with comparator {c:?}, which is not a FHIR QuantityComparator (<, <=, >=, >, ad)"
                ))
            }
        },
    };
    match decimal_to_fixed(&n.to_string()) {
        Ok(value) => QuantityValue::Value {
            value,
            comparator,
            unit: non_empty(&q.code)
                .or(non_empty(&q.unit))
                .map(str::to_string),
        },
        Err(m) => QuantityValue::Dropped(m),
    }
}

/// Rounds a decimal number given as text (optionally signed, optionally with an exponent:
/// `5.7`, `-0.1255`, `1e-7`, `1.5E3`) to fixed point with 3 decimals, rounding half away
/// from zero (`0.0005` → 1, `-0.1255` → -126, `2.4994` → 2499). Works on the digits, so the
/// result is exact for the given text. Fails on anything that is not a decimal number or
/// whose rounded magnitude is not below `2^39 - 1` (the encodable range).
///
/// Note: `serde_json` (without `arbitrary_precision`) stores a JSON number as an `f64` and
/// prints its shortest round-trip form, so the text seen here is exact for JSON numbers of
/// up to 15 significant digits; for longer ones (Synthea writes 17) the digits past the
/// 17th may differ, which can change the rounding only for values within about 1e-14
/// (relative) of a half-way point.
pub fn decimal_to_fixed(s: &str) -> std::result::Result<i64, String> {
    let bad = |why: &str| format!("value {s:?}: {why}");
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (mant, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let exp: i64 = match exp {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if !all_digits(digits) {
                return Err(bad("malformed exponent"));
            }
            // Saturate: anything beyond ±10^6 is out of range or rounds to 0 anyway.
            let m: i64 = if digits.len() > 7 {
                10_000_000
            } else {
                digits.parse().unwrap_or(10_000_000)
            };
            if e.starts_with('-') {
                -m
            } else {
                m
            }
        }
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad("not a decimal number"));
    }
    // value = 0.d1 d2 d3 ... × 10^point
    let digits: String = format!("{int}{frac}");
    let lead = digits.bytes().take_while(|&b| b == b'0').count();
    let digits = &digits[lead..];
    if digits.is_empty() {
        return Ok(0);
    }
    let point = int.len() as i64 - lead as i64 + exp;
    // Digits of round(value × 1000) before rounding: the first `point + 3` digits.
    let keep = point + 3;
    let max_int_digits = 13; // 2^39 < 10^12, so 13 digits is certainly out of range
    if keep > max_int_digits {
        return Err(bad("outside the encodable range"));
    }
    let (int_part, round_digit): (i64, u8) = if keep <= 0 {
        (
            0,
            if keep == 0 {
                digits.as_bytes()[0] - b'0'
            } else {
                0
            },
        )
    } else {
        let k = keep as usize;
        let mut v: i64 = 0;
        for i in 0..k {
            let d = digits.as_bytes().get(i).map(|b| b - b'0').unwrap_or(0);
            v = v * 10 + d as i64;
        }
        (v, digits.as_bytes().get(k).map(|b| b - b'0').unwrap_or(0))
    };
    let mag = int_part + i64::from(round_digit >= 5);
    if mag >= VALUE_OFFSET - 1 {
        return Err(bad("outside the encodable range"));
    }
    Ok(if neg { -mag } else { mag })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding() {
        for (s, v) in [
            ("5.7", 5700),
            ("-0.1255", -126),
            ("0.1255", 126),
            ("0.1254999", 125),
            ("2.4995", 2500),
            ("-2.4994", -2499),
            ("0.0005", 1),
            ("-0.0004", 0),
            ("7", 7000),
            ("1e-7", 0),
            ("1.5E3", 1_500_000),
            ("1.0005e1", 10_005),
            ("123.4567e-2", 1235),
            ("0.000", 0),
            ("+3.25", 3250),
            ("109.56259812460114", 109_563),
            ("549755813.886", 549_755_813_886),
        ] {
            assert_eq!(decimal_to_fixed(s), Ok(v), "{s}");
        }
        for s in [
            "",
            ".",
            "abc",
            "1.2.3",
            "1e",
            "1e+",
            "--1",
            "1e400",
            "549755813.887",
            "1e12",
            "0x10",
        ] {
            assert!(decimal_to_fixed(s).is_err(), "{s:?} must fail");
        }
        assert_eq!(decimal_to_fixed("1e-99999999999"), Ok(0));
    }

    #[test]
    fn every_usable_coding_in_order_without_duplicates() {
        let cc: CodeableConcept = serde_json::from_str(
            r#"{"coding":[{"system":"urn:local","code":"x"},{"code":"nosystem"},
                {"system":"http://loinc.org","code":"1-8","display":"L"},
                {"system":"urn:local","code":" x "},{"system":"http://snomed.info/sct"}],"text":"T"}"#,
        )
        .unwrap();
        let c = concept(&cc, CodeRole::Concept);
        assert_eq!(
            c.codes,
            vec![
                Code::new("urn:local", "x"),
                Code {
                    display: Some("L".into()),
                    ..Code::new("http://loinc.org", "1-8")
                }
            ]
        );
        assert_eq!(c.display.as_deref(), Some("L"));
        assert_eq!(c.dropped, vec!["|nosystem", "http://snomed.info/sct|"]);
        let cc: CodeableConcept = serde_json::from_str(r#"{"text":"only text"}"#).unwrap();
        let c = concept(&cc, CodeRole::Concept);
        assert!(c.codes.is_empty());
        assert_eq!(c.display.as_deref(), Some("only text"));
    }

    #[test]
    fn quantities() {
        let q = |s: &str| quantity(&serde_json::from_str::<Quantity>(s).unwrap());
        assert_eq!(q(r#"{"unit":"mg"}"#), QuantityValue::Absent);
        assert_eq!(
            q(r#"{"value":5.7,"unit":"percent","code":"%"}"#),
            QuantityValue::Value {
                value: 5700,
                comparator: None,
                unit: Some("%".into())
            }
        );
        assert_eq!(
            q(r#"{"value":14,"comparator":">=","unit":"%"}"#),
            QuantityValue::Value {
                value: 14000,
                comparator: Some(Comparator::Ge),
                unit: Some("%".into())
            }
        );
        assert!(
            matches!(q(r#"{"value":5,"comparator":"ad"}"#), QuantityValue::Dropped(m) if m.contains("\"ad\""))
        );
        assert!(
            matches!(q(r#"{"value":5,"comparator":"~"}"#), QuantityValue::Dropped(m) if m.contains("\"~\""))
        );
        assert!(
            matches!(q(r#"{"value":1e300}"#), QuantityValue::Dropped(m) if m.contains("outside the encodable range"))
        );
    }
}
