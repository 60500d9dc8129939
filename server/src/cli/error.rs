//! How the CLI reports errors: a stable code per kind of error, the message without
//! repeats, on stderr as text or — with `--json` — as one JSON object on stdout:
//! `{"error": {"code": "...", "message": "..."}}`. The exit status is non-zero.

use serde_json::json;
use std::fmt;

/// Every code `zkmed --json` can answer with, and when (the README lists the same table; a
/// test checks it lists every code).
#[allow(dead_code)] // the documented table; the tests check the README against it
pub const CODES: &[(&str, &str)] = &[
    ("usage", "the command line is wrong: unknown or missing option, conflicting options"),
    ("invalid_input", "a file or argument is malformed: bundle, opening, identity, query, field element, attestation, address"),
    ("not_found", "a file or directory named on the command line does not exist"),
    ("io", "another file-system error (permissions, disk full, ...)"),
    ("already_exists", "the output would overwrite an identity, an opening or keys: pass --force to replace it"),
    ("keys", "the key directory is missing, incomplete, or does not match its manifest (run `zkmed setup`)"),
    ("capacity_exceeded", "more records of the queried kind than the largest circuit holds: no answer rather than a wrong one"),
    ("indeterminate", "the records do not decide the answer (e.g. a censored value): no answer rather than a guess"),
    ("prove_failed", "proving failed for another reason"),
    ("verification_failed", "the attestation was checked and rejected (the message names the check)"),
    ("no_root_source", "`zkmed verify` has nothing to check the attestation's roots against: give a chain (--rpc-url, or --chain-dir with a deployment)"),
    ("not_deployed", "no deployment file in the chain directory (run `zkmed chain deploy`)"),
    ("chain_unavailable", "the chain node did not answer within its timeouts and retries"),
    ("chain_rejected", "the chain refused: a contract call reverted (the message has the reason)"),
    ("chain_error", "another chain error (the node answered with an error, a transaction failed)"),
    ("config", "the service's configuration is invalid, or the service could not start"),
    ("internal", "anything else (a bug: please report it)"),
];

/// An error with an explicit code (and, optionally, structured details for `--json`).
#[derive(Debug)]
pub struct Coded {
    pub code: &'static str,
    pub message: String,
    pub details: Option<serde_json::Value>,
}

impl fmt::Display for Coded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Coded {}

/// An error with `code` and `message`.
pub fn coded(code: &'static str, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Coded {
        code,
        message: message.into(),
        details: None,
    })
}

/// The code of an error: an explicit [`Coded`] anywhere in the chain wins; otherwise the
/// first error in the chain (outermost first) of a known type decides.
pub fn code_of(e: &anyhow::Error) -> &'static str {
    if let Some(c) = e.chain().find_map(|x| x.downcast_ref::<Coded>()) {
        return c.code;
    }
    e.chain().find_map(classify).unwrap_or("internal")
}

fn classify(e: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    use zkmed_chain::ChainError;
    use zkmed_verifier::{RootError, VerifyError};
    if let Some(v) = e.downcast_ref::<VerifyError>() {
        return Some(match v {
            VerifyError::Root(RootError::Unavailable(_)) => "chain_unavailable",
            VerifyError::Core(_) => "invalid_input",
            VerifyError::InvalidKey { .. } | VerifyError::DuplicateKey(_) => "keys",
            _ => "verification_failed",
        });
    }
    if let Some(p) = e.downcast_ref::<zkmed_prover::ProveError>() {
        use zkmed_prover::ProveError as P;
        if let P::Core(c) = p {
            return classify(c);
        }
        return Some(match p {
            P::CapacityExceeded { .. } => "capacity_exceeded",
            P::Indeterminate { .. } => "indeterminate",
            P::MissingKey(_) | P::BadKey { .. } => "keys",
            P::Records(_) | P::IdentityMismatch | P::Identity { .. } | P::State(_) => {
                "invalid_input"
            }
            P::Io { source, .. } => io_code(source),
            _ => "prove_failed",
        });
    }
    if let Some(c) = e.downcast_ref::<ChainError>() {
        return Some(match c {
            ChainError::Unreachable(_) => "chain_unavailable",
            ChainError::Call { .. } => "chain_rejected",
            ChainError::Invalid(_) => "invalid_input",
            _ => "chain_error",
        });
    }
    if let Some(c) = e.downcast_ref::<zkmed_core::CoreError>() {
        return Some(match c {
            zkmed_core::CoreError::Manifest(_) => "keys",
            zkmed_core::CoreError::Io { source, .. } => io_code(source),
            _ => "invalid_input",
        });
    }
    if e.downcast_ref::<zkmed_records::RecordsError>().is_some() {
        return Some("invalid_input");
    }
    if e.downcast_ref::<zkmed_server::config::ConfigError>()
        .is_some()
        || e.downcast_ref::<zkmed_server::StartError>().is_some()
    {
        return Some("config");
    }
    if let Some(io) = e.downcast_ref::<std::io::Error>() {
        return Some(io_code(io));
    }
    None
}

fn io_code(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::NotFound => "not_found",
        std::io::ErrorKind::AlreadyExists => "already_exists",
        _ => "io",
    }
}

/// The error's messages joined with ": ", skipping any message already said by the ones
/// before it — many errors quote their cause and also return it as their `source()`, which
/// would print it twice ("X: X").
pub fn message_of(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for m in e.chain().map(|x| x.to_string()) {
        if m.is_empty() || out.contains(&m) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&m);
    }
    out
}

/// Prints the error (text on stderr, or the JSON object on stdout) and exits non-zero.
pub fn exit_with(e: &anyhow::Error, json: bool) -> ! {
    let message = message_of(e);
    if json {
        let mut err = json!({"code": code_of(e), "message": message});
        if let Some(d) = e
            .chain()
            .find_map(|x| x.downcast_ref::<Coded>())
            .and_then(|c| c.details.clone())
        {
            err["details"] = d;
        }
        super::emit(&json!({ "error": err }).to_string());
    } else {
        eprintln!("error: {message}");
    }
    std::process::exit(1)
}

/// The key directory could not be used: code `keys`, with what to do.
pub fn keys_error(dir: &std::path::Path, e: impl fmt::Display) -> anyhow::Error {
    coded(
        "keys",
        format!(
            "key directory {}: {e} (run `zkmed setup --keys {0}`)",
            dir.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer: {0}")]
    struct Quoting(#[source] std::io::Error);

    #[test]
    fn nested_errors_never_repeat_a_message() {
        let inner = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::new(Quoting(inner)).context("reading bundle b.json");
        // anyhow's own `{:#}` says "no such file" twice.
        assert_eq!(
            format!("{e:#}"),
            "reading bundle b.json: outer: no such file: no such file"
        );
        assert_eq!(message_of(&e), "reading bundle b.json: outer: no such file");
        assert_eq!(code_of(&e), "not_found");
    }

    #[test]
    fn codes_are_unique_and_explicit_codes_win() {
        let mut names: Vec<_> = CODES.iter().map(|(c, _)| *c).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), CODES.len());
        let e = coded("already_exists", "x exists").context("writing");
        assert_eq!(code_of(&e), "already_exists");
        assert!(CODES.iter().any(|(c, _)| *c == code_of(&e)));
        assert_eq!(code_of(&anyhow::anyhow!("plain")), "internal");
    }

    #[test]
    fn the_readme_lists_every_code() {
        let readme = include_str!("../../../README.md");
        for (code, _) in CODES {
            assert!(
                readme.contains(&format!("| `{code}` |")),
                "README.md does not list the error code {code}"
            );
        }
    }
}
