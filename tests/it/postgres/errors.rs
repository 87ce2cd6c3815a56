//! A failed statement is reported at its own line, with its first line, the
//! server's DETAIL, HINT and CONTEXT, and the state the step left.

use super::*;

const DEPENDED_ON: &str = "CREATE TABLE member (id int, inbox text);
CREATE VIEW member_alias AS SELECT inbox FROM member;
-- the column is still used by the view
ALTER TABLE member
  DROP COLUMN inbox;";

const RAISES: &str = "SELECT 1;
DO $$ BEGIN RAISE EXCEPTION 'not today' USING HINT = 'try tomorrow'; END $$;";

#[tokio::test]
async fn a_failure_without_position_names_the_statement_and_the_server_details() {
    let db = TestDb::create().await;
    let specs = [spec(DEPENDED_ON, "DROP TABLE member CASCADE;")];
    let error = migrator(timeline(&specs), &db.pool)
        .upgrade(Target::Head)
        .await
        .expect_err("the view depends on the column");
    let message = error.to_string();
    let file = migration(0, &specs[0]);
    let at = format!("{}:{}:", file.path, file.up_line + 3);
    assert!(message.contains(&at), "expected `{at}` in:\n{message}");
    for expected in [
        "cannot drop column inbox",
        "statement: ALTER TABLE member …",
        "detail: view member_alias depends on column inbox",
        "hint: Use DROP ... CASCADE",
        "nothing of `",
    ] {
        assert!(
            message.contains(expected),
            "expected `{expected}` in:\n{message}"
        );
    }
    db.drop().await;
}

#[tokio::test]
async fn a_failed_downgrade_says_the_migration_is_still_applied() {
    let db = TestDb::create().await;
    let specs = [spec("CREATE TABLE kept (id int);", RAISES)];
    let runner = migrator(timeline(&specs), &db.pool);
    runner
        .upgrade(Target::Head)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let error = runner
        .downgrade(Target::Base)
        .await
        .expect_err("the down section raises");
    let message = error.to_string();
    let file = migration(0, &specs[0]);
    let at = format!("{}:{}:", file.path, file.down_line + 1);
    assert!(message.contains(&at), "expected `{at}` in:\n{message}");
    for expected in [
        "not today",
        "hint: try tomorrow",
        "context: PL/pgSQL function inline_code_block",
        "is still applied",
    ] {
        assert!(
            message.contains(expected),
            "expected `{expected}` in:\n{message}"
        );
    }
    assert!(
        !message.contains("was applied (its transaction"),
        "{message}"
    );
    assert_eq!(history_rows(&db).await, 1);
    db.drop().await;
}
