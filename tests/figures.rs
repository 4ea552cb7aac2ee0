//! The committed figures are what the code draws now.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

#[test]
fn committed_figures_match_the_code() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/figures");
    let figures = descent::figures::all().expect("every figure draws");
    if std::env::var_os("DESCENT_BLESS").is_some() {
        descent::figures::write_all(&dir).unwrap();
    }
    let mut stale = Vec::new();
    for figure in &figures {
        let path = dir.join(format!("{}.svg", figure.name));
        match fs::read_to_string(&path) {
            Ok(committed) if committed == figure.svg => {}
            Ok(_) => stale.push(format!("{} differs", path.display())),
            Err(e) => stale.push(format!("{}: {e}", path.display())),
        }
    }
    let drawn: BTreeSet<String> = figures.iter().map(|f| format!("{}.svg", f.name)).collect();
    for entry in fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !drawn.contains(&name) {
            stale.push(format!("{name} is committed but no code draws it"));
        }
    }
    assert!(
        stale.is_empty(),
        "stale figures (regenerate with `DESCENT_BLESS=1 cargo test --test figures`):\n{}",
        stale.join("\n")
    );
}

#[test]
fn figures_use_no_system_font() {
    for figure in descent::figures::all().unwrap() {
        assert!(figure.svg.starts_with("<svg"), "{} is not SVG", figure.name);
        // Every text element names the font the book ships (KaTeX_Main), never a
        // system family.
        for (k, _) in figure.svg.match_indices("<text") {
            let tag = &figure.svg[k..k + figure.svg[k..].find('>').unwrap()];
            assert!(
                tag.contains("font-family=\"KaTeX_Main\""),
                "{}: {tag}",
                figure.name
            );
        }
    }
}
