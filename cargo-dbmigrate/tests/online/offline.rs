//! `plan --offline` (issue 16.8): the PostgreSQL script, run by hand with
//! `psql -v ON_ERROR_STOP=1 -f`, leaves the history the runner would have
//! written: `status` reads it as up to date, and the downgrade script back.

use std::path::Path;
use std::process::Command;

use super::{run_in, Project};

/// Runs `script` with psql on `url`, stopping at the first error.
fn psql(url: &str, script: &Path) {
    let output = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f"])
        .arg(script)
        .output()
        .unwrap_or_else(|e| {
            panic!("psql: {e}\n  help: install the PostgreSQL client (`apt-get install postgresql-client`)")
        });
    assert!(
        output.status.success(),
        "psql failed on {}:\n{}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn an_offline_script_run_with_psql_leaves_a_history_status_reads_as_up_to_date() {
    // Its database is dropped with it, also if an assertion fails.
    let project = Project::edututor();
    let script = |range: &str, file: &str| {
        // No connection settings at all: the plan is made from the files alone.
        let (code, out, err) = run_in(
            &project.root,
            &["dbmigrate", "plan", "--offline", range],
            &[],
        );
        assert_eq!(code, 0, "{out}{err}");
        let path = project.root.join(file);
        std::fs::write(&path, out).unwrap();
        path
    };
    let up = script("base..head", "up.sql");
    psql(project.database.url(), &up);
    let (code, out, err) = project.run(&["dbmigrate", "status"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with(
            "timeline: current 20241204_0920_d0e1f2, head 20241204_0920_d0e1f2, 0 pending"
        ),
        "{out}"
    );
    let (code, out, err) = project.run(&["dbmigrate", "check"]);
    assert_eq!(
        code, 0,
        "the files match the history psql wrote: {out}{err}"
    );
    let (code, out, err) = project.run(&["dbmigrate", "log"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.matches(" applied ").count(), 6, "{out}");

    // Back to base by hand, then the runner takes over from there.
    let down = script("head..base", "down.sql");
    psql(project.database.url(), &down);
    let (code, out, err) = project.run(&["dbmigrate", "status"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("timeline: current base,"), "{out}");
    let (code, out, err) = project.run(&["dbmigrate", "upgrade"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.matches("Applying").count(), 6, "{out}");
}
