//! For tests: a real local node.

use alloy::node_bindings::{Anvil, AnvilInstance};
use std::path::PathBuf;

/// The anvil binary installed by `npm ci --prefix tools/solc` (pinned there; `.ci/run`
/// installs it).
pub fn anvil_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tools/solc/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
}

/// Installs the pinned tools (`npm ci --prefix tools/solc`: solc-js, OpenZeppelin, anvil)
/// if anvil is missing, once per process, so `cargo test --workspace` needs nothing but
/// Node.js on a fresh machine.
///
/// # Panics
/// If npm is missing or the install fails: tests that need a node fail, never skip.
pub fn ensure_anvil() -> PathBuf {
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let bin = anvil_path();
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if !bin.exists() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/solc");
        eprintln!(
            "installing the pinned anvil: npm ci --prefix {}",
            dir.display()
        );
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error", "--prefix"])
            .arg(&dir)
            .status()
            .unwrap_or_else(|e| {
                panic!("anvil is missing and npm could not run ({e}): install Node.js, then `npm ci --prefix tools/solc`")
            });
        assert!(
            status.success(),
            "`npm ci --prefix tools/solc` failed: {status}"
        );
        assert!(
            bin.exists(),
            "npm ci did not install anvil at {}",
            bin.display()
        );
    }
    bin
}

/// Starts anvil on a free loopback port; it stops when the instance is dropped.
///
/// # Panics
/// If it cannot be installed (see [`ensure_anvil`]) or does not start.
pub fn anvil() -> AnvilInstance {
    Anvil::at(ensure_anvil()).spawn()
}

/// The private key (hex) of the node's account `i`.
pub fn key(node: &AnvilInstance, i: usize) -> String {
    hex::encode(node.keys()[i].to_bytes())
}
