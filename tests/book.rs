//! The book builds offline and clean: every formula renders, every include
//! resolves, every claim cited has its proof and every proof is in the book, and
//! nothing is loaded from outside the book.
//!
//! The build runs `bash scripts/book.sh build`, which installs the pinned mdBook
//! 0.5.4 and mdbook-katex 0.10.0 if they are missing.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use descent::ledger;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn files_with_ext(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_with_ext(&path, ext, out);
        } else if path.extension().and_then(|e| e.to_str()) == Some(ext) {
            out.push(path);
        }
    }
}

/// The values of `attr="..."` in the tags named `tag` of an HTML page.
fn attr_values(html: &str, tag: &str, attr: &str) -> Vec<String> {
    let mut values = Vec::new();
    let open = format!("<{tag}");
    let mut rest = html;
    while let Some(at) = rest.find(&open) {
        rest = &rest[at + open.len()..];
        let end = rest.find('>').unwrap_or(rest.len());
        let inside = &rest[..end];
        for quote in ['"', '\''] {
            let key = format!(" {attr}={quote}");
            if let Some(k) = inside.find(&key) {
                let value = &inside[k + key.len()..];
                if let Some(close) = value.find(quote) {
                    values.push(value[..close].to_string());
                }
            }
        }
    }
    values
}

/// Claim IDs: the stems of `proofs/*.md` (README excluded).
fn proof_ids() -> BTreeSet<String> {
    fs::read_dir(root().join("proofs"))
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            (p.extension()?.to_str()? == "md")
                .then(|| p.file_stem()?.to_str().map(String::from))
                .flatten()
        })
        .filter(|s| s != "README")
        .collect()
}

/// `markdown` without its fenced code blocks (listings are code, not citations).
fn outside_code_blocks(markdown: &str) -> String {
    let mut out = String::new();
    let mut fence: Option<&str> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        match fence {
            Some(f) if trimmed.starts_with(f) => fence = None,
            Some(_) => {}
            None if trimmed.starts_with("```") || trimmed.starts_with("~~~") => {
                fence = Some(&trimmed[..3]);
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// Builds the book once and returns its output folder and the build's stderr.
fn build() -> (PathBuf, String) {
    let out = Command::new("bash")
        .arg(root().join("scripts/book.sh"))
        .arg("build")
        .current_dir(root())
        .output()
        .expect("bash runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "the book failed to build:\n{stderr}");
    (root().join("target/book"), stderr)
}

#[test]
fn book_builds_offline_and_clean() {
    let (dir, log) = build();
    let mut problems = Vec::new();

    // mdbook-katex logs a failed formula as a warning and keeps the raw TeX.
    // mdBook warns about unbalanced HTML when Markdown syntax was read inside a
    // rendered formula (scripts/mathml-escape.pl exists to prevent that).
    for line in log.lines() {
        if line.contains("Rendering failed")
            || line.contains("ERROR")
            || line.contains("unclosed HTML tag")
            || line.contains("unexpected HTML end tag")
        {
            problems.push(format!("build log: {line}"));
        }
    }

    let mut pages = Vec::new();
    files_with_ext(&dir, "html", &mut pages);
    assert!(pages.len() > 2, "no pages built in {}", dir.display());

    let mut ids_by_page: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let mut texts = BTreeMap::new();
    for page in &pages {
        let html = fs::read_to_string(page).unwrap();
        ids_by_page.insert(
            page.clone(),
            attr_values(&html, "", "id").into_iter().collect(),
        );
        texts.insert(page.clone(), html);
    }

    let proofs = proof_ids();
    let mut all_ids = BTreeSet::new();
    for ids in ids_by_page.values() {
        all_ids.extend(ids.iter().cloned());
    }

    for (page, html) in &texts {
        let name = page.strip_prefix(&dir).unwrap().display().to_string();
        // The element KaTeX emits for a formula it cannot render (the bare word
        // may appear in a listing, such as this file's on the Tests page).
        if html.contains("class=\"katex-error\"") {
            problems.push(format!("{name}: a formula failed to render (katex-error)"));
        }
        // A `~` in KaTeX's output (from `\tilde`, for one) can meet Markdown's
        // strikethrough and break the page; the book uses no strikethrough.
        if html.contains("<del>") {
            problems.push(format!(
                "{name}: a <del> element (a `~` turned into strikethrough)"
            ));
        }
        // Screen readers read the MathML beside each formula's HTML rendering
        // (book.toml: output = "htmlAndMathml"). Markdown must not have touched
        // it: no emphasis, strikethrough or line break inside a <math> element.
        let formulas = html.matches("class=\"katex\"").count();
        let mathml = html.matches("<math").count();
        if formulas != mathml {
            problems.push(format!(
                "{name}: {formulas} formulas but {mathml} <math> elements (MathML for screen readers)"
            ));
        }
        for math in html.split("<math").skip(1) {
            let math = &math[..math.find("</math>").unwrap_or(math.len())];
            if ["<em>", "<strong>", "<del>", "<br", "<a "]
                .iter()
                .any(|tag| math.contains(tag))
            {
                let at = math.find("<annotation").unwrap_or(0);
                let source = &math[at..(at + 120).min(math.len())];
                problems.push(format!(
                    "{name}: Markdown syntax was read inside a formula's MathML: {source}"
                ));
                break;
            }
        }
        // A proof's fold must render as Markdown (a missing blank line after its
        // `<summary>` line leaves the labels and the math as raw text).
        for block in html.split("<details>").skip(1) {
            let inside = &block[..block.find("</details>").unwrap_or(block.len())];
            let after_summary = inside
                .split_once("</summary>")
                .map_or("", |(_, rest)| rest.trim());
            if !after_summary.starts_with('<')
                || !inside.trim_end().ends_with('>')
                || ["**Tests.**", "**Breaks.**", "$$", "[`tests/"]
                    .iter()
                    .any(|raw| inside.contains(raw))
            {
                problems.push(format!(
                    "{name}: a <details> block holds unrendered Markdown or math"
                ));
            }
        }
        if html.contains("{{#") {
            problems.push(format!("{name}: an unresolved {{{{#...}}}} directive"));
        }
        for (tag, attr) in [("link", "href"), ("script", "src"), ("img", "src")] {
            for url in attr_values(html, tag, attr) {
                if url.starts_with("http:") || url.starts_with("https:") || url.starts_with("//") {
                    problems.push(format!(
                        "{name}: <{tag} {attr}={url:?}> loads from outside the book"
                    ));
                }
            }
        }
        // Internal links must land on an existing page and anchor. A link whose
        // anchor is written like a claim citation must name a proof.
        for href in attr_values(html, "a", "href") {
            if href.contains("://") || href.starts_with("mailto:") {
                continue;
            }
            let (path, fragment) = href.split_once('#').unwrap_or((&href, ""));
            let target = if path.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(path)
            };
            let Ok(target) = target.canonicalize() else {
                problems.push(format!("{name}: link to a missing page {href:?}"));
                continue;
            };
            if !fragment.is_empty() {
                let ids = ids_by_page
                    .iter()
                    .find(|(p, _)| p.canonicalize().ok().as_ref() == Some(&target))
                    .map(|(_, ids)| ids);
                if ids.is_none_or(|ids| !ids.contains(fragment)) {
                    problems.push(format!("{name}: link to a missing anchor {href:?}"));
                }
            }
        }
    }

    // Every proof is in the book: its heading gives an anchor named by its ID.
    for id in &proofs {
        if !all_ids.contains(id) {
            problems.push(format!("proofs/{id}.md is not included in the book"));
        }
    }

    // Every claim cited in the sources, as [`ID`](page.md#ID), has a proof file.
    let mut sources = Vec::new();
    files_with_ext(&root().join("book/src"), "md", &mut sources);
    for source in sources {
        let text = outside_code_blocks(&fs::read_to_string(&source).unwrap());
        let mut rest = text.as_str();
        while let Some(at) = rest.find("[`") {
            rest = &rest[at + 2..];
            let Some(close) = rest.find("`](") else { break };
            let cited = &rest[..close];
            let after = &rest[close + 3..];
            let target = &after[..after.find(')').unwrap_or(after.len())];
            if target.ends_with(&format!("#{cited}")) && !proofs.contains(cited) {
                problems.push(format!(
                    "{}: cites claim {cited:?}, which has no proofs/{cited}.md",
                    source.strip_prefix(root()).unwrap().display()
                ));
            }
        }
    }

    // Stylesheets must not pull fonts or imports from outside either.
    let mut sheets = Vec::new();
    files_with_ext(&dir, "css", &mut sheets);
    for sheet in sheets {
        let css = fs::read_to_string(&sheet).unwrap();
        if css.contains("url(http") || css.contains("url(\"http") || css.contains("@import url(") {
            problems.push(format!("{}: loads from outside the book", sheet.display()));
        }
    }

    // KaTeX's fonts must sit where its stylesheet looks for them.
    assert!(
        dir.join("katex/fonts/KaTeX_Main-Regular.woff2").exists(),
        "KaTeX fonts missing"
    );

    assert!(
        problems.is_empty(),
        "book problems:\n{}",
        problems.join("\n")
    );
}

/// The PDF edition prints the version from Cargo.toml on its title page
/// (scripts/browser/pdf.mjs); CITATION.cff must name the same version, so that a
/// citation and the document it cites agree.
#[test]
fn citation_names_the_crate_version() {
    let cff = fs::read_to_string(root().join("CITATION.cff")).unwrap();
    let version = cff
        .lines()
        .find_map(|l| l.strip_prefix("version:"))
        .map(|v| v.trim().trim_matches('"'))
        .expect("CITATION.cff has a version");
    assert_eq!(
        version,
        env!("CARGO_PKG_VERSION"),
        "CITATION.cff's version differs from Cargo.toml's"
    );
}

/// Every test name in the book is a link to its source on the Tests appendix:
/// `tests/<file>.rs::<name>`, and a bare `` `name` `` of a test function, must be
/// the text of a link to `tests.md#test-<file>-<name>`. Chapters and version-2
/// proofs are checked; a version-1 proof (no fold yet) is exempt while
/// `ledger::V1_ALLOWED` holds.
#[test]
fn every_test_name_in_the_book_is_a_link() {
    let (files, _) = ledger::scan_tests(root()).expect("tests/ scans");
    // Test function name -> the anchors of the tests of that name.
    let mut anchors: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, scanned) in &files {
        for f in scanned.fns.iter().filter(|f| f.is_test) {
            let test = ledger::TestRef {
                file: file.clone(),
                name: f.name.clone(),
            };
            anchors
                .entry(f.name.clone())
                .or_default()
                .insert(test.anchor());
        }
    }
    let mut sources = Vec::new();
    files_with_ext(&root().join("book/src"), "md", &mut sources);
    files_with_ext(&root().join("proofs"), "md", &mut sources);
    let mut problems = Vec::new();
    for source in sources {
        let name = source.strip_prefix(root()).unwrap().display().to_string();
        if name.ends_with("proofs/README.md") || name.ends_with("book/src/tests.md") {
            continue;
        }
        let raw = fs::read_to_string(&source).unwrap();
        if name.starts_with("proofs/") && !raw.contains("<details") && ledger::V1_ALLOWED {
            continue;
        }
        let text = outside_code_blocks(&raw);
        for problem in unlinked_test_names(&text, &anchors) {
            problems.push(format!("{name}: {problem}"));
        }
    }
    assert!(
        problems.is_empty(),
        "test names that are not links to the Tests page (write \
         [`tests/<file>.rs::<name>`](tests.md#test-<file>-<name>) or \
         [`<name>`](tests.md#test-<file>-<name>)):\n{}",
        problems.join("\n")
    );
}

/// The code spans of `text` that name a test without being the text of a link
/// to that test on the Tests page.
fn unlinked_test_names(text: &str, anchors: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut at = 0;
    while let Some(open) = text[at..].find('`').map(|k| at + k) {
        let Some(close) = text[open + 1..].find('`').map(|k| open + 1 + k) else {
            break;
        };
        let span = &text[open + 1..close];
        at = close + 1;
        let (expected, name): (Vec<String>, &str) = match span.split_once("::") {
            Some((file, name)) if file.starts_with("tests/") && file.ends_with(".rs") => {
                let test = ledger::TestRef {
                    file: file.to_string(),
                    name: name.to_string(),
                };
                (vec![test.anchor()], name)
            }
            _ => match anchors.get(span) {
                Some(found) => (found.iter().cloned().collect(), span),
                None => continue,
            },
        };
        let linked = text[..open].ends_with('[')
            && text[close + 1..]
                .strip_prefix("](tests.md#")
                .is_some_and(|rest| {
                    let target = &rest[..rest.find(')').unwrap_or(rest.len())];
                    expected.iter().any(|a| a == target)
                });
        if !linked {
            problems.push(format!(
                "`{span}` (test {name}) is not a link to its source"
            ));
        }
    }
    problems
}

#[test]
fn the_link_check_can_fail() {
    let mut anchors = BTreeMap::new();
    anchors.insert(
        "adam_step".to_string(),
        BTreeSet::from(["test-adam-adam_step".to_string()]),
    );
    let good = "See [`adam_step`](tests.md#test-adam-adam_step) and \
                [`tests/adam.rs::adam_step`](tests.md#test-adam-adam_step); `theta` is no test.";
    assert_eq!(unlinked_test_names(good, &anchors), Vec::<String>::new());
    for bad in [
        "See `adam_step`.",
        "See `tests/adam.rs::adam_step`.",
        "See [`adam_step`](tests.md#test-sgd-adam_step).",
        "See [`tests/adam.rs::other`](tests.md#test-adam-adam_step).",
    ] {
        assert_eq!(unlinked_test_names(bad, &anchors).len(), 1, "{bad}");
    }
}

/// Every listing of the crate's code links back to the claims about it. Each
/// anchor a chapter includes from `src/` has a `// claims: ...` comment directly
/// above it (`// claims: none` when no claim is about that code) naming claims
/// that have a proof in the book; after the listing, the chapter has the
/// generated line `*Claims about this code:* ...` with a link to each. With
/// `DESCENT_BLESS=1` the lines are rewritten.
#[test]
fn every_listing_links_back_to_its_claims() {
    let chapters = ledger::chapters(root());
    let mut sources = Vec::new();
    files_with_ext(&root().join("book/src"), "md", &mut sources);
    sources.sort();
    let bless = std::env::var_os("DESCENT_BLESS").is_some();
    let mut problems = Vec::new();
    let mut listings = 0;
    for source in sources {
        let name = source.strip_prefix(root()).unwrap().display().to_string();
        let text = fs::read_to_string(&source).unwrap();
        listings += text
            .lines()
            .filter(|l| l.trim().starts_with("{{#include ../../src/"))
            .count();
        let (expected, found) = ledger::with_listing_claims(root(), &text, &chapters);
        problems.extend(found.into_iter().map(|p| format!("{name}: {p}")));
        if expected != text {
            if bless {
                fs::write(&source, &expected).unwrap();
            } else {
                problems.push(format!(
                    "{name}: a `{}` line after a listing is missing or out of date",
                    ledger::LISTING_CLAIMS
                ));
            }
        }
    }
    assert!(listings > 0, "no chapter includes a listing from src/");
    assert!(
        problems.is_empty(),
        "listings and their claims (then run `DESCENT_BLESS=1 cargo test --test book \
         every_listing`):\n{}",
        problems.join("\n")
    );
}

/// The listing check can fail: a listing without a claims comment, with an id
/// that has no proof, and a chapter whose generated line is stale are reported.
#[test]
fn the_listing_check_can_fail() {
    let dir = std::env::temp_dir().join(format!("descent-listings-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("proofs")).unwrap();
    fs::create_dir_all(dir.join("src")).unwrap();
    fs::write(dir.join("proofs/demo-claim.md"), "### demo-claim\n").unwrap();
    let chapters = BTreeMap::from([("demo-claim".to_string(), "demo.md".to_string())]);
    // The fence is built, not written: a literal one in this file would
    // confuse mdbook-katex on the Tests page, which shows this source.
    let fence = "`".repeat(3);
    let chapter = format!(
        "# Demo\n\n{fence}rust,ignore\n{{{{#include ../../src/demo.rs:step}}}}\n{fence}\n\nText.\n"
    );
    let chapter = chapter.as_str();
    let check = |source: &str| {
        fs::write(dir.join("src/demo.rs"), source).unwrap();
        ledger::with_listing_claims(&dir, chapter, &chapters)
    };

    // Sound: the line is generated, with a link to the claim; a second pass
    // changes nothing.
    let (text, problems) =
        check("// claims: demo-claim\n// ANCHOR: step\nfn step() {}\n// ANCHOR_END: step\n");
    assert_eq!(problems, Vec::<String>::new());
    assert!(
        text.contains(&format!(
            "{fence}\n\n*Claims about this code:* [`demo-claim`](demo.md#demo-claim).\n\nText."
        )),
        "{text}"
    );
    assert_eq!(ledger::with_listing_claims(&dir, &text, &chapters).0, text);

    // `none`: no line, no problem; a stale line is removed.
    let (plain, problems) = check("// claims: none\n// ANCHOR: step\nfn step() {}\n");
    assert_eq!((plain.as_str(), problems.len()), (chapter, 0));
    assert_eq!(
        ledger::with_listing_claims(&dir, &text, &chapters).0,
        chapter
    );

    // A comment that continues on a second line is read whole.
    fs::write(dir.join("proofs/other-claim.md"), "### other-claim\n").unwrap();
    let both = BTreeMap::from([
        ("demo-claim".to_string(), "demo.md".to_string()),
        ("other-claim".to_string(), "other.md".to_string()),
    ]);
    fs::write(
        dir.join("src/demo.rs"),
        "// claims: demo-claim,\n//     other-claim\n// ANCHOR: step\nfn step() {}\n",
    )
    .unwrap();
    let (text, problems) = ledger::with_listing_claims(&dir, chapter, &both);
    assert_eq!(problems, Vec::<String>::new());
    assert!(
        text.contains("(demo.md#demo-claim), [`other-claim`](other.md#other-claim)."),
        "{text}"
    );

    // Defects.
    for (source, expected) in [
        (
            "// ANCHOR: step\nfn step() {}\n",
            "no `// claims: ...` comment",
        ),
        (
            "// a remark\n// ANCHOR: step\nfn step() {}\n",
            "no `// claims: ...` comment",
        ),
        (
            "// claims: missing-claim\n// ANCHOR: step\n",
            "no proofs/missing-claim.md",
        ),
        ("// claims:\n// ANCHOR: step\n", "names nothing"),
        (
            "// claims: none, demo-claim\n// ANCHOR: step\n",
            "mixes `none`",
        ),
        ("// claims: Demo Claim\n// ANCHOR: step\n", "no claim id"),
        (
            "// claims: demo-claim\n// ANCHOR: other\n",
            "no `// ANCHOR: step` line",
        ),
    ] {
        let (_, problems) = check(source);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{source:?}: {problems:?}"
        );
    }
    let _ = fs::remove_dir_all(&dir);
}
