//! Running the `zkmed` binary in tests: one shared set of helpers for the CLI test crates
//! (`cli.rs`, `onchain_own_keys.rs`).
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs `zkmed --keys KEYS ARGS...`.
pub fn zkmed(keys: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkmed"))
        .arg("--keys")
        .arg(keys)
        .args(args)
        .output()
        .expect("run zkmed")
}

/// The stdout of a successful run (panics with its output otherwise).
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "zkmed failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// stderr + stdout of a failed run (panics if it succeeded or panicked).
pub fn err(o: &Output) -> String {
    assert!(
        !o.status.success(),
        "expected failure, got: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    // Text on stderr, or (with --json) the error object on stdout.
    let e = String::from_utf8(o.stderr.clone()).unwrap()
        + &String::from_utf8(o.stdout.clone()).unwrap();
    assert!(!e.contains("panicked"), "panic: {e}");
    e
}

/// Parses a run's output as JSON.
pub fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}
