//! A minimal, tolerant serde model of the FHIR R4 resources zkmed reads, and the bundle
//! importer that turns them into [`Record`]s.
//!
//! # The model
//!
//! Only the fields the importer reads are modelled; every field is optional and unknown
//! fields are ignored, so real-world resources with extensions, narrative, contained
//! resources and so on parse fine. A field that *is* modelled must have the FHIR R4 JSON
//! type (e.g. `code` must be a CodeableConcept object, not a string): a wrong type is an
//! error naming the entry, the resource and the field. Fields the importer does not read are
//! never looked at, whatever their content.
//!
//! # Import rules
//!
//! * Input: any `Bundle` (`transaction`, `collection`, `searchset`, `batch`, ...). Every
//!   entry must carry a `resource` with a `resourceType`.
//! * Exactly one `Patient`; its `birthDate` must be a full `YYYY-MM-DD` date (age predicates
//!   need the day); `gender` male/female/other/unknown → 2/1/3/0 (absent = unknown).
//! * `Condition`, `Procedure`, `Observation`, `Immunization`, `MedicationRequest`,
//!   `AllergyIntolerance` become records, in bundle order. Every other resource type is
//!   skipped and counted in [`ImportReport::skipped_types`].
//! * Code: the `CodeableConcept` in `code` (Condition, Procedure, Observation,
//!   AllergyIntolerance), `vaccineCode` (Immunization) or `medicationCodeableConcept`
//!   (MedicationRequest). A coding is usable if it has a non-empty `system` and `code`; the
//!   first usable coding whose system is SNOMED CT, LOINC, CVX or RxNorm wins, else the first
//!   usable coding. A resource without a usable coding (or a MedicationRequest with only a
//!   `medicationReference`) is not imported; it is listed in [`ImportReport::skipped`] with
//!   the reason.
//! * Status and dates: exactly the tables of `docs/encoding.md`. A status code outside
//!   those tables (including FHIR's own `unknown`, or an absent status) maps to
//!   [`Status::Unknown`]. End dates: Condition `abatementDateTime` (else
//!   `abatementPeriod.end`), Procedure `performedPeriod.end`, Observation
//!   `effectivePeriod.end`; the other kinds have none.
//! * Dates are the calendar date as written (the first 10 characters of a FHIR `dateTime`,
//!   no time-zone conversion). A malformed date (`2020-13-45`, `yesterday`) is an error. A
//!   *partial* FHIR date (`2020`, `2020-05`) is valid FHIR but has no day: the record gets
//!   no date for that field (so it can never satisfy a date clause — the conservative
//!   choice) and a warning is added to [`ImportReport::warnings`]; the "else" fallbacks
//!   above apply only when a field is absent, not when it is partial.
//! * Observation values: `valueQuantity.value` is read from the JSON number's text and
//!   rounded to 3 decimals, half away from zero (`-0.1255` → `-0.126`), without going
//!   through binary floating point arithmetic (see [`decimal_to_fixed`]). The unit is
//!   `valueQuantity.code` if present, else `valueQuantity.unit`. A quantity with a
//!   `comparator` (`<5`) or a value outside the 40-bit range is imported without value and
//!   unit, with a warning. Other `value[x]` types (CodeableConcept, string, ...) are not
//!   encoded: the record has no value.
//! * Observation components (e.g. a blood-pressure panel, LOINC 55284-4): the Observation
//!   itself is imported as usual (no value unless it has its own `valueQuantity`), and
//!   then each component that has a `valueQuantity` becomes one more Observation record
//!   right after it: the component's code and value, the panel's dates, status and source,
//!   and `fhir_id` = `<panel id>#component[i]`. Components without a `valueQuantity` or
//!   without a usable code are listed in [`ImportReport::skipped`].
//! * Source (issuer): the `serviceProvider` of the record's `encounter` if that Encounter
//!   is in the bundle, else the resource's own performer / recorder / asserter / requester
//!   (in that order; for Procedure and Immunization `performer[0].actor`, for Observation
//!   `performer[0]`); else `"unknown"`. A reference is named by its `display`, else the
//!   `name` of the Organization it points to inside the bundle, else the reference string.
//!
//! Malformed input never panics: it is a [`RecordsError`] saying what is wrong and where.

use crate::error::{RecordsError, Result};
use crate::record::{Gender, PatientInfo, Record};
use crate::tree::TREE_CAPACITY;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};
use std::collections::{BTreeMap, HashMap};
use zkmed_core::encoding::{encode_date, normalize_system, Kind, Status, VALUE_OFFSET};

/// Code systems preferred when a CodeableConcept has several usable codings.
pub const PREFERRED_SYSTEMS: [&str; 4] = [
    "http://snomed.info/sct",
    "http://loinc.org",
    "http://hl7.org/fhir/sid/cvx",
    "http://www.nlm.nih.gov/research/umls/rxnorm",
];

// ---------------------------------------------------------------------------------------
// Data types
// ---------------------------------------------------------------------------------------

/// FHIR `Coding` (the fields zkmed reads).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Coding {
    /// Code system URI.
    pub system: Option<String>,
    /// Code within the system.
    pub code: Option<String>,
    /// Human-readable name.
    pub display: Option<String>,
}

/// FHIR `CodeableConcept`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CodeableConcept {
    /// The codings, in document order.
    pub coding: Option<Vec<Coding>>,
    /// Plain-text representation.
    pub text: Option<String>,
}

/// FHIR `Reference`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Reference {
    /// Literal reference (`urn:uuid:...`, `Organization/1`, absolute URL).
    pub reference: Option<String>,
    /// Text alternative for the resource.
    pub display: Option<String>,
}

/// FHIR `Period` (dates kept as the raw strings; the importer validates them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Period {
    /// Start, a FHIR `dateTime`.
    pub start: Option<String>,
    /// End, a FHIR `dateTime`.
    pub end: Option<String>,
}

/// FHIR `Quantity`. `value` is kept as a [`serde_json::Number`] so that its decimal text can
/// be rounded exactly (see [`decimal_to_fixed`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Quantity {
    /// The numeric value.
    pub value: Option<Number>,
    /// `<`, `<=`, `>=`, `>`: the value is a bound, not a measurement.
    pub comparator: Option<String>,
    /// Human-readable unit.
    pub unit: Option<String>,
    /// Unit system (UCUM: `http://unitsofmeasure.org`).
    pub system: Option<String>,
    /// Coded unit (a UCUM code when `system` is UCUM).
    pub code: Option<String>,
}

/// `performer` element of Procedure and Immunization.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Performer {
    /// Who performed it.
    pub actor: Option<Reference>,
}

/// `Observation.component`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ObservationComponent {
    /// What the component measures.
    pub code: Option<CodeableConcept>,
    /// Its numeric result, if it is a quantity.
    #[serde(rename = "valueQuantity")]
    pub value_quantity: Option<Quantity>,
}

// ---------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------

/// Why a resource failed to deserialize: the offending field (if one could be singled
/// out) and serde's message.
type FieldError = (Option<&'static str>, serde_json::Error);

macro_rules! resource {
    (
        $(#[$doc:meta])*
        $name:ident { $( $(#[$fdoc:meta])* $field:ident : $ty:ty => $json:literal ),* $(,)? }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(default)]
        pub struct $name {
            $(
                $(#[$fdoc])*
                #[serde(rename = $json, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
        }

        impl $name {
            /// The JSON fields of this resource that the model reads.
            pub const FIELDS: &'static [&'static str] = &[$($json),*];

            /// Deserializes the resource; on failure, names the first modelled field whose
            /// value has the wrong type.
            fn parse(v: &Value) -> std::result::Result<Self, FieldError> {
                Self::deserialize(v).map_err(|e| {
                    $(
                        if let Some(f) = v.get($json) {
                            if let Err(fe) = <Option<$ty>>::deserialize(f) {
                                return (Some($json), fe);
                            }
                        }
                    )*
                    (None, e)
                })
            }
        }
    };
}

resource! {
    /// FHIR `Patient`.
    Patient {
        /// Resource id.
        id: String => "id",
        /// `YYYY-MM-DD` (full dates only are accepted).
        birth_date: String => "birthDate",
        /// male | female | other | unknown.
        gender: String => "gender",
    }
}

resource! {
    /// FHIR `Condition`.
    Condition {
        /// Resource id.
        id: String => "id",
        /// active | recurrence | relapse | inactive | remission | resolved.
        clinical_status: CodeableConcept => "clinicalStatus",
        /// unconfirmed | provisional | differential | confirmed | refuted | entered-in-error.
        verification_status: CodeableConcept => "verificationStatus",
        /// What the condition is.
        code: CodeableConcept => "code",
        /// Onset (the record date).
        onset_date_time: String => "onsetDateTime",
        /// When recorded (date fallback).
        recorded_date: String => "recordedDate",
        /// Abatement (the end date).
        abatement_date_time: String => "abatementDateTime",
        /// Abatement period (its end is the end date if there is no `abatementDateTime`).
        abatement_period: Period => "abatementPeriod",
        /// Who recorded it.
        recorder: Reference => "recorder",
        /// Who asserted it.
        asserter: Reference => "asserter",
        /// The encounter it was found in.
        encounter: Reference => "encounter",
    }
}

resource! {
    /// FHIR `Procedure`.
    Procedure {
        /// Resource id.
        id: String => "id",
        /// preparation | in-progress | not-done | on-hold | stopped | completed | entered-in-error | unknown.
        status: String => "status",
        /// What was done.
        code: CodeableConcept => "code",
        /// When (a point in time).
        performed_date_time: String => "performedDateTime",
        /// When (a period).
        performed_period: Period => "performedPeriod",
        /// Who performed it.
        performer: Vec<Performer> => "performer",
        /// The encounter it was part of.
        encounter: Reference => "encounter",
    }
}

resource! {
    /// FHIR `Observation`.
    Observation {
        /// Resource id.
        id: String => "id",
        /// registered | preliminary | final | amended | corrected | cancelled | entered-in-error | unknown.
        status: String => "status",
        /// What was observed.
        code: CodeableConcept => "code",
        /// Clinically relevant time (a point).
        effective_date_time: String => "effectiveDateTime",
        /// Clinically relevant time (a period).
        effective_period: Period => "effectivePeriod",
        /// When the result was released (date fallback).
        issued: String => "issued",
        /// The numeric result.
        value_quantity: Quantity => "valueQuantity",
        /// Panel components.
        component: Vec<ObservationComponent> => "component",
        /// Who is responsible.
        performer: Vec<Reference> => "performer",
        /// The encounter it was part of.
        encounter: Reference => "encounter",
    }
}

resource! {
    /// FHIR `Immunization`.
    Immunization {
        /// Resource id.
        id: String => "id",
        /// completed | entered-in-error | not-done.
        status: String => "status",
        /// The vaccine (CVX).
        vaccine_code: CodeableConcept => "vaccineCode",
        /// When it was given.
        occurrence_date_time: String => "occurrenceDateTime",
        /// Who gave it.
        performer: Vec<Performer> => "performer",
        /// The encounter it was part of.
        encounter: Reference => "encounter",
    }
}

resource! {
    /// FHIR `MedicationRequest`.
    MedicationRequest {
        /// Resource id.
        id: String => "id",
        /// active | on-hold | cancelled | completed | entered-in-error | stopped | draft | unknown.
        status: String => "status",
        /// The medication, coded (RxNorm).
        medication_codeable_concept: CodeableConcept => "medicationCodeableConcept",
        /// The medication, by reference (not resolved: such requests are skipped).
        medication_reference: Reference => "medicationReference",
        /// When the request was written.
        authored_on: String => "authoredOn",
        /// Who asked for it.
        requester: Reference => "requester",
        /// Intended performer.
        performer: Reference => "performer",
        /// The encounter it was part of.
        encounter: Reference => "encounter",
    }
}

resource! {
    /// FHIR `AllergyIntolerance`.
    AllergyIntolerance {
        /// Resource id.
        id: String => "id",
        /// active | inactive | resolved.
        clinical_status: CodeableConcept => "clinicalStatus",
        /// unconfirmed | confirmed | refuted | entered-in-error.
        verification_status: CodeableConcept => "verificationStatus",
        /// The substance.
        code: CodeableConcept => "code",
        /// Onset (the record date).
        onset_date_time: String => "onsetDateTime",
        /// When recorded (date fallback).
        recorded_date: String => "recordedDate",
        /// Who recorded it.
        recorder: Reference => "recorder",
        /// Who asserted it.
        asserter: Reference => "asserter",
        /// The encounter it was found in.
        encounter: Reference => "encounter",
    }
}

resource! {
    /// FHIR `Encounter`: read only to find a record's issuer (`serviceProvider`). An
    /// Encounter whose modelled fields are malformed is simply not used for that.
    Encounter {
        /// Resource id.
        id: String => "id",
        /// The organization responsible for the encounter.
        service_provider: Reference => "serviceProvider",
    }
}

// ---------------------------------------------------------------------------------------
// Import result
// ---------------------------------------------------------------------------------------

/// A note about one bundle entry: why (part of) it was skipped, or what was dropped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportNote {
    /// Index of the entry in `Bundle.entry`.
    pub entry: usize,
    /// Its `resourceType`.
    pub resource_type: String,
    /// Its `id`, if any.
    pub id: Option<String>,
    /// For an Observation component: its index in `component`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<usize>,
    /// What happened.
    pub reason: String,
}

/// What the importer did with a bundle.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// `Bundle.type`, if present.
    pub bundle_type: Option<String>,
    /// Number of entries in the bundle.
    pub entries: usize,
    /// Clinical resources imported, per kind (all six kinds present, possibly 0).
    pub resources: BTreeMap<Kind, usize>,
    /// Records produced, per kind: `resources` plus the Observation components imported as
    /// records of their own.
    pub records: BTreeMap<Kind, usize>,
    /// Entries of non-clinical types (Encounter, Claim, ...), by `resourceType`. The Patient
    /// is not counted here.
    pub skipped_types: BTreeMap<String, usize>,
    /// Clinical resources (or Observation components) that did not become a record, with
    /// the reason.
    pub skipped: Vec<ImportNote>,
    /// Records imported with some information dropped (partial date, value with a
    /// comparator or out of range, unrecognised status).
    pub warnings: Vec<ImportNote>,
}

impl ImportReport {
    /// Clinical resources of `kind` that were skipped (components not included).
    pub fn skipped_resources(&self, kind: Kind) -> usize {
        self.skipped
            .iter()
            .filter(|n| n.resource_type == kind.fhir_name() && n.component.is_none())
            .count()
    }
}

/// The result of [`import_bundle`]: the patient and their records in bundle order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedPatient {
    /// Birth date and gender.
    pub patient: PatientInfo,
    /// The Patient resource id, if any.
    pub patient_id: Option<String>,
    /// The records, in bundle order (components right after their panel).
    pub records: Vec<Record>,
    /// What was imported, skipped and dropped.
    pub report: ImportReport,
}

impl ImportedPatient {
    /// The records of one kind, in leaf order.
    pub fn records_of(&self, kind: Kind) -> impl Iterator<Item = &Record> {
        self.records.iter().filter(move |r| r.kind == kind)
    }
}

// ---------------------------------------------------------------------------------------
// Helpers: locations, dates, values, codes, statuses
// ---------------------------------------------------------------------------------------

/// Where we are in the bundle, for error messages and report notes.
struct Ctx<'a> {
    entry: usize,
    rtype: &'a str,
    id: Option<&'a str>,
}

impl Ctx<'_> {
    fn here(&self) -> String {
        match self.id {
            Some(id) => format!("entry {} ({}/{})", self.entry, self.rtype, id),
            None => format!("entry {} ({} without id)", self.entry, self.rtype),
        }
    }
    fn err(&self, field: Option<&str>, message: impl Into<String>) -> RecordsError {
        let location = match field {
            Some(f) => format!("{}, field `{f}`", self.here()),
            None => self.here(),
        };
        RecordsError::Fhir {
            location,
            message: message.into(),
        }
    }
    fn note(&self, reason: impl Into<String>) -> ImportNote {
        ImportNote {
            entry: self.entry,
            resource_type: self.rtype.to_string(),
            id: self.id.map(str::to_string),
            component: None,
            reason: reason.into(),
        }
    }
    fn component_note(&self, component: usize, reason: impl Into<String>) -> ImportNote {
        ImportNote {
            component: Some(component),
            ..self.note(reason)
        }
    }
    fn field_error(&self, (field, e): FieldError) -> RecordsError {
        self.err(field, format!("wrong JSON type: {e}"))
    }
}

/// A syntactically valid FHIR `date` / `dateTime`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FhirDate {
    /// A full date (the date part of a dateTime).
    Full(NaiveDate),
    /// `YYYY` or `YYYY-MM`: valid FHIR, but no day.
    Partial,
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Parses a FHIR `date` or `dateTime` (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, or
/// `YYYY-MM-DDThh:mm[:ss[.fff]][Z|±hh:mm]`). The time part is checked for shape only and
/// ignored. Returns a human-readable reason on failure.
pub fn parse_fhir_date(s: &str) -> std::result::Result<FhirDate, String> {
    let bad = |why: &str| format!("{s:?} is not a valid FHIR date/dateTime: {why}");
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    let widths_ok = parts
        .iter()
        .zip([4usize, 2, 2])
        .all(|(p, w)| p.len() == w && all_digits(p));
    if parts.len() > 3 || !widths_ok {
        return Err(bad("expected YYYY, YYYY-MM or YYYY-MM-DD"));
    }
    let num = |p: &str| p.parse::<u32>().unwrap_or(0);
    let year = num(parts[0]) as i32;
    if year == 0 {
        return Err(bad("year 0000"));
    }
    let month = parts.get(1).map(|p| num(p));
    if let Some(m) = month {
        if !(1..=12).contains(&m) {
            return Err(bad(&format!("month {m}")));
        }
    }
    let Some(day) = parts.get(2).map(|p| num(p)) else {
        return match time {
            Some(_) => Err(bad("a time needs a full date")),
            None => Ok(FhirDate::Partial),
        };
    };
    let d = NaiveDate::from_ymd_opt(year, month.unwrap_or(1), day).ok_or_else(|| {
        bad(&format!(
            "day {day} does not exist in {}-{:02}",
            parts[0],
            month.unwrap_or(1)
        ))
    })?;
    if let Some(t) = time {
        let ok = t.len() >= 5
            && t.as_bytes()[2] == b':'
            && t[..2].bytes().all(|b| b.is_ascii_digit())
            && t.bytes()
                .all(|b| b.is_ascii_digit() || b":.+-Z".contains(&b));
        if !ok {
            return Err(bad("malformed time part"));
        }
    }
    Ok(FhirDate::Full(d))
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

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|x| !x.is_empty())
}

/// Picks the code of a CodeableConcept: `(system, code, display)`, or the reason why none.
fn pick_code(
    cc: Option<&CodeableConcept>,
    field: &str,
) -> std::result::Result<(String, String, Option<String>), String> {
    let Some(cc) = cc else {
        return Err(format!("no `{field}`"));
    };
    let codings = cc.coding.as_deref().unwrap_or(&[]);
    let usable = |c: &&Coding| non_empty(&c.system).is_some() && non_empty(&c.code).is_some();
    let chosen = codings
        .iter()
        .filter(usable)
        .find(|c| PREFERRED_SYSTEMS.contains(&normalize_system(non_empty(&c.system).unwrap_or(""))))
        .or_else(|| codings.iter().find(usable));
    let Some(c) = chosen else {
        return Err(format!(
            "`{field}` has no coding with both a system and a code"
        ));
    };
    let display = non_empty(&c.display)
        .or(non_empty(&cc.text))
        .map(str::to_string);
    Ok((
        non_empty(&c.system).unwrap_or_default().to_string(),
        non_empty(&c.code).unwrap_or_default().to_string(),
        display,
    ))
}

fn cc_codes(cc: &Option<CodeableConcept>) -> impl Iterator<Item = &str> {
    cc.iter()
        .flat_map(|c| c.coding.iter().flatten())
        .filter_map(|c| non_empty(&c.code))
}

/// Condition / AllergyIntolerance status: verification refuted / entered-in-error → void,
/// else from the clinical status (first recognised code).
fn clinical_status(
    clinical: &Option<CodeableConcept>,
    verification: &Option<CodeableConcept>,
    active: &[&str],
    inactive: &[&str],
) -> Status {
    if cc_codes(verification).any(|c| c == "refuted" || c == "entered-in-error") {
        return Status::Void;
    }
    cc_codes(clinical)
        .find_map(|c| {
            if active.contains(&c) {
                Some(Status::Active)
            } else if inactive.contains(&c) {
                Some(Status::Inactive)
            } else {
                None
            }
        })
        .unwrap_or(Status::Unknown)
}

fn procedure_status(s: &str) -> Option<Status> {
    Some(match s {
        "completed" => Status::Completed,
        "in-progress" | "preparation" | "on-hold" => Status::InProgress,
        "stopped" => Status::Stopped,
        "not-done" => Status::NotDone,
        "entered-in-error" => Status::Void,
        "unknown" => Status::Unknown,
        _ => return None,
    })
}

fn observation_status(s: &str) -> Option<Status> {
    Some(match s {
        "final" | "amended" | "corrected" => Status::Completed,
        "registered" | "preliminary" => Status::InProgress,
        "cancelled" | "entered-in-error" => Status::Void,
        "unknown" => Status::Unknown,
        _ => return None,
    })
}

fn immunization_status(s: &str) -> Option<Status> {
    Some(match s {
        "completed" => Status::Completed,
        "not-done" => Status::NotDone,
        "entered-in-error" => Status::Void,
        _ => return None,
    })
}

fn medication_request_status(s: &str) -> Option<Status> {
    Some(match s {
        "active" => Status::Active,
        "completed" => Status::Completed,
        "on-hold" | "draft" => Status::InProgress,
        "stopped" | "cancelled" => Status::Stopped,
        "entered-in-error" => Status::Void,
        "unknown" => Status::Unknown,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------
// The importer
// ---------------------------------------------------------------------------------------

/// Bundle-wide lookups used to name a record's issuer.
struct Index<'a> {
    /// `fullUrl` and `Type/id` → resource.
    by_ref: HashMap<String, &'a Value>,
}

impl<'a> Index<'a> {
    fn build(entries: &'a [Value]) -> Index<'a> {
        let mut by_ref = HashMap::new();
        for e in entries {
            let Some(r) = e.get("resource") else { continue };
            let Some(rt) = r.get("resourceType").and_then(Value::as_str) else {
                continue;
            };
            if rt != "Encounter" && rt != "Organization" {
                continue;
            }
            if let Some(u) = e.get("fullUrl").and_then(Value::as_str) {
                by_ref.insert(u.to_string(), r);
            }
            if let Some(id) = r.get("id").and_then(Value::as_str) {
                by_ref.insert(format!("{rt}/{id}"), r);
            }
        }
        Index { by_ref }
    }

    fn resolve(&self, reference: &str, rtype: &str) -> Option<&'a Value> {
        let hit = self.by_ref.get(reference).copied().or_else(|| {
            // An absolute URL `.../Type/id` or a versioned `Type/id/_history/n`.
            let parts: Vec<&str> = reference.split('/').collect();
            let i = parts.iter().rposition(|p| *p == rtype)?;
            let id = parts.get(i + 1)?;
            self.by_ref.get(&format!("{rtype}/{id}")).copied()
        })?;
        (hit.get("resourceType").and_then(Value::as_str) == Some(rtype)).then_some(hit)
    }

    /// A human name for a reference: display, else the referenced Organization's name,
    /// else the reference string.
    fn name_of(&self, r: &Reference) -> Option<String> {
        if let Some(d) = non_empty(&r.display) {
            return Some(d.to_string());
        }
        let reference = non_empty(&r.reference)?;
        let org_name = self
            .resolve(reference, "Organization")
            .and_then(|o| o.get("name"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty());
        Some(org_name.unwrap_or(reference).to_string())
    }

    /// The source of a record: the encounter's service provider, else the first of the
    /// resource's own actors that can be named, else `unknown`.
    fn source(&self, encounter: &Option<Reference>, actors: &[Option<&Reference>]) -> String {
        let via_encounter = encounter
            .as_ref()
            .and_then(|r| non_empty(&r.reference))
            .and_then(|r| self.resolve(r, "Encounter"))
            .and_then(|e| Encounter::parse(e).ok())
            .and_then(|e| e.service_provider)
            .and_then(|sp| self.name_of(&sp));
        via_encounter
            .or_else(|| actors.iter().flatten().find_map(|r| self.name_of(r)))
            .unwrap_or_else(|| "unknown".to_string())
    }
}

/// What every clinical resource contributes before kind-specific handling.
struct Common<'a> {
    code: Option<&'a CodeableConcept>,
    code_field: &'static str,
    status: Status,
    /// `(field name, raw value)` candidates for the start date, first present wins.
    date: Vec<(&'static str, &'a Option<String>)>,
    end: Vec<(&'static str, &'a Option<String>)>,
    source: String,
}

struct Importer<'a> {
    index: Index<'a>,
    report: ImportReport,
    records: Vec<Record>,
}

impl Importer<'_> {
    /// First present date among `candidates` (absent or empty strings are skipped).
    fn date(
        &mut self,
        ctx: &Ctx,
        candidates: &[(&'static str, &Option<String>)],
    ) -> Result<Option<NaiveDate>> {
        let Some((field, raw)) = candidates
            .iter()
            .find_map(|(f, v)| non_empty(v).map(|s| (*f, s)))
        else {
            return Ok(None);
        };
        match parse_fhir_date(raw).map_err(|m| ctx.err(Some(field), m))? {
            FhirDate::Full(d) => {
                encode_date(d).map_err(|e| ctx.err(Some(field), e.to_string()))?;
                Ok(Some(d))
            }
            FhirDate::Partial => {
                self.report.warnings.push(ctx.note(format!(
                    "`{field}` {raw:?} is a partial date; the record has no date there"
                )));
                Ok(None)
            }
        }
    }

    /// Value and unit of a quantity (both `None` when the value is absent or unusable).
    fn quantity(
        &mut self,
        ctx: &Ctx,
        what: &str,
        q: Option<&Quantity>,
    ) -> (Option<i64>, Option<String>) {
        let Some(q) = q else { return (None, None) };
        let Some(n) = &q.value else {
            return (None, None);
        };
        if let Some(c) = non_empty(&q.comparator) {
            self.report.warnings.push(ctx.note(format!(
                "{what}: value with comparator {c:?} is not encoded"
            )));
            return (None, None);
        }
        match decimal_to_fixed(&n.to_string()) {
            Ok(v) => (
                Some(v),
                non_empty(&q.code)
                    .or(non_empty(&q.unit))
                    .map(str::to_string),
            ),
            Err(m) => {
                self.report
                    .warnings
                    .push(ctx.note(format!("{what}: {m}; not encoded")));
                (None, None)
            }
        }
    }

    fn status(
        &mut self,
        ctx: &Ctx,
        raw: &Option<String>,
        map: fn(&str) -> Option<Status>,
    ) -> Status {
        match non_empty(raw) {
            None => Status::Unknown,
            Some(s) => map(s).unwrap_or_else(|| {
                self.report
                    .warnings
                    .push(ctx.note(format!("status {s:?} is not recognised; mapped to unknown")));
                Status::Unknown
            }),
        }
    }

    /// Turns the common part into a record (or a skip note). Returns the record index.
    fn push(&mut self, ctx: &Ctx, kind: Kind, c: Common) -> Result<Option<usize>> {
        // Dates are checked first: a malformed date is an error even on a record that is
        // then skipped for want of a code.
        let warnings = self.report.warnings.len();
        let date = self.date(ctx, &c.date)?;
        let end = self.date(ctx, &c.end)?;
        let (system, code, display) = match pick_code(c.code, c.code_field) {
            Ok(x) => x,
            Err(reason) => {
                self.report.warnings.truncate(warnings);
                self.report.skipped.push(ctx.note(reason));
                return Ok(None);
            }
        };
        self.records.push(Record {
            kind,
            system,
            code,
            display,
            date,
            end,
            value: None,
            unit: None,
            status: c.status,
            source: c.source,
            fhir_id: ctx.id.map(str::to_string),
        });
        *self.report.resources.entry(kind).or_default() += 1;
        *self.report.records.entry(kind).or_default() += 1;
        Ok(Some(self.records.len() - 1))
    }

    fn resource(&mut self, ctx: &Ctx, kind: Kind, v: &Value) -> Result<()> {
        match kind {
            Kind::Condition => {
                let r = Condition::parse(v).map_err(|e| ctx.field_error(e))?;
                let status = clinical_status(
                    &r.clinical_status,
                    &r.verification_status,
                    &["active", "recurrence", "relapse"],
                    &["inactive", "remission", "resolved"],
                );
                let abatement_end = r.abatement_period.as_ref().map(|p| &p.end).unwrap_or(&None);
                let source = self
                    .index
                    .source(&r.encounter, &[r.recorder.as_ref(), r.asserter.as_ref()]);
                let c = Common {
                    code: r.code.as_ref(),
                    code_field: "code",
                    status,
                    date: vec![
                        ("onsetDateTime", &r.onset_date_time),
                        ("recordedDate", &r.recorded_date),
                    ],
                    end: vec![
                        ("abatementDateTime", &r.abatement_date_time),
                        ("abatementPeriod.end", abatement_end),
                    ],
                    source,
                };
                self.push(ctx, kind, c)?;
            }
            Kind::Procedure => {
                let r = Procedure::parse(v).map_err(|e| ctx.field_error(e))?;
                let status = self.status(ctx, &r.status, procedure_status);
                let none = None;
                let (start, end) = r
                    .performed_period
                    .as_ref()
                    .map(|p| (&p.start, &p.end))
                    .unwrap_or((&none, &none));
                let actor = r
                    .performer
                    .as_ref()
                    .and_then(|p| p.first())
                    .and_then(|p| p.actor.as_ref());
                let source = self.index.source(&r.encounter, &[actor]);
                let c = Common {
                    code: r.code.as_ref(),
                    code_field: "code",
                    status,
                    date: vec![
                        ("performedDateTime", &r.performed_date_time),
                        ("performedPeriod.start", start),
                    ],
                    end: vec![("performedPeriod.end", end)],
                    source,
                };
                self.push(ctx, kind, c)?;
            }
            Kind::Observation => {
                let r = Observation::parse(v).map_err(|e| ctx.field_error(e))?;
                let status = self.status(ctx, &r.status, observation_status);
                let none = None;
                let (start, end) = r
                    .effective_period
                    .as_ref()
                    .map(|p| (&p.start, &p.end))
                    .unwrap_or((&none, &none));
                let actor = r.performer.as_ref().and_then(|p| p.first());
                let source = self.index.source(&r.encounter, &[actor]);
                let c = Common {
                    code: r.code.as_ref(),
                    code_field: "code",
                    status,
                    date: vec![
                        ("effectiveDateTime", &r.effective_date_time),
                        ("effectivePeriod.start", start),
                        ("issued", &r.issued),
                    ],
                    end: vec![("effectivePeriod.end", end)],
                    source,
                };
                let Some(i) = self.push(ctx, kind, c)? else {
                    return Ok(());
                };
                let (value, unit) = self.quantity(ctx, "valueQuantity", r.value_quantity.as_ref());
                self.records[i].value = value;
                self.records[i].unit = unit;
                let panel = self.records[i].clone();
                for (ci, comp) in r.component.iter().flatten().enumerate() {
                    let Some(q) = comp.value_quantity.as_ref() else {
                        self.report.skipped.push(
                            ctx.component_note(ci, format!("component[{ci}] has no valueQuantity")),
                        );
                        continue;
                    };
                    let (system, code, display) = match pick_code(comp.code.as_ref(), "code") {
                        Ok(x) => x,
                        Err(reason) => {
                            self.report
                                .skipped
                                .push(ctx.component_note(ci, format!("component[{ci}]: {reason}")));
                            continue;
                        }
                    };
                    let (value, unit) =
                        self.quantity(ctx, &format!("component[{ci}].valueQuantity"), Some(q));
                    self.records.push(Record {
                        system,
                        code,
                        display,
                        value,
                        unit,
                        fhir_id: Some(format!("{}#component[{ci}]", ctx.id.unwrap_or(""))),
                        ..panel.clone()
                    });
                    *self.report.records.entry(kind).or_default() += 1;
                }
            }
            Kind::Immunization => {
                let r = Immunization::parse(v).map_err(|e| ctx.field_error(e))?;
                let status = self.status(ctx, &r.status, immunization_status);
                let actor = r
                    .performer
                    .as_ref()
                    .and_then(|p| p.first())
                    .and_then(|p| p.actor.as_ref());
                let source = self.index.source(&r.encounter, &[actor]);
                let c = Common {
                    code: r.vaccine_code.as_ref(),
                    code_field: "vaccineCode",
                    status,
                    date: vec![("occurrenceDateTime", &r.occurrence_date_time)],
                    end: vec![],
                    source,
                };
                self.push(ctx, kind, c)?;
            }
            Kind::MedicationRequest => {
                let r = MedicationRequest::parse(v).map_err(|e| ctx.field_error(e))?;
                if r.medication_codeable_concept.is_none() && r.medication_reference.is_some() {
                    self.report.skipped.push(ctx.note(
                        "medicationReference without medicationCodeableConcept (referenced Medication resources are not resolved)",
                    ));
                    return Ok(());
                }
                let status = self.status(ctx, &r.status, medication_request_status);
                let source = self
                    .index
                    .source(&r.encounter, &[r.requester.as_ref(), r.performer.as_ref()]);
                let c = Common {
                    code: r.medication_codeable_concept.as_ref(),
                    code_field: "medicationCodeableConcept",
                    status,
                    date: vec![("authoredOn", &r.authored_on)],
                    end: vec![],
                    source,
                };
                self.push(ctx, kind, c)?;
            }
            Kind::AllergyIntolerance => {
                let r = AllergyIntolerance::parse(v).map_err(|e| ctx.field_error(e))?;
                let status = clinical_status(
                    &r.clinical_status,
                    &r.verification_status,
                    &["active"],
                    &["inactive", "resolved"],
                );
                let source = self
                    .index
                    .source(&r.encounter, &[r.recorder.as_ref(), r.asserter.as_ref()]);
                let c = Common {
                    code: r.code.as_ref(),
                    code_field: "code",
                    status,
                    date: vec![
                        ("onsetDateTime", &r.onset_date_time),
                        ("recordedDate", &r.recorded_date),
                    ],
                    end: vec![],
                    source,
                };
                self.push(ctx, kind, c)?;
            }
        }
        Ok(())
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn patient_info(ctx: &Ctx, v: &Value) -> Result<PatientInfo> {
    let p = Patient::parse(v).map_err(|e| ctx.field_error(e))?;
    let who = ctx.here();
    let raw = non_empty(&p.birth_date).ok_or_else(|| {
        RecordsError::Patient(format!(
            "the Patient at {who} has no birthDate; a full birth date is required"
        ))
    })?;
    let birth_date = match parse_fhir_date(raw).map_err(|m| ctx.err(Some("birthDate"), m))? {
        FhirDate::Full(d) => d,
        FhirDate::Partial => {
            return Err(RecordsError::Patient(format!(
                "the Patient at {who} has a partial birthDate {raw:?}; a full YYYY-MM-DD birth date is required"
            )))
        }
    };
    encode_date(birth_date).map_err(|e| ctx.err(Some("birthDate"), e.to_string()))?;
    let gender = match non_empty(&p.gender) {
        None => Gender::Unknown,
        Some(g) => Gender::from_fhir(g).ok_or_else(|| {
            ctx.err(
                Some("gender"),
                format!("{g:?} is not a FHIR AdministrativeGender (male, female, other, unknown)"),
            )
        })?,
    };
    Ok(PatientInfo { birth_date, gender })
}

/// Imports a FHIR R4 Bundle (JSON bytes): the one Patient and the clinical records. See
/// the [module documentation](self) for the rules. Never panics; every problem is a
/// [`RecordsError`] naming the entry, resource and field.
pub fn import_bundle(json: &[u8]) -> Result<ImportedPatient> {
    let root: Value =
        serde_json::from_slice(json).map_err(|e| RecordsError::Json(e.to_string()))?;
    let Value::Object(obj) = &root else {
        return Err(RecordsError::NotABundle(format!(
            "the top-level JSON value is {}, not an object",
            json_type(&root)
        )));
    };
    match obj.get("resourceType") {
        Some(Value::String(s)) if s == "Bundle" => {}
        Some(Value::String(s)) => {
            return Err(RecordsError::NotABundle(format!(
                "resourceType is {s:?}, expected \"Bundle\""
            )));
        }
        Some(other) => {
            return Err(RecordsError::NotABundle(format!(
                "resourceType is {}, expected the string \"Bundle\"",
                json_type(other)
            )));
        }
        None => {
            return Err(RecordsError::NotABundle(
                "the object has no resourceType".into(),
            ))
        }
    }
    let bundle_type = match obj.get("type") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(RecordsError::NotABundle(format!(
                "Bundle.type is {}, expected a string",
                json_type(other)
            )))
        }
    };
    let empty = Vec::new();
    let entries = match obj.get("entry") {
        None | Some(Value::Null) => &empty,
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(RecordsError::NotABundle(format!(
                "Bundle.entry is {}, expected an array",
                json_type(other)
            )))
        }
    };

    let mut imp = Importer {
        index: Index::build(entries),
        report: ImportReport {
            bundle_type,
            entries: entries.len(),
            ..Default::default()
        },
        records: Vec::new(),
    };
    for k in Kind::ALL {
        imp.report.resources.insert(k, 0);
        imp.report.records.insert(k, 0);
    }
    let mut patients: Vec<(usize, Option<String>, PatientInfo)> = Vec::new();

    for (i, entry) in entries.iter().enumerate() {
        let at = |m: String| RecordsError::Fhir {
            location: format!("entry {i}"),
            message: m,
        };
        let Value::Object(e) = entry else {
            return Err(at(format!(
                "the entry is {}, expected an object",
                json_type(entry)
            )));
        };
        let resource = match e.get("resource") {
            None | Some(Value::Null) => return Err(at("the entry has no resource".into())),
            Some(r @ Value::Object(_)) => r,
            Some(other) => {
                return Err(at(format!(
                    "`resource` is {}, expected an object",
                    json_type(other)
                )))
            }
        };
        let rtype = match resource.get("resourceType") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.as_str(),
            Some(Value::String(_)) | None => {
                return Err(at("the resource has no resourceType".into()))
            }
            Some(other) => {
                return Err(at(format!(
                    "resourceType is {}, expected a string",
                    json_type(other)
                )))
            }
        };
        let id = match resource.get("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(other) => {
                return Err(RecordsError::Fhir {
                    location: format!("entry {i} ({rtype}), field `id`"),
                    message: format!("the id is {}, expected a string", json_type(other)),
                })
            }
        };
        let ctx = Ctx {
            entry: i,
            rtype,
            id,
        };
        if rtype == "Patient" {
            patients.push((i, id.map(str::to_string), patient_info(&ctx, resource)?));
        } else if let Some(kind) = Kind::from_fhir_name(rtype) {
            imp.resource(&ctx, kind, resource)?;
        } else {
            *imp.report
                .skipped_types
                .entry(rtype.to_string())
                .or_default() += 1;
        }
    }

    let (patient_id, patient) = match patients.as_slice() {
        [] => {
            return Err(RecordsError::Patient(
                "no Patient resource in the bundle; exactly one is required".into(),
            ))
        }
        [(_, id, info)] => (id.clone(), *info),
        many => {
            let at: Vec<String> = many.iter().map(|(i, _, _)| i.to_string()).collect();
            return Err(RecordsError::Patient(format!(
                "{} Patient resources in the bundle (entries {}); exactly one is required",
                many.len(),
                at.join(", ")
            )));
        }
    };
    for (k, n) in &imp.report.records {
        if *n > TREE_CAPACITY {
            return Err(RecordsError::Tree(format!(
                "{n} {} records exceed the tree capacity {TREE_CAPACITY}",
                k.fhir_name()
            )));
        }
    }
    tracing::debug!(
        entries = imp.report.entries,
        records = imp.records.len(),
        skipped = imp.report.skipped.len(),
        warnings = imp.report.warnings.len(),
        "imported FHIR bundle"
    );
    Ok(ImportedPatient {
        patient,
        patient_id,
        records: imp.records,
        report: imp.report,
    })
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
    fn dates() {
        let d = |y, m, dd| FhirDate::Full(NaiveDate::from_ymd_opt(y, m, dd).unwrap());
        assert_eq!(parse_fhir_date("2020-02-29"), Ok(d(2020, 2, 29)));
        assert_eq!(
            parse_fhir_date("1966-01-29T06:44:05+00:00"),
            Ok(d(1966, 1, 29))
        );
        assert_eq!(
            parse_fhir_date("2012-04-07T06:44:05.416Z"),
            Ok(d(2012, 4, 7))
        );
        assert_eq!(parse_fhir_date("2020"), Ok(FhirDate::Partial));
        assert_eq!(parse_fhir_date("2020-05"), Ok(FhirDate::Partial));
        for bad in [
            "2020-13-45",
            "2021-02-29",
            "2020-1-05",
            "20200105",
            "",
            "0000-01-01",
            "2020-01-01Tx",
            "2020T10:00",
            "2020-01-01 10:00",
            "2020-00",
        ] {
            assert!(parse_fhir_date(bad).is_err(), "{bad:?} must fail");
        }
        assert!(parse_fhir_date("2020-13-45")
            .unwrap_err()
            .contains("month 13"));
    }

    #[test]
    fn code_preference() {
        let cc: CodeableConcept = serde_json::from_str(
            r#"{"coding":[{"system":"urn:local","code":"x"},{"code":"nosystem"},{"system":"http://loinc.org","code":"1-8","display":"L"}],"text":"T"}"#,
        )
        .unwrap();
        assert_eq!(
            pick_code(Some(&cc), "code").unwrap(),
            ("http://loinc.org".into(), "1-8".into(), Some("L".into()))
        );
        let cc: CodeableConcept = serde_json::from_str(
            r#"{"coding":[{"code":"nosystem"},{"system":"urn:local","code":"x"}],"text":"T"}"#,
        )
        .unwrap();
        assert_eq!(
            pick_code(Some(&cc), "code").unwrap(),
            ("urn:local".into(), "x".into(), Some("T".into()))
        );
        let cc: CodeableConcept = serde_json::from_str(r#"{"text":"only text"}"#).unwrap();
        assert!(pick_code(Some(&cc), "code")
            .unwrap_err()
            .contains("no coding"));
    }

    #[test]
    fn field_diagnosis_names_the_field() {
        let v: Value = serde_json::json!({"resourceType":"Observation","status":"final","valueQuantity":{"value":"5"}});
        let (field, _) = Observation::parse(&v).unwrap_err();
        assert_eq!(field, Some("valueQuantity"));
        let v: Value = serde_json::json!({"resourceType":"Observation","extra":{"anything":[1,2]},"status":"final"});
        assert!(Observation::parse(&v).is_ok(), "unknown fields are ignored");
    }
}
