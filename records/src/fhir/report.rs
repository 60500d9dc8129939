//! The import report: what was committed and what was skipped, by resource type and reason,
//! and what was dropped on the way (warnings).
//!
//! Every bundle entry is accounted for: `entries` = 1 (the Patient, committed as the
//! patient leaf) + the clinical resources committed ([`ImportReport::resources`], JSON
//! `committed`) + the resources skipped ([`ImportReport::skipped`], groups whose
//! `resource_type` is a FHIR resource type, non-clinical types included); see
//! [`ImportReport::accounted_entries`]. Observation components are counted apart
//! ([`ImportReport::components`], JSON `committed_components`; skipped ones in groups of
//! type `Observation.component`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use zkmed_core::encoding::Kind;

/// The `resource_type` of skip groups of Observation components.
pub const COMPONENT_TYPE: &str = "Observation.component";

/// The reason given for every entry whose type is not one of the six clinical kinds.
pub const NOT_CLINICAL: &str = "not a clinical resource";

/// Which bundle entry (and, for an Observation component, which component).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryRef {
    /// Index of the entry in `Bundle.entry`.
    pub entry: usize,
    /// The resource id, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// For an Observation component: its index in `component`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<usize>,
}

impl fmt::Display for EntryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "entry {}", self.entry)?;
        if let Some(id) = &self.id {
            write!(f, " ({id})")?;
        }
        if let Some(c) = self.component {
            write!(f, " component[{c}]")?;
        }
        Ok(())
    }
}

/// Resources (or Observation components) of one type skipped for one reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkipGroup {
    /// The FHIR `resourceType`, or `Observation.component` ([`COMPONENT_TYPE`]).
    pub resource_type: String,
    /// Why (the same text for every member of the group).
    pub reason: String,
    /// How many.
    pub count: usize,
    /// Which ones, in bundle order (`count` of them).
    pub entries: Vec<EntryRef>,
}

impl SkipGroup {
    /// True for a group of resources (not of Observation components).
    pub fn is_resources(&self) -> bool {
        self.resource_type != COMPONENT_TYPE
    }
}

/// What kind of information a warning says was dropped or guessed.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum WarningKind {
    /// A partial date (`2020`, `2020-05`): the record has no date there.
    PartialDate,
    /// A dateTime with a time but no time-zone offset: its date is taken as written.
    NoTimeZone,
    /// A date given in a form that is not a date (`onsetAge`, `onsetString`,
    /// `occurrenceString`, `effectiveTiming`, ...): not encoded.
    DateNotEncoded,
    /// A value that cannot be encoded (comparator `ad`, out of range): the record has no
    /// value.
    ValueDropped,
    /// A result of a type zkmed does not encode (`valueString`, `valueBoolean`, an uncoded
    /// `valueCodeableConcept`, ...).
    ValueNotEncoded,
    /// A coding without a system or without a code (no query can name it).
    CodingDropped,
    /// A status code outside the mapping tables: mapped to `unknown`.
    StatusUnrecognised,
    /// Anything else.
    #[default]
    Other,
}

impl WarningKind {
    /// The kebab-case name (as in JSON).
    pub fn name(self) -> &'static str {
        match self {
            WarningKind::PartialDate => "partial-date",
            WarningKind::NoTimeZone => "no-time-zone",
            WarningKind::DateNotEncoded => "date-not-encoded",
            WarningKind::ValueDropped => "value-dropped",
            WarningKind::ValueNotEncoded => "value-not-encoded",
            WarningKind::CodingDropped => "coding-dropped",
            WarningKind::StatusUnrecognised => "status-unrecognised",
            WarningKind::Other => "other",
        }
    }
}

/// A note about one bundle entry: what was dropped or guessed while importing it.
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
    /// What kind of warning.
    #[serde(default)]
    pub category: WarningKind,
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
    /// Clinical resources committed as records, per kind (all six kinds, possibly 0).
    /// JSON: `committed`.
    #[serde(rename = "committed", alias = "resources")]
    pub resources: BTreeMap<Kind, usize>,
    /// Observation components committed as records of their own (JSON:
    /// `committed_components`).
    #[serde(rename = "committed_components", default)]
    pub components: BTreeMap<Kind, usize>,
    /// Records (leaves) per kind: `resources` plus `components` (all six kinds).
    pub records: BTreeMap<Kind, usize>,
    /// What was not committed, grouped by resource type and reason (non-clinical types with
    /// [`NOT_CLINICAL`]; Observation components as [`COMPONENT_TYPE`]); sorted by type, then
    /// reason.
    pub skipped: Vec<SkipGroup>,
    /// The non-clinical entries by `resourceType` (the [`NOT_CLINICAL`] groups of
    /// `skipped`, as a map). The Patient is not counted here.
    pub skipped_types: BTreeMap<String, usize>,
    /// Records committed with some information dropped or guessed (partial date, value
    /// dropped, unrecognised status, ...), one note per occurrence, in bundle order.
    pub warnings: Vec<ImportNote>,
}

impl ImportReport {
    /// Clinical resources of `kind` that were skipped (components not included).
    pub fn skipped_resources(&self, kind: Kind) -> usize {
        self.skipped
            .iter()
            .filter(|g| g.resource_type == kind.fhir_name())
            .map(|g| g.count)
            .sum()
    }

    /// Observation components that were skipped.
    pub fn skipped_components(&self) -> usize {
        self.skipped
            .iter()
            .filter(|g| !g.is_resources())
            .map(|g| g.count)
            .sum()
    }

    /// Clinical resources committed (all kinds).
    pub fn committed_resources(&self) -> usize {
        self.resources.values().sum()
    }

    /// Records committed (all kinds, components included).
    pub fn committed_records(&self) -> usize {
        self.records.values().sum()
    }

    /// Entries of non-clinical types.
    pub fn non_clinical(&self) -> usize {
        self.skipped_types.values().sum()
    }

    /// Clinical resources skipped (all kinds; components not included).
    pub fn skipped_clinical(&self) -> usize {
        Kind::ALL.iter().map(|&k| self.skipped_resources(k)).sum()
    }

    /// The entries the report accounts for: the Patient, the committed clinical resources
    /// and every skipped resource (clinical or not). Equals `entries` for every bundle the
    /// importer accepts.
    pub fn accounted_entries(&self) -> usize {
        let skipped: usize = self
            .skipped
            .iter()
            .filter(|g| g.is_resources())
            .map(|g| g.count)
            .sum();
        1 + self.committed_resources() + skipped
    }
}

fn refs(entries: &[EntryRef], max: usize) -> String {
    let mut s: Vec<String> = entries.iter().take(max).map(|e| e.to_string()).collect();
    if entries.len() > max {
        s.push(format!("… {} more", entries.len() - max));
    }
    s.join(", ")
}

/// A short table for people (the CLI prints it as is):
///
/// ```text
/// bundle (transaction): 485 entries: 1 Patient, 286 clinical resources committed as 320 records, 198 non-clinical skipped, 0 clinical skipped, 2 warnings
/// committed             resources  components   records
///   Condition                  12           -        12
///   ...
/// skipped
///   Claim                     112  not a clinical resource
///   Condition                   1  `code` has no coding with both a system and a code: entry 5 (c1)
/// warnings
///   partial-date                1  entry 7 (d): `onsetDateTime` "2015" is a partial date; ...
/// ```
impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bt = self
            .bundle_type
            .as_deref()
            .map(|t| format!(" ({t})"))
            .unwrap_or_default();
        writeln!(
            f,
            "bundle{bt}: {} entries: 1 Patient, {} clinical resources committed as {} records, {} non-clinical skipped, {} clinical skipped, {} warnings",
            self.entries,
            self.committed_resources(),
            self.committed_records(),
            self.non_clinical(),
            self.skipped_clinical(),
            self.warnings.len()
        )?;
        writeln!(
            f,
            "{:<22}{:>9}{:>12}{:>10}",
            "committed", "resources", "components", "records"
        )?;
        for k in Kind::ALL {
            let comps = match self.components.get(&k) {
                Some(n) => n.to_string(),
                None => "-".into(),
            };
            writeln!(
                f,
                "  {:<20}{:>9}{:>12}{:>10}",
                k.fhir_name(),
                self.resources.get(&k).copied().unwrap_or(0),
                comps,
                self.records.get(&k).copied().unwrap_or(0)
            )?;
        }
        if !self.skipped.is_empty() {
            writeln!(f, "skipped")?;
            let mut groups: Vec<&SkipGroup> = self.skipped.iter().collect();
            // Clinical skips first (they matter), then by size.
            groups.sort_by_key(|g| (g.reason == NOT_CLINICAL, std::cmp::Reverse(g.count)));
            for g in groups {
                let which = if g.entries.is_empty() || g.reason == NOT_CLINICAL {
                    String::new()
                } else {
                    format!(": {}", refs(&g.entries, 3))
                };
                writeln!(
                    f,
                    "  {:<22}{:>5}  {}{which}",
                    g.resource_type, g.count, g.reason
                )?;
            }
        }
        if !self.warnings.is_empty() {
            writeln!(f, "warnings")?;
            let mut by_kind: BTreeMap<WarningKind, Vec<&ImportNote>> = BTreeMap::new();
            for w in &self.warnings {
                by_kind.entry(w.category).or_default().push(w);
            }
            for (k, notes) in by_kind {
                let n = &notes[0];
                let at = EntryRef {
                    entry: n.entry,
                    id: n.id.clone(),
                    component: n.component,
                };
                let more = if notes.len() > 1 {
                    format!(" (and {} more)", notes.len() - 1)
                } else {
                    String::new()
                };
                writeln!(
                    f,
                    "  {:<22}{:>5}  {} {at}: {}{more}",
                    k.name(),
                    notes.len(),
                    n.resource_type,
                    n.reason
                )?;
            }
        }
        Ok(())
    }
}
