//! The ledger cannot drift or be fooled: every proof names real tests (not
//! ignored, reaching the crate, asserting something) that carry its marker, every
//! marked claim test is named by its proof, and the generated pages (the ledger
//! and the Tests appendix) are current.

use std::fs;
use std::path::{Path, PathBuf};

use descent::ledger;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The tree whose proofs and tests are checked: this project, or the copy of it
/// named by `DESCENT_LEDGER_ROOT` (to check a branch before merging it).
fn checked_root() -> PathBuf {
    std::env::var_os("DESCENT_LEDGER_ROOT").map_or_else(|| root().to_path_buf(), PathBuf::from)
}

#[test]
fn proofs_and_tests_agree() {
    let problems = ledger::check(&checked_root());
    assert!(
        problems.is_empty(),
        "ledger problems:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_ledger_page_is_current() {
    let page = ledger::page(root()).expect("proofs parse");
    if std::env::var_os("DESCENT_BLESS").is_some() {
        fs::write(root().join("book/src/ledger.md"), &page).unwrap();
    }
    let committed = fs::read_to_string(root().join("book/src/ledger.md")).unwrap_or_default();
    assert!(
        committed == page,
        "book/src/ledger.md is out of date: run `DESCENT_BLESS=1 cargo test --test ledger`"
    );
}

#[test]
fn the_tests_page_is_current() {
    let page = ledger::tests_page(root()).expect("proofs parse");
    if std::env::var_os("DESCENT_BLESS").is_some() {
        fs::write(root().join("book/src/tests.md"), &page).unwrap();
    }
    let committed = fs::read_to_string(root().join("book/src/tests.md")).unwrap_or_default();
    assert!(
        committed == page,
        "book/src/tests.md is out of date: run `DESCENT_BLESS=1 cargo test --test ledger`"
    );
}

// The checks above must be able to fail: each case below builds a small tree
// with one defect and expects the ledger to report it.

/// A sound proof in format version 2; the cases below break it one way each.
const PROOF: &str = "### demo-claim

**Statement.** One plus one is two.

**Assumptions.** Integers.

**Status.** holds

**Sources.** Peano.

**Proof.** By definition of the successor.

<details><summary>How this is checked</summary>

**Tests.**
- [`tests/demo.rs::one_plus_one`](tests.md#test-demo-one_plus_one)

**Breaks.** Changing 2 to 3 fails the test.

</details>
";

/// The same proof in format version 1 (every field visible, tests not linked).
const PROOF_V1: &str = "### demo-claim

**Statement.** One plus one is two.

**Assumptions.** Integers.

**Status.** holds

**Sources.** Peano.

**Proof.** By definition of the successor.

**Tests.**
- `tests/demo.rs::one_plus_one`

**Breaks.** Changing 2 to 3 fails the test.
";

const TEST: &str = "use descent::optim::moments::bias_correction;

// claim: demo-claim
#[test]
fn one_plus_one() {
    assert_eq!(bias_correction(0.0, 1) + 1.0, 2.0);
}
";

/// The claim with a rounding paragraph and a list of breaks, as converted.
const PROOF_V2: &str = "### demo-claim

**Statement.** One plus one is two.

**Assumptions.** Integers.

**Status.** holds

**Sources.** Peano.

**Proof.** By definition of the successor.

<details><summary>How this is checked</summary>

*Rounding.* None: integers.

**Tests.**
- [`tests/demo.rs::one_plus_one`](tests.md#test-demo-one_plus_one)

**Breaks.**
- [`one_plus_one`](tests.md#test-demo-one_plus_one): changing 2 to 3 fails the test.

</details>
";

fn tree(name: &str, proof: &str, test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("descent-ledger-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("proofs")).unwrap();
    fs::create_dir_all(dir.join("tests")).unwrap();
    fs::write(dir.join("proofs/demo-claim.md"), proof).unwrap();
    fs::write(dir.join("tests/demo.rs"), test).unwrap();
    dir
}

#[test]
fn a_sound_tree_passes() {
    let dir = tree("sound", PROOF, TEST);
    assert_eq!(ledger::check(&dir), Vec::<String>::new());
    let claims = ledger::read_proofs(&dir).unwrap();
    assert_eq!(claims[0].status, ledger::Status::Holds);
    let mut chapters = std::collections::BTreeMap::new();
    chapters.insert("demo-claim".to_string(), "demo.md".to_string());
    assert!(
        ledger::markdown_table(&claims, &chapters).contains("[`demo-claim`](demo.md#demo-claim)")
    );
}

#[test]
fn a_missing_test_is_reported() {
    let dir = tree("missing", PROOF, &TEST.replace("one_plus_one", "other"));
    let problems = ledger::check(&dir);
    assert!(
        problems.iter().any(|p| p.contains("does not exist")),
        "{problems:?}"
    );
}

#[test]
fn an_unnamed_claim_test_is_reported() {
    let extra = format!("{TEST}\n// claim: demo-claim\n#[test]\nfn also_checked() {{}}\n");
    let dir = tree("unnamed", PROOF, &extra);
    let problems = ledger::check(&dir);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("also_checked") && p.contains("does not name it")),
        "{problems:?}"
    );
}

#[test]
fn a_missing_field_is_reported() {
    for label in ledger::FIELDS {
        let broken: String = PROOF
            .lines()
            .filter(|l| !l.starts_with(label))
            .map(|l| format!("{l}\n"))
            .collect();
        let dir = tree("field", &broken, TEST);
        let problems = ledger::check(&dir);
        assert!(
            problems
                .iter()
                .any(|p| p.contains(label) || p.contains("names no test")),
            "removing {label}: {problems:?}"
        );
    }
}

#[test]
fn a_refuted_claim_needs_a_corrected_statement() {
    let refuted = PROOF.replace("**Status.** holds", "**Status.** refuted");
    let dir = tree("refuted", &refuted, TEST);
    let problems = ledger::check(&dir);
    assert!(
        problems.iter().any(|p| p.contains("Corrected statement")),
        "{problems:?}"
    );
    let fixed = refuted.replace(
        "**Sources.**",
        "**Corrected statement.** One plus one is two.\n\n**Sources.**",
    );
    let dir = tree("refuted-fixed", &fixed, TEST);
    assert_eq!(ledger::check(&dir), Vec::<String>::new());
}

#[test]
fn a_marker_for_another_claim_is_reported() {
    let dir = tree(
        "other",
        PROOF,
        &TEST.replace("// claim: demo-claim", "// claim: other-claim"),
    );
    let problems = ledger::check(&dir);
    assert!(
        problems.iter().any(|p| p.contains("no proof file")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("no `// claim: demo-claim` marker")),
        "{problems:?}"
    );
}

/// Whether `problems` has one that mentions every part of `parts`.
fn reported(problems: &[String], parts: &[&str]) -> bool {
    problems
        .iter()
        .any(|p| parts.iter().all(|part| p.contains(part)))
}

#[test]
fn an_emptied_test_is_reported() {
    let emptied = TEST.replace("    assert_eq!(bias_correction(0.0, 1) + 1.0, 2.0);\n", "");
    assert_ne!(emptied, TEST);
    let problems = ledger::check(&tree("emptied", PROOF, &emptied));
    assert!(
        reported(&problems, &["one_plus_one", "does not reach the crate"]),
        "{problems:?}"
    );
}

#[test]
fn a_test_that_asserts_nothing_is_reported() {
    let silent = TEST.replace("assert_eq!(", "let _ = (");
    let problems = ledger::check(&tree("silent", PROOF, &silent));
    assert!(
        reported(&problems, &["one_plus_one", "asserts nothing"]),
        "{problems:?}"
    );
}

#[test]
fn a_test_that_names_nothing_of_the_crate_is_reported() {
    let foreign = TEST.replace("bias_correction(0.0, 1)", "1.0_f64.max(0.0)");
    let problems = ledger::check(&tree("foreign", PROOF, &foreign));
    assert!(
        reported(&problems, &["one_plus_one", "does not reach the crate"]),
        "{problems:?}"
    );
    // Saying why (a reference library's fixtures, or mathematics alone) is
    // accepted, and visible in the test's source.
    let declared = foreign.replace(
        "// claim: demo-claim\n",
        "// claim: demo-claim\n// claim-external: arithmetic alone\n",
    );
    assert_eq!(
        ledger::check(&tree("declared", PROOF, &declared)),
        Vec::<String>::new()
    );
}

#[test]
fn an_ignored_test_is_reported() {
    let ignored = TEST.replace("#[test]\n", "#[test]\n#[ignore]\n");
    let problems = ledger::check(&tree("ignored", PROOF, &ignored));
    assert!(
        reported(&problems, &["one_plus_one", "ignore"]),
        "{problems:?}"
    );
}

#[test]
fn a_renamed_test_whose_helper_keeps_the_name_is_reported() {
    // The test is renamed; a helper with the old name (which does reach the
    // crate and assert) stays behind. The proof still names the old name.
    let renamed = format!(
        "{}\nfn one_plus_one() {{\n    assert!(bias_correction(0.5, 1) > 0.0);\n}}\n",
        TEST.replace("fn one_plus_one()", "fn renamed()")
    );
    let problems = ledger::check(&tree("renamed", PROOF, &renamed));
    assert!(
        reported(&problems, &["one_plus_one", "is not a test function"]),
        "{problems:?}"
    );
    assert!(
        reported(&problems, &["renamed", "does not name it"]),
        "{problems:?}"
    );
}

#[test]
fn a_helper_that_asserts_and_reaches_the_crate_counts() {
    let via_helper = "use descent::optim::moments::bias_correction;

fn check_sum(a: f64) {
    assert_eq!(bias_correction(0.0, 1) + a, 2.0);
}

// claim: demo-claim
#[test]
fn one_plus_one() {
    check_sum(1.0);
}
";
    assert_eq!(
        ledger::check(&tree("helper", PROOF, via_helper)),
        Vec::<String>::new()
    );
}

#[test]
fn a_marker_binds_only_to_the_function_directly_below() {
    // Code between the marker and the test: the marker binds to nothing.
    let apart = TEST.replace(
        "// claim: demo-claim\n",
        "// claim: demo-claim\nconst X: u8 = 1;\n",
    );
    let problems = ledger::check(&tree("apart", PROOF, &apart));
    assert!(
        reported(&problems, &["marker not directly above a fn"]),
        "{problems:?}"
    );
    // A marker above a helper declared right before the test binds to the helper,
    // which is not a test.
    let helper_first = TEST.replace(
        "// claim: demo-claim\n#[test]\n",
        "// claim: demo-claim\nfn helper() {}\n#[test]\n",
    );
    let problems = ledger::check(&tree("helper-first", PROOF, &helper_first));
    assert!(!problems.is_empty(), "{problems:?}");
}

#[test]
fn a_proptest_function_is_a_test() {
    let prop = "use descent::optim::moments::bias_correction;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    // claim: demo-claim
    /// A doc comment may stand between the marker and the test.
    #[test]
    fn one_plus_one(a in 0.0..1.0f64) {
        prop_assert!(bias_correction(a, 1) >= 0.0, \"{a}\");
    }
}
";
    assert_eq!(
        ledger::check(&tree("proptest", PROOF, prop)),
        Vec::<String>::new()
    );
}

#[test]
fn a_proof_without_a_break_is_reported() {
    for breaks in [
        "**Breaks.** None.",
        "**Breaks.** TODO",
        "**Breaks.** Changed 2 to 3.",
    ] {
        let broken = PROOF.replace("**Breaks.** Changing 2 to 3 fails the test.", breaks);
        let problems = ledger::check(&tree("breaks", &broken, TEST));
        assert!(
            reported(&problems, &["lists no break"]),
            "{breaks}: {problems:?}"
        );
    }
}

#[test]
fn braces_in_strings_and_comments_do_not_end_a_test() {
    let tricky = "use descent::optim::moments::bias_correction;

// claim: demo-claim
#[test]
fn one_plus_one() {
    let s = \"}\"; // }
    /* } */
    let c = '}';
    let r = r#\"}\"#;
    assert!(s.len() + r.len() == 2 && c == '}' && bias_correction(0.0, 1) == 1.0);
}
";
    assert_eq!(
        ledger::check(&tree("tricky", PROOF, tricky)),
        Vec::<String>::new()
    );
    let scanned = ledger::scan_rust(tricky);
    assert_eq!(scanned.fns.len(), 1);
    assert_eq!(
        (scanned.fns[0].first_line, scanned.fns[0].last_line),
        (3, 11)
    );
}

#[test]
fn version_two_proofs_parse() {
    let dir = tree("v2", PROOF_V2, TEST);
    assert_eq!(ledger::check(&dir), Vec::<String>::new());
    let claims = ledger::read_proofs(&dir).unwrap();
    assert_eq!(claims[0].format, ledger::Format::V2);
    assert_eq!(claims[0].tests[0].anchor(), "test-demo-one_plus_one");
}

#[test]
fn version_two_defects_are_reported() {
    let cases = [
        (
            PROOF_V2.replace(
                "tests.md#test-demo-one_plus_one)\n\n**Breaks",
                "tests.md#test-demo-other)\n\n**Breaks",
            ),
            "must point to",
        ),
        (
            PROOF_V2.replace(
                "- [`tests/demo.rs::one_plus_one`](tests.md#test-demo-one_plus_one)",
                "- `tests/demo.rs::one_plus_one`",
            ),
            "is a link",
        ),
        (
            PROOF_V2.replace("</summary>\n\n", "</summary>\n"),
            "blank line",
        ),
        (
            PROOF_V2.replace("\n\n</details>", "\n</details>"),
            "blank line",
        ),
        (
            PROOF_V2
                .replace("<details><summary>How this is checked</summary>\n\n", "")
                .replace("</details>\n", "")
                + "<details><summary>How this is checked</summary>\n\nx\n\n</details>\n",
            "inside the fold",
        ),
        (PROOF_V2.replace("</details>\n", ""), "exactly one"),
    ];
    for (broken, expected) in cases {
        assert_ne!(broken, PROOF_V2);
        let problems = ledger::check(&tree("v2-broken", &broken, TEST));
        assert!(reported(&problems, &[expected]), "{expected}: {problems:?}");
    }
}

#[test]
fn pipes_are_escaped_outside_math_only() {
    let cell =
        ledger::table_cell("$\\KL(p \\,\\|\\, q)$ and $|\\theta_i|$, `a|b` or x | y, $$|z|$$");
    assert_eq!(
        cell,
        "$\\KL(p \\,\\Vert \\, q)$ and $\\vert \\theta_i\\vert $, `a\\|b` or x \\| y, $$\\vert z\\vert $$"
    );
}

#[test]
fn a_table_in_a_statement_becomes_one_line() {
    let cell = ledger::table_cell(
        "Each method scales by $k$:\n\n| method | $k$ |\n|---|---|\n| SGD | $1/c$ |\n| Newton, $|x|$ | $c$ |\n\nDone.",
    );
    assert_eq!(
        cell,
        "Each method scales by $k$: (method: $k$) SGD: $1/c$; Newton, $\\vert x\\vert $: $c$. Done."
    );
    assert!(!cell.contains('\n'));
}

#[test]
fn the_tests_page_has_one_anchor_per_test_and_links_back() {
    let dir = tree("page", PROOF_V2, TEST);
    let page = ledger::tests_page(&dir).unwrap();
    assert_eq!(
        page.matches("<a id=\"test-demo-one_plus_one\"></a>")
            .count(),
        1
    );
    assert!(page.contains("Checks: `demo-claim`"), "{page}");
    assert!(page.contains("fn one_plus_one()"), "{page}");
}

/// `text` with every link to the Tests page turned back into its code span.
fn unlink(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("[`") {
        let Some(close) = rest[at + 2..].find("`](").map(|k| at + 2 + k) else {
            break;
        };
        if !rest[close..].starts_with("`](tests.md#") {
            out.push_str(&rest[..at + 2]);
            rest = &rest[at + 2..];
            continue;
        }
        let end = rest[close..]
            .find(')')
            .map_or(rest.len(), |k| close + k + 1);
        out.push_str(&rest[..at]);
        out.push_str(&rest[at + 1..=close]);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The non-blank lines of a proof, unlinked, without the fold's tags, sorted:
/// converting must move lines, never lose or change one.
fn content_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = unlink(text)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != ledger::FOLD_OPEN && *l != ledger::FOLD_CLOSE)
        .map(String::from)
        .collect();
    lines.sort();
    lines
}

/// Converts every proof to format version 2. Without `DESCENT_PROOFS_V2` it works
/// on a copy in a temporary folder and checks the result: every proof converts,
/// parses as version 2 with the same statement, status, sources and tests, keeps
/// every line, converts to itself a second time, and the ledger's checks pass on
/// the converted tree (the tree of `DESCENT_LEDGER_ROOT` if set). With
/// `DESCENT_PROOFS_V2=1` it rewrites `proofs/` in place
/// (with `DESCENT_PROOFS_V2=<folder>`, the `proofs/` of that copy of the project).
#[test]
fn convert_proofs_to_v2() {
    if let Some(target) = std::env::var_os("DESCENT_PROOFS_V2") {
        let target = if target == "1" {
            root().to_path_buf()
        } else {
            PathBuf::from(target)
        };
        let changed = ledger::convert_all(&target).expect("every proof converts");
        eprintln!("converted {} proofs: {}", changed.len(), changed.join(", "));
        return;
    }
    let dir = std::env::temp_dir().join(format!("descent-ledger-{}-v2-all", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    for sub in ["proofs", "tests", "tests/common"] {
        fs::create_dir_all(dir.join(sub)).unwrap();
        for entry in fs::read_dir(checked_root().join(sub)).unwrap().flatten() {
            if entry.path().is_file() {
                fs::copy(entry.path(), dir.join(sub).join(entry.file_name())).unwrap();
            }
        }
    }
    let before = ledger::read_proofs(&dir).expect("proofs parse");
    ledger::convert_all(&dir).expect("every proof converts");
    let after = ledger::read_proofs(&dir).expect("converted proofs parse");
    assert_eq!(before.len(), after.len());
    let known = ledger::tests_by_name(&dir).unwrap();
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(a.format, ledger::Format::V2, "{}", a.id);
        assert_eq!(
            (&a.id, &a.statement, a.status, &a.sources, &a.tests),
            (&b.id, &b.statement, b.status, &b.sources, &b.tests)
        );
        let original =
            fs::read_to_string(checked_root().join(format!("proofs/{}.md", a.id))).unwrap();
        let converted = fs::read_to_string(dir.join(format!("proofs/{}.md", a.id))).unwrap();
        assert_eq!(
            content_lines(&original),
            content_lines(&converted),
            "{}: converting changed a line",
            a.id
        );
        assert_eq!(
            ledger::to_v2(&a.id, &converted, &known).unwrap(),
            converted,
            "{}: converting twice changes the file",
            a.id
        );
    }
    assert_eq!(ledger::check(&dir), Vec::<String>::new());
}

#[test]
fn conversion_folds_the_verification_and_keeps_the_mathematics() {
    let v1 = PROOF_V1
        .replace(
            "**Proof.** By definition of the successor.\n",
            "**Proof.** By definition of the successor.\n\n\
         *Rounding.* Integers are exact.\n\n\
         So no tolerance is needed.\n\n\
         *A second argument.* Count on your fingers.\n\n\
         <!-- fold -->\n\
         Counting twice gives the same answer.\n",
        )
        .replace(
            "**Breaks.** Changing 2 to 3 fails the test.",
            "**Breaks.** Changing 2 to 3 fails `one_plus_one`.",
        );
    let dir = tree("convert", &v1, TEST);
    let known = ledger::tests_by_name(&dir).unwrap();
    let v2 = ledger::to_v2("demo-claim", &v1, &known).unwrap();
    let fold = v2.find(ledger::FOLD_OPEN).unwrap();
    let (shown, hidden) = v2.split_at(fold);
    assert!(shown.contains("By definition of the successor."));
    assert!(shown.contains("*A second argument.* Count on your fingers."));
    assert!(hidden.contains("*Rounding.* Integers are exact.\n\nSo no tolerance is needed."));
    assert!(hidden.contains("\nCounting twice gives the same answer."));
    assert!(!v2.contains("<!-- fold -->"));
    assert!(hidden.contains(
        "**Tests.**\n- [`tests/demo.rs::one_plus_one`](tests.md#test-demo-one_plus_one)"
    ));
    assert!(hidden.contains("fails [`one_plus_one`](tests.md#test-demo-one_plus_one)."));
    assert!(v2.ends_with("\n\n</details>\n"));
    fs::write(dir.join("proofs/demo-claim.md"), &v2).unwrap();
    assert_eq!(ledger::check(&dir), Vec::<String>::new());
    assert_eq!(ledger::to_v2("demo-claim", &v2, &known).unwrap(), v2);
}

#[test]
fn version_one_proofs_parse_during_the_move_only() {
    let problems = ledger::check(&tree("v1", PROOF_V1, TEST));
    if ledger::V1_ALLOWED {
        assert_eq!(problems, Vec::<String>::new());
        let claims = ledger::read_proofs(&tree("v1", PROOF_V1, TEST)).unwrap();
        assert_eq!(claims[0].format, ledger::Format::V1);
    } else {
        assert!(reported(&problems, &["a version-1 proof"]), "{problems:?}");
    }
}

#[test]
fn a_quickcheck_property_is_a_test_and_its_result_its_assertion() {
    let prop = "use descent::optim::moments::bias_correction;

quickcheck::quickcheck! {
    // claim: demo-claim
    fn one_plus_one(k: u8) -> bool {
        bias_correction(0.5, u64::from(k) + 1) > 0.0
    }
}
";
    assert_eq!(
        ledger::check(&tree("quickcheck", PROOF, prop)),
        Vec::<String>::new()
    );
    // Without a result there is nothing to check.
    let silent = prop
        .replace(" -> bool", "")
        .replace("        bias", "        let _ = bias");
    let problems = ledger::check(&tree("quickcheck-silent", PROOF, &silent));
    assert!(reported(&problems, &["asserts nothing"]), "{problems:?}");
}

#[test]
fn conversion_folds_paragraphs_that_open_with_the_tests() {
    let v1 = PROOF_V1.replace(
        "**Proof.** By definition of the successor.\n",
        "**Proof.** By definition of the successor.\n\n\
         The tests run the crate's correction.\n\n\
         *Why it matters.* Two is even.\n\n\
         <!-- show -->\n\
         Measured: nothing, and shown anyway.\n",
    );
    let dir = tree("openers", &v1, TEST);
    let known = ledger::tests_by_name(&dir).unwrap();
    let v2 = ledger::to_v2("demo-claim", &v1, &known).unwrap();
    let (shown, hidden) = v2.split_at(v2.find(ledger::FOLD_OPEN).unwrap());
    assert!(hidden.contains("The tests run the crate's correction."));
    assert!(shown.contains("*Why it matters.* Two is even."));
    assert!(shown.contains("\nMeasured: nothing, and shown anyway."));
    assert!(!v2.contains("<!-- show -->"));
}
