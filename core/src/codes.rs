//! The closed table of code systems a query may name, their canonical URIs and aliases, how
//! each system's codes are normalised and checked, and the injective field encoding of a
//! coding (`docs/encoding.md`, "Codes").
//!
//! A query naming a system outside this table is an error that lists the known systems: a
//! misspelled system (`snomedct|…`, `lonic|…`) would otherwise hash to a code no record
//! carries and silently prove a confident "none". Records keep codings of any system (the
//! importer commits what the EHR sent); codings of systems outside the table can simply
//! never be asked about.

use crate::error::{CoreError, Result};
use crate::field::{hash_to_field, Fr};

/// Domain of [`code_to_field`].
pub const CODE_DOMAIN: &str = "zkmed/code/v2";

/// A code system a query may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CodeSystem {
    /// SNOMED CT (concept ids carry a Verhoeff check digit).
    Snomed,
    /// LOINC (`NNNNN-C`, C a mod-10 check digit; answer/part codes `LA…`/`LP…`).
    Loinc,
    /// RxNorm concept ids (RXCUI).
    RxNorm,
    /// CDC vaccine codes.
    Cvx,
    /// ICD-10-CM (US clinical modification).
    Icd10Cm,
    /// ICD-10 (WHO).
    Icd10,
    /// National Drug Codes.
    Ndc,
}

impl CodeSystem {
    /// Every system of the table.
    pub const ALL: [CodeSystem; 7] = [
        CodeSystem::Snomed,
        CodeSystem::Loinc,
        CodeSystem::RxNorm,
        CodeSystem::Cvx,
        CodeSystem::Icd10Cm,
        CodeSystem::Icd10,
        CodeSystem::Ndc,
    ];

    /// The canonical FHIR URI.
    pub fn uri(self) -> &'static str {
        match self {
            CodeSystem::Snomed => "http://snomed.info/sct",
            CodeSystem::Loinc => "http://loinc.org",
            CodeSystem::RxNorm => "http://www.nlm.nih.gov/research/umls/rxnorm",
            CodeSystem::Cvx => "http://hl7.org/fhir/sid/cvx",
            CodeSystem::Icd10Cm => "http://hl7.org/fhir/sid/icd-10-cm",
            CodeSystem::Icd10 => "http://hl7.org/fhir/sid/icd-10",
            CodeSystem::Ndc => "http://hl7.org/fhir/sid/ndc",
        }
    }

    /// Short aliases accepted in queries (`sct|38341003`).
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            CodeSystem::Snomed => &["sct", "snomed"],
            CodeSystem::Loinc => &["loinc"],
            CodeSystem::RxNorm => &["rxnorm"],
            CodeSystem::Cvx => &["cvx"],
            CodeSystem::Icd10Cm => &["icd10cm", "icd-10-cm"],
            CodeSystem::Icd10 => &["icd10", "icd-10"],
            CodeSystem::Ndc => &["ndc"],
        }
    }

    /// Human-readable name.
    pub fn name(self) -> &'static str {
        match self {
            CodeSystem::Snomed => "SNOMED CT",
            CodeSystem::Loinc => "LOINC",
            CodeSystem::RxNorm => "RxNorm",
            CodeSystem::Cvx => "CVX",
            CodeSystem::Icd10Cm => "ICD-10-CM",
            CodeSystem::Icd10 => "ICD-10",
            CodeSystem::Ndc => "NDC",
        }
    }

    /// The system named by a canonical URI or an alias (exact, after trimming; aliases are
    /// case-insensitive). `None` for anything else.
    pub fn lookup(s: &str) -> Option<CodeSystem> {
        let s = s.trim();
        CodeSystem::ALL
            .into_iter()
            .find(|c| c.uri() == s || c.aliases().iter().any(|a| a.eq_ignore_ascii_case(s)))
    }

    /// The known systems, for error messages.
    pub fn known_list() -> String {
        let mut out = Vec::new();
        for c in CodeSystem::ALL {
            out.push(format!(
                "{} ({}, {})",
                c.name(),
                c.aliases().join(", "),
                c.uri()
            ));
        }
        out.push(format!("and for units only: UCUM ({UCUM_URI})"));
        out.join("; ")
    }

    /// The canonical form of a code of this system, used by BOTH the importer and the
    /// query compiler so that spellings of one code hash alike: trimmed; CVX without leading
    /// zeros (`08` = `8`); ICD-10(-CM) upper-case with the dot after the category (`e119` =
    /// `E11.9`); a hyphenated NDC as 11 digits (4-4-2, 5-3-2 and 5-4-1 zero-padded to 5-4-2).
    pub fn normalize_code(self, code: &str) -> String {
        let c = code.trim();
        match self {
            CodeSystem::Cvx if all_digits(c) => {
                let t = c.trim_start_matches('0');
                if t.is_empty() { "0" } else { t }.to_string()
            }
            CodeSystem::Icd10Cm | CodeSystem::Icd10 => {
                let u = c.to_ascii_uppercase();
                if !u.contains('.') && u.len() > 3 && u.is_ascii() {
                    format!("{}.{}", &u[..3], &u[3..])
                } else {
                    u
                }
            }
            CodeSystem::Ndc => ndc_11(c).unwrap_or_else(|| c.to_string()),
            _ => c.to_string(),
        }
    }

    /// Checks a code as a query gives it: syntax, and the check digit where the system has
    /// one (SNOMED CT: Verhoeff; LOINC: mod 10). The message names the code.
    pub fn check_code(self, code: &str) -> std::result::Result<(), String> {
        let c = code.trim();
        let bad = |why: &str| Err(format!("{} code {c:?} {why}", self.name()));
        match self {
            CodeSystem::Snomed => {
                if !all_digits(c) || c.len() < 6 || c.len() > 18 || c.starts_with('0') {
                    return bad("is not a SNOMED CT identifier (6 to 18 digits, no leading zero)");
                }
                if !verhoeff_valid(c) {
                    return bad("fails its Verhoeff check digit (mistyped?)");
                }
            }
            CodeSystem::Loinc => {
                let Some((body, check)) = c.rsplit_once('-') else {
                    return bad("is not a LOINC code (NNNNN-C)");
                };
                if check.len() != 1 || !all_digits(check) {
                    return bad("is not a LOINC code (NNNNN-C)");
                }
                // Answer, part and list codes (LA…, LP…, LL…) are checked for shape only.
                let prefixed = ["LA", "LP", "LL"].iter().find_map(|p| body.strip_prefix(p));
                let digits = prefixed.unwrap_or(body);
                if !all_digits(digits) || digits.len() > 8 {
                    return bad("is not a LOINC code (NNNNN-C)");
                }
                if prefixed.is_none() && !luhn_valid(&format!("{digits}{check}")) {
                    return bad("fails its mod-10 check digit (mistyped?)");
                }
            }
            CodeSystem::RxNorm => {
                if !all_digits(c) || c.len() > 10 {
                    return bad("is not an RxNorm concept id (digits)");
                }
            }
            CodeSystem::Cvx => {
                if !all_digits(c) || c.len() > 3 {
                    return bad("is not a CVX code (1 to 3 digits)");
                }
            }
            CodeSystem::Icd10Cm | CodeSystem::Icd10 => {
                let n = self.normalize_code(c);
                let b = n.as_bytes();
                let (cat, sub) = n.split_once('.').unwrap_or((&n, ""));
                let ok = cat.len() == 3
                    && b[0].is_ascii_uppercase()
                    && b[1].is_ascii_digit()
                    && (b[2].is_ascii_digit() || b[2].is_ascii_uppercase())
                    && sub.len() <= 4
                    && (n.contains('.') != sub.is_empty())
                    && sub
                        .bytes()
                        .all(|x| x.is_ascii_digit() || x.is_ascii_uppercase());
                if !ok {
                    return bad("is not an ICD-10 code (e.g. E11 or E11.9)");
                }
            }
            CodeSystem::Ndc => {
                if ndc_11(c).is_none() {
                    return bad(
                        "is not an NDC (10 digits hyphenated 4-4-2, 5-3-2 or 5-4-1, or 11 digits)",
                    );
                }
            }
        }
        Ok(())
    }
}

/// The UCUM URI (units only; never a concept code system in queries).
pub const UCUM_URI: &str = "http://unitsofmeasure.org";

/// Which part of a record a code describes. Part of the hash, so a value code can never
/// match a `code_in` clause and a concept code never a `value_code_in` clause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeRole {
    /// The resource's `code` (or its medication's code, or a component's code).
    Concept = 0,
    /// The result: `valueCodeableConcept`.
    Value = 1,
}

/// The field encoding of a coding:
/// `hash_to_field("zkmed/code/v2", role ‖ be32(len(S)) ‖ S ‖ be32(len(C)) ‖ C)` with `S` the
/// canonical URI of a known system (else the system as written, trimmed) and `C` the code
/// normalised by [`CodeSystem::normalize_code`] (else trimmed). Both parts are
/// length-prefixed, so distinct `(role, system, code)` triples are distinct byte strings
/// (the encoding is injective); SHA-256 then makes collisions infeasible. Never 0 in
/// practice, so 0 can pad record code slots.
pub fn code_to_field(role: CodeRole, system: &str, code: &str) -> Fr {
    let (s, c) = match CodeSystem::lookup(system) {
        Some(sys) => (sys.uri().to_string(), sys.normalize_code(code)),
        None => (system.trim().to_string(), code.trim().to_string()),
    };
    let mut bytes = Vec::with_capacity(9 + s.len() + c.len());
    bytes.push(role as u8);
    bytes.extend_from_slice(&(s.len() as u32).to_be_bytes());
    bytes.extend_from_slice(s.as_bytes());
    bytes.extend_from_slice(&(c.len() as u32).to_be_bytes());
    bytes.extend_from_slice(c.as_bytes());
    hash_to_field(CODE_DOMAIN, &bytes)
}

/// Parses and checks a query token `system|code`: the system must be in the closed table
/// (an error lists the known ones), the code must pass its system's check.
pub fn token_to_field(role: CodeRole, token: &str) -> Result<Fr> {
    let (sys, code) = token
        .split_once('|')
        .filter(|(s, c)| !s.trim().is_empty() && !c.trim().is_empty())
        .ok_or_else(|| {
            CoreError::Query(format!("code {token:?} is not a FHIR token `system|code`"))
        })?;
    let system = CodeSystem::lookup(sys).ok_or_else(|| {
        let hint = if sys.trim() == UCUM_URI || sys.trim().eq_ignore_ascii_case("ucum") {
            " (UCUM names units: give it as a value clause's `unit`)"
        } else {
            ""
        };
        CoreError::Query(format!(
            "unknown code system {:?} in {token:?}{hint}; known: {}",
            sys.trim(),
            CodeSystem::known_list()
        ))
    })?;
    system.check_code(code).map_err(CoreError::Query)?;
    Ok(code_to_field(role, sys, code))
}

/// Checks a UCUM unit code as given in a query: non-empty printable ASCII without spaces.
pub fn check_unit(unit: &str) -> Result<()> {
    if unit.is_empty() || !unit.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(CoreError::Query(format!(
            "unit {unit:?} is not a UCUM code (printable ASCII, no spaces; e.g. \"%\", \"mm[Hg]\", \"mg/dL\")"
        )));
    }
    Ok(())
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// An NDC as 11 digits: hyphenated 4-4-2 / 5-3-2 / 5-4-1 are zero-padded to 5-4-2, a
/// hyphenated 5-4-2 or a plain 11-digit code is kept. `None` otherwise (a plain 10-digit NDC
/// is ambiguous).
fn ndc_11(c: &str) -> Option<String> {
    let parts: Vec<&str> = c.split('-').collect();
    if !parts.iter().all(|p| all_digits(p)) {
        return None;
    }
    let lens: Vec<usize> = parts.iter().map(|p| p.len()).collect();
    let (a, b, d) = match (parts.as_slice(), lens.as_slice()) {
        ([x], [11]) => return Some(x.to_string()),
        ([a, b, d], [4, 4, 2]) => (format!("0{a}"), b.to_string(), d.to_string()),
        ([a, b, d], [5, 3, 2]) => (a.to_string(), format!("0{b}"), d.to_string()),
        ([a, b, d], [5, 4, 1]) => (a.to_string(), b.to_string(), format!("0{d}")),
        ([a, b, d], [5, 4, 2]) => (a.to_string(), b.to_string(), d.to_string()),
        _ => return None,
    };
    Some(format!("{a}{b}{d}"))
}

/// The Luhn / LOINC mod-10 check over a digit string whose last digit is the check digit.
fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = (b - b'0') as u32;
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

/// Verhoeff check (dihedral group D5) over a digit string whose last digit is the check digit.
fn verhoeff_valid(digits: &str) -> bool {
    const D: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let mut c = 0u8;
    for (i, b) in digits.bytes().rev().enumerate() {
        c = D[c as usize][P[i % 8][(b - b'0') as usize] as usize];
    }
    c == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits() {
        // Real SNOMED CT concepts pass; one digit changed fails.
        for c in [
            "38341003",
            "44054006",
            "73211009",
            "40055000",
            "195967001",
            "709044004",
        ] {
            assert!(CodeSystem::Snomed.check_code(c).is_ok(), "{c}");
        }
        assert!(CodeSystem::Snomed.check_code("38341004").is_err());
        assert!(CodeSystem::Snomed.check_code("3834100").is_err());
        for c in [
            "4548-4",
            "8480-6",
            "8462-4",
            "17856-6",
            "72166-2",
            "LA18976-3",
        ] {
            assert!(CodeSystem::Loinc.check_code(c).is_ok(), "{c}");
        }
        assert!(CodeSystem::Loinc.check_code("4548-5").is_err());
        assert!(CodeSystem::Loinc.check_code("4548").is_err());
        assert!(CodeSystem::Icd10Cm.check_code("E11.9").is_ok());
        assert!(CodeSystem::Icd10Cm.check_code("e119").is_ok());
        assert!(CodeSystem::Icd10Cm.check_code("11.9").is_err());
        assert!(CodeSystem::Ndc.check_code("0002-3227-30").is_ok());
        assert!(CodeSystem::Ndc.check_code("0002322730").is_err());
        assert!(CodeSystem::Cvx.check_code("08").is_ok());
        assert!(CodeSystem::Cvx.check_code("1234").is_err());
    }

    #[test]
    fn encoding_is_normalised_and_injective() {
        let c = CodeRole::Concept;
        assert_eq!(
            code_to_field(c, "sct", "1"),
            code_to_field(c, "http://snomed.info/sct", " 1 ")
        );
        assert_eq!(code_to_field(c, "cvx", "08"), code_to_field(c, "cvx", "8"));
        assert_eq!(
            code_to_field(c, "icd10cm", "e119"),
            code_to_field(c, "http://hl7.org/fhir/sid/icd-10-cm", "E11.9")
        );
        assert_eq!(
            code_to_field(c, "ndc", "0002-3227-30"),
            code_to_field(c, "ndc", "00002322730")
        );
        assert_ne!(code_to_field(c, "sct", "1"), code_to_field(c, "loinc", "1"));
        assert_ne!(
            code_to_field(c, "sct", "1"),
            code_to_field(CodeRole::Value, "sct", "1")
        );
        // `a|bc` and `ab|c` under unknown systems: length prefixes keep them apart.
        assert_ne!(
            code_to_field(c, "urn:a", "bc"),
            code_to_field(c, "urn:ab", "c")
        );
        assert_ne!(code_to_field(c, "x|y", "z"), code_to_field(c, "x", "y|z"));
    }

    #[test]
    fn unknown_systems_are_refused_with_the_list() {
        for t in [
            "snomedct|38341003",
            "lonic|4548-4",
            "http://snomed.info/sct/|38341003",
        ] {
            let e = token_to_field(CodeRole::Concept, t)
                .unwrap_err()
                .to_string();
            assert!(e.contains("unknown code system"), "{e}");
            assert!(e.contains("SNOMED CT") && e.contains("LOINC"), "{e}");
        }
        let e = token_to_field(CodeRole::Concept, "sct|38341004")
            .unwrap_err()
            .to_string();
        assert!(e.contains("38341004") && e.contains("Verhoeff"), "{e}");
        let e = token_to_field(CodeRole::Concept, "ucum|mg")
            .unwrap_err()
            .to_string();
        assert!(e.contains("units"), "{e}");
        assert!(token_to_field(CodeRole::Concept, "SCT|38341003").is_ok());
    }
}
