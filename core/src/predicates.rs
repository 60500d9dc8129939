//! Named predicates, shipped as data files in `predicates/` (value sets with their source),
//! embedded at build time. A predicate is a query template: `{"$param": "name"}` is replaced
//! by a parameter (given or default; `"$today"` as a default means the caller's today), and
//! `{"$valueset": "param"}` by the value set the parameter names.

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
    pub query: Value,
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
