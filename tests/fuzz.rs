//! Bounded fuzzing of the offline entry points (file name and text parser,
//! Weaviate operation checks, revision graph), runnable on stable with
//! `arbtest`. The corpus is every migration fixture of the repository; each
//! case mutates a few of them (byte edits, splices, tokens the parser cares
//! about, non-ASCII letters) and requires an answer, never a panic. It was
//! written after a 600 s fuzz run found `"class": "Élève"` panicking at a
//! byte slice (issue 13.6).
//!
//! Bounded: `DBMIGRATE_FUZZ_MS` milliseconds (default 3000); a failure
//! prints its seed, which `DBMIGRATE_FUZZ_SEED=0x…` replays.

use std::path::{Path, PathBuf};

use arbtest::arbitrary::{Result, Unstructured};

/// Tokens worth inserting: section markers, headers, JSON punctuation, line
/// ends, a BOM, and letters outside ASCII where names are sliced.
const TOKENS: &[&str] = &[
    "-- migrate:up\n",
    "-- migrate:down\n",
    "-- Revises: ",
    "-- Transaction: none\n",
    "-- Irreversible: true\n",
    "// migrate:up\n",
    "\"class\": \"Élève\"",
    "\"class\": \"",
    "\"op\": \"create_collection\"",
    "\"op\": \"rebuild_collection\"",
    "\"up\": [",
    "\"down\": [",
    "{",
    "}",
    "[",
    "]",
    "\"",
    ":",
    ",",
    "\r\n",
    "\n",
    "\u{feff}",
    "\0",
    "É",
    "ß",
    "日本",
    "🦀",
    "base",
    "20240101_0900_",
];

/// Every migration file under the repository's fixture folders.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        "tests/fixtures",
        "examples/edututor/migrations",
        "cargo-dbmigrate/tests/fixtures",
    ] {
        collect(&root.join(dir), &mut files);
    }
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&path).unwrap();
            (format!("migrations/{name}"), bytes)
        })
        .collect()
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.map(|entry| entry.unwrap().path()) {
        let name = path.to_string_lossy();
        if path.is_dir() {
            collect(&path, files);
        } else if [".sql", ".cypher", ".weaviate.json"]
            .iter()
            .any(|ext| name.ends_with(ext))
        {
            files.push(path);
        }
    }
}

/// Letters that are one character but several bytes.
const LETTERS: &[&str] = &["É", "é", "ß", "Ω", "日", "🦀", r"\u00c9"];

/// Where a value starts: after `": "` in JSON, after `: ` in a header.
const VALUE_STARTS: &[&[u8]] = &[b"\": \"", b": "];

/// One edit of `bytes`, chosen by `u`. Besides blind edits, a letter goes at
/// the start of a value, so the file stays well-formed and the letter
/// reaches the checks behind the parser (a collection name, a message).
fn mutate(u: &mut Unstructured, bytes: &mut Vec<u8>) -> Result<()> {
    let at = u.int_in_range(0..=bytes.len())?;
    match u.int_in_range(0..=8)? {
        6.. => {
            let start = u.choose(VALUE_STARTS)?;
            let starts: Vec<usize> = (0..bytes.len())
                .filter(|&i| bytes[i..].starts_with(start))
                .map(|i| i + start.len())
                .collect();
            if !starts.is_empty() {
                let at = *u.choose(&starts)?;
                bytes
                    .splice(at..at, u.choose(LETTERS)?.bytes())
                    .for_each(drop);
            }
        }
        0 => bytes
            .splice(at..at, u.choose(TOKENS)?.bytes())
            .for_each(drop),
        1 if at < bytes.len() => bytes[at] = u.arbitrary()?,
        2 => {
            let end = u.int_in_range(at..=bytes.len())?;
            bytes.drain(at..end);
        }
        3 => {
            let end = u.int_in_range(at..=bytes.len().min(at + 64))?;
            let copy = bytes[at..end].to_vec();
            let to = u.int_in_range(0..=bytes.len())?;
            bytes.splice(to..to, copy).for_each(drop);
        }
        4 => bytes.truncate(at),
        _ => {
            let raw: Vec<u8> = u.arbitrary()?;
            bytes.splice(at..at, raw).for_each(drop);
        }
    }
    Ok(())
}

/// Parses a few mutated corpus files, builds a history from those that
/// parse, and renders every answer: none of it may panic.
fn one_case(u: &mut Unstructured, corpus: &[(String, Vec<u8>)]) -> Result<()> {
    let mut migrations = Vec::new();
    for _ in 0..u.int_in_range(1..=4)? {
        let (name, bytes) = u.choose(corpus)?;
        let mut name = name.clone().into_bytes();
        let mut bytes = bytes.clone();
        for _ in 0..u.int_in_range(0..=6)? {
            mutate(u, &mut bytes)?;
        }
        if u.ratio(1, 8)? {
            mutate(u, &mut name)?;
        }
        let name = String::from_utf8_lossy(&name).into_owned();
        match dbmigrate_core::parse::parse_bytes(&name, &bytes) {
            Ok(migration) => migrations.push(migration),
            Err(error) => drop(error.to_string()),
        }
    }
    match dbmigrate_core::History::new(migrations) {
        Ok(history) => drop(format!("{history:?}")),
        Err(error) => drop(error.to_string()),
    }
    Ok(())
}

#[test]
fn parser_and_graph_answer_every_mutated_fixture() {
    let corpus = corpus();
    assert!(
        corpus.len() > 20,
        "the fixtures moved: {} files found",
        corpus.len()
    );
    let budget = std::env::var("DBMIGRATE_FUZZ_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(3000);
    let mut test = arbtest::arbtest(|u| one_case(u, &corpus))
        .size_min(64)
        .size_max(4096)
        .budget_ms(budget);
    if let Some(seed) = std::env::var("DBMIGRATE_FUZZ_SEED")
        .ok()
        .and_then(|seed| u64::from_str_radix(seed.trim_start_matches("0x"), 16).ok())
    {
        test = test.seed(seed);
    }
    test.run();
}

#[test]
fn a_non_ascii_collection_name_is_an_error_not_a_panic() {
    let text = r#"{"message": "m", "up": [{"op": "create_collection", "class": {"class": "Élève"}}],
        "down": [{"op": "delete_collection", "collection": "Élève"}]}"#;
    let error = dbmigrate_core::parse::parse_migration(
        "migrations/20240101_0900_aaa111_eleve.weaviate.json",
        text,
    )
    .unwrap_err();
    assert!(error.to_string().contains("[A-Z][_0-9A-Za-z]*"), "{error}");
}
