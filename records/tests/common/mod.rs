//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The directory of the 24 Synthea bundles.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/synthea"
    ))
}

/// All fixture files, sorted by name.
pub fn fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures directory ../shared/fixtures/synthea")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

/// The fixture whose file name starts with `prefix`.
pub fn fixture(prefix: &str) -> Vec<u8> {
    let p = fixtures()
        .into_iter()
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .unwrap_or_else(|| panic!("no fixture {prefix}*"));
    std::fs::read(p).unwrap()
}

/// A bundle with a Patient and the given extra resources (JSON texts).
pub fn bundle(resources: &[&str]) -> String {
    let mut entries = vec![
        r#"{"resource":{"resourceType":"Patient","id":"p1","birthDate":"1980-05-06","gender":"female"}}"#.to_string(),
    ];
    entries.extend(resources.iter().map(|r| format!(r#"{{"resource":{r}}}"#)));
    format!(
        r#"{{"resourceType":"Bundle","type":"collection","entry":[{}]}}"#,
        entries.join(",")
    )
}
