//! FHIR R4 import: a minimal, tolerant serde model of the resources zkmed reads
//! ([`model`]) and the bundle importer ([`import_bundle`]) that turns them into
//! [`Record`](crate::Record)s, with an [`ImportReport`] of what was committed, skipped and
//! dropped.
//!
//! # The model
//!
//! Only the fields the importer reads are modelled; every field is optional and unknown
//! fields are ignored, so real-world resources with extensions, narrative, contained
//! resources and so on parse fine. A field that *is* modelled must have the FHIR R4 JSON
//! type (e.g. `code` must be a CodeableConcept object, not a string): a wrong type is an
//! error naming the entry, the resource and the field.
//!
//! # Import rules
//!
//! * Input: any `Bundle` (`transaction`, `collection`, `searchset`, `batch`, ...). Every
//!   entry must carry a `resource` with a `resourceType`.
//! * Exactly one `Patient`; its `birthDate` must be a full `YYYY-MM-DD` date (age predicates
//!   need the day); `gender` male/female/other/unknown → 2/1/3/0 (absent = unknown).
//! * `Condition`, `Procedure`, `Observation`, `Immunization`, `MedicationRequest`,
//!   `AllergyIntolerance` become records. Every other resource type is skipped with the
//!   reason "not a clinical resource" ([`ImportReport::skipped`], and counted by type in
//!   [`ImportReport::skipped_types`]); Encounters, Organizations and Medications are read
//!   only to resolve references.
//! * **Codes: every coding.** The record's `codes` are EVERY coding of the resource's
//!   CodeableConcept — `code` (Condition, Procedure, Observation, AllergyIntolerance),
//!   `vaccineCode` (Immunization), `medicationCodeableConcept` (MedicationRequest) — that
//!   has a non-empty `system` and `code`, in the order given, duplicates (same system and
//!   code after normalisation) removed: SNOMED CT, ICD-10-CM and a local code side by side
//!   are all kept, and a query matches the record if ANY of them matches. One resource is
//!   one record however many codings it has. Codings without a system or a code are dropped
//!   with a warning (no query can name them). A resource with no usable coding at all is
//!   skipped, with the reason. The display is the first coding display, else the text.
//!   [`Record::validate`](crate::Record::validate) decides what can be committed (a bounded
//!   number of codings of queryable systems): a resource it refuses is an import ERROR
//!   naming the entry, never a silent drop.
//! * **Medications by reference.** `MedicationRequest.medicationReference` is resolved:
//!   `#id` against the request's `contained` resources; `urn:uuid:…` and absolute URLs
//!   against the entries' `fullUrl`; `Medication/<id>` (also `…/Medication/<id>` and
//!   `…/_history/n`) against the entries' type and id; a conditional
//!   `Medication?identifier=[system|]value` against the identifiers of the bundle's
//!   Medications (exactly one must match). The record's codes are the Medication's `code`
//!   codings. A reference that cannot be resolved, that resolves to something other than a
//!   Medication, or to a Medication without a usable coding, is an ERROR naming the entry
//!   and the reference. A request with both `medicationCodeableConcept` and
//!   `medicationReference` (`medication[x]` is a choice) is an error; one with neither is
//!   skipped.
//! * **Status**: exactly the tables of `docs/encoding.md`. A status code outside those
//!   tables (or an absent status) maps to [`Status::Unknown`](crate::Status::Unknown);
//!   unrecognised codes add a warning.
//! * **Dates are UTC calendar dates** ([`dates`]): a `dateTime` with an offset is converted
//!   to UTC before its date is taken (`2020-01-01T23:30:00-05:00` is 2020-01-02); a `date`
//!   is taken as written; a `dateTime` with a time but no offset (invalid FHIR) is taken as
//!   written, with a warning. A malformed date (`2020-13-45`, `yesterday`) is an error
//!   naming the entry and field. A *partial* date (`2020`, `2020-05`) gives no date for
//!   that field (so it can never satisfy a date clause) and a warning; the "else" fallbacks
//!   below apply only when a field is absent, not when it is partial. Start dates:
//!   Condition and AllergyIntolerance `onsetDateTime` (else `onsetPeriod.start`, else
//!   `recordedDate`); Procedure `performedDateTime` / `performedPeriod.start`; Observation
//!   `effectiveDateTime` / `effectivePeriod.start` / `effectiveInstant` (else `issued`);
//!   Immunization `occurrenceDateTime`; MedicationRequest `authoredOn`. A choice that is
//!   not a date (`onsetAge`, `onsetRange`, `onsetString`, `performedString`,
//!   `occurrenceString`, `effectiveTiming`, ...) is not encoded, with a warning. End dates:
//!   Condition `abatementDateTime` (else `abatementPeriod.end`), Procedure
//!   `performedPeriod.end`, Observation `effectivePeriod.end`.
//! * **Leaf order.** Within each kind, records are ordered chronologically by the full UTC
//!   instant of their start date; a date without time counts as 00:00:00 UTC of that day;
//!   undated records (no date, or a partial one) come first; the sort is stable, so equal
//!   instants (and date-only values of one day) keep bundle order, and components follow
//!   their panel. Queries that pick the "latest" record break same-day ties by this order:
//!   the later leaf is the later record. [`ImportedPatient::records`] holds the records
//!   grouped by kind in this order.
//! * **Values.** `valueQuantity.value` is read from the JSON number's text and rounded to 3
//!   decimals, half away from zero, without binary floating point ([`decimal_to_fixed`]).
//!   The unit is `valueQuantity.code`, else `.unit`. A `comparator` `<`, `<=`, `>`, `>=` is
//!   kept (the value is a censored bound: "<5" is an interval, not 5); `ad` ("sufficient
//!   to achieve this total quantity") is not an interval and, like a value outside the
//!   encodable range, drops the value (and unit) with a warning naming it.
//!   `valueCodeableConcept` (smoking status, positive/negative) becomes the record's
//!   `value_codes` (every usable coding, as for codes). Other `value[x]` types
//!   (`valueString`, `valueBoolean`, ...) are not encoded: a warning says so.
//! * **Observation components** (blood pressure, panels): the Observation itself is a record
//!   (its own code, its own value if any), and each component with a usable code is one
//!   more Observation record with the component's own codes and value (valueQuantity with
//!   comparator, or valueCodeableConcept) — a component without a value is still a record —
//!   sharing the panel's dates, status and source, with `fhir_id` `<panel id>#component[i]`.
//!   They are counted apart ([`ImportReport::components`]); components without a usable
//!   code are skipped (type `Observation.component`). Components are imported even when
//!   the panel's own code is unusable (the panel is then skipped).
//! * **Source** (issuer): the `serviceProvider` of the record's `encounter` if that
//!   Encounter is in the bundle, else the resource's own performer / recorder / asserter /
//!   requester (in that order; for Procedure and Immunization `performer[0].actor`, for
//!   Observation `performer[0]`); else `"unknown"`. A reference is named by its `display`,
//!   else the `name` of the Organization it points to inside the bundle, else the
//!   reference string.
//! * **Report** ([`report`]): committed resources and components per kind, skipped
//!   resources grouped by (type, reason) with their entries, warnings; every entry is
//!   accounted for ([`ImportReport::accounted_entries`]). `Display` prints a short table.
//!
//! Malformed input never panics: it is a [`RecordsError`](crate::RecordsError) saying what
//! is wrong and where.

pub mod dates;
mod import;
pub mod model;
pub mod report;
pub mod values;

pub use dates::{parse_fhir_date, FhirDate};
pub use import::{import_bundle, ImportedPatient};
pub use model::{
    AllergyIntolerance, CodeableConcept, Coding, Condition, Encounter, Identifier, Immunization,
    Medication, MedicationRequest, Observation, ObservationComponent, Patient, Performer, Period,
    Procedure, Quantity, Reference,
};
pub use report::{EntryRef, ImportNote, ImportReport, SkipGroup, WarningKind};
pub use values::decimal_to_fixed;
