//! Bearer-token authentication. Tokens are configured as SHA-256 hashes; a presented token
//! is hashed and compared in constant time with every configured hash.

use crate::config::{Scope, TokenSettings};
use actix_web::http::header::AUTHORIZATION;
use actix_web::HttpRequest;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's configured name, or `anonymous` when authentication is off.
    pub name: String,
}

/// Why a request was not allowed: 401 (who are you?) or 403 (not for you).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token: send `Authorization: Bearer <token>`")]
    Missing,
    #[error("malformed Authorization header: expected `Bearer <token>`")]
    Malformed,
    #[error("unknown or revoked bearer token")]
    Unknown,
    #[error("token {name:?} is not allowed to {scope} (its scopes: {})", has.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "))]
    Forbidden {
        name: String,
        scope: Scope,
        has: Vec<Scope>,
    },
}

struct Token {
    name: String,
    hash: [u8; 32],
    scopes: Vec<Scope>,
}

/// The configured tokens.
pub struct Authenticator {
    tokens: Vec<Token>,
}

impl Authenticator {
    pub fn new(tokens: &[TokenSettings]) -> Authenticator {
        Authenticator {
            tokens: tokens
                .iter()
                .map(|t| {
                    let mut hash = [0u8; 32];
                    // Validated as 64 hex digits by `Settings::validate`.
                    hex::decode_to_slice(&t.sha256, &mut hash).unwrap_or_default();
                    Token {
                        name: t.name.clone(),
                        hash,
                        scopes: t.scopes.clone(),
                    }
                })
                .collect(),
        }
    }

    /// Authentication is off when no token is configured (loopback-only; see the config).
    pub fn enabled(&self) -> bool {
        !self.tokens.is_empty()
    }

    /// Checks the request's bearer token for `scope`.
    pub fn check(&self, req: &HttpRequest, scope: Scope) -> Result<Caller, AuthError> {
        if !self.enabled() {
            return Ok(Caller {
                name: "anonymous".into(),
            });
        }
        let header = req.headers().get(AUTHORIZATION).ok_or(AuthError::Missing)?;
        let value = header.to_str().map_err(|_| AuthError::Malformed)?;
        let (kind, token) = value.split_once(' ').ok_or(AuthError::Malformed)?;
        if !kind.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(AuthError::Malformed);
        }
        let presented: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
        // Compare against every token (no early exit) so timing says nothing about which.
        let mut found: Option<&Token> = None;
        for t in &self.tokens {
            if bool::from(t.hash.ct_eq(&presented)) {
                found = Some(t);
            }
        }
        let t = found.ok_or(AuthError::Unknown)?;
        if !t.scopes.contains(&scope) {
            return Err(AuthError::Forbidden {
                name: t.name.clone(),
                scope,
                has: t.scopes.clone(),
            });
        }
        Ok(Caller {
            name: t.name.clone(),
        })
    }
}

/// A new random token (256 bits, hex) and its SHA-256 for the configuration.
pub fn new_token() -> (String, String) {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    let token = format!("zkmed_{}", hex::encode(b));
    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    (token, hash)
}

/// SHA-256 (hex) of a token, as the configuration stores it.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
