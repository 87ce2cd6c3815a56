//! The offline commands of `cargo dbmigrate`, run as a process on temporary
//! projects copied from `tests/fixtures/<case>/`, with insta snapshots of what
//! they print (temp paths and clock-dependent values redacted).

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "cli/offline.rs"]
mod offline;

struct Project {
    _temp: tempfile::TempDir,
    root: PathBuf,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Project {
    /// A package with the migrations of `tests/fixtures/<fixture>/migrations`.
    fn from_fixture(fixture: &str) -> Project {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().join("app");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(
            root.join("Cargo.toml"),
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )
        .unwrap();
        std::fs::write(root.join("src/lib.rs"), "").unwrap();
        std::fs::create_dir_all(root.join("migrations")).unwrap();
        let fixture_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(fixture)
            .join("migrations");
        for entry in std::fs::read_dir(fixture_dir).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(
                entry.path(),
                root.join("migrations").join(entry.file_name()),
            )
            .unwrap();
        }
        Project { _temp: temp, root }
    }

    fn run(&self, args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_cargo-dbmigrate"))
            .args(args)
            .current_dir(&self.root)
            .env_remove("DATABASE_URL")
            .env_remove("NEO4J_URI")
            .env_remove("WEAVIATE_URL")
            .output()
            .expect("run cargo-dbmigrate");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: self.redact(&String::from_utf8_lossy(&output.stdout)),
            stderr: self.redact(&String::from_utf8_lossy(&output.stderr)),
        }
    }

    fn redact(&self, text: &str) -> String {
        text.replace(&self.root.display().to_string(), "[ROOT]")
    }

    fn migration_path(&self, file_name: &str) -> PathBuf {
        self.root.join("migrations").join(file_name)
    }

    fn write_migration(&self, file_name: &str, text: &str) {
        std::fs::write(self.migration_path(file_name), text).unwrap();
    }

    fn read_migration(&self, file_name: &str) -> String {
        std::fs::read_to_string(self.migration_path(file_name)).unwrap()
    }
}

impl Run {
    fn success(self) -> Run {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

fn sql(message: &str, revises: &str, line_ending: &str) -> String {
    let lines = [
        format!("-- Message: {message}"),
        format!("-- Revises: {revises}"),
        String::new(),
        "-- migrate:up".to_string(),
        "SELECT 1;".to_string(),
        String::new(),
        "-- migrate:down".to_string(),
        "SELECT 2;".to_string(),
        String::new(),
    ];
    lines.join(line_ending)
}

#[test]
fn new_revises_the_previous_head() {
    let project = Project::from_fixture("good");
    let run = project
        .run(&["dbmigrate", "new", "Add guardian consent"])
        .success();
    let path = run.stdout.trim();
    let file_name = path
        .strip_prefix("migrations/")
        .expect("path below migrations/");
    let (stem, rest) = file_name.split_at(21);
    assert!(rest == "add_guardian_consent.sql", "{file_name}");
    let bytes = stem.as_bytes();
    assert!(
        bytes[..8]
            .iter()
            .chain(&bytes[9..13])
            .all(u8::is_ascii_digit),
        "{file_name}"
    );
    assert!(
        bytes[14..20]
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)),
        "{file_name}"
    );
    let text = project.read_migration(file_name);
    let created = text
        .lines()
        .find(|line| line.starts_with("-- Created: "))
        .expect("Created header");
    insta::assert_snapshot!("new_sql", text.replace(created, "-- Created: [NOW]"));

    // A scaffold's sections are empty until written: `new` goes on with a
    // warning naming the file, and revises it; `check` refuses it.
    let next = project.run(&["new", "next"]).success();
    assert!(
        next.stderr.contains(&format!(
            "warning: migrations/{file_name}:17: the up section is empty"
        )),
        "{}",
        next.stderr
    );
    let next_name = next
        .stdout
        .trim()
        .strip_prefix("migrations/")
        .unwrap()
        .to_string();
    let next_text = project.read_migration(&next_name);
    assert!(
        next_text.contains(&format!("-- Revises: {}\n", &file_name[..20])),
        "{next_text}"
    );
    // And again on two unwritten files, each named once.
    let third = project.run(&["new", "third"]).success();
    assert_eq!(
        third.stderr.matches("the up section is empty").count(),
        2,
        "{}",
        third.stderr
    );
    let refused = project.run(&["check"]);
    assert_eq!(refused.code, 3, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains(":17: the up section is empty"),
        "{}",
        refused.stderr
    );
    let third_name = third
        .stdout
        .trim()
        .strip_prefix("migrations/")
        .unwrap()
        .to_string();
    std::fs::remove_file(project.migration_path(&third_name)).unwrap();
    std::fs::remove_file(project.migration_path(&next_name)).unwrap();
    let written = text.replace(
        "-- migrate:up\n\n\n-- migrate:down\n",
        "-- migrate:up\nSELECT 1;\n\n-- migrate:down\nSELECT 1;\n",
    );
    project.write_migration(file_name, &written);
    let history = project.run(&["history"]).success();
    assert!(
        history.stdout.contains("20240103_0900_ccc333  postgres"),
        "{}",
        history.stdout
    );

    let weaviate = project
        .run(&[
            "new",
            "--target",
            "weaviate",
            "--revises",
            "aaa1",
            "add \"chunks\"",
        ])
        .success();
    let file_name = weaviate
        .stdout
        .trim()
        .strip_prefix("migrations/")
        .unwrap()
        .to_string();
    let value: serde_json::Value =
        serde_json::from_str(&project.read_migration(&file_name)).unwrap();
    assert_eq!(value["revises"], "20240101_0900_aaa111");
    assert_eq!(value["message"], "add \"chunks\"");
}

#[test]
fn history_heads_and_show() {
    let project = Project::from_fixture("good");
    insta::assert_snapshot!("history_text", project.run(&["history"]).success().stdout);
    insta::assert_snapshot!(
        "history_json",
        project
            .run(&["dbmigrate", "history", "--format", "json"])
            .success()
            .stdout
    );
    insta::assert_snapshot!("heads_text", project.run(&["heads"]).success().stdout);
    insta::assert_snapshot!("show_text", project.run(&["show", "bbb"]).success().stdout);
    let unknown = project.run(&["show", "zzz"]);
    assert_eq!(unknown.code, 2);
    insta::assert_snapshot!("show_unknown", unknown.stderr);
}

#[test]
fn check_good_and_broken_folders() {
    let good = Project::from_fixture("good").run(&["check"]).success();
    insta::assert_snapshot!("check_good", good.stdout);

    let broken = Project::from_fixture("broken").run(&["check"]);
    assert_eq!(broken.code, 3);
    insta::assert_snapshot!("check_broken", broken.stderr);
    let broken_json = Project::from_fixture("broken").run(&["check", "--format", "json"]);
    assert_eq!(broken_json.code, 3);
    insta::assert_snapshot!("check_broken_json", broken_json.stdout);

    let orphan = Project::from_fixture("missing_parent").run(&["check"]);
    assert_eq!(orphan.code, 3);
    insta::assert_snapshot!("check_missing_parent", orphan.stderr);
}

#[test]
fn rebase_reparents_the_newer_branch_and_keeps_its_bytes() {
    let project = Project::from_fixture("good");
    let head = "20240103_0900_ccc333";
    project.write_migration(
        "20240201_0900_ddd444_branch_one.sql",
        &sql("branch one", head, "\n"),
    );
    let newer = "20240202_0900_eee555_branch_two.sql";
    let crlf = sql("branch two", head, "\r\n");
    project.write_migration(newer, &crlf);
    project.write_migration(
        "20240203_0900_fff666_branch_two_more.sql",
        &sql("more", "20240202_0900_eee555", "\n"),
    );

    let heads = project.run(&["heads"]).success();
    insta::assert_snapshot!("rebase_heads_before", heads.stdout);
    let check = project.run(&["check"]);
    assert_eq!(check.code, 3);
    insta::assert_snapshot!("rebase_check_before", check.stderr);

    let dry_run = project.run(&["rebase", "--dry-run"]).success();
    insta::assert_snapshot!("rebase_dry_run", dry_run.stdout);
    assert_eq!(
        project.read_migration(newer),
        crlf,
        "--dry-run changed a file"
    );

    let rebase = project.run(&["rebase"]).success();
    insta::assert_snapshot!("rebase", rebase.stdout);
    assert_eq!(
        project.read_migration(newer),
        crlf.replace(head, "20240201_0900_ddd444")
    );
    insta::assert_snapshot!(
        "rebase_history_after",
        project.run(&["history"]).success().stdout
    );
    insta::assert_snapshot!("rebase_again", project.run(&["rebase"]).success().stdout);
}

#[test]
fn usage_errors_exit_2() {
    let project = Project::from_fixture("good");
    assert_eq!(project.run(&["dbmigrate", "frobnicate"]).code, 2);
    assert_eq!(project.run(&["new", "x", "--target", "mysql"]).code, 2);
    assert_eq!(project.run(&["--help"]).success().code, 0);
}

#[test]
fn workspace_metadata_and_manifest_path() {
    let project = Project::from_fixture("good");
    let workspace = project.root.parent().unwrap().join("ws");
    let member = workspace.join("member");
    std::fs::create_dir_all(member.join("src")).unwrap();
    std::fs::write(
        workspace.join("Cargo.toml"),
        "[workspace]\nmembers = [\"member\"]\n\n[workspace.metadata.dbmigrate]\nmigrations = \"db/migrations\"\ndefault-target = \"neo4j\"\n",
    )
    .unwrap();
    std::fs::write(
        member.join("Cargo.toml"),
        "[package]\nname = \"member\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.dbmigrate]\nmigrations = \"../../app/migrations\"\n",
    )
    .unwrap();
    std::fs::write(member.join("src/lib.rs"), "").unwrap();
    let manifest = member.join("Cargo.toml");
    let manifest = manifest.to_str().unwrap();

    // The package's `migrations` wins over the workspace's; `default-target` comes from the workspace.
    let history = project
        .run(&["history", "--manifest-path", manifest])
        .success();
    assert!(
        history.stdout.contains("3 migration(s)"),
        "{}",
        history.stdout
    );
    let new = project
        .run(&["new", "graph step", "--manifest-path", manifest])
        .success();
    assert!(
        new.stdout.trim().ends_with("_graph_step.cypher"),
        "{}",
        new.stdout
    );

    let bad = project.run(&[
        "history",
        "--manifest-path",
        workspace.join("nope.toml").to_str().unwrap(),
    ]);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
}

#[test]
fn a_project_template_overrides_the_built_in_one() {
    let project = Project::from_fixture("good");
    let manifest = project.root.join("Cargo.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str("\n[package.metadata.dbmigrate]\ntemplates = \"db/templates\"\n");
    std::fs::write(&manifest, text).unwrap();
    std::fs::create_dir_all(project.root.join("db/templates")).unwrap();
    std::fs::write(
        project.root.join("db/templates/migration.sql"),
        "-- Message: {message}\n-- Revises: {revises}\n-- Created: {created}\n-- Team template\n\n-- migrate:up\n\n-- migrate:down\n",
    )
    .unwrap();
    let new = project.run(&["new", "custom"]).success();
    let file_name = new
        .stdout
        .trim()
        .strip_prefix("migrations/")
        .unwrap()
        .to_string();
    let written = project.read_migration(&file_name);
    assert!(
        written.starts_with("-- Message: custom\n-- Revises: 20240103_0900_ccc333\n-- Created: "),
        "{written}"
    );
    assert!(written.contains("-- Team template\n"), "{written}");
    // No Cypher override: the built-in template.
    project.write_migration(
        &file_name,
        &(written.replace("-- migrate:up\n", "-- migrate:up\nSELECT 1;\n") + "SELECT 2;\n"),
    );
    let cypher = project
        .run(&["new", "--target", "neo4j", "graph"])
        .success();
    let file_name = cypher
        .stdout
        .trim()
        .strip_prefix("migrations/")
        .unwrap()
        .to_string();
    assert!(project
        .read_migration(&file_name)
        .contains("Neo4j cannot mix schema commands"));
}

/// `n` SQL migrations whose `Revises:` headers form one cycle.
fn cycle_project(n: usize) -> Project {
    let project = Project::from_fixture("good");
    for entry in std::fs::read_dir(project.root.join("migrations")).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let id = |i: usize| format!("20240101_0900_{i:06x}");
    for i in 0..n {
        let parent = id((i + n - 1) % n);
        project.write_migration(
            &format!("{}_step.sql", id(i)),
            &format!("-- Message: step\n-- Revises: {parent}\n\n-- migrate:up\nSELECT 1;\n\n-- migrate:down\nSELECT 1;\n"),
        );
    }
    project
}

#[test]
fn every_offline_command_exits_3_on_invalid_files_with_json_on_stdout() {
    let project = Project::from_fixture("broken");
    let commands: [&[&str]; 9] = [
        &["history"],
        &["heads"],
        &["show", "aaa111"],
        &["new", "x"],
        &["check"],
        &["rebase"],
        &["status"],
        &["upgrade"],
        &["plan"],
    ];
    for command in commands {
        let run = project.run(command);
        assert_eq!(run.code, 3, "{command:?}: {}{}", run.stdout, run.stderr);
        let mut json = command.to_vec();
        json.extend(["--format", "json"]);
        let run = project.run(&json);
        assert_eq!(run.code, 3, "{json:?}: {}{}", run.stdout, run.stderr);
        let document: serde_json::Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{json:?}: stdout is not JSON ({e}): {}", run.stdout));
        if command != ["check"] {
            let error = &document["error"];
            assert_eq!(error["kind"], "invalid_files", "{json:?}: {document}");
            assert!(
                error["file"]
                    .as_str()
                    .is_some_and(|f| f.starts_with("migrations/")),
                "{json:?}: {document}"
            );
            assert!(error["help"].is_string(), "{json:?}: {document}");
        }
    }
}

/// `test` over no migrations said "round trip ok: 0 migration(s)" and
/// exited 0: a CI check pointed at the wrong folder passed, testing nothing.
#[test]
fn test_refuses_a_project_without_migrations() {
    let project = Project::from_fixture("good");
    std::fs::remove_dir_all(project.root.join("migrations")).unwrap();
    let run = project.run(&["test"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("no migrations in migrations: nothing to round-trip"),
        "{}",
        run.stderr
    );
}

#[test]
fn usage_errors_exit_2_for_every_command_and_in_json() {
    let project = Project::from_fixture("good");
    for command in [
        &["show", "zzz"][..],
        &["upgrade", "zzz"],
        &["status"],
        &["new", ""],
    ] {
        let run = project.run(command);
        assert_eq!(run.code, 2, "{command:?}: {}{}", run.stdout, run.stderr);
    }
    let run = project.run(&["show", "zzz", "--format", "json"]);
    let document: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(document["error"]["kind"], "usage", "{document}");
    assert!(document["error"]["message"]
        .as_str()
        .unwrap()
        .contains("zzz"));
    let run = project.run(&["frobnicate", "--format", "json"]);
    assert_eq!(run.code, 2);
    let document: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(document["error"]["kind"], "usage", "{document}");
    let help = project.run(&["--help"]).success();
    assert!(
        help.stdout.contains("Exit codes:")
            && help.stdout.contains("4  a database needs attention")
    );
}

#[test]
fn heads_on_a_cycle_is_an_error_and_a_long_cycle_stays_one_short_line() {
    let small = cycle_project(3);
    let run = small.run(&["heads"]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("revisions form a cycle"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("no migrations"), "{}", run.stdout);

    let large = cycle_project(10_000);
    for command in ["heads", "history", "check"] {
        let run = large.run(&[command]);
        assert_eq!(
            run.code,
            3,
            "{command}: {}",
            &run.stderr[..run.stderr.len().min(500)]
        );
        let longest = run
            .stderr
            .lines()
            .chain(run.stdout.lines())
            .map(str::len)
            .max();
        assert!(
            longest < Some(400),
            "{command}: a line of {longest:?} bytes"
        );
        assert!(run.stderr.contains("more"), "{command}: {}", run.stderr);
    }
}

#[test]
fn a_closed_pipe_ends_quietly_with_exit_0() {
    let good = Project::from_fixture("good");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-dbmigrate"))
        .args(["history", "--format", "json"])
        .current_dir(&good.root)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Closed before the command has read its project, so its first write fails.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn completions_for_each_shell_from_any_folder() {
    let empty = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F _cargo__dbmigrate"),
        ("zsh", "#compdef cargo-dbmigrate"),
        ("fish", "complete -c cargo-dbmigrate"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_cargo-dbmigrate"))
            .args(["completions", shell])
            .current_dir(empty.path())
            .output()
            .expect("run cargo-dbmigrate");
        let script = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{shell}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(script.contains(marker), "{shell} script lacks {marker}");
        // Every subcommand is offered, the online and import ones too.
        for subcommand in ["upgrade", "downgrade", "log", "adopt", "lint"] {
            assert!(
                script.contains(subcommand),
                "{shell} script lacks {subcommand}"
            );
        }
    }
    // The bash script, sourced by bash, completes a subcommand and its options.
    let script = empty.path().join("cargo-dbmigrate.bash");
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-dbmigrate"))
        .args(["completions", "bash"])
        .output()
        .unwrap();
    std::fs::write(&script, &output.stdout).unwrap();
    let complete = |words: &str| {
        let words: Vec<&str> = words.split(' ').collect();
        let line = format!(
            "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; _cargo__dbmigrate cargo-dbmigrate '{}' '{}'; \
             echo \"${{COMPREPLY[@]}}\"",
            script.display(),
            words.join(" "),
            words.len() - 1,
            words[words.len() - 1],
            words[words.len() - 2],
        );
        let out = Command::new("bash")
            .args(["-c", &line])
            .output()
            .expect("bash");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(complete("cargo-dbmigrate lo"), "log");
    assert_eq!(complete("cargo-dbmigrate upgrade --dr"), "--dry-run");
    let unknown = Command::new(env!("CARGO_BIN_EXE_cargo-dbmigrate"))
        .args(["completions", "tcsh"])
        .current_dir(empty.path())
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn migrations_made_in_one_minute_list_in_timeline_order() {
    let project = Project::from_fixture("good");
    let mut made = Vec::new();
    for message in ["first", "second", "third", "fourth", "fifth"] {
        let run = project.run(&["dbmigrate", "new", message]).success();
        let file_name = run
            .stdout
            .trim()
            .strip_prefix("migrations/")
            .unwrap()
            .to_string();
        // Fill the sections, as a user would before the next `new`.
        let path = project.root.join("migrations").join(&file_name);
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text
            .replace("-- migrate:up\n", "-- migrate:up\nSELECT 1;\n")
            .replace("-- migrate:down\n", "-- migrate:down\nSELECT 2;\n");
        std::fs::write(&path, text).unwrap();
        made.push(file_name);
    }
    let mut by_name = made.clone();
    by_name.sort();
    // Most of the five share a minute: their random revs must still sort in
    // the order they were made (each revises the one before).
    assert_eq!(by_name, made);
}
