//! Named predicates, shipped as data files in `predicates/` (value sets with their source),
//! embedded at build time. A predicate is a query template: `{"$param": "name"}` is replaced
//! by a parameter (given or default; `"$today"` as a default means the caller's today), and
//! `{"$valueset": "param"}` by the value set the parameter names.

use crate::encoding::today_utc;
use crate::error::{CoreError, Result};
use crate::query::Query;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

const FILES: [(&str, &str); 5] = [
    (
        "has-organ-transplant",
        include_str!("../../predicates/has-organ-transplant.json"),
    ),
    (
        "no-chronic-conditions",
        include_str!("../../predicates/no-chronic-conditions.json"),
    ),
    (
        "age-at-least",
        include_str!("../../predicates/age-at-least.json"),
    ),
    (
        "vaccinated-against",
        include_str!("../../predicates/vaccinated-against.json"),
    ),
    (
        "hba1c-below",
        include_str!("../../predicates/hba1c-below.json"),
    ),
];

#[derive(Debug, Clone, Deserialize)]
pub struct ParamSpec {
    pub description: String,
    #[serde(default)]
    pub default: Option<Value>,
}

/// A named predicate as shipped.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Predicate {
    pub name: String,
    pub description: String,
    pub source: String,
    #[serde(default)]
    pub params: BTreeMap<String, ParamSpec>,
    #[serde(default)]
    pub valuesets: BTreeMap<String, Vec<String>>,
    /// Codes the description or source text names that are deliberately NOT in the
    /// predicate's code lists, each with the reason (a test checks that every code the text
    /// names is either listed or here).
    #[serde(default)]
    pub excluded: Vec<Excluded>,
    pub query: Value,
}

/// A code the predicate's text names but its lists leave out, and why.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Excluded {
    /// FHIR token `system|code`.
    pub code: String,
    /// Why it is left out.
    pub reason: String,
}

/// Names of the shipped predicates.
pub fn names() -> Vec<&'static str> {
    FILES.iter().map(|(n, _)| *n).collect()
}

pub fn get(name: &str) -> Result<Predicate> {
    let (_, text) =
        FILES
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| CoreError::UnknownPredicate {
                name: name.into(),
                known: names().join(", "),
            })?;
    serde_json::from_str(text)
        .map_err(|e| CoreError::Query(format!("predicate file {name}.json: {e}")))
}

impl Predicate {
    /// Builds the query with `params` (strings or numbers); unknown parameters are an error.
    pub fn instantiate(&self, params: &BTreeMap<String, Value>, today: NaiveDate) -> Result<Query> {
        for k in params.keys() {
            if !self.params.contains_key(k) {
                return Err(CoreError::Query(format!(
                    "predicate {} has no parameter {k:?} (parameters: {})",
                    self.name,
                    self.params.keys().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
        }
        let mut resolved = BTreeMap::new();
        for (k, spec) in &self.params {
            let v = match params.get(k).or(spec.default.as_ref()) {
                Some(Value::String(s)) if s == "$today" => Value::String(today.to_string()),
                Some(v) => v.clone(),
                None => {
                    return Err(CoreError::Query(format!(
                        "predicate {} needs parameter {k:?}",
                        self.name
                    )))
                }
            };
            resolved.insert(k.clone(), v);
        }
        let q = self.substitute(&self.query, &resolved)?;
        let query: Query = serde_json::from_value(q)
            .map_err(|e| CoreError::Query(format!("predicate {}: {e}", self.name)))?;
        query.compile()?;
        Ok(query)
    }

    /// [`Predicate::instantiate`] with `"$today"` = today's UTC date.
    pub fn instantiate_today(&self, params: &BTreeMap<String, Value>) -> Result<Query> {
        self.instantiate(params, today_utc())
    }

    fn substitute(&self, v: &Value, params: &BTreeMap<String, Value>) -> Result<Value> {
        Ok(match v {
            Value::Object(m) if m.len() == 1 && m.contains_key("$param") => {
                let name = m["$param"].as_str().unwrap_or_default();
                params
                    .get(name)
                    .cloned()
                    .ok_or_else(|| CoreError::Query(format!("unknown parameter {name:?}")))?
            }
            Value::Object(m) if m.len() == 1 && m.contains_key("$valueset") => {
                let p = m["$valueset"].as_str().unwrap_or_default();
                let which = params.get(p).and_then(|v| v.as_str()).unwrap_or_default();
                let set = self.valuesets.get(which).ok_or_else(|| {
                    CoreError::Query(format!(
                        "predicate {}: unknown {p} {which:?} (known: {})",
                        self.name,
                        self.valuesets
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
                Value::Array(set.iter().map(|s| Value::String(s.clone())).collect())
            }
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, x) in m {
                    out.insert(k.clone(), self.substitute(x, params)?);
                }
                Value::Object(out)
            }
            Value::Array(xs) => Value::Array(
                xs.iter()
                    .map(|x| self.substitute(x, params))
                    .collect::<Result<_>>()?,
            ),
            other => other.clone(),
        })
    }
}

/// Parses `k=v` pairs (`years=21`); values that parse as integers become numbers.
pub fn parse_params(pairs: &[String]) -> Result<BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    for p in pairs {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| CoreError::Query(format!("parameter {p:?} is not key=value")))?;
        let val = v
            .parse::<u32>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(v.to_string()));
        out.insert(k.trim().to_string(), val);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_shipped_predicates_instantiate_with_defaults() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        for n in names() {
            let p = get(n).unwrap();
            assert!(!p.source.is_empty());
            let q = p.instantiate(&BTreeMap::new(), today).unwrap();
            q.hash().unwrap();
        }
    }

    /// The code tokens of a text: maximal runs of `[A-Za-z0-9.-]`, kept if all digits or
    /// LOINC-shaped (`NNNN-N`).
    fn codes_named_in(text: &str) -> Vec<String> {
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
            .map(|t| t.trim_matches(|c| c == '.' || c == '-'))
            .filter(|t| {
                let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                digits(t)
                    || t.split_once('-')
                        .is_some_and(|(a, b)| digits(a) && b.len() == 1 && digits(b))
            })
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn every_code_the_text_names_is_listed_or_excluded() {
        use crate::codes::{code_to_field, CodeRole, CodeSystem};
        let mut failures = Vec::new();
        for n in names() {
            let p = get(n).unwrap();
            // Every token the lists hold, by system.
            let mut listed: Vec<String> = p.valuesets.values().flatten().cloned().collect();
            fn walk(v: &Value, out: &mut Vec<String>) {
                match v {
                    Value::String(s) if s.contains('|') => out.push(s.clone()),
                    Value::Array(xs) => xs.iter().for_each(|x| walk(x, out)),
                    Value::Object(m) => m.values().for_each(|x| walk(x, out)),
                    _ => {}
                }
            }
            walk(&p.query, &mut listed);
            let key = |t: &str| {
                let (s, c) = t.split_once('|').unwrap();
                (
                    CodeSystem::lookup(s),
                    code_to_field(CodeRole::Concept, s, c),
                )
            };
            let listed_keys: Vec<_> = listed.iter().map(|t| key(t)).collect();
            let excluded_keys: Vec<_> = p.excluded.iter().map(|e| key(&e.code)).collect();
            for e in &p.excluded {
                assert!(!e.reason.trim().is_empty(), "{n}: {} has no reason", e.code);
                assert!(
                    !listed_keys.contains(&key(&e.code)),
                    "{n}: {} is listed AND excluded",
                    e.code
                );
            }
            let systems: Vec<CodeSystem> = listed_keys.iter().filter_map(|k| k.0).collect();
            let text = format!("{} {}", p.description, p.source);
            for code in codes_named_in(&text) {
                // A number of the shape of a code of a system the predicate uses.
                let Some(system) = systems.iter().copied().find(|s| match s {
                    CodeSystem::Snomed => code.len() >= 6 && !code.contains('-'),
                    CodeSystem::Loinc => code.contains('-'),
                    CodeSystem::Cvx => code.len() <= 3 && !code.contains('-'),
                    _ => false,
                }) else {
                    continue;
                };
                let k = (
                    Some(system),
                    code_to_field(CodeRole::Concept, system.uri(), &code),
                );
                if !listed_keys.contains(&k) && !excluded_keys.contains(&k) {
                    failures.push(format!(
                        "{n}: the text names {} {code}, which is neither listed nor excluded",
                        system.name()
                    ));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn codes_in_text_are_found() {
        assert_eq!(
            codes_named_in("40055000 chronic sinusitis, LOINC 4548-4; covid-19: 207, 08."),
            ["40055000", "4548-4", "207", "08"]
        );
    }

    #[test]
    fn params_change_the_question() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let p = get("age-at-least").unwrap();
        let a = p
            .instantiate(&parse_params(&["years=18".into()]).unwrap(), today)
            .unwrap();
        let b = p
            .instantiate(&parse_params(&["years=21".into()]).unwrap(), today)
            .unwrap();
        assert_ne!(a.hash().unwrap(), b.hash().unwrap());
        let v = get("vaccinated-against").unwrap();
        let flu = v.instantiate(&BTreeMap::new(), today).unwrap();
        let covid = v
            .instantiate(&parse_params(&["disease=covid-19".into()]).unwrap(), today)
            .unwrap();
        assert_ne!(flu.hash().unwrap(), covid.hash().unwrap());
        assert!(v
            .instantiate(&parse_params(&["disease=plague".into()]).unwrap(), today)
            .is_err());
        assert!(p
            .instantiate(&parse_params(&["yaers=3".into()]).unwrap(), today)
            .unwrap_err()
            .to_string()
            .contains("no parameter"));
        assert!(get("nope").is_err());
    }
}
