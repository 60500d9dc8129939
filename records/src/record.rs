//! The human-readable [`Record`] and its fixed-layout field encoding ([`EncodedRecord`]),
//! plus the patient leaf. The layout is normative in `docs/encoding.md`:
//!
//! ```text
//! meta = date + 2^24·status + 2^28·kind
//! aux  = H(salt, end, source)
//! leaf = H(meta, value, code, unit, aux)
//! patient_leaf = H(birth_date, gender, salt_p)
//! ```

use crate::error::{RecordsError, Result};
use ark_ff::Zero;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;
use zkmed_core::encoding::{
    code_to_field, encode_date, encode_value, format_fixed, pack_meta, unit_to_field, Kind, Status,
    VALUE_OFFSET,
};
use zkmed_core::field::{hash_to_field, serde_fr, Fr};
use zkmed_core::poseidon::poseidon;

/// Domain of [`source_to_field`].
pub const SOURCE_DOMAIN: &str = "zkmed/source/v1";

/// Field encoding of a record's source (issuer) string:
/// `hash_to_field("zkmed/source/v1", source)`.
pub fn source_to_field(source: &str) -> Fr {
    hash_to_field(SOURCE_DOMAIN, source.as_bytes())
}

/// One clinical fact, in human-readable form: what the importer produced from one FHIR
/// resource (or one Observation component) and what the patient keeps in the opening.
///
/// `value` is fixed point with 3 decimals (`5.7` is `5700`); `unit` is a UCUM code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Which tree the record lives in.
    pub kind: Kind,
    /// Code system URI of the chosen coding (e.g. `http://snomed.info/sct`).
    pub system: String,
    /// The code within `system`.
    pub code: String,
    /// Human-readable name of the code (coding display, else the concept text). Not committed.
    #[serde(default)]
    pub display: Option<String>,
    /// Start date (see `docs/encoding.md` for which FHIR field); `None` = no date.
    #[serde(default)]
    pub date: Option<NaiveDate>,
    /// End date (abatement, period end); `None` = none.
    #[serde(default)]
    pub end: Option<NaiveDate>,
    /// Numeric value, fixed point with 3 decimals; `None` = no value.
    #[serde(default)]
    pub value: Option<i64>,
    /// UCUM unit code of `value`; `None` = no unit.
    #[serde(default)]
    pub unit: Option<String>,
    /// Normalised status.
    pub status: Status,
    /// Who issued the record (organization / performer name or reference, or `unknown`).
    pub source: String,
    /// The FHIR resource id it came from (`<id>#component[i]` for Observation components).
    #[serde(default)]
    pub fhir_id: Option<String>,
}

impl Record {
    /// Checks that the record can be encoded: non-empty system and code, dates inside the
    /// 24-bit range, value inside the 40-bit offset range, unit (if any) non-empty.
    pub fn validate(&self) -> Result<()> {
        self.encode_parts().map(|_| ())
    }

    fn encode_parts(&self) -> Result<(u64, u64, Fr, Fr, u32, Fr)> {
        let what = || {
            format!(
                "{} {}|{}{}",
                self.kind.fhir_name(),
                self.system,
                self.code,
                self.fhir_id
                    .as_deref()
                    .map(|i| format!(" (id {i})"))
                    .unwrap_or_default()
            )
        };
        if self.system.trim().is_empty() || self.code.trim().is_empty() {
            return Err(RecordsError::Encoding(format!(
                "{}: empty code system or code",
                what()
            )));
        }
        let date = match self.date {
            Some(d) => encode_date(d)
                .map_err(|e| RecordsError::Encoding(format!("{}: date: {e}", what())))?,
            None => 0,
        };
        let end = match self.end {
            Some(d) => encode_date(d)
                .map_err(|e| RecordsError::Encoding(format!("{}: end: {e}", what())))?,
            None => 0,
        };
        let value = match self.value {
            Some(v) if v.checked_abs().is_some_and(|a| a < VALUE_OFFSET - 1) => encode_value(v),
            Some(v) => {
                return Err(RecordsError::Encoding(format!(
                    "{}: value {} outside the encodable range",
                    what(),
                    format_fixed(v)
                )))
            }
            None => 0,
        };
        let unit = match self.unit.as_deref() {
            Some(u) if u.trim().is_empty() => {
                return Err(RecordsError::Encoding(format!(
                    "{}: empty unit (use no unit instead)",
                    what()
                )))
            }
            Some(u) => unit_to_field(u),
            None => Fr::zero(),
        };
        let meta = pack_meta(self.kind, self.status, date);
        let code = code_to_field(&self.system, &self.code);
        Ok((meta, value, code, unit, end, source_to_field(&self.source)))
    }

    /// Encodes the record under `salt` (see the module doc). Fails only if the record is
    /// not encodable (see [`Record::validate`]); records produced by the importer always are.
    pub fn encode(&self, salt: Fr) -> Result<EncodedRecord> {
        let (meta, value, code, unit, end, source) = self.encode_parts()?;
        let aux = poseidon(&[salt, Fr::from(end as u64), source])?;
        Ok(EncodedRecord {
            meta,
            value,
            code,
            unit,
            aux,
        })
    }
}

impl Zeroize for Record {
    fn zeroize(&mut self) {
        self.system.zeroize();
        self.code.zeroize();
        self.display.zeroize();
        self.date = None;
        self.end = None;
        self.value.zeroize();
        self.unit.zeroize();
        self.source.zeroize();
        self.fhir_id.zeroize();
    }
}

/// The five leaf inputs of a record. Only `meta`, `value`, `code` and `unit` are ever
/// filtered on by the circuits; `aux` hides the salt, end date and source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodedRecord {
    /// `date + 2^24·status + 2^28·kind`.
    pub meta: u64,
    /// `round(v·1000) + 2^39`, or 0 for no value.
    pub value: u64,
    /// `hash_to_field("zkmed/code/v1", system "|" code)`.
    #[serde(with = "serde_fr")]
    pub code: Fr,
    /// `hash_to_field("zkmed/unit/v1", unit)`, or 0 for no unit.
    #[serde(with = "serde_fr")]
    pub unit: Fr,
    /// `H(salt, end, source)`.
    #[serde(with = "serde_fr")]
    pub aux: Fr,
}

impl EncodedRecord {
    /// The leaf inputs in hashing order: `[meta, value, code, unit, aux]`.
    pub fn inputs(&self) -> [Fr; 5] {
        [
            Fr::from(self.meta),
            Fr::from(self.value),
            self.code,
            self.unit,
            self.aux,
        ]
    }

    /// `leaf = H(meta, value, code, unit, aux)`.
    pub fn leaf(&self) -> Fr {
        poseidon(&self.inputs()).expect("Poseidon supports 5 inputs")
    }
}

/// Administrative gender (FHIR `Patient.gender`) and its field encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    /// `unknown` or absent: 0.
    #[default]
    Unknown = 0,
    /// `female`: 1.
    Female = 1,
    /// `male`: 2.
    Male = 2,
    /// `other`: 3.
    Other = 3,
}

impl Gender {
    /// The encoded value (0 unknown, 1 female, 2 male, 3 other).
    pub fn id(self) -> u8 {
        self as u8
    }

    /// Parses a FHIR `AdministrativeGender` code.
    pub fn from_fhir(s: &str) -> Option<Gender> {
        match s {
            "male" => Some(Gender::Male),
            "female" => Some(Gender::Female),
            "other" => Some(Gender::Other),
            "unknown" => Some(Gender::Unknown),
            _ => None,
        }
    }
}

/// What is committed about the patient: birth date (for age predicates) and gender.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientInfo {
    /// Date of birth (a full date; the importer rejects partial FHIR dates here).
    pub birth_date: NaiveDate,
    /// Administrative gender.
    pub gender: Gender,
}

/// `patient_leaf = H(birth_date, gender, salt)`, with the birth date encoded as days since
/// 0001-01-01 (that day = 1). Fails only for a birth date outside the encodable range.
pub fn patient_leaf(info: &PatientInfo, salt: Fr) -> Result<Fr> {
    let bd = encode_date(info.birth_date)?;
    Ok(poseidon(&[
        Fr::from(bd as u64),
        Fr::from(info.gender.id() as u64),
        salt,
    ])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> Record {
        Record {
            kind: Kind::Observation,
            system: "http://loinc.org".into(),
            code: "8480-6".into(),
            display: Some("Systolic".into()),
            date: NaiveDate::from_ymd_opt(2020, 1, 2),
            end: None,
            value: Some(120_500),
            unit: Some("mm[Hg]".into()),
            status: Status::Completed,
            source: "unknown".into(),
            fhir_id: Some("x".into()),
        }
    }

    #[test]
    fn layout_matches_the_spec() {
        let r = rec();
        let salt = Fr::from(77u64);
        let e = r.encode(salt).unwrap();
        let date = encode_date(r.date.unwrap()).unwrap() as u64;
        assert_eq!(e.meta, date | (3 << 24) | (3 << 28));
        assert_eq!(e.value, (120_500i64 + (1i64 << 39)) as u64);
        assert_eq!(e.code, code_to_field("loinc", "8480-6"));
        assert_eq!(e.unit, unit_to_field("mm[Hg]"));
        let aux = poseidon(&[salt, Fr::zero(), source_to_field("unknown")]).unwrap();
        assert_eq!(e.aux, aux);
        let leaf = poseidon(&[Fr::from(e.meta), Fr::from(e.value), e.code, e.unit, aux]).unwrap();
        assert_eq!(e.leaf(), leaf);
        // The display and the FHIR id are not committed.
        let mut r2 = r.clone();
        r2.display = None;
        r2.fhir_id = None;
        assert_eq!(r2.encode(salt).unwrap(), e);
    }

    #[test]
    fn missing_fields_encode_as_zero() {
        let mut r = rec();
        r.value = None;
        r.unit = None;
        r.date = None;
        let e = r.encode(Fr::from(1u64)).unwrap();
        assert_eq!(e.value, 0);
        assert_eq!(e.unit, Fr::zero());
        assert_eq!(e.meta, (3 << 24) | (3 << 28));
    }

    #[test]
    fn rejects_unencodable_records() {
        let mut r = rec();
        r.value = Some(VALUE_OFFSET);
        assert!(r
            .encode(Fr::zero())
            .unwrap_err()
            .to_string()
            .contains("outside the encodable range"));
        let mut r = rec();
        r.value = Some(i64::MIN);
        assert!(r.validate().is_err());
        let mut r = rec();
        r.code = " ".into();
        assert!(r.validate().unwrap_err().to_string().contains("empty code"));
        let mut r = rec();
        r.unit = Some(String::new());
        assert!(r.validate().unwrap_err().to_string().contains("empty unit"));
        let mut r = rec();
        r.end = NaiveDate::from_ymd_opt(0, 1, 1);
        assert!(r.validate().unwrap_err().to_string().contains("end"));
    }

    #[test]
    fn patient_leaf_depends_on_everything() {
        let info = PatientInfo {
            birth_date: NaiveDate::from_ymd_opt(1980, 5, 6).unwrap(),
            gender: Gender::Female,
        };
        let l = patient_leaf(&info, Fr::from(9u64)).unwrap();
        let bd = encode_date(info.birth_date).unwrap() as u64;
        assert_eq!(
            l,
            poseidon(&[Fr::from(bd), Fr::from(1u64), Fr::from(9u64)]).unwrap()
        );
        assert_ne!(l, patient_leaf(&info, Fr::from(10u64)).unwrap());
        assert_ne!(
            l,
            patient_leaf(
                &PatientInfo {
                    gender: Gender::Male,
                    ..info
                },
                Fr::from(9u64)
            )
            .unwrap()
        );
        assert_eq!(Gender::from_fhir("other").map(Gender::id), Some(3));
        assert_eq!(Gender::from_fhir("Male"), None);
    }
}
