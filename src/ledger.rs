//! The claims ledger: reads `proofs/` and the test sources, checks that they agree,
//! and prints the list of claims for the book.
//!
//! The format of a proof file and of a claim test's marker is described in
//! `proofs/README.md`. This module reads only the project's own tree.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::Path;

/// The fields every proof file has, in order, as their bold labels.
pub const FIELDS: [&str; 7] = [
    "**Statement.**",
    "**Assumptions.**",
    "**Status.**",
    "**Sources.**",
    "**Proof.**",
    "**Tests.**",
    "**Breaks.**",
];

/// Whether a claim holds or was refuted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The claim is true under its assumptions.
    Holds,
    /// The claim, as printed in its source, is false; the proof gives a
    /// counterexample and a corrected statement.
    Refuted,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Holds => "holds",
            Status::Refuted => "refuted",
        })
    }
}

/// A test named by a proof: `tests/<file>.rs::<name>`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TestRef {
    /// The file, relative to the project root, e.g. `tests/adam.rs`.
    pub file: String,
    /// The test function's name.
    pub name: String,
}

impl fmt::Display for TestRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}::{}", self.file, self.name)
    }
}

/// One parsed proof file.
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    /// The claim ID (the file's stem).
    pub id: String,
    /// The statement, as written after its label.
    pub statement: String,
    /// Holds or refuted.
    pub status: Status,
    /// The sources, as written after their label.
    pub sources: String,
    /// The tests that check the claim.
    pub tests: Vec<TestRef>,
}

/// The text of the field that starts with `label`, up to the next field label.
fn field<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    let start = text
        .lines()
        .scan(0usize, |offset, line| {
            let here = *offset;
            *offset += line.len() + 1;
            Some((here, line))
        })
        .find(|(_, line)| line.starts_with(label))
        .map(|(here, _)| here + label.len())?;
    let rest = &text[start..];
    let end = rest
        .lines()
        .scan(0usize, |offset, line| {
            let here = *offset;
            *offset += line.len() + 1;
            Some((here, line))
        })
        .skip(1)
        .find(|(_, line)| line.starts_with("**") && line.contains(".**"))
        .map_or(rest.len(), |(here, _)| here);
    Some(rest[..end].trim())
}

/// Parses a proof file's text; `id` is the file's stem.
pub fn parse_proof(id: &str, text: &str) -> Result<Claim, String> {
    let heading = text.lines().next().unwrap_or("");
    if heading.trim() != format!("### {id}") {
        return Err(format!(
            "proofs/{id}.md: the first line must be `### {id}`, found {heading:?}"
        ));
    }
    let mut fields = BTreeMap::new();
    for label in FIELDS {
        let body = if label == "**Proof.**" {
            field(text, label).or_else(|| field(text, "**Counterexample.**"))
        } else {
            field(text, label)
        };
        match body {
            Some(body) if !body.is_empty() => {
                fields.insert(label, body);
            }
            _ => return Err(format!("proofs/{id}.md: missing or empty field {label}")),
        }
    }
    let status = match fields["**Status.**"].split_whitespace().next() {
        Some(word) if word.trim_end_matches('.') == "holds" => Status::Holds,
        Some(word) if word.trim_end_matches('.') == "refuted" => {
            if field(text, "**Corrected statement.**").is_none_or(str::is_empty) {
                return Err(format!(
                    "proofs/{id}.md: a refuted claim needs **Corrected statement.**"
                ));
            }
            Status::Refuted
        }
        _ => {
            return Err(format!(
                "proofs/{id}.md: **Status.** must start with `holds` or `refuted`"
            ));
        }
    };
    let mut tests = Vec::new();
    for line in fields["**Tests.**"].lines() {
        let line = line.trim().trim_start_matches(['-', '*']).trim();
        let line = line.trim_matches('`');
        if line.is_empty() {
            continue;
        }
        let Some((file, name)) = line.split_once("::") else {
            return Err(format!(
                "proofs/{id}.md: a test must be written tests/<file>.rs::<name>, found {line:?}"
            ));
        };
        if !file.starts_with("tests/") || !file.ends_with(".rs") {
            return Err(format!(
                "proofs/{id}.md: a test must be in tests/<file>.rs, found {file:?}"
            ));
        }
        tests.push(TestRef {
            file: file.to_string(),
            name: name.trim_matches('`').to_string(),
        });
    }
    if tests.is_empty() {
        return Err(format!("proofs/{id}.md: **Tests.** names no test"));
    }
    Ok(Claim {
        id: id.to_string(),
        statement: fields["**Statement.**"].to_string(),
        status,
        sources: fields["**Sources.**"].to_string(),
        tests,
    })
}

/// Reads and parses every `proofs/<ID>.md` under `root` (the README is not a claim).
pub fn read_proofs(root: &Path) -> Result<Vec<Claim>, Vec<String>> {
    let dir = root.join("proofs");
    let mut claims = Vec::new();
    let mut errors = Vec::new();
    let entries = fs::read_dir(&dir).map_err(|e| vec![format!("{}: {e}", dir.display())])?;
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if path.extension().and_then(|s| s.to_str()) != Some("md") || stem == "README" {
            continue;
        }
        match fs::read_to_string(&path) {
            Ok(text) => match parse_proof(stem, &text) {
                Ok(claim) => claims.push(claim),
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(format!("{}: {e}", path.display())),
        }
    }
    if errors.is_empty() {
        Ok(claims)
    } else {
        Err(errors)
    }
}

/// Every marked claim test under `root/tests`: `(claim ID, test)`.
pub fn claim_markers(root: &Path) -> Result<Vec<(String, TestRef)>, String> {
    let dir = root.join("tests");
    let mut found = Vec::new();
    let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.extension().and_then(|s| s.to_str()) != Some("rs") {
            continue;
        }
        let file = format!(
            "tests/{}",
            path.file_name()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
        );
        let text = fs::read_to_string(&path).map_err(|e| format!("{file}: {e}"))?;
        let lines: Vec<&str> = text.lines().collect();
        for (k, line) in lines.iter().enumerate() {
            let Some(id) = line.trim().strip_prefix("// claim:") else {
                continue;
            };
            let name = lines[k + 1..]
                .iter()
                .take(8)
                .find_map(|l| fn_name(l))
                .ok_or_else(|| {
                    format!("{file}:{}: `// claim:` marker not followed by a fn", k + 1)
                })?;
            found.push((
                id.trim().to_string(),
                TestRef {
                    file: file.clone(),
                    name,
                },
            ));
        }
    }
    Ok(found)
}

/// The name of the function a line declares, if it declares one.
fn fn_name(line: &str) -> Option<String> {
    let at = line.find("fn ")?;
    let before = line[..at].trim();
    if !before.is_empty() && !before.ends_with("pub") && !before.ends_with("async") {
        return None;
    }
    let rest = &line[at + 3..];
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Whether `tests/<file>.rs` declares a function named `name`.
pub fn test_exists(root: &Path, test: &TestRef) -> bool {
    fs::read_to_string(root.join(&test.file))
        .map(|text| {
            text.lines()
                .any(|l| fn_name(l).as_deref() == Some(&test.name))
        })
        .unwrap_or(false)
}

/// Every disagreement between `proofs/` and the tests; empty when they agree.
pub fn check(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let claims = match read_proofs(root) {
        Ok(claims) => claims,
        Err(errors) => return errors,
    };
    let markers = match claim_markers(root) {
        Ok(markers) => markers,
        Err(e) => return vec![e],
    };
    for claim in &claims {
        for test in &claim.tests {
            if !test_exists(root, test) {
                problems.push(format!(
                    "proofs/{}.md names {test}, which does not exist",
                    claim.id
                ));
            } else if !markers.iter().any(|(id, t)| id == &claim.id && t == test) {
                problems.push(format!(
                    "proofs/{}.md names {test}, which has no `// claim: {}` marker",
                    claim.id, claim.id
                ));
            }
        }
    }
    for (id, test) in &markers {
        match claims.iter().find(|c| &c.id == id) {
            None => problems.push(format!(
                "{test} is marked `// claim: {id}`, which has no proof file"
            )),
            Some(claim) if !claim.tests.contains(test) => problems.push(format!(
                "{test} is marked `// claim: {id}`, but proofs/{id}.md does not name it"
            )),
            Some(_) => {}
        }
    }
    problems
}

/// The chapter (`book/src/<name>.md`) that includes each proof, by claim ID.
pub fn chapters(root: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let Ok(entries) = fs::read_dir(root.join("book/src")) else {
        return found;
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let Some(name) = path.file_name().and_then(|s| s.to_str()) else {
            continue;
        };
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        for line in text.lines() {
            if let Some(rest) = line.trim().strip_prefix("{{#include ../../proofs/")
                && let Some(id) = rest.strip_suffix(".md}}")
            {
                found.insert(id.to_string(), name.to_string());
            }
        }
    }
    found
}

/// The ledger as a Markdown table: ID (linked to its proof in the chapter that
/// includes it), status, statement, tests.
pub fn markdown_table(claims: &[Claim], chapters: &BTreeMap<String, String>) -> String {
    let mut out = String::from("| claim | status | statement | tests |\n|---|---|---|---|\n");
    for c in claims {
        let statement = c.statement.split_whitespace().collect::<Vec<_>>().join(" ");
        let statement = statement.replace('|', "\\|");
        let tests: Vec<String> = c.tests.iter().map(|t| format!("`{t}`")).collect();
        let id = match chapters.get(&c.id) {
            Some(chapter) => format!("[`{id}`]({chapter}#{id})", id = c.id),
            None => format!("`{}`", c.id),
        };
        out.push_str(&format!(
            "| {id} | {status} | {statement} | {tests} |\n",
            status = c.status,
            tests = tests.join("<br>")
        ));
    }
    out
}

/// The book's ledger page, `book/src/ledger.md`, generated from `proofs/`.
pub fn page(root: &Path) -> Result<String, Vec<String>> {
    let claims = read_proofs(root)?;
    let holds = claims.iter().filter(|c| c.status == Status::Holds).count();
    Ok(format!(
        "# Claims ledger\n\n\
         Every claim of the book, with its status and the tests that check it. {n} claims: \
         {holds} hold, {refuted} are refuted (printed somewhere, and false). This page is \
         generated from `proofs/` by `DESCENT_BLESS=1 cargo test --test ledger`; a test fails when it is out \
         of date.\n\n{table}",
        n = claims.len(),
        refuted = claims.len() - holds,
        table = markdown_table(&claims, &chapters(root)),
    ))
}
