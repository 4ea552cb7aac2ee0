//! The ledger cannot drift: every proof names tests that exist and carry its
//! marker, and every marked claim test is named by its proof.

use std::fs;
use std::path::{Path, PathBuf};

use descent::ledger;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn proofs_and_tests_agree() {
    let problems = ledger::check(root());
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

// The checks above must be able to fail: each case below builds a small tree
// with one defect and expects the ledger to report it.

const PROOF: &str = "### demo-claim

**Statement.** One plus one is two.

**Assumptions.** Integers.

**Status.** holds

**Sources.** Peano.

**Proof.** By definition of the successor.

**Tests.**
- `tests/demo.rs::one_plus_one`

**Breaks.** Changing 2 to 3 fails the test.
";

const TEST: &str = "// claim: demo-claim
#[test]
fn one_plus_one() {
    assert_eq!(1 + 1, 2);
}
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
