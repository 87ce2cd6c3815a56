//! `check --offline` and `plan --offline <from>..<to>` never connect: the
//! connection settings point at a closed port, and they still work.

use std::process::Command;

use super::{Project, Run};

/// Settings for every database, each a port nothing listens on.
const CLOSED: [(&str, &str); 3] = [
    ("DATABASE_URL", "postgres://u:secret@127.0.0.1:1/nowhere"),
    ("NEO4J_URI", "bolt://127.0.0.1:1"),
    ("WEAVIATE_URL", "http://127.0.0.1:1"),
];

fn run_closed(project: &Project, args: &[&str]) -> Run {
    run_closed_with(project, args, &[])
}

/// [`run_closed`] with `extra` variables set as well.
fn run_closed_with(project: &Project, args: &[&str], extra: &[(&str, &str)]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-dbmigrate"))
        .args(args)
        .current_dir(&project.root)
        .env_remove("DBMIGRATE_BOOKKEEPING_PREFIX")
        .envs(CLOSED)
        .envs(extra.iter().copied())
        .env("NEO4J_PASSWORD", "secret")
        .output()
        .expect("run cargo-dbmigrate");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: project.redact(&String::from_utf8_lossy(&output.stdout)),
        stderr: project.redact(&String::from_utf8_lossy(&output.stderr)),
    }
}

/// The plan's clock reading (Weaviate records carry the time they were written).
fn without_clock(text: &str) -> String {
    text.lines()
        .map(|line| match line.split_once("\"applied_at_ms\": ") {
            Some((head, _)) => format!("{head}\"applied_at_ms\": [NOW],"),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn check_offline_reads_no_database_even_with_settings() {
    let project = Project::from_fixture("offline");
    // The settings are used without --offline: the closed port fails the check.
    let online = run_closed(&project, &["dbmigrate", "check"]);
    assert_eq!(online.code, 1, "{}{}", online.stdout, online.stderr);
    let run = run_closed(&project, &["dbmigrate", "check", "--offline"]).success();
    assert!(
        run.stdout.starts_with("ok: 4 migration(s)"),
        "{}",
        run.stdout
    );
}

#[test]
fn plan_offline_prints_the_whole_script_without_a_connection() {
    let project = Project::from_fixture("offline");
    // The settings are there and unreachable: an online plan fails on them.
    let online = run_closed(&project, &["dbmigrate", "plan"]);
    assert_eq!(online.code, 1, "{}{}", online.stdout, online.stderr);

    let up = run_closed(&project, &["dbmigrate", "plan", "--offline", "base..head"]).success();
    insta::assert_snapshot!("plan_offline_up", without_clock(&up.stdout));
    let down = run_closed(&project, &["dbmigrate", "plan", "--offline", "head..base"]).success();
    insta::assert_snapshot!("plan_offline_down", without_clock(&down.stdout));

    // One database's part only, and a range inside the timeline.
    let pg = run_closed(
        &project,
        &["plan", "--offline", "--backend", "postgres", "bbb222..head"],
    )
    .success();
    assert!(
        pg.stdout.starts_with(
            "-- dbmigrate offline script: upgrade 20240102_0900_bbb222..20240104_0900_ddd444, 0 step(s) on postgres"
        ),
        "{}",
        pg.stdout
    );
    let pg = run_closed(&project, &["plan", "--offline", "--backend", "pg", "+1"]).success();
    assert!(
        pg.stdout
            .contains("-- 20240101_0900_aaa111 create_items (postgres, up)")
            && !pg.stdout.contains("bbb222"),
        "{}",
        pg.stdout
    );

    // JSON: the same plan as data.
    let json = run_closed(
        &project,
        &["plan", "--offline", "head..+0", "--format", "json"],
    )
    .success();
    let plan: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(plan["from"], "20240104_0900_ddd444", "{plan}");
    assert_eq!(plan["steps"].as_array().map(Vec::len), Some(0), "{plan}");

    // Not a range: a usage error.
    let bad = run_closed(&project, &["plan", "--offline", "head.."]);
    assert_eq!(bad.code, 2, "{}{}", bad.stdout, bad.stderr);
}

/// The library's prefix rule, applied by the CLI to
/// `DBMIGRATE_BOOKKEEPING_PREFIX` before anything is planned or connected.
#[test]
fn a_bad_bookkeeping_prefix_is_a_usage_error_offline_and_online() {
    const NAME: &str = "DBMIGRATE_BOOKKEEPING_PREFIX";
    let project = Project::from_fixture("offline");
    let long = "A".repeat(200);
    for prefix in ["1x", "x-y", "", "billing", long.as_str()] {
        for args in [&["plan", "--offline", "base..head"][..], &["upgrade"][..]] {
            let run = run_closed_with(&project, args, &[(NAME, prefix)]);
            assert_eq!(run.code, 2, "{prefix:?} {args:?}: {}", run.stderr);
            assert!(
                run.stderr
                    .contains(&format!("{NAME}: bookkeeping prefix {prefix:?} "))
                    && run
                        .stderr
                        .contains("help: use an upper-case ASCII letter (Weaviate's class names"),
                "{prefix:?} {args:?}: {}",
                run.stderr
            );
        }
    }
    // A good prefix names the bookkeeping the script writes to.
    let run = run_closed_with(
        &project,
        &["plan", "--offline", "base..head"],
        &[(NAME, "Billing")],
    )
    .success();
    assert!(
        run.stdout.contains("BillingHistory")
            && run.stdout.contains("__BillingMigration")
            && !run.stdout.contains("Dbmigrate"),
        "{}",
        run.stdout
    );
}
