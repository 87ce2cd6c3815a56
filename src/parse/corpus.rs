//! The bad-input corpus: every folder under `tests/fixtures/bad/` is loaded
//! like a migrations folder (then built into a history, then asked for the
//! target in its `TARGET` file) and the full error text is snapshotted.

use std::path::{Path, PathBuf};

use super::load_dir;
use crate::graph::History;
use crate::target::Target;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every error the folder produces, as a user would read them, with the
/// checkout's absolute path removed.
fn errors_of(case: &Path) -> String {
    let text = match load_dir(case) {
        Err(errors) => errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n\n"),
        Ok(migrations) => match History::new(migrations) {
            Err(error) => error.to_string(),
            Ok(history) => {
                let target = std::fs::read_to_string(case.join("TARGET")).unwrap_or_default();
                let resolved = Target::parse(target.trim())
                    .and_then(|target| history.resolve(&target, Some(0)));
                match resolved {
                    Err(error) => format!(
                        "target `{}` (current: first revision): {error}",
                        target.trim()
                    ),
                    Ok(index) => panic!(
                        "{}: nothing was refused (resolved to {index:?})",
                        case.display()
                    ),
                }
            }
        },
    };
    let root = format!("{}/", env!("CARGO_MANIFEST_DIR"));
    without_variant_list(&text.replace(&root, "").replace('\\', "/"))
}

/// serde's list of known operations, cut so that adding an operation to
/// `weaviate_ops` does not change the snapshots.
fn without_variant_list(text: &str) -> String {
    let Some(start) = text.find("unknown variant") else {
        return text.to_string();
    };
    let Some(list) = text[start..]
        .find("expected one of ")
        .map(|at| start + at + "expected one of ".len())
    else {
        return text.to_string();
    };
    let end = text[list..]
        .find(" (column")
        .map_or(text.len(), |at| list + at);
    format!(
        "{}[the operations of weaviate_ops]{}",
        &text[..list],
        &text[end..]
    )
}

#[test]
fn every_bad_fixture_is_refused_with_file_line_and_fix() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(fixtures().join("bad"))
        .expect("tests/fixtures/bad")
        .map(|entry| entry.expect("fixture entry").path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "the corpus lost cases: {cases:?}");
    for case in cases {
        let name = case
            .file_name()
            .and_then(|name| name.to_str())
            .expect("utf-8 case name")
            .to_string();
        let errors = errors_of(&case);
        assert!(
            errors.contains("help: "),
            "{name}: every message says the fix:\n{errors}"
        );
        insta::assert_snapshot!(name, errors);
    }
}

#[test]
fn crlf_and_bom_copies_parse_to_the_same_migrations() {
    let lf = load_dir(&fixtures().join("crlf/lf")).expect("LF copies parse");
    let crlf = load_dir(&fixtures().join("crlf/crlf")).expect("CRLF copies parse");
    assert_eq!(lf.len(), 3);
    for (lf, crlf) in lf.iter().zip(&crlf) {
        let raw = std::fs::read(&crlf.path).expect("read the CRLF copy");
        assert!(
            raw.starts_with(b"\xef\xbb\xbf") && raw.windows(2).any(|pair| pair == b"\r\n"),
            "{}",
            crlf.path
        );
        assert_eq!(lf.checksum, crlf.checksum, "{}", crlf.file_name);
        assert_eq!(
            (&lf.up, &lf.down),
            (&crlf.up, &crlf.down),
            "{}",
            crlf.file_name
        );
        assert_eq!(
            (lf.up_line, lf.down_line),
            (crlf.up_line, crlf.down_line),
            "{}",
            crlf.file_name
        );
        assert!(
            !crlf.up.to_string().contains('\r') && !crlf.down.to_string().contains('\r'),
            "{}",
            crlf.file_name
        );
    }
    let history = History::new(crlf).expect("the CRLF copies form one history");
    assert_eq!(history.len(), 3);
}

#[test]
fn the_edututor_example_is_one_history() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/edututor/migrations");
    let migrations = load_dir(&folder).unwrap_or_else(|errors| {
        panic!(
            "{}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    let history = History::new(migrations).unwrap_or_else(|error| panic!("{error}"));
    let revs: Vec<&str> = history
        .iter()
        .map(|migration| migration.rev.as_str())
        .collect();
    assert_eq!(
        revs,
        [
            "a1b2c3", "b2c3d4", "c3d4e5", "d4e5f6", "e5f6a7", "f6a7b8", "a7b8c9", "b8c9d0",
            "c9d0e1", "d0e1f2"
        ]
    );
}
