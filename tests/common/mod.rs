//! Helpers shared by the tests that read the committed reference fixtures.

#![allow(dead_code)] // each test binary uses its own subset

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The project's root folder.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/fixtures/<library>`.
pub fn fixture_dir(library: &str) -> PathBuf {
    root().join("tests/fixtures").join(library)
}

/// The version of `package` pinned in `scripts/reference/requirements.txt`.
pub fn pinned(package: &str) -> String {
    let path = root().join("scripts/reference/requirements.txt");
    let text = fs::read_to_string(&path).expect("scripts/reference/requirements.txt is readable");
    let prefix = format!("{package}==");
    text.lines()
        .find_map(|line| line.trim().strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("requirements.txt pins {package} with {package}=="))
        .trim()
        .to_string()
}

/// A JSON array of numbers.
pub fn numbers(v: &Value, what: &str) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what}: expected an array"))
        .iter()
        .map(|x| {
            x.as_f64()
                .unwrap_or_else(|| panic!("{what}: expected numbers"))
        })
        .collect()
}

/// A JSON array of arrays of numbers.
pub fn rows(v: &Value, what: &str) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what}: expected an array of rows"))
        .iter()
        .map(|r| numbers(r, what))
        .collect()
}

/// Numbers as a JSON array (every entry finite, so that it round-trips).
pub fn to_json(v: &[f64]) -> Value {
    Value::Array(
        v.iter()
            .map(|&x| Value::Number(serde_json::Number::from_f64(x).expect("finite")))
            .collect(),
    )
}
