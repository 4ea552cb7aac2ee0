//! The claims ledger: reads `proofs/` and the test sources, checks that they agree,
//! and prints the list of claims and the appendix of tests for the book.
//!
//! The format of a proof file and of a claim test's marker is described in
//! `proofs/README.md`. Two formats are read: version 1 (every field visible) and
//! version 2 (the rounding analysis, the tests and the breaks folded into a
//! `<details>` block, each test a link to the Tests appendix). This module reads
//! only the project's own tree.
//!
//! A test named by a proof must be a real test: a function with `#[test]` (inside
//! `proptest!` or not) or a quickcheck property, not `#[ignore]`d, whose body (or a
//! helper it calls in the same file or in `tests/common`) names an item of the
//! `descent` crate and asserts something. Its marker `// claim: <ID>` binds to the
//! function directly below it: only attributes, doc comments and other markers may
//! stand between them. A claim test that checks a reference library's fixtures or
//! mathematics alone, and so names nothing of the crate, says why on a line
//! `// claim-external: <reason>` directly above it.

use std::collections::{BTreeMap, BTreeSet};
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

/// The line that opens the folded verification block of a version-2 proof.
pub const FOLD_OPEN: &str = "<details><summary>How this is checked</summary>";

/// The line that closes the folded verification block.
pub const FOLD_CLOSE: &str = "</details>";

/// Whether version-1 proof files (every field visible, tests not linked) are
/// still accepted. True during the move to version 2; set to false in the
/// commit that converts them all (`DESCENT_PROOFS_V2=1 cargo test --test ledger
/// convert_proofs_to_v2` converts; `proofs/README.md` gives the whole command).
pub const V1_ALLOWED: bool = false;

/// The book page that lists every test function, relative to `book/src`.
pub const TESTS_PAGE: &str = "tests.md";

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

/// The layout of a proof file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Every field visible; tests written as plain `tests/<file>.rs::<name>`.
    V1,
    /// Verification folded into `<details>`; tests written as links to the
    /// Tests appendix.
    V2,
}

/// A test named by a proof: `tests/<file>.rs::<name>`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TestRef {
    /// The file, relative to the project root, e.g. `tests/adam.rs`.
    pub file: String,
    /// The test function's name.
    pub name: String,
}

impl TestRef {
    /// The file's stem: `adam` for `tests/adam.rs`.
    pub fn stem(&self) -> &str {
        self.file
            .strip_prefix("tests/")
            .unwrap_or(&self.file)
            .strip_suffix(".rs")
            .unwrap_or(&self.file)
    }

    /// The anchor of the test on the Tests appendix: `test-<file stem>-<name>`.
    pub fn anchor(&self) -> String {
        format!("test-{}-{}", self.stem(), self.name)
    }

    /// The Markdown link to the test on the Tests appendix, as a page of
    /// `book/src` (and so a proof included by one) writes it.
    pub fn link(&self) -> String {
        format!("[`{self}`]({TESTS_PAGE}#{})", self.anchor())
    }
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
    /// The breaks, as written after their label.
    pub breaks: String,
    /// The file's layout.
    pub format: Format,
}

/// Whether a line ends the field before it: a bold label or the fold's tags.
fn ends_field(line: &str) -> bool {
    (line.starts_with("**") && line.contains(".**"))
        || line.starts_with("<details")
        || line.starts_with("</details")
}

/// The text of the field that starts with `label`, up to the next field label
/// (or the fold's opening or closing tag).
fn field<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    let start = line_starts(text)
        .find(|(_, line)| line.starts_with(label))
        .map(|(here, _)| here + label.len())?;
    let rest = &text[start..];
    let end = line_starts(rest)
        .skip(1)
        .find(|(_, line)| ends_field(line))
        .map_or(rest.len(), |(here, _)| here);
    Some(rest[..end].trim())
}

/// The lines of `text` with the byte offset at which each starts.
fn line_starts(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_inclusive('\n').scan(0usize, |offset, line| {
        let here = *offset;
        *offset += line.len();
        Some((here, line.trim_end_matches(['\n', '\r'])))
    })
}

/// The byte offset of the line that starts with `label`, if any.
fn label_offset(text: &str, label: &str) -> Option<usize> {
    line_starts(text)
        .find(|(_, line)| line.starts_with(label))
        .map(|(here, _)| here)
}

/// Checks the fold of a version-2 proof: its tags on lines of their own with
/// blank lines inside them, the proof before it, the tests and breaks inside.
fn check_fold(id: &str, text: &str) -> Result<(), String> {
    let lines: Vec<&str> = text.lines().collect();
    let opens: Vec<usize> = (0..lines.len())
        .filter(|&k| lines[k].contains("<details"))
        .collect();
    let closes: Vec<usize> = (0..lines.len())
        .filter(|&k| lines[k].contains("</details>"))
        .collect();
    let (&[open], &[close]) = (opens.as_slice(), closes.as_slice()) else {
        return Err(format!(
            "proofs/{id}.md: a version-2 proof has exactly one `{FOLD_OPEN}` and one `{FOLD_CLOSE}`"
        ));
    };
    if lines[open].trim_end() != FOLD_OPEN || lines[close].trim_end() != FOLD_CLOSE {
        return Err(format!(
            "proofs/{id}.md: the fold's tags must be the lines `{FOLD_OPEN}` and `{FOLD_CLOSE}`"
        ));
    }
    if close < open
        || lines.get(open + 1).is_none_or(|l| !l.trim().is_empty())
        || lines
            .get(close.wrapping_sub(1))
            .is_none_or(|l| !l.trim().is_empty())
    {
        return Err(format!(
            "proofs/{id}.md: the fold needs a blank line after its `<summary>` line and \
             before `{FOLD_CLOSE}` (else Markdown and math inside do not render)"
        ));
    }
    if lines[close + 1..].iter().any(|l| !l.trim().is_empty()) {
        return Err(format!("proofs/{id}.md: nothing may follow `{FOLD_CLOSE}`"));
    }
    let at = |label: &str| lines.iter().position(|l| l.starts_with(label));
    for label in ["**Tests.**", "**Breaks.**"] {
        if at(label).is_none_or(|k| k < open || k > close) {
            return Err(format!("proofs/{id}.md: {label} must be inside the fold"));
        }
    }
    for label in [
        "**Statement.**",
        "**Assumptions.**",
        "**Status.**",
        "**Sources.**",
        "**Proof.**",
        "**Counterexample.**",
        "**Corrected statement.**",
    ] {
        if at(label).is_some_and(|k| k > open) {
            return Err(format!(
                "proofs/{id}.md: {label} must stay visible, before the fold"
            ));
        }
    }
    Ok(())
}

/// Parses one line of a **Tests.** field: `tests/<file>.rs::<name>` in backticks
/// (version 1) or the same as a link to its anchor on the Tests appendix
/// (version 2).
fn parse_test_line(id: &str, line: &str, format: Format) -> Result<TestRef, String> {
    let item = line.trim().trim_start_matches(['-', '*']).trim();
    let (written, target) = match format {
        Format::V1 => (item.trim_matches('`'), None),
        Format::V2 => {
            let inner = item
                .strip_prefix("[`")
                .and_then(|rest| rest.split_once("`]("))
                .and_then(|(written, rest)| Some((written, rest.strip_suffix(')')?)));
            let Some((written, target)) = inner else {
                return Err(format!(
                    "proofs/{id}.md: in a version-2 proof each test is a link \
                     [`tests/<file>.rs::<name>`]({TESTS_PAGE}#test-<file>-<name>), found {item:?}"
                ));
            };
            (written, Some(target))
        }
    };
    let Some((file, name)) = written.split_once("::") else {
        return Err(format!(
            "proofs/{id}.md: a test must be written tests/<file>.rs::<name>, found {item:?}"
        ));
    };
    if !file.starts_with("tests/") || !file.ends_with(".rs") {
        return Err(format!(
            "proofs/{id}.md: a test must be in tests/<file>.rs, found {file:?}"
        ));
    }
    let test = TestRef {
        file: file.to_string(),
        name: name.to_string(),
    };
    if let Some(target) = target {
        let expected = format!("{TESTS_PAGE}#{}", test.anchor());
        if target != expected {
            return Err(format!(
                "proofs/{id}.md: the link to {test} must point to {expected}, found {target:?}"
            ));
        }
    }
    Ok(test)
}

/// Whether a **Breaks.** field lists a break: more than a placeholder ("none",
/// "TODO", ...), at least a sentence (six words) saying what was changed and what
/// it made fail. The ledger cannot judge the break; a reader can.
fn lists_a_break(breaks: &str) -> bool {
    let lower = breaks.to_lowercase();
    let placeholder = ["none", "n/a", "todo", "tbd", "-", "—", "none yet", "to do"]
        .iter()
        .any(|p| lower.trim().trim_end_matches('.') == *p);
    !placeholder && lower.split_whitespace().count() >= 6
}

/// Parses a proof file's text; `id` is the file's stem. A version-1 file is
/// accepted only while [`V1_ALLOWED`] holds.
pub fn parse_proof(id: &str, text: &str) -> Result<Claim, String> {
    parse_any(id, text, V1_ALLOWED)
}

/// Parses a proof file's text, in version 1 too if `allow_v1`.
fn parse_any(id: &str, text: &str, allow_v1: bool) -> Result<Claim, String> {
    let heading = text.lines().next().unwrap_or("");
    if heading.trim() != format!("### {id}") {
        return Err(format!(
            "proofs/{id}.md: the first line must be `### {id}`, found {heading:?}"
        ));
    }
    let format = if text.contains("<details") || text.contains("</details>") {
        check_fold(id, text)?;
        Format::V2
    } else if allow_v1 {
        Format::V1
    } else {
        return Err(format!(
            "proofs/{id}.md: a version-1 proof; convert it with \
             `DESCENT_PROOFS_V2=1 cargo test --test ledger convert_proofs_to_v2` \
             (format in proofs/README.md)"
        ));
    };
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
    // The fields come in their documented order.
    let mut last = 0;
    for label in FIELDS {
        let here = if label == "**Proof.**" {
            label_offset(text, label).or_else(|| label_offset(text, "**Counterexample.**"))
        } else {
            label_offset(text, label)
        }
        .unwrap_or(0);
        if here < last {
            return Err(format!(
                "proofs/{id}.md: {label} is out of order (the order is {})",
                FIELDS.join(", ")
            ));
        }
        last = here;
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
        if line.trim().is_empty() {
            continue;
        }
        tests.push(parse_test_line(id, line, format)?);
    }
    if tests.is_empty() {
        return Err(format!("proofs/{id}.md: **Tests.** names no test"));
    }
    let breaks = fields["**Breaks.**"];
    if !lists_a_break(breaks) {
        return Err(format!(
            "proofs/{id}.md: **Breaks.** lists no break (say what was changed and which \
             test it made fail)"
        ));
    }
    Ok(Claim {
        id: id.to_string(),
        statement: fields["**Statement.**"].to_string(),
        status,
        sources: fields["**Sources.**"].to_string(),
        tests,
        breaks: breaks.to_string(),
        format,
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

// ---------------------------------------------------------------------------
// Reading Rust test sources.

/// A function found in a Rust source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RustFn {
    /// The function's name.
    pub name: String,
    /// The attributes directly above it (`#[test]`, `#[ignore]`, ...), as written.
    pub attrs: Vec<String>,
    /// The claim IDs of the `// claim:` markers directly above it.
    pub markers: Vec<String>,
    /// Whether it is a test: `#[test]` (also inside `proptest!`), `#[quickcheck]`,
    /// or a function inside `quickcheck!`.
    pub is_test: bool,
    /// Whether it is a quickcheck property (`#[quickcheck]` or inside
    /// `quickcheck!`), whose returned `bool` or `TestResult` is its assertion.
    pub quickcheck: bool,
    /// Whether it is marked `#[ignore]`.
    pub ignored: bool,
    /// The reason given by a `// claim-external: <reason>` line directly above
    /// it: the test checks a reference library's fixtures or mathematics alone,
    /// so its body need not name an item of the crate.
    pub external: Option<String>,
    /// Whether its signature returns something (a `Result` test can fail by `?`).
    pub returns: bool,
    /// 1-based line of the first line above it that belongs to it (marker,
    /// comment or attribute).
    pub first_line: usize,
    /// 1-based line of its `fn` keyword.
    pub fn_line: usize,
    /// 1-based line of its closing brace.
    pub last_line: usize,
    /// Its source: the lines `first_line..=last_line`.
    pub source: String,
    /// Its body with comments and literals blanked out (what the code names).
    body_code: String,
    /// Its body as written.
    body_raw: String,
}

/// A scanned Rust source file.
#[derive(Clone, Debug, Default)]
pub struct RustFile {
    /// The functions (and `macro_rules!` macros, as bodies named `name!`), in
    /// order.
    pub fns: Vec<RustFn>,
    /// Names imported from the crate by `use descent::...` (last segments and
    /// aliases, and module names).
    pub crate_names: BTreeSet<String>,
    /// 1-based lines of `// claim:` markers that are not directly above a function.
    pub stray_markers: Vec<usize>,
}

/// `text` with comments (unless `keep_comments`), string literals and char
/// literals replaced by spaces (newlines kept), so that braces, names and
/// comments can be found in the code alone.
fn blank_non_code(text: &str, keep_comments: bool) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut k = 0;
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    while k < chars.len() {
        let c = chars[k];
        let next = chars.get(k + 1).copied();
        if c == '/' && next == Some('/') {
            while k < chars.len() && chars[k] != '\n' {
                out.push(if keep_comments { chars[k] } else { ' ' });
                k += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while k < chars.len() {
                if chars[k] == '/' && chars.get(k + 1) == Some(&'*') {
                    depth += 1;
                    out.extend([' ', ' ']);
                    k += 2;
                } else if chars[k] == '*' && chars.get(k + 1) == Some(&'/') {
                    depth -= 1;
                    out.extend([' ', ' ']);
                    k += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(if keep_comments {
                        chars[k]
                    } else {
                        blank(chars[k])
                    });
                    k += 1;
                }
            }
        } else if c == 'r'
            && (k == 0 || !ident(chars[k - 1]))
            && matches!(next, Some('"') | Some('#'))
            && {
                let mut j = k + 1;
                while chars.get(j) == Some(&'#') {
                    j += 1;
                }
                chars.get(j) == Some(&'"')
            }
        {
            // A raw string r#"..."#.
            let mut hashes = 0;
            out.push(' ');
            k += 1;
            while chars[k] == '#' {
                hashes += 1;
                out.push(' ');
                k += 1;
            }
            out.push(' ');
            k += 1;
            while k < chars.len() {
                if chars[k] == '"' && (1..=hashes).all(|h| chars.get(k + h) == Some(&'#')) {
                    out.extend(std::iter::repeat_n(' ', hashes + 1));
                    k += hashes + 1;
                    break;
                }
                out.push(blank(chars[k]));
                k += 1;
            }
        } else if c == '"' {
            out.push(' ');
            k += 1;
            while k < chars.len() {
                if chars[k] == '\\' {
                    out.push(' ');
                    if let Some(&e) = chars.get(k + 1) {
                        out.push(blank(e));
                    }
                    k += 2;
                } else if chars[k] == '"' {
                    out.push(' ');
                    k += 1;
                    break;
                } else {
                    out.push(blank(chars[k]));
                    k += 1;
                }
            }
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            let close = if next == Some('\\') {
                (k + 2..chars.len().min(k + 12)).find(|&j| chars[j] == '\'')
            } else if chars.get(k + 2) == Some(&'\'') {
                Some(k + 2)
            } else {
                None
            };
            match close {
                Some(end) => {
                    out.extend(std::iter::repeat_n(' ', end + 1 - k));
                    k = end + 1;
                }
                None => {
                    out.push(c);
                    k += 1;
                }
            }
        } else {
            out.push(c);
            k += 1;
        }
    }
    out.into_iter().collect()
}

/// The offset of the brace that closes the one at `open`, in blanked code.
fn matching_brace(code: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, &b) in code.iter().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The offsets where the word `word` starts in `code` (not inside a longer
/// identifier).
fn word_positions(code: &str, word: &str) -> Vec<usize> {
    let bytes = code.as_bytes();
    code.match_indices(word)
        .map(|(k, _)| k)
        .filter(|&k| {
            (k == 0 || !is_ident_byte(bytes[k - 1]))
                && bytes.get(k + word.len()).is_none_or(|&b| !is_ident_byte(b))
        })
        .collect()
}

/// The identifiers in `code`, in order.
fn identifiers(code: &str) -> Vec<&str> {
    code.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty() && !w.starts_with(|c: char| c.is_ascii_digit()))
        .collect()
}

/// The spans `(open brace, close brace)` of the bodies of `name! { ... }` macro
/// calls in blanked code.
fn macro_blocks(code: &str, name: &str) -> Vec<(usize, usize)> {
    let bytes = code.as_bytes();
    let mut spans = Vec::new();
    for k in word_positions(code, name) {
        let rest = &code[k + name.len()..];
        let Some(after) = rest.strip_prefix('!') else {
            continue;
        };
        let skip = after.len() - after.trim_start().len();
        let open = k + name.len() + 1 + skip;
        if bytes.get(open) == Some(&b'{')
            && let Some(close) = matching_brace(bytes, open)
        {
            spans.push((open, close));
        }
    }
    spans
}

/// Scans a Rust source file for its functions, markers and imports from the crate.
pub fn scan_rust(text: &str) -> RustFile {
    let code = blank_non_code(text, false);
    let bytes = code.as_bytes();
    let lines: Vec<&str> = text.lines().collect();
    // The code with its comments: attributes and markers are read from it, so
    // that text inside a string literal is never taken for either.
    let commented = blank_non_code(text, true);
    let code_lines: Vec<&str> = commented.lines().collect();
    let line_of = |offset: usize| code[..offset].matches('\n').count() + 1;
    let mut file = RustFile::default();

    // Imports: `use descent::...;`.
    for k in word_positions(&code, "use") {
        let rest = code[k + 3..].trim_start();
        if let Some(path) = rest.strip_prefix("descent::") {
            let end = path.find(';').unwrap_or(path.len());
            for word in identifiers(&path[..end]) {
                if !matches!(word, "self" | "super" | "crate" | "as" | "descent") {
                    file.crate_names.insert(word.to_string());
                }
            }
        }
    }

    let quickcheck_blocks = macro_blocks(&code, "quickcheck");
    let mut bodies = Vec::new();
    for k in word_positions(&code, "fn") {
        let rest = &code[k + 2..];
        let trimmed = rest.trim_start();
        let name: String = trimmed
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue;
        }
        let after_name = k + 2 + (rest.len() - trimmed.len()) + name.len();
        // The body opens at the first `{` after the signature; a `;` first means
        // a declaration without a body.
        let Some(rel) = code[after_name..].find(['{', ';']) else {
            continue;
        };
        let open = after_name + rel;
        if bytes[open] != b'{' {
            continue;
        }
        let Some(close) = matching_brace(bytes, open) else {
            continue;
        };
        let signature = &code[after_name..open];
        let fn_line = line_of(k);
        bodies.push((name, k, open, close, fn_line, signature.contains("->")));
    }
    for (name, at, open, close, fn_line, returns) in bodies {
        // Walk up over attributes, comments and markers that belong to it.
        let mut first = fn_line;
        let mut attrs = Vec::new();
        let mut markers = Vec::new();
        let mut external = None;
        while first > 1 {
            let above = code_lines[first - 2].trim();
            if above.starts_with("#[") || above.starts_with("//") {
                if let Some(id) = above.strip_prefix("// claim:") {
                    markers.push(id.trim().to_string());
                } else if let Some(reason) = above.strip_prefix("// claim-external:") {
                    external = Some(reason.trim().to_string());
                } else if above.starts_with("#[") {
                    attrs.push(above.to_string());
                }
                first -= 1;
            } else {
                break;
            }
        }
        markers.reverse();
        attrs.reverse();
        let in_quickcheck = quickcheck_blocks.iter().any(|&(o, c)| o < at && at < c);
        let quickcheck = in_quickcheck
            || attrs.iter().any(|a| {
                let a = a.replace(' ', "");
                a.starts_with("#[quickcheck") || a.starts_with("#[quickcheck_macros::quickcheck")
            });
        let is_test = quickcheck
            || attrs.iter().any(|a| {
                let a = a.replace(' ', "");
                a == "#[test]"
                    || a.starts_with("#[quickcheck")
                    || a.starts_with("#[quickcheck_macros::quickcheck")
                    || a.starts_with("#[proptest")
                    || a.starts_with("#[test_strategy::proptest")
            });
        let ignored = attrs.iter().any(|a| a.starts_with("#[ignore"));
        let last_line = line_of(close);
        let source = lines[first - 1..last_line.min(lines.len())].join("\n");
        file.fns.push(RustFn {
            name,
            attrs,
            markers,
            is_test,
            quickcheck,
            ignored,
            external,
            returns,
            first_line: first,
            fn_line,
            last_line,
            source,
            body_code: code[open..=close].to_string(),
            body_raw: char_slice(text, &code, open, close),
        });
    }

    // `macro_rules! name { ... }`: a body a test can reach through `name!`.
    for k in word_positions(&code, "macro_rules") {
        let rest = &code[k + "macro_rules".len()..];
        let Some(after) = rest.trim_start().strip_prefix('!') else {
            continue;
        };
        let name: String = after
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let Some(rel) = code[k..].find('{') else {
            continue;
        };
        let open = k + rel;
        let Some(close) = matching_brace(bytes, open) else {
            continue;
        };
        let fn_line = line_of(k);
        let last_line = line_of(close);
        file.fns.push(RustFn {
            name: format!("{name}!"),
            attrs: Vec::new(),
            markers: Vec::new(),
            is_test: false,
            quickcheck: false,
            ignored: false,
            external: None,
            returns: false,
            first_line: fn_line,
            fn_line,
            last_line,
            source: lines[fn_line - 1..last_line.min(lines.len())].join("\n"),
            body_code: code[open..=close].to_string(),
            body_raw: char_slice(text, &code, open, close),
        });
    }

    // Markers not bound to a function.
    for (k, line) in code_lines.iter().enumerate() {
        if line.trim().starts_with("// claim:")
            && !file
                .fns
                .iter()
                .any(|f| f.first_line <= k + 1 && k + 1 < f.fn_line)
        {
            file.stray_markers.push(k + 1);
        }
    }
    file
}

/// The text of `text` between the same byte offsets as `open..=close` in its
/// blanked copy (blanking keeps every character's width in bytes only for ASCII,
/// so the slice is taken by characters).
fn char_slice(text: &str, code: &str, open: usize, close: usize) -> String {
    let first = code[..open].chars().count();
    let len = code[open..=close].chars().count();
    text.chars().skip(first).take(len).collect()
}

/// Names called in blanked code: `name(`, `name::<` and `name!`.
fn called_names(code: &str) -> BTreeSet<String> {
    let bytes = code.as_bytes();
    let mut out = BTreeSet::new();
    let mut k = 0;
    while k < bytes.len() {
        if is_ident_byte(bytes[k]) && (k == 0 || !is_ident_byte(bytes[k - 1])) {
            let start = k;
            while k < bytes.len() && is_ident_byte(bytes[k]) {
                k += 1;
            }
            let word = &code[start..k];
            let rest = code[k..].trim_start();
            if rest.starts_with('(') || rest.starts_with("::<") {
                out.insert(word.to_string());
            } else if rest.starts_with('!') && !rest.starts_with("!=") {
                out.insert(format!("{word}!"));
            }
        } else {
            k += 1;
        }
    }
    out
}

/// What a body does, directly or through the helpers it calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Reach {
    /// It names an item of the crate (or runs the crate's binary).
    crate_item: bool,
    /// It asserts something.
    asserts: bool,
}

/// The helpers a test can call: the functions of its own file and of
/// `tests/common`, by name, with the names each file imports from the crate.
struct Scope<'a> {
    files: Vec<&'a RustFile>,
}

impl Scope<'_> {
    fn direct(&self, f: &RustFn, file: &RustFile) -> Reach {
        let code = &f.body_code;
        let crate_item = code.contains("descent::")
            || f.body_raw.contains("CARGO_BIN_EXE_descent")
            || identifiers(code)
                .iter()
                .any(|w| file.crate_names.contains(*w));
        let asserts = called_names(code).iter().any(|name| {
            name.starts_with("assert")
                || name.starts_with("prop_assert")
                || name == "panic!"
                || name == "unreachable!"
        }) || f.attrs.iter().any(|a| a.starts_with("#[should_panic"))
            || (f.returns && (f.quickcheck || code.contains('?')));
        Reach {
            crate_item,
            asserts,
        }
    }

    /// The reach of `f` (in `file`), following calls to helpers by name.
    fn reach(&self, f: &RustFn, file: &RustFile) -> Reach {
        let mut seen = BTreeSet::new();
        let mut total = Reach::default();
        let mut stack = vec![(f, file)];
        while let Some((f, file)) = stack.pop() {
            if !seen.insert((f.name.clone(), f.fn_line, std::ptr::from_ref(file) as usize)) {
                continue;
            }
            let r = self.direct(f, file);
            total.crate_item |= r.crate_item;
            total.asserts |= r.asserts;
            if total.crate_item && total.asserts {
                break;
            }
            for name in called_names(&f.body_code) {
                for &other in &self.files {
                    for g in other.fns.iter().filter(|g| g.name == name && !g.is_test) {
                        stack.push((g, other));
                    }
                }
            }
        }
        total
    }
}

/// Every scanned `tests/*.rs` file under `root`, by its path relative to the
/// root (`tests/adam.rs`), and the scanned helpers of `tests/common`.
pub fn scan_tests(root: &Path) -> Result<(BTreeMap<String, RustFile>, Vec<RustFile>), String> {
    let dir = root.join("tests");
    let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut files = BTreeMap::new();
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
        files.insert(file, scan_rust(&text));
    }
    let mut common = Vec::new();
    if let Ok(entries) = fs::read_dir(dir.join("common")) {
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            if path.extension().and_then(|s| s.to_str()) == Some("rs")
                && let Ok(text) = fs::read_to_string(&path)
            {
                common.push(scan_rust(&text));
            }
        }
    }
    Ok((files, common))
}

/// Every marked claim test under `root/tests`: `(claim ID, test)`.
pub fn claim_markers(root: &Path) -> Result<Vec<(String, TestRef)>, String> {
    let (files, _) = scan_tests(root)?;
    let mut found = Vec::new();
    for (file, scanned) in &files {
        if let Some(line) = scanned.stray_markers.first() {
            return Err(format!(
                "{file}:{line}: `// claim:` marker not directly above a fn (only \
                 attributes and comments may stand between them)"
            ));
        }
        for f in &scanned.fns {
            for id in &f.markers {
                found.push((
                    id.clone(),
                    TestRef {
                        file: file.clone(),
                        name: f.name.clone(),
                    },
                ));
            }
        }
    }
    Ok(found)
}

/// Whether `tests/<file>.rs` declares a function named `name`.
pub fn test_exists(root: &Path, test: &TestRef) -> bool {
    fs::read_to_string(root.join(&test.file))
        .map(|text| scan_rust(&text).fns.iter().any(|f| f.name == test.name))
        .unwrap_or(false)
}

/// What is wrong with `test` as the check of a claim, if anything: it must be a
/// test function, not ignored, that names an item of the crate and asserts.
fn test_defect(
    test: &TestRef,
    files: &BTreeMap<String, RustFile>,
    common: &[RustFile],
) -> Option<String> {
    let Some(file) = files.get(&test.file) else {
        return Some("does not exist".to_string());
    };
    let candidates: Vec<&RustFn> = file.fns.iter().filter(|f| f.name == test.name).collect();
    if candidates.is_empty() {
        return Some("does not exist".to_string());
    }
    let Some(f) = candidates.iter().find(|f| f.is_test) else {
        return Some(
            "is not a test function (no #[test], proptest or quickcheck attribute)".to_string(),
        );
    };
    if f.ignored {
        return Some("is #[ignore]d".to_string());
    }
    let mut scope = Scope { files: vec![file] };
    scope.files.extend(common.iter());
    let reach = scope.reach(f, file);
    let declared_external = f.external.as_ref().is_some_and(|r| !r.is_empty());
    if !reach.crate_item && !declared_external {
        return Some(
            "does not reach the crate (its body, or a helper it calls, names no item of \
             `descent`; a test of a reference library or of mathematics alone says so \
             with `// claim-external: <reason>` above it)"
                .to_string(),
        );
    }
    if !reach.asserts {
        return Some(
            "asserts nothing (no assert*, prop_assert*, panic!, #[should_panic] or `?` in a \
             Result test, in its body or a helper it calls)"
                .to_string(),
        );
    }
    None
}

/// Every disagreement between `proofs/` and the tests; empty when they agree.
pub fn check(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let claims = match read_proofs(root) {
        Ok(claims) => claims,
        Err(errors) => return errors,
    };
    let (files, common) = match scan_tests(root) {
        Ok(scanned) => scanned,
        Err(e) => return vec![e],
    };
    let markers = match claim_markers(root) {
        Ok(markers) => markers,
        Err(e) => return vec![e],
    };
    for claim in &claims {
        for test in &claim.tests {
            if let Some(defect) = test_defect(test, &files, &common) {
                problems.push(format!(
                    "proofs/{}.md names {test}, which {defect}",
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

/// `text` made safe for one cell of a Markdown table: a Markdown table inside
/// it becomes one line (`a: b; c: d`), a `|` outside math is escaped as `\|`,
/// and one inside math (`$...$`, `$$...$$`) is written `\vert` (and `\|` as
/// `\Vert`), which KaTeX draws the same and which no table can mistake for a
/// column break.
pub fn table_cell(text: &str) -> String {
    let mut prose = Vec::new();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let flush = |rows: &mut Vec<Vec<String>>, prose: &mut Vec<String>| {
        if rows.is_empty() {
            return;
        }
        let header = rows.remove(0);
        let body: Vec<String> = rows
            .iter()
            .filter(|r| {
                !r.iter()
                    .all(|c| c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')))
            })
            .map(|r| match r.split_first() {
                Some((first, rest)) if !rest.is_empty() => format!("{first}: {}", rest.join(", ")),
                _ => r.join(", "),
            })
            .collect();
        prose.push(format!("({}) {}.", header.join(": "), body.join("; ")));
        rows.clear();
    };
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('|') && trimmed.ends_with('|') && trimmed.len() > 1 {
            let cells = split_row(&trimmed[1..trimmed.len() - 1]);
            rows.push(cells.into_iter().map(|c| c.trim().to_string()).collect());
        } else {
            flush(&mut rows, &mut prose);
            prose.push(trimmed.to_string());
        }
    }
    flush(&mut rows, &mut prose);
    let joined = prose
        .iter()
        .filter(|p| !p.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let joined = joined.split_whitespace().collect::<Vec<_>>().join(" ");
    escape_pipes(&joined)
}

/// Splits a table row at the `|` that are column breaks (not `\|`, not inside
/// math or code).
fn split_row(row: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut math = false;
    let mut code = false;
    let mut chars = row.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cells.last_mut().unwrap_or(&mut String::new()).push(c);
                if let Some(n) = chars.next()
                    && let Some(cell) = cells.last_mut()
                {
                    cell.push(n);
                }
                continue;
            }
            '$' if !code => math = !math,
            '`' if !math => code = !code,
            '|' if !math && !code => {
                cells.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(cell) = cells.last_mut() {
            cell.push(c);
        }
    }
    cells
}

/// Escapes `|` for a table cell: `\|` outside math; `\vert` / `\Vert` inside.
fn escape_pipes(text: &str) -> String {
    let mut out = String::new();
    let mut math = false;
    let mut code = false;
    let chars: Vec<char> = text.chars().collect();
    let mut k = 0;
    while k < chars.len() {
        let c = chars[k];
        if math {
            if c == '\\' && chars.get(k + 1) == Some(&'|') {
                out.push_str("\\Vert ");
                k += 2;
                continue;
            }
            if c == '\\' {
                out.push(c);
                if let Some(&n) = chars.get(k + 1) {
                    out.push(n);
                }
                k += 2;
                continue;
            }
            if c == '|' {
                out.push_str("\\vert ");
                k += 1;
                continue;
            }
            if c == '$' {
                math = false;
                // `$$` closes display math.
                while chars.get(k) == Some(&'$') {
                    out.push('$');
                    k += 1;
                }
                continue;
            }
            out.push(c);
            k += 1;
        } else if code {
            if c == '`' {
                code = false;
            }
            if c == '|' {
                out.push_str("\\|");
            } else {
                out.push(c);
            }
            k += 1;
        } else {
            match c {
                '\\' if chars.get(k + 1) == Some(&'$') => {
                    out.push_str("\\$");
                    k += 2;
                    continue;
                }
                '$' => {
                    math = true;
                    while chars.get(k) == Some(&'$') {
                        out.push('$');
                        k += 1;
                    }
                    continue;
                }
                '`' => code = true,
                _ => {}
            }
            if c == '|' {
                out.push_str("\\|");
            } else {
                out.push(c);
            }
            k += 1;
        }
    }
    out
}

/// The ledger as a Markdown table: ID (linked to its proof in the chapter that
/// includes it), status, statement, tests (linked to the Tests appendix).
pub fn markdown_table(claims: &[Claim], chapters: &BTreeMap<String, String>) -> String {
    let mut out = String::from("| claim | status | statement | tests |\n|---|---|---|---|\n");
    for c in claims {
        let statement = table_cell(&c.statement);
        let tests: Vec<String> = c.tests.iter().map(TestRef::link).collect();
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

// ---------------------------------------------------------------------------
// The Tests appendix.

/// A line of source made safe inside a fenced block of the book: mdBook would
/// expand `{{#...}}` even there, so a zero-width space goes between the braces
/// and the `#`.
fn guard_directives(line: &str) -> String {
    line.replace("{{#", "{{\u{200b}#")
}

/// The book's Tests appendix, `book/src/tests.md`: every test function of
/// `tests/*.rs`, one anchor `test-<file stem>-<name>` each, with its source and
/// the claims whose proofs name it.
pub fn tests_page(root: &Path) -> Result<String, Vec<String>> {
    let claims = read_proofs(root)?;
    let chapters = chapters(root);
    let (files, _) = scan_tests(root).map_err(|e| vec![e])?;
    let mut out = String::from(
        "# Tests\n\n\
         Every test function of the crate's `tests/` folder, with its source as it is \
         now. A proof names its tests by links to this page; each test below links \
         back to the claims that name it. Helpers the tests call live in the same \
         files (and in `tests/common`). This page is generated by \
         `DESCENT_BLESS=1 cargo test --test ledger`; a test fails when it is out of \
         date.\n",
    );
    for (file, scanned) in &files {
        let tests: Vec<&RustFn> = scanned.fns.iter().filter(|f| f.is_test).collect();
        if tests.is_empty() {
            continue;
        }
        out.push_str(&format!("\n## `{file}`\n"));
        for f in tests {
            let test = TestRef {
                file: file.clone(),
                name: f.name.clone(),
            };
            let used: Vec<String> = claims
                .iter()
                .filter(|c| c.tests.contains(&test))
                .map(|c| match chapters.get(&c.id) {
                    Some(chapter) => format!("[`{id}`]({chapter}#{id})", id = c.id),
                    None => format!("`{}`", c.id),
                })
                .collect();
            out.push_str(&format!(
                "\n<a id=\"{anchor}\"></a>\n\n### `{name}`\n\n",
                anchor = test.anchor(),
                name = f.name
            ));
            let mut about = format!("`{file}`, lines {}–{}", f.first_line, f.last_line);
            if f.ignored {
                about.push_str(" (ignored)");
            }
            if !used.is_empty() {
                about.push_str(&format!(". Checks: {}", used.join(", ")));
            }
            out.push_str(&about);
            out.push_str(".\n\n```rust,ignore\n");
            for line in f.source.lines() {
                out.push_str(&guard_directives(line));
                out.push('\n');
            }
            out.push_str("```\n");
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Converting a proof from format version 1 to version 2.

/// The italic headings (`*Heading.*` at the start of a paragraph) whose
/// paragraphs belong to the verification, not to the mathematical proof: matched
/// case-insensitively as parts of the heading.
pub const FOLDED_HEADINGS: [&str; 12] = [
    "rounding",
    "the test",
    "test design",
    "floating point",
    "floating-point",
    "bit-identity",
    "bit for bit",
    "fixtures",
    "tolerance",
    "the search",
    "running scale",
    "fitted slope",
];

/// The words that open an unheaded paragraph about the verification (how the
/// tests are built, what they measured, the rounding), which the converter
/// folds like a paragraph with a verification heading.
pub const FOLDED_OPENERS: [&str; 6] = [
    "The test ",
    "The tests ",
    "The test's ",
    "The tests' ",
    "Measured",
    "Rounding.",
];

/// The italic heading a paragraph starts with (`*Rounding.*` gives `Rounding.`).
fn italic_heading(paragraph: &str) -> Option<&str> {
    let rest = paragraph.strip_prefix('*')?;
    if rest.starts_with(['*', ' ']) {
        return None;
    }
    let end = rest.find('*')?;
    let after = &rest[end + 1..];
    (after.is_empty() || after.starts_with(char::is_whitespace)).then(|| &rest[..end])
}

/// Whether a paragraph that starts with `heading` goes into the fold.
fn folded_heading(heading: &str) -> bool {
    let lower = heading.to_lowercase();
    FOLDED_HEADINGS.iter().any(|k| lower.contains(k))
}

/// Splits lines into paragraphs at blank lines, keeping a display formula
/// (`$$ ... $$`) or a fenced block whole even if it holds a blank line.
fn paragraphs<'a>(lines: &[&'a str]) -> Vec<Vec<&'a str>> {
    let mut out: Vec<Vec<&str>> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut in_math = false;
    let mut in_fence = false;
    for &line in lines {
        let trimmed = line.trim();
        if trimmed.is_empty() && !in_math && !in_fence {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        if trimmed.starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence {
            in_math ^= trimmed.matches("$$").count() % 2 == 1;
        }
        current.push(line);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Every test function under `root/tests`, by name.
pub fn tests_by_name(root: &Path) -> Result<BTreeMap<String, Vec<TestRef>>, String> {
    let (files, _) = scan_tests(root)?;
    let mut by_name: BTreeMap<String, Vec<TestRef>> = BTreeMap::new();
    for (file, scanned) in &files {
        for f in scanned.fns.iter().filter(|f| f.is_test) {
            by_name.entry(f.name.clone()).or_default().push(TestRef {
                file: file.clone(),
                name: f.name.clone(),
            });
        }
    }
    Ok(by_name)
}

/// `text` with every code span that names a test (`tests/<file>.rs::<name>`, or
/// the bare name of one of `own` or of a test whose name is unique) turned into
/// a link to the test on the Tests appendix; spans already linked, fenced blocks
/// and math are left alone.
pub fn link_test_names(
    text: &str,
    own: &[TestRef],
    known: &BTreeMap<String, Vec<TestRef>>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_fence = false;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        if in_fence || line.trim_start().starts_with("```") {
            out.push_str(line);
            continue;
        }
        let mut rest = line;
        let mut math = false;
        while !rest.is_empty() {
            let Some(k) = rest.find(['`', '$']) else {
                out.push_str(rest);
                break;
            };
            out.push_str(&rest[..k]);
            rest = &rest[k..];
            if rest.starts_with('$') {
                let n = rest.len() - rest.trim_start_matches('$').len();
                if !out.ends_with('\\') {
                    math = !math;
                }
                out.push_str(&rest[..n]);
                rest = &rest[n..];
                continue;
            }
            let Some(close) = rest[1..].find('`').map(|c| c + 1) else {
                out.push_str(rest);
                break;
            };
            let span = &rest[1..close];
            let linked = out.ends_with('[') && rest[close + 1..].starts_with("](");
            let test = match span.split_once("::") {
                Some((file, name)) if file.starts_with("tests/") && file.ends_with(".rs") => {
                    Some(TestRef {
                        file: file.to_string(),
                        name: name.to_string(),
                    })
                }
                _ => own.iter().find(|t| t.name == span).cloned().or_else(|| {
                    match known.get(span).map(Vec::as_slice) {
                        Some([only]) => Some(only.clone()),
                        _ => None,
                    }
                }),
            };
            match test {
                Some(test) if !linked && !math => {
                    out.push_str(&format!("[`{span}`]({TESTS_PAGE}#{})", test.anchor()));
                }
                _ => out.push_str(&rest[..=close]),
            }
            rest = &rest[close + 1..];
        }
    }
    out
}

/// Converts a proof from format version 1 to version 2: the paragraphs of the
/// proof that start with a verification heading (see [`FOLDED_HEADINGS`]) or
/// opening words (see [`FOLDED_OPENERS`]), with the unheaded paragraphs that
/// follow them, move into the fold with **Tests.**
/// and **Breaks.**; every test name becomes a link to the Tests appendix. A
/// paragraph whose first line is `<!-- fold -->` or `<!-- show -->` is folded or
/// kept visible whatever its heading (the comment is dropped). A version-2 proof
/// only has its test names linked, so converting twice changes nothing.
pub fn to_v2(
    id: &str,
    text: &str,
    known: &BTreeMap<String, Vec<TestRef>>,
) -> Result<String, String> {
    if text.contains("<details") {
        let own = parse_any(id, text, true)
            .map(|c| c.tests)
            .unwrap_or_default();
        return Ok(link_test_names(text, &own, known));
    }
    let claim = parse_any(id, text, true)?;
    let lines: Vec<&str> = text.lines().collect();
    let at = |labels: &[&str]| {
        lines
            .iter()
            .position(|l| labels.iter().any(|label| l.starts_with(label)))
    };
    let (Some(proof), Some(tests), Some(breaks)) = (
        at(&["**Proof.**", "**Counterexample.**"]),
        at(&["**Tests.**"]),
        at(&["**Breaks.**"]),
    ) else {
        return Err(format!("proofs/{id}.md: missing a field"));
    };
    let mut visible: Vec<String> = vec![lines[..proof].join("\n").trim_end().to_string()];
    let mut folded: Vec<String> = Vec::new();
    let mut folding = false;
    for (k, paragraph) in paragraphs(&lines[proof..tests]).into_iter().enumerate() {
        let mut paragraph = paragraph;
        let directive = paragraph.first().map(|l| l.trim());
        let forced = match directive {
            Some("<!-- fold -->") => Some(true),
            Some("<!-- show -->") => Some(false),
            _ => None,
        };
        if forced.is_some() {
            paragraph.remove(0);
        }
        let body = paragraph.join("\n");
        if let Some(fold) = forced {
            folding = fold;
        } else if k > 0 {
            if let Some(heading) = italic_heading(&body) {
                folding = folded_heading(heading);
            } else if FOLDED_OPENERS.iter().any(|o| body.starts_with(o)) {
                folding = true;
            }
        }
        if folding {
            folded.push(body);
        } else {
            visible.push(body);
        }
    }
    let test_lines: Vec<String> = claim
        .tests
        .iter()
        .map(|t| format!("- {}", t.link()))
        .collect();
    let breaks_text = lines[breaks..].join("\n").trim_end().to_string();
    let mut fold = folded;
    fold.push(format!("**Tests.**\n{}", test_lines.join("\n")));
    fold.push(breaks_text);
    let out = format!(
        "{}\n\n{FOLD_OPEN}\n\n{}\n\n{FOLD_CLOSE}\n",
        visible.join("\n\n"),
        fold.join("\n\n")
    );
    Ok(link_test_names(&out, &claim.tests, known))
}

/// Converts every version-1 proof under `root/proofs` to version 2 in place;
/// returns the IDs of the files it changed.
pub fn convert_all(root: &Path) -> Result<Vec<String>, Vec<String>> {
    let known = tests_by_name(root).map_err(|e| vec![e])?;
    let mut changed = Vec::new();
    let mut errors = Vec::new();
    let dir = root.join("proofs");
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
        let result = fs::read_to_string(&path)
            .map_err(|e| format!("{}: {e}", path.display()))
            .and_then(|text| Ok((to_v2(stem, &text, &known)?, text)));
        match result {
            Ok((converted, text)) if converted != text => {
                if let Err(e) = fs::write(&path, converted) {
                    errors.push(format!("{}: {e}", path.display()));
                } else {
                    changed.push(stem.to_string());
                }
            }
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(changed)
    } else {
        Err(errors)
    }
}

// ---------------------------------------------------------------------------
// Listings and the claims about them.

/// The comment that names the claims about a listing. It stands on the lines
/// directly above the listing's `// ANCHOR: <name>` line (so mdBook leaves it out
/// of the listing), and may continue on further `//` lines:
/// `// claims: id-a, id-b` or, for code no claim is about, `// claims: none`.
pub const CLAIMS_COMMENT: &str = "// claims:";

/// The start of the line the book prints after a listing, with links to the
/// claims about its code.
pub const LISTING_CLAIMS: &str = "*Claims about this code:*";

/// The claims named by the `// claims:` comment above `// ANCHOR: <anchor>` in
/// `source` (the text of a Rust file): an empty list for `// claims: none`. An
/// error says what is missing or malformed; ids are not checked here.
pub fn anchor_claims(source: &str, anchor: &str) -> Result<Vec<String>, String> {
    let lines: Vec<&str> = source.lines().collect();
    let marker = format!("// ANCHOR: {anchor}");
    let at = lines
        .iter()
        .position(|l| l.trim() == marker)
        .ok_or_else(|| format!("no `{marker}` line"))?;
    // Walk up over the comment lines directly above the anchor to the one that
    // opens the claims comment.
    let mut start = at;
    loop {
        if start == 0 || !lines[start - 1].trim().starts_with("//") {
            return Err(format!(
                "no `{CLAIMS_COMMENT} ...` comment directly above `{marker}` \
                 (name the claims about this code, or write `{CLAIMS_COMMENT} none`)"
            ));
        }
        start -= 1;
        if lines[start].trim().starts_with(CLAIMS_COMMENT) {
            break;
        }
    }
    let mut text = String::new();
    for (k, line) in lines[start..at].iter().enumerate() {
        let line = line.trim();
        let body = if k == 0 {
            &line[CLAIMS_COMMENT.len()..]
        } else {
            &line[2..]
        };
        text.push(' ');
        text.push_str(body);
    }
    let ids: Vec<String> = text
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    match ids.as_slice() {
        [] => Err(format!(
            "the `{CLAIMS_COMMENT}` comment above `{marker}` names nothing (write `none`)"
        )),
        [only] if only == "none" => Ok(Vec::new()),
        _ if ids.iter().any(|id| id == "none") => Err(format!(
            "the `{CLAIMS_COMMENT}` comment above `{marker}` mixes `none` with claim ids"
        )),
        _ => {
            if let Some(bad) = ids.iter().find(|id| {
                !id.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            }) {
                return Err(format!(
                    "the `{CLAIMS_COMMENT}` comment above `{marker}` has {bad:?}, which is no claim id"
                ));
            }
            Ok(ids)
        }
    }
}

/// The `src/<file>:<anchor>` of a chapter line `{{#include ../../src/<file>:<anchor>}}`.
fn source_include(line: &str) -> Option<(&str, &str)> {
    let inner = line
        .trim()
        .strip_prefix("{{#include ../../")?
        .strip_suffix("}}")?;
    let (file, anchor) = inner.rsplit_once(':')?;
    file.starts_with("src/").then_some((file, anchor))
}

/// `chapter` (the Markdown of a book chapter) with the line after each listing
/// of the crate's code brought up to date: after the closing fence of a code
/// block that includes anchors of `src/`, a blank line and
/// `*Claims about this code:* [`id`](chapter.md#id), ...`, the union of the
/// claims named above those anchors, each linked to the chapter that includes
/// its proof (`chapters`, as from [`chapters`]). A listing that no claim is
/// about gets no line. Returns the new text and the problems found: an anchor
/// without a claims comment, an id with no proof file, a proof in no chapter.
pub fn with_listing_claims(
    root: &Path,
    chapter: &str,
    chapters: &BTreeMap<String, String>,
) -> (String, Vec<String>) {
    let mut problems = Vec::new();
    let lines: Vec<&str> = chapter.lines().collect();
    let mut out: Vec<String> = Vec::new();
    let mut fence: Option<String> = None;
    let mut ids: Vec<String> = Vec::new();
    let mut includes = 0;
    let mut k = 0;
    while k < lines.len() {
        let line = lines[k];
        out.push(line.to_string());
        k += 1;
        let trimmed = line.trim_start();
        match &fence {
            None if trimmed.starts_with("```") || trimmed.starts_with("~~~") => {
                fence = Some(trimmed[..3].to_string());
                ids.clear();
                includes = 0;
            }
            None => {}
            Some(f) if trimmed.starts_with(f.as_str()) => {
                fence = None;
                if includes == 0 {
                    continue;
                }
                // Drop the line generated last time, with its blank line.
                if k + 1 < lines.len()
                    && lines[k].trim().is_empty()
                    && lines[k + 1].starts_with(LISTING_CLAIMS)
                {
                    k += 2;
                }
                if ids.is_empty() {
                    continue;
                }
                let links: Vec<String> = ids
                    .iter()
                    .map(|id| match chapters.get(id) {
                        Some(page) => format!("[`{id}`]({page}#{id})"),
                        None => format!("`{id}`"),
                    })
                    .collect();
                out.push(String::new());
                out.push(format!("{LISTING_CLAIMS} {}.", links.join(", ")));
                if k < lines.len() && !lines[k].trim().is_empty() {
                    out.push(String::new());
                }
            }
            Some(_) => {
                let Some((file, anchor)) = source_include(line) else {
                    continue;
                };
                includes += 1;
                let named = fs::read_to_string(root.join(file))
                    .map_err(|e| format!("{file}: {e}"))
                    .and_then(|source| {
                        anchor_claims(&source, anchor).map_err(|e| format!("{file}: {e}"))
                    });
                match named {
                    Ok(named) => {
                        for id in named {
                            if !root.join("proofs").join(format!("{id}.md")).is_file() {
                                problems.push(format!(
                                    "{file}:{anchor}: names claim {id:?}, which has no proofs/{id}.md"
                                ));
                            } else if !chapters.contains_key(&id) {
                                problems.push(format!(
                                    "{file}:{anchor}: names claim {id:?}, whose proof no chapter includes"
                                ));
                            }
                            if !ids.contains(&id) {
                                ids.push(id);
                            }
                        }
                    }
                    Err(e) => problems.push(e),
                }
            }
        }
    }
    let mut text = out.join("\n");
    if chapter.ends_with('\n') {
        text.push('\n');
    }
    (text, problems)
}
