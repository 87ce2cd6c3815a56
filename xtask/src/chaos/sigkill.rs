//! Scenario (a): SIGKILL `upgrade` at a random point of a generated
//! PostgreSQL history (some steps `Transaction: none`), then settle any
//! dirty record as an operator would and upgrade to head. Nothing may be
//! half-applied without a dirty record, and every effect exists once.

use std::collections::HashMap;
use std::time::Duration;

use super::project::{cli_binary, Project};
use super::report::{Options, Tally};
use super::servers::{ScratchDatabase, Servers};

/// One generated migration: its id and whether it runs outside a transaction.
struct Step {
    id: String,
    no_transaction: bool,
}

/// Migration `i` creates table `t_i` and inserts `i` into `effects`.
fn history(project: &mut Project, n: usize, rng: &mut fastrand::Rng) -> anyhow::Result<Vec<Step>> {
    let mut steps = Vec::new();
    for i in 0..n {
        let no_transaction = i > 0 && rng.u8(..10) == 0;
        let (header, up) = match (i, no_transaction) {
            (0, _) => ("", "CREATE TABLE effects (i int NOT NULL);\nCREATE TABLE t_0 (id int);\nINSERT INTO effects VALUES (0);".to_owned()),
            (_, false) => ("", format!("CREATE TABLE t_{i} (id int);\nINSERT INTO effects VALUES ({i});\nSELECT pg_sleep(0.01);")),
            (_, true) => ("Transaction: none", format!("INSERT INTO effects VALUES ({i});\nSELECT pg_sleep(0.02);\nCREATE TABLE t_{i} (id int);")),
        };
        let down = format!("DROP TABLE t_{i};\nDELETE FROM effects WHERE i = {i};");
        let id = project.add("sql", header, &up, &down)?;
        steps.push(Step { id, no_transaction });
    }
    Ok(steps)
}

/// The database as the checks see it: record state, effect count and
/// table per migration index.
struct Seen {
    records: HashMap<String, String>,
    effects: HashMap<usize, i64>,
    tables: Vec<usize>,
}

fn look(servers: &Servers, url: &str) -> anyhow::Result<Seen> {
    let lines = |sql: &str| -> anyhow::Result<Vec<String>> {
        Ok(servers
            .psql(url, sql)?
            .lines()
            .map(str::to_owned)
            .filter(|l| !l.is_empty())
            .collect())
    };
    let has = |name: &str| -> anyhow::Result<bool> {
        Ok(servers.psql(url, &format!("SELECT to_regclass('{name}') IS NOT NULL"))? == "t")
    };
    let mut records = HashMap::new();
    if has("dbmigrate_history")? {
        for line in lines("SELECT revision_id || ' ' || state FROM dbmigrate_history")? {
            let (id, state) = line.split_once(' ').unwrap_or((&line, ""));
            records.insert(id.to_owned(), state.to_owned());
        }
    }
    let mut effects = HashMap::new();
    if has("effects")? {
        for line in lines("SELECT i || ' ' || count(*) FROM effects GROUP BY i")? {
            let (i, n) = line.split_once(' ').unwrap_or(("", ""));
            effects.insert(i.parse()?, n.parse()?);
        }
    }
    let tables = lines(
        "SELECT substr(relname, 3) FROM pg_class WHERE relname ~ '^t_[0-9]+$' AND relkind = 'r'",
    )?
    .iter()
    .filter_map(|t| t.parse().ok())
    .collect();
    Ok(Seen {
        records,
        effects,
        tables,
    })
}

/// Every migration applied, dirty (only a `Transaction: none` one, with
/// at most one effect) or absent with nothing of it in place.
fn check(steps: &[Step], seen: &Seen, tally: &mut Tally, after: &str) {
    for (i, step) in steps.iter().enumerate() {
        let n = seen.effects.get(&i).copied().unwrap_or(0);
        let table = seen.tables.contains(&i);
        let state = seen.records.get(&step.id).map(String::as_str);
        let ok = match state {
            Some("applied") => n == 1 && table,
            None => n == 0 && !table,
            Some("dirty_up") => step.no_transaction && n <= 1,
            Some(_) => false,
        };
        tally.check(ok, || {
            format!(
                "{after}: {} is {state:?} with {n} effects, table {table}",
                step.id
            )
        });
    }
}

/// One run: kill at a random point, check, settle, upgrade to head, check.
pub fn run(
    servers: &Servers,
    options: &Options,
    rng: &mut fastrand::Rng,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let database = ScratchDatabase::new(servers)?;
    let env = Project::env(servers, Some(&database.url), None);
    let mut project = Project::new(&cli_binary()?, env)?;
    let steps = history(&mut project, options.migrations, rng)?;
    let mut child = project.spawn(&["upgrade", "--lock-wait-seconds", "120"])?;
    let budget = 40 * options.migrations as u64;
    std::thread::sleep(Duration::from_millis(rng.u64(..budget.max(1))));
    if child.try_wait()?.is_none() {
        child.kill()?;
        tally.faults += 1;
    }
    child.wait()?;
    let seen = look(servers, &database.url)?;
    check(&steps, &seen, tally, "after the kill");
    for (i, step) in steps.iter().enumerate() {
        if seen
            .records
            .get(&step.id)
            .is_some_and(|s| s.starts_with("dirty"))
        {
            // What an operator does: undo what the step left, then forget it.
            servers.psql(
                &database.url,
                &format!("DELETE FROM effects WHERE i = {i}; DROP TABLE IF EXISTS t_{i};"),
            )?;
            let (code, stderr) =
                project.run(&["repair", &step.id, "--forget", "--lock-wait-seconds", "120"])?;
            tally.boot(code, &stderr);
        }
    }
    let (code, stderr) = project.run(&["upgrade", "--lock-wait-seconds", "120"])?;
    tally.boot(code, &stderr);
    let seen = look(servers, &database.url)?;
    check(&steps, &seen, tally, "after the rerun");
    let applied = seen.records.values().filter(|s| *s == "applied").count();
    tally.check(applied == steps.len(), || {
        format!("after the rerun: {applied} of {} applied", steps.len())
    });
    Ok(())
}
