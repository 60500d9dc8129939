//! The bundle importer: one pass over `Bundle.entry`, one record per clinical resource (and
//! per Observation component), then the records of each kind in chronological order. The
//! rules are in the [parent module's documentation](super).

use super::dates::{parse_fhir_date, FhirDate};
use super::model::{
    AllergyIntolerance, CodeableConcept, Condition, Encounter, FieldError, Immunization,
    Medication, MedicationRequest, Observation, ObservationComponent, Patient, Procedure, Quantity,
    Reference,
};
use super::report::{
    EntryRef, ImportNote, ImportReport, SkipGroup, WarningKind, COMPONENT_TYPE, NOT_CLINICAL,
};
use super::values::{concept, non_empty, quantity, Concept, QuantityValue};
use crate::error::{RecordsError, Result};
use crate::record::{Code, CodeRole, Comparator, Gender, PatientInfo, Record};
use crate::tree::TREE_CAPACITY;
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use zkmed_core::encoding::{encode_date, Kind, Status};

/// The result of [`import_bundle`]: the patient and their records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedPatient {
    /// Birth date and gender.
    pub patient: PatientInfo,
    /// The Patient resource id, if any.
    pub patient_id: Option<String>,
    /// The records, grouped by kind ([`Kind::ALL`] order) and, within a kind, in leaf
    /// order: chronological by the UTC instant of the start date, undated records first,
    /// ties in bundle order (components right after their panel).
    pub records: Vec<Record>,
    /// What was committed, skipped and dropped.
    pub report: ImportReport,
}

impl ImportedPatient {
    /// The records of one kind, in leaf order.
    pub fn records_of(&self, kind: Kind) -> impl Iterator<Item = &Record> {
        self.records.iter().filter(move |r| r.kind == kind)
    }
}

// ---------------------------------------------------------------------------------------
// Locations
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
    fn note(
        &self,
        component: Option<usize>,
        category: WarningKind,
        reason: impl Into<String>,
    ) -> ImportNote {
        ImportNote {
            entry: self.entry,
            resource_type: self.rtype.to_string(),
            id: self.id.map(str::to_string),
            component,
            category,
            reason: reason.into(),
        }
    }
    fn entry_ref(&self, component: Option<usize>) -> EntryRef {
        EntryRef {
            entry: self.entry,
            id: self.id.map(str::to_string),
            component,
        }
    }
    fn field_error(&self, (field, e): FieldError) -> RecordsError {
        self.err(field, format!("wrong JSON type: {e}"))
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

// ---------------------------------------------------------------------------------------
// Statuses
// ---------------------------------------------------------------------------------------

fn cc_codes(cc: &Option<CodeableConcept>) -> impl Iterator<Item = &str> {
    cc.iter()
        .flat_map(|c| c.coding.iter().flatten())
        .filter_map(|c| non_empty(&c.code))
}

/// Condition / AllergyIntolerance status: verification refuted / entered-in-error → void,
/// else from the clinical status (first recognised code). The second value is the
/// clinical status text when it is present but has no recognised code.
fn clinical_status(
    clinical: &Option<CodeableConcept>,
    verification: &Option<CodeableConcept>,
    active: &[&str],
    inactive: &[&str],
) -> (Status, Option<String>) {
    if cc_codes(verification).any(|c| c == "refuted" || c == "entered-in-error") {
        return (Status::Void, None);
    }
    let found = cc_codes(clinical).find_map(|c| {
        if active.contains(&c) {
            Some(Status::Active)
        } else if inactive.contains(&c) {
            Some(Status::Inactive)
        } else {
            None
        }
    });
    match found {
        Some(s) => (s, None),
        None => {
            let seen: Vec<&str> = cc_codes(clinical).collect();
            let unrecognised = (!seen.is_empty()).then(|| seen.join(", "));
            (Status::Unknown, unrecognised)
        }
    }
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
// Bundle-wide lookups
// ---------------------------------------------------------------------------------------

/// Bundle-wide lookups: references to Encounters and Organizations (a record's issuer) and
/// to Medications (`MedicationRequest.medicationReference`).
struct Index<'a> {
    /// `fullUrl` and `Type/id` → (entry index, resource).
    by_ref: HashMap<String, (usize, &'a Value)>,
    /// Every Medication entry, for conditional references.
    medications: Vec<(usize, &'a Value)>,
}

impl<'a> Index<'a> {
    fn build(entries: &'a [Value]) -> Index<'a> {
        let mut by_ref = HashMap::new();
        let mut medications = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let Some(r) = e.get("resource") else { continue };
            let Some(rt) = r.get("resourceType").and_then(Value::as_str) else {
                continue;
            };
            if rt == "Medication" {
                medications.push((i, r));
            }
            // The first entry with a given fullUrl or Type/id wins.
            if let Some(u) = e.get("fullUrl").and_then(Value::as_str) {
                by_ref.entry(u.to_string()).or_insert((i, r));
            }
            if let Some(id) = r.get("id").and_then(Value::as_str) {
                by_ref.entry(format!("{rt}/{id}")).or_insert((i, r));
            }
        }
        Index {
            by_ref,
            medications,
        }
    }

    /// The entry a literal reference points to, whatever its type: an exact `fullUrl`
    /// (`urn:uuid:…`, absolute URL) or `Type/id`, else the `Type/id` tail of an absolute
    /// or versioned (`Type/id/_history/n`) reference.
    fn lookup(&self, reference: &str) -> Option<(usize, &'a Value)> {
        if let Some(hit) = self.by_ref.get(reference) {
            return Some(*hit);
        }
        if reference.starts_with("urn:") {
            return None;
        }
        let parts: Vec<&str> = reference.split('/').collect();
        let hist = parts.iter().rposition(|p| *p == "_history");
        let end = hist.unwrap_or(parts.len());
        if end < 2 {
            return None;
        }
        self.by_ref
            .get(&format!("{}/{}", parts[end - 2], parts[end - 1]))
            .copied()
    }

    /// [`Index::lookup`], only if the target has resource type `rtype`.
    fn resolve(&self, reference: &str, rtype: &str) -> Option<&'a Value> {
        let (_, hit) = self.lookup(reference)?;
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

    /// Medication entries matching a conditional reference `Medication?identifier=[system|]value`.
    fn medications_by_identifier(&self, query: &str) -> Option<Vec<(usize, &'a Value)>> {
        let wanted = query
            .split('&')
            .find_map(|p| p.strip_prefix("identifier="))?
            .replace("%7C", "|")
            .replace("%7c", "|");
        let (system, value) = match wanted.split_once('|') {
            Some((s, v)) => (Some(s.to_string()), v.to_string()),
            None => (None, wanted.clone()),
        };
        Some(
            self.medications
                .iter()
                .filter(|(_, m)| {
                    Medication::parse(m)
                        .ok()
                        .and_then(|m| m.identifier)
                        .unwrap_or_default()
                        .iter()
                        .any(|id| {
                            non_empty(&id.value) == Some(value.as_str())
                                && match &system {
                                    None => true,
                                    Some(s) if s.is_empty() => non_empty(&id.system).is_none(),
                                    Some(s) => non_empty(&id.system) == Some(s.as_str()),
                                }
                        })
                })
                .copied()
                .collect(),
        )
    }
}

// ---------------------------------------------------------------------------------------
// The importer
// ---------------------------------------------------------------------------------------

/// What every clinical resource contributes before kind-specific handling.
struct Common<'a> {
    /// The codings, or the reason (a skip reason) why there are none.
    concept: std::result::Result<Concept, String>,
    /// The field the codings come from (for warnings).
    code_field: &'static str,
    status: Status,
    /// `(field name, raw value)` candidates for the start date, first present wins.
    date: Vec<(&'static str, &'a Option<String>)>,
    end: Vec<(&'static str, &'a Option<String>)>,
    source: String,
    /// The resource's JSON, to spot date choices that are not dates.
    raw: &'a Value,
    /// The `onset[x]`-like choices of this kind that are not dates (`onsetAge`, ...).
    not_dates: &'static [&'static str],
}

/// The codings of a resource's code field, or the skip reason.
fn codes_of(cc: Option<&CodeableConcept>, field: &str) -> std::result::Result<Concept, String> {
    let Some(cc) = cc else {
        return Err(format!("no `{field}`"));
    };
    let c = concept(cc, CodeRole::Concept);
    if c.codes.is_empty() {
        return Err(format!(
            "`{field}` has no coding with both a system and a code"
        ));
    }
    Ok(c)
}

/// A record's value fields.
#[derive(Default)]
struct Val {
    value: Option<i64>,
    comparator: Option<Comparator>,
    unit: Option<String>,
    value_codes: Vec<Code>,
}

/// What [`Importer::build`] made of a resource.
struct Built {
    /// The record with its sort instant, or `None` if the resource is skipped.
    record: Option<(Option<NaiveDateTime>, Record)>,
    /// The start and end dates (Observation components share them).
    date: Option<FhirDate>,
    end: Option<FhirDate>,
    /// For a skipped resource: the date warnings, held back (they are about a record that
    /// does not exist, unless components of it are committed).
    held: Vec<ImportNote>,
}

struct Importer<'a> {
    index: Index<'a>,
    report: ImportReport,
    /// Records with their sort instant (UTC; `None` = undated).
    records: Vec<(Option<NaiveDateTime>, Record)>,
    /// Skips by (resource type, reason): count and the entries.
    skips: BTreeMap<(String, String), Vec<EntryRef>>,
}

impl<'a> Importer<'a> {
    fn skip(&mut self, rtype: &str, reason: impl Into<String>, at: EntryRef) {
        self.skips
            .entry((rtype.to_string(), reason.into()))
            .or_default()
            .push(at);
    }

    fn warn(&mut self, note: ImportNote) {
        self.report.warnings.push(note);
    }

    /// First present date among `candidates` (absent or empty strings are skipped).
    fn date(
        &mut self,
        ctx: &Ctx,
        candidates: &[(&'static str, &Option<String>)],
    ) -> Result<Option<FhirDate>> {
        let Some((field, raw)) = candidates
            .iter()
            .find_map(|(f, v)| non_empty(v).map(|s| (*f, s)))
        else {
            return Ok(None);
        };
        let d = parse_fhir_date(raw).map_err(|m| ctx.err(Some(field), m))?;
        match d {
            FhirDate::Partial => {
                self.warn(ctx.note(
                    None,
                    WarningKind::PartialDate,
                    format!("`{field}` {raw:?} is a partial date; the record has no date there"),
                ));
                return Ok(None);
            }
            FhirDate::Local(_) => self.warn(ctx.note(
                None,
                WarningKind::NoTimeZone,
                format!(
                    "`{field}` {raw:?} has a time but no time-zone offset (FHIR requires one); its date is taken as written"
                ),
            )),
            FhirDate::Date(_) | FhirDate::Utc(_) => {}
        }
        if let Some(day) = d.date() {
            encode_date(day).map_err(|e| ctx.err(Some(field), format!("{raw:?}: {e}")))?;
        }
        Ok(Some(d))
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
                self.warn(ctx.note(
                    None,
                    WarningKind::StatusUnrecognised,
                    format!("status {s:?} is not recognised; mapped to unknown"),
                ));
                Status::Unknown
            }),
        }
    }

    fn clinical_status(
        &mut self,
        ctx: &Ctx,
        (status, unrecognised): (Status, Option<String>),
    ) -> Status {
        if let Some(codes) = unrecognised {
            self.warn(ctx.note(
                None,
                WarningKind::StatusUnrecognised,
                format!("clinicalStatus {codes:?} is not recognised; mapped to unknown"),
            ));
        }
        status
    }

    /// The value of an Observation or component: `valueQuantity`, `valueCodeableConcept`,
    /// and a warning for any other `value[x]` (not encoded). `raw` is the JSON object
    /// holding the value (the resource or the component).
    fn value(
        &mut self,
        ctx: &Ctx,
        component: Option<usize>,
        raw: Option<&Value>,
        q: Option<&Quantity>,
        cc: Option<&CodeableConcept>,
    ) -> Val {
        let prefix = component
            .map(|i| format!("component[{i}]."))
            .unwrap_or_default();
        let mut out = Val::default();
        if let Some(q) = q {
            match quantity(q) {
                QuantityValue::Absent => {}
                QuantityValue::Value {
                    value,
                    comparator,
                    unit,
                } => {
                    out.value = Some(value);
                    out.comparator = comparator;
                    out.unit = unit;
                }
                QuantityValue::Dropped(m) => self.warn(ctx.note(
                    component,
                    WarningKind::ValueDropped,
                    format!("{prefix}valueQuantity: {m}; the record has no value"),
                )),
            }
        }
        if let Some(cc) = cc {
            let c = concept(cc, CodeRole::Value);
            self.dropped_codings(ctx, component, &format!("{prefix}valueCodeableConcept"), &c);
            if c.codes.is_empty() {
                let text = non_empty(&cc.text)
                    .map(|t| format!(" (text {t:?})"))
                    .unwrap_or_default();
                self.warn(ctx.note(
                    component,
                    WarningKind::ValueNotEncoded,
                    format!(
                        "{prefix}valueCodeableConcept has no coding with both a system and a code{text}; not encoded"
                    ),
                ));
            }
            out.value_codes = c.codes;
        }
        if let Some(Value::Object(o)) = raw {
            for k in o.keys() {
                if k.starts_with("value")
                    && k.len() > 5
                    && k.as_bytes()[5].is_ascii_uppercase()
                    && k != "valueQuantity"
                    && k != "valueCodeableConcept"
                {
                    self.warn(ctx.note(
                        component,
                        WarningKind::ValueNotEncoded,
                        format!("{prefix}{k} is not encoded (zkmed encodes valueQuantity and valueCodeableConcept)"),
                    ));
                }
            }
        }
        out
    }

    fn dropped_codings(&mut self, ctx: &Ctx, component: Option<usize>, field: &str, c: &Concept) {
        for d in &c.dropped {
            self.warn(ctx.note(
                component,
                WarningKind::CodingDropped,
                format!("{field}: coding {d:?} lacks a system or a code; no query can name it"),
            ));
        }
    }

    /// Validates and stores a record.
    fn commit(
        &mut self,
        ctx: &Ctx,
        component: Option<usize>,
        at: Option<NaiveDateTime>,
        record: Record,
    ) -> Result<()> {
        record.validate().map_err(|e| {
            let field = component.map(|i| format!("component[{i}]"));
            ctx.err(field.as_deref(), format!("cannot be committed: {e}"))
        })?;
        let k = record.kind;
        *self.report.records.entry(k).or_default() += 1;
        if component.is_some() {
            *self.report.components.entry(k).or_default() += 1;
        } else {
            *self.report.resources.entry(k).or_default() += 1;
        }
        self.records.push((at, record));
        Ok(())
    }

    /// Turns the common part into a record (not yet committed: the caller adds values) or
    /// a skip.
    fn build(&mut self, ctx: &Ctx, kind: Kind, c: Common) -> Result<Built> {
        // Dates are checked first: a malformed date is an error even on a record that is
        // then skipped for want of a code.
        let warnings = self.report.warnings.len();
        let date = self.date(ctx, &c.date)?;
        let end = self.date(ctx, &c.end)?;
        let concept = match c.concept {
            Ok(x) => x,
            Err(reason) => {
                let held = self.report.warnings.split_off(warnings);
                self.skip(ctx.rtype, reason, ctx.entry_ref(None));
                return Ok(Built {
                    record: None,
                    date,
                    end,
                    held,
                });
            }
        };
        self.dropped_codings(ctx, None, c.code_field, &concept);
        for key in c.not_dates {
            if c.raw.get(key).is_some_and(|v| !v.is_null()) {
                self.warn(ctx.note(
                    None,
                    WarningKind::DateNotEncoded,
                    format!("`{key}` is not a date; not encoded"),
                ));
            }
        }
        let record = Record {
            kind,
            codes: concept.codes,
            value_codes: Vec::new(),
            display: concept.display,
            date: date.and_then(|d| d.date()),
            end: end.and_then(|d| d.date()),
            value: None,
            comparator: None,
            unit: None,
            status: c.status,
            source: c.source,
            fhir_id: ctx.id.map(str::to_string),
        };
        Ok(Built {
            record: Some((date.and_then(|d| d.instant()), record)),
            date,
            end,
            held: Vec::new(),
        })
    }

    /// [`Importer::build`] then [`Importer::commit`], for kinds without values.
    fn push(&mut self, ctx: &Ctx, kind: Kind, c: Common) -> Result<()> {
        if let Some((at, record)) = self.build(ctx, kind, c)?.record {
            self.commit(ctx, None, at, record)?;
        }
        Ok(())
    }

    /// The codings of the Medication a MedicationRequest references. Every failure is an
    /// error naming the entry and the reference.
    fn medication(&self, ctx: &Ctx, req: &MedicationRequest, mref: &Reference) -> Result<Concept> {
        const FIELD: &str = "medicationReference";
        let Some(reference) = non_empty(&mref.reference) else {
            let what = non_empty(&mref.display)
                .map(|d| format!(" (display {d:?})"))
                .unwrap_or_default();
            return Err(ctx.err(
                Some(FIELD),
                format!("has no literal `reference`{what}; the Medication cannot be resolved"),
            ));
        };
        let unresolved = |why: String| ctx.err(Some(FIELD), format!("{reference:?} {why}"));
        // (where, resource)
        let (whence, target): (String, &Value) = if let Some(id) = reference.strip_prefix('#') {
            let hit = req
                .contained
                .iter()
                .flatten()
                .find(|c| c.get("id").and_then(Value::as_str) == Some(id));
            match hit {
                Some(v) => (format!("contained resource #{id}"), v),
                None => {
                    return Err(unresolved(
                        "names no contained resource of this MedicationRequest".into(),
                    ))
                }
            }
        } else if let Some(query) = reference.strip_prefix("Medication?") {
            let hits = self.index.medications_by_identifier(query).ok_or_else(|| {
                unresolved(
                    "is a conditional reference without `identifier=`; it cannot be resolved inside the bundle".into(),
                )
            })?;
            match hits.as_slice() {
                [(i, v)] => (format!("entry {i}"), *v),
                [] => {
                    return Err(unresolved(
                        "matches no Medication in the bundle by identifier".into(),
                    ))
                }
                many => {
                    let at: Vec<String> = many.iter().map(|(i, _)| i.to_string()).collect();
                    return Err(unresolved(format!(
                        "matches {} Medications in the bundle (entries {})",
                        many.len(),
                        at.join(", ")
                    )));
                }
            }
        } else {
            match self.index.lookup(reference) {
                Some((i, v)) => (format!("entry {i}"), v),
                None => {
                    return Err(unresolved(
                        "is not in the bundle (no entry with that fullUrl or Medication/<id>)"
                            .into(),
                    ))
                }
            }
        };
        let rt = target.get("resourceType").and_then(Value::as_str);
        if rt != Some("Medication") {
            let rt = rt.map_or("no resourceType".to_string(), |t| format!("type {t}"));
            return Err(unresolved(format!(
                "resolves to {whence} ({rt}), not a Medication"
            )));
        }
        let med = Medication::parse(target).map_err(|(f, e)| {
            unresolved(format!(
                "resolves to {whence} (a Medication) whose field `{}` has the wrong JSON type: {e}",
                f.unwrap_or("?")
            ))
        })?;
        let Some(cc) = med.code.as_ref() else {
            return Err(unresolved(format!(
                "resolves to {whence}, a Medication without `code`"
            )));
        };
        let c = concept(cc, CodeRole::Concept);
        if c.codes.is_empty() {
            return Err(unresolved(format!(
                "resolves to {whence}, a Medication whose `code` has no coding with both a system and a code"
            )));
        }
        Ok(c)
    }

    fn observation(&mut self, ctx: &Ctx, v: &Value) -> Result<()> {
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
            concept: codes_of(r.code.as_ref(), "code"),
            code_field: "code",
            status,
            date: vec![
                ("effectiveDateTime", &r.effective_date_time),
                ("effectivePeriod.start", start),
                ("effectiveInstant", &r.effective_instant),
                ("issued", &r.issued),
            ],
            end: vec![("effectivePeriod.end", end)],
            source: source.clone(),
            raw: v,
            not_dates: &["effectiveTiming"],
        };
        let Built {
            record: panel,
            date,
            end,
            held,
        } = self.build(ctx, Kind::Observation, c)?;
        if let Some((at, mut record)) = panel {
            let val = self.value(
                ctx,
                None,
                Some(v),
                r.value_quantity.as_ref(),
                r.value_codeable_concept.as_ref(),
            );
            record.value = val.value;
            record.comparator = val.comparator;
            record.unit = val.unit;
            record.value_codes = val.value_codes;
            self.commit(ctx, None, at, record)?;
        }
        let raw_components = v.get("component").and_then(Value::as_array);
        let before = self.records.len();
        let wpos = self.report.warnings.len();
        for (ci, comp) in r.component.iter().flatten().enumerate() {
            let raw = raw_components.and_then(|a| a.get(ci));
            self.component(ctx, ci, comp, raw, status, &source, date, end)?;
        }
        if self.records.len() > before {
            // Components of a skipped panel carry its dates: so do its date warnings.
            self.report.warnings.splice(wpos..wpos, held);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn component(
        &mut self,
        ctx: &Ctx,
        ci: usize,
        comp: &ObservationComponent,
        raw: Option<&Value>,
        status: Status,
        source: &str,
        date: Option<FhirDate>,
        end: Option<FhirDate>,
    ) -> Result<()> {
        let concept = match codes_of(comp.code.as_ref(), "code") {
            Ok(c) => c,
            Err(reason) => {
                self.skip(COMPONENT_TYPE, reason, ctx.entry_ref(Some(ci)));
                return Ok(());
            }
        };
        self.dropped_codings(ctx, Some(ci), &format!("component[{ci}].code"), &concept);
        let val = self.value(
            ctx,
            Some(ci),
            raw,
            comp.value_quantity.as_ref(),
            comp.value_codeable_concept.as_ref(),
        );
        let record = Record {
            kind: Kind::Observation,
            codes: concept.codes,
            value_codes: val.value_codes,
            display: concept.display,
            date: date.and_then(|d| d.date()),
            end: end.and_then(|d| d.date()),
            value: val.value,
            comparator: val.comparator,
            unit: val.unit,
            status,
            source: source.to_string(),
            fhir_id: Some(format!("{}#component[{ci}]", ctx.id.unwrap_or(""))),
        };
        self.commit(ctx, Some(ci), date.and_then(|d| d.instant()), record)
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
                let status = self.clinical_status(ctx, status);
                let none = None;
                let onset_start = r.onset_period.as_ref().map(|p| &p.start).unwrap_or(&none);
                let abatement_end = r.abatement_period.as_ref().map(|p| &p.end).unwrap_or(&none);
                let source = self
                    .index
                    .source(&r.encounter, &[r.recorder.as_ref(), r.asserter.as_ref()]);
                let c = Common {
                    concept: codes_of(r.code.as_ref(), "code"),
                    code_field: "code",
                    status,
                    date: vec![
                        ("onsetDateTime", &r.onset_date_time),
                        ("onsetPeriod.start", onset_start),
                        ("recordedDate", &r.recorded_date),
                    ],
                    end: vec![
                        ("abatementDateTime", &r.abatement_date_time),
                        ("abatementPeriod.end", abatement_end),
                    ],
                    source,
                    raw: v,
                    not_dates: &[
                        "onsetAge",
                        "onsetRange",
                        "onsetString",
                        "abatementAge",
                        "abatementRange",
                        "abatementString",
                    ],
                };
                self.push(ctx, kind, c)
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
                    concept: codes_of(r.code.as_ref(), "code"),
                    code_field: "code",
                    status,
                    date: vec![
                        ("performedDateTime", &r.performed_date_time),
                        ("performedPeriod.start", start),
                    ],
                    end: vec![("performedPeriod.end", end)],
                    source,
                    raw: v,
                    not_dates: &["performedString", "performedAge", "performedRange"],
                };
                self.push(ctx, kind, c)
            }
            Kind::Observation => self.observation(ctx, v),
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
                    concept: codes_of(r.vaccine_code.as_ref(), "vaccineCode"),
                    code_field: "vaccineCode",
                    status,
                    date: vec![("occurrenceDateTime", &r.occurrence_date_time)],
                    end: vec![],
                    source,
                    raw: v,
                    not_dates: &["occurrenceString"],
                };
                self.push(ctx, kind, c)
            }
            Kind::MedicationRequest => {
                let r = MedicationRequest::parse(v).map_err(|e| ctx.field_error(e))?;
                let (concept, code_field) = match (
                    &r.medication_codeable_concept,
                    &r.medication_reference,
                ) {
                    (Some(_), Some(_)) => {
                        return Err(ctx.err(
                            None,
                            "has both medicationCodeableConcept and medicationReference; medication[x] allows exactly one",
                        ))
                    }
                    (Some(cc), None) => (
                        codes_of(Some(cc), "medicationCodeableConcept"),
                        "medicationCodeableConcept",
                    ),
                    (None, Some(mref)) => {
                        (Ok(self.medication(ctx, &r, mref)?), "Medication.code")
                    }
                    (None, None) => (
                        Err("no medication[x] (neither medicationCodeableConcept nor medicationReference)".to_string()),
                        "medicationCodeableConcept",
                    ),
                };
                let status = self.status(ctx, &r.status, medication_request_status);
                let source = self
                    .index
                    .source(&r.encounter, &[r.requester.as_ref(), r.performer.as_ref()]);
                let c = Common {
                    concept,
                    code_field,
                    status,
                    date: vec![("authoredOn", &r.authored_on)],
                    end: vec![],
                    source,
                    raw: v,
                    not_dates: &[],
                };
                self.push(ctx, kind, c)
            }
            Kind::AllergyIntolerance => {
                let r = AllergyIntolerance::parse(v).map_err(|e| ctx.field_error(e))?;
                let status = clinical_status(
                    &r.clinical_status,
                    &r.verification_status,
                    &["active"],
                    &["inactive", "resolved"],
                );
                let status = self.clinical_status(ctx, status);
                let none = None;
                let onset_start = r.onset_period.as_ref().map(|p| &p.start).unwrap_or(&none);
                let source = self
                    .index
                    .source(&r.encounter, &[r.recorder.as_ref(), r.asserter.as_ref()]);
                let c = Common {
                    concept: codes_of(r.code.as_ref(), "code"),
                    code_field: "code",
                    status,
                    date: vec![
                        ("onsetDateTime", &r.onset_date_time),
                        ("onsetPeriod.start", onset_start),
                        ("recordedDate", &r.recorded_date),
                    ],
                    end: vec![],
                    source,
                    raw: v,
                    not_dates: &["onsetAge", "onsetRange", "onsetString"],
                };
                self.push(ctx, kind, c)
            }
        }
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
    let birth_date: NaiveDate =
        match parse_fhir_date(raw).map_err(|m| ctx.err(Some("birthDate"), m))? {
            FhirDate::Date(d) => d,
            FhirDate::Partial => {
                return Err(RecordsError::Patient(format!(
                "the Patient at {who} has a partial birthDate {raw:?}; a full YYYY-MM-DD birth date is required"
            )))
            }
            FhirDate::Utc(_) | FhirDate::Local(_) => {
                return Err(ctx.err(
                    Some("birthDate"),
                    format!("{raw:?} is a dateTime; birthDate is a FHIR date (YYYY-MM-DD)"),
                ))
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
/// the [module documentation](super) for the rules. Never panics; every problem is a
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
        skips: BTreeMap::new(),
    };
    for k in Kind::ALL {
        imp.report.resources.insert(k, 0);
        imp.report.records.insert(k, 0);
    }
    imp.report.components.insert(Kind::Observation, 0);
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
            imp.skip(rtype, NOT_CLINICAL, ctx.entry_ref(None));
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
    imp.report.skipped = imp
        .skips
        .into_iter()
        .map(|((resource_type, reason), entries)| SkipGroup {
            resource_type,
            reason,
            count: entries.len(),
            entries,
        })
        .collect();
    // Leaf order: by kind, then chronological by UTC instant; undated first (`None` sorts
    // before every instant); the sort is stable, so ties keep bundle order.
    let mut records = imp.records;
    records.sort_by(|(a, ra), (b, rb)| (ra.kind, a).cmp(&(rb.kind, b)));
    let records: Vec<Record> = records.into_iter().map(|(_, r)| r).collect();
    tracing::debug!(
        entries = imp.report.entries,
        records = records.len(),
        skipped = imp.report.skipped.len(),
        warnings = imp.report.warnings.len(),
        "imported FHIR bundle"
    );
    Ok(ImportedPatient {
        patient,
        patient_id,
        records,
        report: imp.report,
    })
}
