//! Request bodies: read into a buffer that is zeroed when dropped, size-limited, parsed into
//! the prover's and verifier's types with errors that name the field at fault.
//!
//! The secrets a proving request carries (identity secret and nullifier key, opening or
//! bundle, salt seed, the anchored state's `rho`) live in: the body buffer ([`Zeroizing`]),
//! the parsed [`Opening`], [`IdentitySecret`] and [`AnchoredState`] (all zeroize on drop)
//! and short-lived `Zeroizing` strings. None of them implements a
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
use zkmed_state::AnchoredState;
use zkmed_verifier::{CallerRoots, Window};

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
    /// The patient's identity secret `s` (decimal or 0x-hex field element; the identity
    /// file's `secret`).
    #[schema(value_type = String)]
    pub identity_secret: Zeroizing<String>,
    /// The patient's nullifier key `nk` (the identity file's `nullifier_key`): the identity
    /// commitment is `H(s, nk)`.
    #[schema(value_type = String)]
    pub nullifier_key: Zeroizing<String>,
    /// The patient's anchored state (the proof-of-anchoring file: the note's blinding `rho`
    /// and the identity, note, issuers and spent-set paths). Secret.
    #[serde(borrow)]
    #[schema(value_type = Object)]
    pub state: &'a RawValue,
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
    /// The verifier's request value: a field element, or `text:...`. The attestation's
    /// public challenge is `H(scope, request)`.
    pub request: String,
    /// The verifier's scope (default `text:default`): the nullifier is `H(nk, scope)`.
    #[serde(default)]
    pub scope: Option<String>,
}

/// A parsed proving request. Owns secrets; zeroized on drop (its parts are).
pub struct ProveInput {
    pub opening: Opening,
    pub identity: IdentitySecret,
    pub state: AnchoredState,
    pub query: Query,
    pub request: Fr,
    pub scope: Fr,
}

impl ProveInput {
    /// Parses and checks a proving request: JSON shape, the identity secret, the records
    /// (opening, or bundle + salt seed), the question, challenge and scope. Everything
    /// that can be wrong with a request is found here, before it takes a queue slot.
    pub fn parse(body: &[u8]) -> Result<ProveInput, InputError> {
        let b: ProveBody = serde_json::from_slice(body).map_err(json_error)?;
        // Never echo a secret, not even a malformed one.
        let secret = |field: &'static str, v: &str| {
            parse_fr(v.trim()).map_err(|e| {
                let reason = match e {
                    zkmed_core::CoreError::InvalidField { reason, .. } => reason,
                    other => other.to_string(),
                };
                InputError::field(field, reason)
            })
        };
        let identity = IdentitySecret::from_parts(
            secret("identity_secret", &b.identity_secret)?,
            secret("nullifier_key", &b.nullifier_key)?,
        );
        // The state holds a secret (rho): the error says where and what kind, never a value.
        let state: AnchoredState = serde_json::from_str(b.state.get()).map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Data => {
                    "a missing or unknown field, or a malformed value"
                }
                _ => "malformed JSON",
            };
            InputError::field(
                "state",
                format!(
                    "not an anchored-state file ({what} at line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        })?;
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
                "with `nullifier_key`, does not match the opening's identity commitment",
            ));
        }
        let query = resolve_query(&b.predicate, &b.params, &b.query)?;
        query.compile().map_err(|e| InputError::field("query", e))?;
        let request =
            parse_field("request", &b.request).map_err(|e| InputError::field("request", e))?;
        let scope = parse_field("scope", b.scope.as_deref().unwrap_or("text:default"))
            .map_err(|e| InputError::field("scope", e))?;
        Ok(ProveInput {
            opening,
            identity,
            state,
            query,
            request,
            scope,
        })
    }
}

/// A JSON error that names the problem and its position but never quotes the offending
/// value (serde's "invalid type: string \"...\"" would echo a secret sent in the wrong place).
fn json_error(e: serde_json::Error) -> InputError {
    InputError::Json(redact(&e))
}

fn redact(e: &serde_json::Error) -> String {
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
    redacted
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
    /// The request value this verifier gave the patient (a field element or `text:...`).
    #[serde(default)]
    pub request: Option<String>,
    /// This verifier's scope (default `text:default`); the expected challenge is
    /// `H(scope, request)`.
    #[serde(default)]
    pub scope: Option<String>,
    /// Roots the caller vouches for (read from its own node), all treated as current.
    /// Omit them to have the server check the roots on chain (when `[chain]` is configured).
    #[serde(default)]
    pub trusted_roots: Option<TrustedRoots>,
    /// With the chain: accept a root superseded at most this many seconds ago (default
    /// `chain.window_s`, 3,600; `0` = current roots only).
    #[serde(default)]
    pub window_s: Option<u64>,
    /// With the chain: accept only the current roots (same as `window_s: 0`).
    #[serde(default)]
    pub current_only: bool,
}

/// Roots a caller vouches for (decimal or 0x-hex field elements).
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TrustedRoots {
    #[serde(default)]
    pub identity: Vec<String>,
    #[serde(default)]
    pub state: Vec<String>,
}

/// Where a bound check reads its roots.
pub enum Roots {
    /// The caller's roots.
    Caller(CallerRoots),
    /// The server's chain, with this window (`None`: the server's default).
    Chain(Option<Window>),
}

/// A bound check: the question, the expected challenge `H(scope, request)`, the roots.
pub struct Binding {
    pub query: Query,
    pub challenge: Fr,
    pub roots: Roots,
}

/// A parsed verification request.
pub struct VerifyInput {
    pub attestation: Attestation,
    /// `Some` for a full check.
    pub binding: Option<Binding>,
}

/// The window a verify request asks for.
fn window_of(window_s: Option<u64>, current_only: bool) -> Result<Option<Window>, InputError> {
    match (window_s, current_only) {
        (Some(s), true) if s != 0 => Err(InputError::Shape(
            "`current_only` and a non-zero `window_s` contradict each other".into(),
        )),
        (_, true) => Ok(Some(Window::CurrentOnly)),
        (Some(s), false) => Ok(Some(Window::from_seconds(s))),
        (None, false) => Ok(None),
    }
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
        let window = window_of(b.window_s, b.current_only)?;
        let binding = match (has_question, &b.request, &b.trusted_roots) {
            (false, None, None) if b.scope.is_none() && window.is_none() => None,
            (true, Some(request), roots) => {
                let request = parse_field("request", request)
                    .map_err(|e| InputError::field("request", e))?;
                let scope = parse_field("scope", b.scope.as_deref().unwrap_or("text:default"))
                    .map_err(|e| InputError::field("scope", e))?;
                let roots = match roots {
                    Some(t) => {
                        if window.is_some() {
                            return Err(InputError::Shape(
                                "`window_s`/`current_only` apply to the chain's roots, not to `trusted_roots` (which are all current)".into(),
                            ));
                        }
                        let list = |field: &'static str, v: &[String]| {
                            v.iter()
                                .map(|x| parse_fr(x.trim()).map_err(|e| InputError::field(field, e)))
                                .collect::<Result<Vec<_>, _>>()
                        };
                        Roots::Caller(CallerRoots {
                            identity_roots: list("trusted_roots.identity", &t.identity)?,
                            state_roots: list("trusted_roots.state", &t.state)?,
                        })
                    }
                    None => Roots::Chain(window),
                };
                Some(Binding {
                    query: resolve_query(&b.predicate, &b.params, &b.query)?,
                    challenge: zkmed_state::note::challenge(scope, request),
                    roots,
                })
            }
            _ => {
                return Err(InputError::Shape(
                    "a bound check needs `predicate`/`query` and `request` (and `scope`; and `trusted_roots`, unless the server reads the roots from chain); give them, or none of them for a proof-only check".into(),
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
        let m = e(r#"{"identity_secret": 424242424242, "request": "1"}"#);
        assert!(m.starts_with("invalid type: integer, expected"), "{m}");
        assert!(!m.contains("424242"), "{m}");
        let m = e(r#"{"identity_secret": "1", "request": ["secret-ish"]}"#);
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
