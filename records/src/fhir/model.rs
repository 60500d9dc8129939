//! A minimal, tolerant serde model of the FHIR R4 resources and data types zkmed reads.
//!
//! Only the fields the importer reads are modelled; every field is optional and unknown
//! fields are ignored, so real-world resources with extensions, narrative and so on parse
//! fine. A field that *is* modelled must have the FHIR R4 JSON type (e.g. `code` must be a
//! CodeableConcept object, not a string): a wrong type is an error naming the entry, the
//! resource and the field (see [`FieldError`]). Fields the importer does not read are never
//! looked at, whatever their content.

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

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

/// FHIR `Identifier` (system and value only).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Identifier {
    /// The namespace of the value.
    pub system: Option<String>,
    /// The value.
    pub value: Option<String>,
}

/// FHIR `Reference`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Reference {
    /// Literal reference (`urn:uuid:...`, `Organization/1`, absolute URL, `#contained-id`).
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
/// be rounded exactly (see [`super::decimal_to_fixed`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Quantity {
    /// The numeric value.
    pub value: Option<Number>,
    /// `<`, `<=`, `>=`, `>`: the value is a bound, not a measurement; `ad`: "sufficient to
    /// achieve this total quantity".
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
    /// Its coded result, if it is coded.
    #[serde(rename = "valueCodeableConcept")]
    pub value_codeable_concept: Option<CodeableConcept>,
}

/// Why a resource failed to deserialize: the offending field (if one could be singled
/// out) and serde's message.
pub type FieldError = (Option<&'static str>, serde_json::Error);

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
            pub fn parse(v: &Value) -> std::result::Result<Self, FieldError> {
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
        /// Onset as a period (its start is the record date).
        onset_period: Period => "onsetPeriod",
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
        /// Clinically relevant time (an instant).
        effective_instant: String => "effectiveInstant",
        /// When the result was released (date fallback).
        issued: String => "issued",
        /// The numeric result.
        value_quantity: Quantity => "valueQuantity",
        /// The coded result.
        value_codeable_concept: CodeableConcept => "valueCodeableConcept",
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
        /// The medication, by reference to a Medication in the bundle or contained here.
        medication_reference: Reference => "medicationReference",
        /// Contained resources (a contained Medication is referenced as `#id`).
        contained: Vec<Value> => "contained",
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
    /// FHIR `Medication`: read only to resolve a `MedicationRequest.medicationReference`.
    Medication {
        /// Resource id.
        id: String => "id",
        /// What the medication is (RxNorm, NDC, ...).
        code: CodeableConcept => "code",
        /// Business identifiers (used to resolve a conditional reference
        /// `Medication?identifier=system|value`).
        identifier: Vec<Identifier> => "identifier",
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
        /// Onset as a period (its start is the record date).
        onset_period: Period => "onsetPeriod",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_diagnosis_names_the_field() {
        let v: Value = serde_json::json!({"resourceType":"Observation","status":"final","valueQuantity":{"value":"5"}});
        let (field, _) = Observation::parse(&v).unwrap_err();
        assert_eq!(field, Some("valueQuantity"));
        let v: Value = serde_json::json!({"resourceType":"Observation","extra":{"anything":[1,2]},"status":"final"});
        assert!(Observation::parse(&v).is_ok(), "unknown fields are ignored");
    }
}
