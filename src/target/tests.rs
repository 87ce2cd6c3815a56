//! Unit tests of target parsing and resolution.

use super::Target;
use crate::graph::History;
use crate::parse::parse_migration;

/// `(file stem, parent)`: five revisions, two of whose revs share the prefix `abc1`.
const FILES: [(&str, Option<&str>); 5] = [
    ("20241201_1000_a1b2c3_initial_schema", None),
    (
        "20241201_1100_abc123_add_guardian_consent",
        Some("20241201_1000_a1b2c3"),
    ),
    (
        "20241201_1200_abc1ff_default_profiles",
        Some("20241201_1100_abc123"),
    ),
    (
        "20241202_0900_d4e5f6_concept_constraint",
        Some("20241201_1200_abc1ff"),
    ),
    (
        "20241202_1000_e5f6a7_prerequisites",
        Some("20241202_0900_d4e5f6"),
    ),
];

fn history() -> History {
    let migrations = FILES
        .iter()
        .map(|(stem, parent)| {
            let revises = parent.map(|parent| format!("-- Revises: {parent}\n")).unwrap_or_default();
            let text = format!("-- Message: {stem}\n{revises}-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n");
            parse_migration(&format!("{stem}.sql"), &text).unwrap()
        })
        .collect();
    History::new(migrations).unwrap()
}

/// Parses and resolves `text` from `current`; `Ok` as the index or `base`, `Err` as the message.
fn check(text: &str, current: Option<usize>, expected: &str) {
    let resolved = Target::parse(text).and_then(|target| history().resolve(&target, current));
    let shown = match resolved {
        Ok(Some(index)) => index.to_string(),
        Ok(None) => "base".to_string(),
        Err(error) => error.to_string(),
    };
    assert_eq!(shown, expected, "target `{text}` from {current:?}");
}

#[test]
fn parses_every_form() {
    assert_eq!(Target::parse("head"), Ok(Target::Head));
    assert_eq!(Target::parse(" HEAD "), Ok(Target::Head));
    assert_eq!(Target::parse("base"), Ok(Target::Base));
    assert_eq!(Target::parse("+2"), Ok(Target::Relative(2)));
    assert_eq!(Target::parse("-1"), Ok(Target::Relative(-1)));
    assert_eq!(
        Target::parse("abc123"),
        Ok(Target::Revision("abc123".into()))
    );
    assert_eq!(
        "20241201_1100_abc123".parse(),
        Ok(Target::Revision("20241201_1100_abc123".into()))
    );
    for text in [
        "",
        "  ",
        "+",
        "-",
        "+x",
        "-1a",
        "a b",
        "+99999999999999999999",
    ] {
        assert!(Target::parse(text).is_err(), "`{text}` must be refused");
    }
    for target in [
        Target::Head,
        Target::Base,
        Target::Relative(3),
        Target::Relative(-2),
        Target::Revision("abc".into()),
    ] {
        assert_eq!(Target::parse(&target.to_string()), Ok(target));
    }
}

#[test]
fn resolves_every_form() {
    for (text, current, expected) in [
        ("head", None, "4"),
        ("base", Some(3), "base"),
        ("20241201_1100_abc123_add_guardian_consent", None, "1"),
        ("20241201_1100_abc123_add_guardian_consent.sql", None, "1"),
        ("20241201_1100_abc123", None, "1"),
        ("abc123", None, "1"),
        ("abc1f", None, "2"),
        ("ABC1F", None, "2"),
        ("d4e5", Some(0), "3"),
        ("20241202_1", None, "4"),
        ("+1", None, "0"),
        ("+2", Some(1), "3"),
        ("+0", Some(2), "2"),
        ("-1", Some(2), "1"),
        ("-1", Some(0), "base"),
        ("+5", None, "4"),
        ("-5", Some(4), "base"),
    ] {
        check(text, current, expected);
    }
}

#[test]
fn refuses_unknown_ambiguous_and_out_of_range() {
    for (text, current, expected) in [
        ("abc1", None, "`abc1` is ambiguous: it matches 20241201_1100_abc123, 20241201_1200_abc1ff\n  help: give more characters of the rev"),
        ("20241201", None, "`20241201` is ambiguous: it matches 20241201_1000_a1b2c3, 20241201_1100_abc123, 20241201_1200_abc1ff\n  help: give more characters of the rev"),
        ("ffffff", None, "no revision matches `ffffff`\n  help: `cargo dbmigrate history` lists the revisions"),
        ("+1", Some(4), "`+1` goes 1 step(s) past head\n  help: `cargo dbmigrate status` shows the current position"),
        ("+3", Some(2), "`+3` goes 1 step(s) past head\n  help: `cargo dbmigrate status` shows the current position"),
        ("-1", None, "`-1` goes 1 step(s) past base\n  help: `cargo dbmigrate status` shows the current position"),
        ("-4", Some(1), "`-4` goes 2 step(s) past base\n  help: `cargo dbmigrate status` shows the current position"),
        ("+", None, "`+` is not a revision target\n  help: use head, base, a revision id, a unique prefix of its rev (`abc123`), +N or -N"),
    ] {
        check(text, current, expected);
    }
}

#[test]
fn an_exact_rev_beats_a_longer_rev_it_prefixes() {
    let text =
        |parent: &str| format!("-- Message: m\n{parent}-- migrate:up\nA;\n-- migrate:down\nB;\n");
    let root = parse_migration("20241201_1000_abc123_a.sql", &text("")).unwrap();
    let child = parse_migration(
        "20241201_1100_abc1234_b.sql",
        &text("-- Revises: 20241201_1000_abc123\n"),
    )
    .unwrap();
    let history = History::new(vec![root, child]).unwrap();
    assert_eq!(
        history.resolve(&Target::Revision("abc123".into()), None),
        Ok(Some(0))
    );
    assert_eq!(
        history.resolve(&Target::Revision("abc1234".into()), None),
        Ok(Some(1))
    );
    assert!(history
        .resolve(&Target::Revision("abc12".into()), None)
        .is_err());
}

#[test]
fn empty_history_resolves_head_and_base_to_base() {
    let empty = History::new(Vec::new()).unwrap();
    assert_eq!(empty.resolve(&Target::Head, None), Ok(None));
    assert_eq!(empty.resolve(&Target::Base, None), Ok(None));
    assert_eq!(empty.resolve(&Target::Relative(0), None), Ok(None));
    assert!(empty.resolve(&Target::Relative(1), None).is_err());
    assert!(empty
        .resolve(&Target::Revision("abc".into()), None)
        .is_err());
}

#[test]
fn arbitrary_text_never_panics() {
    let history = history();
    let pieces = [
        "+",
        "-",
        "head",
        "base",
        "abc",
        "2024",
        "_",
        "9",
        "99999999999999999999",
        " ",
        "é",
        ".sql",
        "\u{0}",
    ];
    let mut state: u32 = 12345;
    for _ in 0..2000 {
        let mut text = String::new();
        for _ in 0..(state % 4) {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            text.push_str(pieces[(state >> 16) as usize % pieces.len()]);
        }
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let current = [None, Some(0), Some(4), Some(usize::MAX)][(state >> 16) as usize % 4];
        if let Ok(target) = Target::parse(&text) {
            let _ = history.resolve(&target, current);
        }
    }
    for steps in [i64::MIN, i64::MAX] {
        let _ = history.resolve(&Target::Relative(steps), Some(usize::MAX));
    }
}
