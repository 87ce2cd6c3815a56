//! `adopt` stamps one transaction per backend: a record refused half-way
//! (here by a trigger on dbmigrate's history table) leaves the history as it
//! was, not with the first half of the records written.

use super::*;

fn sqlx_run(source: &Path, url: &str, target: Option<&str>) {
    let sqlx = peer("sqlx-cli", "bin/sqlx");
    let mut command = Command::new(&sqlx);
    command
        .args(["migrate", "run", "--source"])
        .arg(source)
        .args(["--database-url", url]);
    if let Some(version) = target {
        command.args(["--target-version", version]);
    }
    run_tool(&mut command);
}

#[test]
fn adopt_refused_half_way_stamps_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let source = fixture("sqlx", temp.path());
    let scratch = Scratch::new("sqlx_atomic");
    let url = scratch.url.as_str();
    let app = App::new();
    app.ok(&["import", "--from", "sqlx", source.to_str().unwrap()]);
    // The team adopts while sqlx stands at its third migration …
    sqlx_run(&source, url, Some("20240106093000"));
    let first = app.ok(&["adopt", "--from", "sqlx", "--database-url", url]);
    assert!(first.contains("stamped 3 migration(s)"), "{first}");
    // … sqlx applies the rest, and the eighth record will be refused.
    sqlx_run(&source, url, None);
    scratch.query(
        "CREATE FUNCTION refuse_eighth() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF (SELECT count(*) FROM dbmigrate_history) >= 7 THEN RAISE EXCEPTION 'refused by the test trigger'; END IF; \
         RETURN NEW; END $$; \
         CREATE TRIGGER refuse_eighth BEFORE INSERT ON dbmigrate_history FOR EACH ROW EXECUTE FUNCTION refuse_eighth()",
    );
    let stderr = app.refused(&["adopt", "--from", "sqlx", "--database-url", url]);
    assert!(stderr.contains("refused by the test trigger"), "{stderr}");
    assert_eq!(
        scratch
            .query("SELECT count(*) FROM dbmigrate_history")
            .trim(),
        "3",
        "a refused stamp leaves the history as it was\n{stderr}"
    );
    scratch.query("DROP TRIGGER refuse_eighth ON dbmigrate_history");
    app.ok(&["adopt", "--from", "sqlx", "--database-url", url]);
    assert_eq!(
        scratch
            .query("SELECT count(*) FROM dbmigrate_history")
            .trim(),
        "11"
    );
}
