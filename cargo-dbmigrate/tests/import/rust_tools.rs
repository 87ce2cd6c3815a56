//! diesel_cli and refinery_cli, built from crates.io by `cargo xtask peers
//! install` (PostgreSQL features only), apply their own projects first.

use super::*;

/// `diesel migration run` on the fixture; diesel reads `diesel.toml` from
/// the folder it runs in, so it runs in the (temporary) project folder.
fn diesel_run(project: &Path, source: &Path, url: &str) {
    let diesel = peer("diesel_cli", "bin/diesel");
    std::fs::write(project.join("diesel.toml"), "").unwrap();
    run_tool(
        Command::new(diesel)
            .args(["migration", "run", "--migration-dir"])
            .arg(source)
            .args(["--database-url", url])
            .current_dir(project),
    );
}

#[test]
fn diesel_real_tool_then_import_and_adopt() {
    let temp = tempfile::tempdir().unwrap();
    let source = fixture("diesel", temp.path());
    let scratch = Scratch::new("diesel");
    diesel_run(temp.path(), &source, &scratch.url);
    // diesel's order is the version string's: the odd second `60` sorts
    // between 100500 and 101000, as diesel applied it.
    assert_eq!(
        scratch
            .query("SELECT string_agg(version, ',' ORDER BY run_on, version) FROM __diesel_schema_migrations WHERE version LIKE '20240107%'")
            .trim(),
        "20240107100000,20240107100500,20240107100560"
    );
    import_adopt_round_trip(
        "diesel",
        &source,
        &scratch,
        "__diesel_schema_migrations",
        14,
    );
}

#[test]
fn diesel_version_with_no_folder_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let source = fixture("diesel", temp.path());
    let scratch = Scratch::new("diesel_unknown");
    diesel_run(temp.path(), &source, &scratch.url);
    // The folder diesel applied is gone from the project being imported.
    std::fs::remove_dir_all(source.join("2024-01-14-090000_audit_log")).unwrap();
    let app = App::new();
    app.ok(&["import", "--from", "diesel", source.to_str().unwrap()]);
    let stderr = app.refused(&["adopt", "--from", "diesel", "--database-url", &scratch.url]);
    assert!(stderr.contains("20240114090000"), "{stderr}");
    assert!(stderr.contains("nothing was stamped"), "{stderr}");
    assert_eq!(
        scratch
            .query("SELECT to_regclass('dbmigrate_history') IS NULL")
            .trim(),
        "t",
        "nothing was stamped"
    );
}

/// `refinery migrate` on the fixture folder, the URL from `DATABASE_URL`.
fn refinery_run(source: &Path, url: &str) {
    let refinery = peer("refinery_cli", "bin/refinery");
    run_tool(
        Command::new(refinery)
            .args(["migrate", "-e", "DATABASE_URL", "-p"])
            .arg(source)
            .env("DATABASE_URL", url),
    );
}

#[test]
fn refinery_real_tool_then_import_and_adopt() {
    let temp = tempfile::tempdir().unwrap();
    let source = fixture("refinery", temp.path());
    let scratch = Scratch::new("refinery");
    refinery_run(&source, &scratch.url);
    // refinery applied all eleven, the unversioned U5 in version order.
    assert_eq!(
        scratch
            .query("SELECT string_agg(version::text, ',' ORDER BY version) FROM refinery_schema_history")
            .trim(),
        "1,2,3,4,5,6,7,8,9,10,11"
    );
    import_adopt_round_trip("refinery", &source, &scratch, "refinery_schema_history", 11);

    // refinery keeps a checksum of every file it applied: `adopt` computes
    // the same one, so a file edited after refinery applied it is refused.
    let v3 = source.join("V3__seed_users.sql");
    let text = std::fs::read_to_string(&v3).expect("the fixture has V3");
    std::fs::write(&v3, format!("{text}-- edited after it was applied\n")).unwrap();
    let edited = App::new();
    let dir = source.to_str().unwrap();
    edited.ok(&["import", "--from", "refinery", dir]);
    let refused = edited.refused(&[
        "adopt",
        "--from",
        "refinery",
        "--database-url",
        &scratch.url,
    ]);
    assert!(
        refused.contains("version 3 was changed after refinery applied it"),
        "{refused}"
    );
}
