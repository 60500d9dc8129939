//! Request bodies: read into a buffer that is zeroed when dropped, size-limited, parsed into
//! the prover's and verifier's types with errors that name the field at fault.
//!
//! The secrets a proving request carries (identity secret, opening or bundle, salt seed)
//! live in: the body buffer ([`Zeroizing`]), the parsed [`Opening`] and [`IdentitySecret`]
//! (both zeroize on drop) and short-lived `Zeroizing` strings. None of them implements a
//! `Debug` that prints them, and none is ever logged or written to disk. (The network
//! stack's own receive buffers are outside our control and are freed, not zeroed.)

use actix_web::web;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use zeroize::Zeroizing;
use zkmed_core::attestation::Attestation;
use zkmed_core::field::{hash_to_field, parse_fr, Fr};
use zkmed_core::predicates;
use zkmed_core::query::Query;
use zkmed_prover::IdentitySecret;
use zkmed_records::{import_bundle, Opening};

/// A problem with the request body. Always a client error: 400, or 413 for size.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("request body is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("could not read the request body: {0}")]
    Read(String),
    #[error("the request body did not arrive within {seconds} s")]
    Timeout { seconds: u64 },
    #[error("request body is not valid JSON for this route: {0}")]
    Json(String),
    #[error("`{field}`: {reason}")]
    Field { field: &'static str, reason: String },
    #[error("{0}")]
    Shape(String),
}

impl InputError {
    fn field(field: &'static str, reason: impl std::fmt::Display) -> Self {
        InputError::Field {
            field,
            reason: reason.to_string(),
        }
    }
}

/// Reads the whole body within `timeout`, refusing more than `limit` bytes (checked
/// against `Content-Length` first, then while streaming).
pub async fn read_body(
    req: &actix_web::HttpRequest,
    payload: web::Payload,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<Zeroizing<Vec<u8>>, InputError> {
    tokio::time::timeout(timeout, read_body_untimed(req, payload, limit))
        .await
        .map_err(|_| InputError::Timeout {
            seconds: timeout.as_secs(),
        })?
}

async fn read_body_untimed(
    req: &actix_web::HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Zeroizing<Vec<u8>>, InputError> {
    if let Some(len) = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > limit {
            return Err(InputError::TooLarge { limit });
        }
    }
    let mut body = Zeroizing::new(Vec::new());
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| InputError::Read(e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(InputError::TooLarge { limit });
        }
        if body.capacity() < body.len() + chunk.len() {
            // Grow by copying into a fresh zeroizing buffer, so no stale copy of the
            // secret-bearing prefix is left behind by a reallocation.
            let mut bigger = Zeroizing::new(Vec::with_capacity(
                (body.len() + chunk.len()).max(2 * body.capacity()),
            ));
            bigger.extend_from_slice(&body);
            body = bigger;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A field element given as decimal, `0x`-hex, or `text:...` (mapped into the field with
/// SHA-256 under the domain `zkmed/<what>/v1`, exactly like the CLI's `--challenge text:...`).
pub fn parse_field(what: &str, s: &str) -> Result<Fr, String> {
    if let Some(t) = s.strip_prefix("text:") {
        return Ok(hash_to_field(&format!("zkmed/{what}/v1"), t.as_bytes()));
    }
    parse_fr(s).map_err(|e| e.to_string())
}

/// Resolves the question of a request: a named predicate with parameters, or an inline
/// query, exactly one of them.
fn resolve_query(
    predicate: &Option<String>,
    params: &Option<BTreeMap<String, Value>>,
    query: &Option<Box<RawValue>>,
) -> Result<Query, InputError> {
    match (predicate, query) {
            (Some(name), None) => {
                let p = predicates::get(name).map_err(|e| InputError::field("predicate", e))?;
                let params = params.clone().unwrap_or_default();
                p.instantiate_today(&params)
                    .map_err(|e| InputError::field("params", e))
            }
            (None, Some(q)) => {
                if params.is_some() {
                    return Err(InputError::field(
                        "params",
                        "only applies to `predicate`, not to an inline `query`",
                    ));
                }
                Query::from_json(q.get().as_bytes()).map_err(|e| InputError::field("query", e))
            }
            (Some(_), Some(_)) => Err(InputError::Shape(
                "give either `predicate` or `query`, not both".into(),
            )),
            (None, None) => Err(InputError::Shape(
                "missing the question: give `predicate` (a named predicate) or `query` (an inline query)".into(),
            )),
        }
}

/// `POST /v1/attestations` and `POST /v1/jobs`.
///
/// The opening and the bundle are borrowed from the (zeroizing) body buffer, not copied.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProveBody<'a> {
    /// The patient's saved opening (`zkmed commit` output). Give this OR `bundle`.
    #[serde(default, borrow)]
    #[schema(value_type = Option<Object>)]
    pub opening: Option<&'a RawValue>,
    /// A FHIR R4 Bundle; needs `salt_seed` so the commitment is the one that was anchored.
    #[serde(default, borrow)]
    #[schema(value_type = Option<Object>)]
    pub bundle: Option<&'a RawValue>,
    /// 64 hex digits: the seed the opening's salts were drawn from
    /// (`zkmed commit --salt-seed`). Only with `bundle`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub salt_seed: Option<Zeroizing<String>>,
    /// The patient's identity secret (decimal or 0x-hex field element).
    #[schema(value_type = String)]
    pub identity_secret: Zeroizing<String>,
    /// A named predicate (`GET /v1/predicates` lists them), e.g. `has-organ-transplant`.
    #[serde(default)]
    pub predicate: Option<String>,
    /// The predicate's parameters, e.g. `{"years": 21}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub params: Option<BTreeMap<String, Value>>,
    /// An inline query in the JSON query language (version 1). Give `predicate` OR `query`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub query: Option<Box<RawValue>>,
    /// The verifier's challenge: a field element, or `text:...`.
    pub challenge: String,
    /// The verifier's scope for the nullifier (default `text:default`).
    #[serde(default)]
    pub scope: Option<String>,
}

/// A parsed proving request. Owns secrets; zeroized on drop (its parts are).
pub struct ProveInput {
    pub opening: Opening,
    pub identity: IdentitySecret,
    pub query: Query,
    pub challenge: Fr,
    pub scope: Fr,
}

impl ProveInput {
    /// Parses and checks a proving request: JSON shape, the identity secret, the records
    /// (opening, or bundle + salt seed), the question, challenge and scope. Everything
    /// that can be wrong with a request is found here, before it takes a queue slot.
    pub fn parse(body: &[u8]) -> Result<ProveInput, InputError> {
        let b: ProveBody = serde_json::from_slice(body).map_err(json_error)?;
        let identity =
            IdentitySecret::from_fr(parse_fr(b.identity_secret.trim()).map_err(|e| {
                // Never echo the secret, not even a malformed one.
                let reason = match e {
                    zkmed_core::CoreError::InvalidField { reason, .. } => reason,
                    other => other.to_string(),
                };
                InputError::field("identity_secret", reason)
            })?);
        let opening = match (&b.opening, &b.bundle) {
            (Some(o), None) => {
                if b.salt_seed.is_some() {
                    return Err(InputError::field(
                        "salt_seed",
                        "only applies to `bundle` (an opening carries its salts)",
                    ));
                }
                Opening::from_json(o.get().as_bytes())
                    .map_err(|e| InputError::field("opening", e))?
            }
            (None, Some(bundle)) => {
                let seed = b.salt_seed.as_ref().ok_or_else(|| {
                    InputError::field(
                        "salt_seed",
                        "required with `bundle`: without the seed the salts, and so the commitment, would be new",
                    )
                })?;
                let seed = parse_seed(seed)?;
                let imported = import_bundle(bundle.get().as_bytes())
                    .map_err(|e| InputError::field("bundle", e))?;
                Opening::create_from_seed(imported, identity.commitment(), &seed)
                    .map_err(|e| InputError::field("bundle", e))?
            }
            (Some(_), Some(_)) => {
                return Err(InputError::Shape(
                    "give either `opening` or `bundle`, not both".into(),
                ))
            }
            (None, None) => return Err(InputError::Shape(
                "missing the records: give `opening` (a saved opening) or `bundle` + `salt_seed`"
                    .into(),
            )),
        };
        if opening.identity_commitment != identity.commitment() {
            return Err(InputError::field(
                "identity_secret",
                "does not match the opening's identity commitment",
            ));
        }
        let query = resolve_query(&b.predicate, &b.params, &b.query)?;
        query.compile().map_err(|e| InputError::field("query", e))?;
        let challenge = parse_field("challenge", &b.challenge)
            .map_err(|e| InputError::field("challenge", e))?;
        let scope = parse_field("scope", b.scope.as_deref().unwrap_or("text:default"))
            .map_err(|e| InputError::field("scope", e))?;
        Ok(ProveInput {
            opening,
            identity,
            query,
            challenge,
            scope,
        })
    }
}

/// A JSON error that names the problem and its position but never quotes the offending
/// value (serde's "invalid type: string \"...\"" would echo a secret sent in the wrong place).
fn json_error(e: serde_json::Error) -> InputError {
    let msg = e.to_string();
    let redacted = ["invalid type: ", "invalid value: "]
        .iter()
        .find_map(|prefix| {
            let rest = msg.strip_prefix(prefix)?;
            let expected = rest.find(", expected").map(|i| &rest[i..]).unwrap_or("");
            let what = rest.split([' ', ',']).next().unwrap_or("value");
            Some(format!("{prefix}{what}{expected}"))
        })
        .unwrap_or(msg);
    InputError::Json(redacted)
}

fn parse_seed(s: &str) -> Result<Zeroizing<[u8; 32]>, InputError> {
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(s.trim().trim_start_matches("0x"), &mut seed[..])
        .map_err(|e| InputError::field("salt_seed", format!("must be 64 hex digits: {e}")))?;
    Ok(seed)
}

/// `POST /v1/verify`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// The attestation (JSON form), or the hex of its binary form.
    #[schema(value_type = Object)]
    pub attestation: Box<RawValue>,
    /// The question the verifier asked. With `challenge` and `record_commitment`, the
    /// attestation is checked fully; without, only the proof against its own inputs.
    /// A named predicate (`GET /v1/predicates` lists them), e.g. `has-organ-transplant`.
    #[serde(default)]
    pub predicate: Option<String>,
    /// The predicate's parameters, e.g. `{"years": 21}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub params: Option<BTreeMap<String, Value>>,
    /// An inline query in the JSON query language (version 1). Give `predicate` OR `query`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub query: Option<Box<RawValue>>,
    #[serde(default)]
    pub challenge: Option<String>,
    /// The record commitment the verifier trusts for this identity. Omit it to have the
    /// server read it from chain (when `[chain]` is configured): the identity token, its
    /// anchored root and the anchoring issuer's accreditation.
    #[serde(default)]
    pub record_commitment: Option<String>,
}

/// A parsed verification request.
pub struct VerifyInput {
    pub attestation: Attestation,
    /// `Some` for a full check: question, challenge, and the record commitment (`None`:
    /// read it from chain).
    pub binding: Option<(Query, Fr, Option<Fr>)>,
}

impl VerifyInput {
    pub fn parse(body: &[u8]) -> Result<VerifyInput, InputError> {
        let b: VerifyBody = serde_json::from_slice(body).map_err(json_error)?;
        let raw = b.attestation.get();
        let attestation = if let Ok(hex_str) = serde_json::from_str::<String>(raw) {
            let bytes = hex::decode(hex_str.trim_start_matches("0x"))
                .map_err(|e| InputError::field("attestation", format!("not hex: {e}")))?;
            Attestation::from_bytes(&bytes)
        } else {
            Attestation::from_json(raw.as_bytes())
        }
        .map_err(|e| InputError::field("attestation", e))?;
        let has_question = b.predicate.is_some() || b.query.is_some();
        let binding = match (has_question, &b.challenge, &b.record_commitment) {
            (false, None, None) => None,
            (true, Some(c), rc) => Some((
                resolve_query(&b.predicate, &b.params, &b.query)?,
                parse_field("challenge", c).map_err(|e| InputError::field("challenge", e))?,
                rc.as_deref()
                    .map(parse_fr)
                    .transpose()
                    .map_err(|e| InputError::field("record_commitment", e))?,
            )),
            _ => {
                return Err(InputError::Shape(
                    "a bound check needs `predicate`/`query` and `challenge` (and `record_commitment`, unless the server reads it from chain); give them, or none of them for a proof-only check".into(),
                ))
            }
        };
        Ok(VerifyInput {
            attestation,
            binding,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_never_quote_values() {
        let e = |s: &str| match serde_json::from_str::<ProveBody>(s).map_err(json_error) {
            Err(InputError::Json(m)) => m,
            other => panic!("expected a JSON error, got {:?}", other.err()),
        };
        let m = e(r#"{"identity_secret": 424242424242, "challenge": "1"}"#);
        assert!(m.starts_with("invalid type: integer, expected"), "{m}");
        assert!(!m.contains("424242"), "{m}");
        let m = e(r#"{"identity_secret": "1", "challenge": ["secret-ish"]}"#);
        assert!(!m.contains("secret-ish"), "{m}");
        // Field names are kept: they are what the client needs.
        assert!(e(r#"{"nope": 1}"#).contains("unknown field `nope`"));
        assert!(e("{").contains("EOF"));
    }

    #[test]
    fn text_fields_map_like_the_cli() {
        let a = parse_field("challenge", "text:abc").unwrap();
        assert_eq!(a, hash_to_field("zkmed/challenge/v1", b"abc"));
        assert_ne!(
            a,
            parse_field("scope", "text:abc").unwrap(),
            "domain-separated"
        );
        assert_eq!(parse_field("challenge", "0x10").unwrap(), Fr::from(16u64));
        assert!(parse_field("challenge", "-1").is_err());
    }
}
