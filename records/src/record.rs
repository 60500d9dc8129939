//! The human-readable [`Record`] and its fixed-layout field encoding ([`EncodedRecord`]),
//! plus the patient leaf. The layout is normative in `docs/encoding.md`:
//!
//! ```text
//! meta = date + 2^24·status + 2^28·kind
//! aux  = H(salt, end, source)
//! head = meta + 2^32·value_lo + 2^73·value_hi                 (114 bits)
//! leaf = H(head, unit, aux, code_0..code_3, value_code_0, value_code_1)
//! patient_leaf = H(birth_date, gender, salt_p)
//! ```

use crate::error::{RecordsError, Result};
use ark_ff::{Field, Zero};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;
use zkmed_core::codes::code_to_field;
pub use zkmed_core::codes::{CodeRole, CodeSystem};
pub use zkmed_core::encoding::Comparator;
use zkmed_core::encoding::{
    encode_date, encode_value_interval, format_fixed, pack_meta, unit_to_field, Kind, Status,
    CODE_SLOTS, VALUE_CODE_SLOTS, VALUE_OFFSET,
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

/// One coding of a CodeableConcept: `system` as written in FHIR, `code` as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Code {
    /// Code system URI (e.g. `http://snomed.info/sct`).
    pub system: String,
    /// The code within `system`.
    pub code: String,
    /// The coding's display text. Not committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Code {
    /// A coding without display text.
    pub fn new(system: impl Into<String>, code: impl Into<String>) -> Code {
        Code {
            system: system.into(),
            code: code.into(),
            display: None,
        }
    }

    /// `system|code`, for messages.
    pub fn token(&self) -> String {
        format!("{}|{}", self.system, self.code)
    }

    /// True if the system is one a query can name ([`CodeSystem`]).
    pub fn is_queryable(&self) -> bool {
        CodeSystem::lookup(&self.system).is_some()
    }
}

impl Zeroize for Code {
    fn zeroize(&mut self) {
        self.system.zeroize();
        self.code.zeroize();
        self.display.zeroize();
    }
}

/// One clinical fact, in human-readable form: what the importer produced from one FHIR
/// resource (or one Observation component) and what the patient keeps in the opening.
///
/// `value` is fixed point with 3 decimals (`5.7` is `5700`); `unit` is a UCUM code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Which tree the record lives in.
    pub kind: Kind,
    /// Every coding of the resource's code (at least one), in the order given.
    pub codes: Vec<Code>,
    /// Every coding of `valueCodeableConcept` (empty when the result is not coded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub value_codes: Vec<Code>,
    /// Human-readable name of the code (coding display, else the concept text). Not committed.
    #[serde(default)]
    pub display: Option<String>,
    /// Start date, a UTC calendar date (see `docs/encoding.md` for which FHIR field);
    /// `None` = no date.
    #[serde(default)]
    pub date: Option<NaiveDate>,
    /// End date (abatement, period end); `None` = none.
    #[serde(default)]
    pub end: Option<NaiveDate>,
    /// Numeric value, fixed point with 3 decimals; `None` = no value.
    #[serde(default)]
    pub value: Option<i64>,
    /// `Quantity.comparator`: the true value is below/above `value` (a censored result).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparator: Option<Comparator>,
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

/// The encoded codings of one role, in slot order: codings of queryable systems first (in
/// the order given), then the others while slots remain; duplicates (after normalisation)
/// removed; padded with 0. More queryable codings than slots is an error: dropping one could
/// turn a true "yes" into a "no".
fn code_slots<const N: usize>(
    codes: &[Code],
    role: CodeRole,
) -> std::result::Result<[Fr; N], String> {
    let mut out: Vec<Fr> = Vec::with_capacity(N);
    let mut queryable = 0usize;
    for pass_known in [true, false] {
        for c in codes.iter().filter(|c| c.is_queryable() == pass_known) {
            let x = code_to_field(role, &c.system, &c.code);
            if out.contains(&x) {
                continue;
            }
            if pass_known {
                queryable += 1;
                if out.len() == N {
                    return Err(format!(
                        "{queryable} or more distinct codings from queryable code systems; a record holds {N}"
                    ));
                }
            } else if out.len() == N {
                break; // codings no query can name: committed only where slots remain
            }
            out.push(x);
        }
    }
    let mut slots = [Fr::zero(); N];
    slots[..out.len()].copy_from_slice(&out);
    Ok(slots)
}

impl Record {
    /// A record with one concept coding and nothing else (tests, examples).
    pub fn coded(kind: Kind, system: &str, code: &str, status: Status) -> Record {
        Record {
            kind,
            codes: vec![Code::new(system, code)],
            value_codes: Vec::new(),
            display: None,
            date: None,
            end: None,
            value: None,
            comparator: None,
            unit: None,
            status,
            source: "unknown".into(),
            fhir_id: None,
        }
    }

    /// The first coding as `system|code` (for messages and tables).
    pub fn primary_token(&self) -> String {
        self.codes.first().map(Code::token).unwrap_or_default()
    }

    /// Checks that the record can be encoded: at least one coding, non-empty systems and
    /// codes, at most [`CODE_SLOTS`] / [`VALUE_CODE_SLOTS`] distinct codings of queryable
    /// systems, dates inside the 24-bit range, value inside the encodable range, a comparator
    /// only with a value, unit (if any) non-empty.
    pub fn validate(&self) -> Result<()> {
        self.encode_parts().map(|_| ())
    }

    fn what(&self) -> String {
        format!(
            "{} {}{}",
            self.kind.fhir_name(),
            self.primary_token(),
            self.fhir_id
                .as_deref()
                .map(|i| format!(" (id {i})"))
                .unwrap_or_default()
        )
    }

    #[allow(clippy::type_complexity)]
    fn encode_parts(
        &self,
    ) -> Result<(
        u64,
        (u64, u64),
        Fr,
        [Fr; CODE_SLOTS],
        [Fr; VALUE_CODE_SLOTS],
        u32,
        Fr,
    )> {
        let err = |m: String| RecordsError::Encoding(format!("{}: {m}", self.what()));
        if self.codes.is_empty() {
            return Err(err("no coding".into()));
        }
        for c in self.codes.iter().chain(&self.value_codes) {
            if c.system.trim().is_empty() || c.code.trim().is_empty() {
                return Err(err("empty code system or code".into()));
            }
        }
        let codes = code_slots::<CODE_SLOTS>(&self.codes, CodeRole::Concept)
            .map_err(|m| err(format!("code: {m}")))?;
        let value_codes = code_slots::<VALUE_CODE_SLOTS>(&self.value_codes, CodeRole::Value)
            .map_err(|m| err(format!("valueCodeableConcept: {m}")))?;
        let date = match self.date {
            Some(d) => encode_date(d).map_err(|e| err(format!("date: {e}")))?,
            None => 0,
        };
        let end = match self.end {
            Some(d) => encode_date(d).map_err(|e| err(format!("end: {e}")))?,
            None => 0,
        };
        match self.value {
            Some(v) if v.checked_abs().is_some_and(|a| a < VALUE_OFFSET - 1) => {}
            Some(v) => {
                return Err(err(format!(
                    "value {} outside the encodable range",
                    format_fixed(v)
                )))
            }
            None if self.comparator.is_some() => {
                return Err(err("a comparator without a value".into()))
            }
            None => {}
        }
        let value = encode_value_interval(self.value, self.comparator);
        let unit = match self.unit.as_deref() {
            Some(u) if u.trim().is_empty() => {
                return Err(err("empty unit (use no unit instead)".into()))
            }
            Some(u) => unit_to_field(u),
            None => Fr::zero(),
        };
        let meta = pack_meta(self.kind, self.status, date);
        Ok((
            meta,
            value,
            unit,
            codes,
            value_codes,
            end,
            source_to_field(&self.source),
        ))
    }

    /// Encodes the record under `salt` (see the module doc). Fails only if the record is
    /// not encodable (see [`Record::validate`]); records produced by the importer always are.
    pub fn encode(&self, salt: Fr) -> Result<EncodedRecord> {
        let (meta, (value_lo, value_hi), unit, codes, value_codes, end, source) =
            self.encode_parts()?;
        let aux = poseidon(&[salt, Fr::from(end as u64), source])?;
        Ok(EncodedRecord {
            meta,
            value_lo,
            value_hi,
            unit,
            aux,
            codes,
            value_codes,
        })
    }
}

impl Zeroize for Record {
    fn zeroize(&mut self) {
        self.codes.zeroize();
        self.value_codes.zeroize();
        self.display.zeroize();
        self.date = None;
        self.end = None;
        self.value.zeroize();
        self.comparator = None;
        self.unit.zeroize();
        self.source.zeroize();
        self.fhir_id.zeroize();
    }
}

/// The leaf inputs of a record. `aux` hides the salt, end date and source; everything else
/// is filtered on by the circuits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodedRecord {
    /// `date + 2^24·status + 2^28·kind`.
    pub meta: u64,
    /// Lower end of the value interval (`encode_value_interval`); 0 = no value.
    pub value_lo: u64,
    /// Upper end of the value interval; 0 = no value.
    pub value_hi: u64,
    /// `hash_to_field("zkmed/unit/v1", unit)`, or 0 for no unit.
    #[serde(with = "serde_fr")]
    pub unit: Fr,
    /// `H(salt, end, source)`.
    #[serde(with = "serde_fr")]
    pub aux: Fr,
    /// Concept-code slots (`code_to_field(Concept, …)`, 0 = empty).
    #[serde(with = "serde_fr_array")]
    pub codes: [Fr; CODE_SLOTS],
    /// Value-code slots (`code_to_field(Value, …)`, 0 = empty).
    #[serde(with = "serde_fr_array")]
    pub value_codes: [Fr; VALUE_CODE_SLOTS],
}

mod serde_fr_array {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use zkmed_core::field::{fr_to_dec, parse_fr, Fr};

    pub fn serialize<S: Serializer, const N: usize>(xs: &[Fr; N], s: S) -> Result<S::Ok, S::Error> {
        xs.iter().map(fr_to_dec).collect::<Vec<_>>().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[Fr; N], D::Error> {
        let v = Vec::<String>::deserialize(d)?;
        if v.len() != N {
            return Err(serde::de::Error::custom(format!(
                "expected {N} field elements"
            )));
        }
        let mut out = [Fr::from(0u64); N];
        for (o, s) in out.iter_mut().zip(&v) {
            *o = parse_fr(s).map_err(serde::de::Error::custom)?;
        }
        Ok(out)
    }
}

impl EncodedRecord {
    /// `head = meta + 2^32·value_lo + 2^73·value_hi`: the three bounded fields packed into
    /// one field element (32 + 41 + 41 = 114 bits, far below p, so the packing is injective).
    pub fn head(&self) -> Fr {
        use zkmed_core::encoding::{META_BITS, VALUE_BITS};
        Fr::from(self.meta)
            + Fr::from(self.value_lo) * Fr::from(2u64).pow([META_BITS as u64])
            + Fr::from(self.value_hi) * Fr::from(2u64).pow([(META_BITS + VALUE_BITS) as u64])
    }

    /// The leaf inputs in hashing order:
    /// `[head, unit, aux, codes[0..4], value_codes[0..2]]`.
    pub fn inputs(&self) -> [Fr; 9] {
        let mut x = [Fr::zero(); 9];
        x[0] = self.head();
        x[1] = self.unit;
        x[2] = self.aux;
        x[3..7].copy_from_slice(&self.codes);
        x[7..9].copy_from_slice(&self.value_codes);
        x
    }

    /// `leaf = H(head, unit, aux, codes, value_codes)`.
    pub fn leaf(&self) -> Fr {
        poseidon(&self.inputs()).expect("Poseidon supports 9 inputs")
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
    use ark_ff::One;
    use zkmed_core::encoding::{encode_point, VALUE_MAX, VALUE_MIN};

    fn rec() -> Record {
        Record {
            kind: Kind::Observation,
            codes: vec![Code::new("http://loinc.org", "8480-6")],
            value_codes: Vec::new(),
            display: Some("Systolic".into()),
            date: NaiveDate::from_ymd_opt(2020, 1, 2),
            end: None,
            value: Some(120_500),
            comparator: None,
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
        assert_eq!(e.value_lo, encode_point(120_500));
        assert_eq!(e.value_hi, encode_point(120_500));
        assert_eq!(
            e.codes,
            [
                code_to_field(CodeRole::Concept, "loinc", "8480-6"),
                Fr::zero(),
                Fr::zero(),
                Fr::zero()
            ]
        );
        assert_eq!(e.value_codes, [Fr::zero(); 2]);
        assert_eq!(e.unit, unit_to_field("mm[Hg]"));
        let aux = poseidon(&[salt, Fr::zero(), source_to_field("unknown")]).unwrap();
        assert_eq!(e.aux, aux);
        let head = Fr::from(e.meta)
            + Fr::from(e.value_lo) * Fr::from(1u64 << 32)
            + Fr::from(e.value_hi) * Fr::from(1u64 << 40) * Fr::from(1u64 << 33);
        let mut inputs = vec![head, e.unit, aux];
        inputs.extend(e.codes);
        inputs.extend(e.value_codes);
        assert_eq!(e.leaf(), poseidon(&inputs).unwrap());
        // The display and the FHIR id are not committed.
        let mut r2 = r.clone();
        r2.display = None;
        r2.fhir_id = None;
        r2.codes[0].display = Some("SBP".into());
        assert_eq!(r2.encode(salt).unwrap(), e);
    }

    #[test]
    fn every_coding_is_committed_queryable_first() {
        let mut r = rec();
        r.codes = vec![
            Code::new("urn:oid:1.2.3", "local-1"),
            Code::new("http://snomed.info/sct", "38341003"),
            Code::new("sct", "38341003"), // the same coding spelled with the alias
            Code::new("http://hl7.org/fhir/sid/icd-10-cm", "I10"),
        ];
        r.value_codes = vec![Code::new("sct", "266919005")];
        let e = r.encode(Fr::one()).unwrap();
        let c = |s: &str, k: &str| code_to_field(CodeRole::Concept, s, k);
        assert_eq!(
            e.codes,
            [
                c("sct", "38341003"),
                c("icd-10-cm", "I10"),
                c("urn:oid:1.2.3", "local-1"),
                Fr::zero()
            ]
        );
        assert_eq!(
            e.value_codes,
            [
                code_to_field(CodeRole::Value, "sct", "266919005"),
                Fr::zero()
            ]
        );
        // Five queryable codings do not fit: an error, never a silent drop.
        r.codes = ["38341003", "59621000", "44054006", "46635009", "73211009"]
            .iter()
            .map(|k| Code::new("sct", *k))
            .collect();
        let msg = r.validate().unwrap_err().to_string();
        assert!(
            msg.contains("queryable") && msg.contains("holds 4"),
            "{msg}"
        );
        // Unqueryable codings beyond the slots are left out (no query can name them).
        r.codes.truncate(4);
        r.codes.push(Code::new("urn:local", "x"));
        assert!(r.validate().is_ok());
    }

    #[test]
    fn censored_values_are_intervals() {
        let mut r = rec();
        r.value = Some(5000);
        r.comparator = Some(Comparator::Lt);
        let e = r.encode(Fr::one()).unwrap();
        assert_eq!(
            (e.value_lo, e.value_hi),
            (VALUE_MIN, encode_point(5000) - 1)
        );
        r.comparator = Some(Comparator::Ge);
        let e = r.encode(Fr::one()).unwrap();
        assert_eq!((e.value_lo, e.value_hi), (encode_point(5000), VALUE_MAX));
        r.value = None;
        assert!(r
            .validate()
            .unwrap_err()
            .to_string()
            .contains("comparator without a value"));
    }

    #[test]
    fn missing_fields_encode_as_zero() {
        let mut r = rec();
        r.value = None;
        r.unit = None;
        r.date = None;
        let e = r.encode(Fr::from(1u64)).unwrap();
        assert_eq!((e.value_lo, e.value_hi), (0, 0));
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
        r.codes[0].code = " ".into();
        assert!(r.validate().unwrap_err().to_string().contains("empty code"));
        let mut r = rec();
        r.codes.clear();
        assert!(r.validate().unwrap_err().to_string().contains("no coding"));
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
