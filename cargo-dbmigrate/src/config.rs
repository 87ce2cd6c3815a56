//! The project: which package, where its migrations and templates are, and
//! its settings, from `[package.metadata.dbmigrate]` or
//! `[workspace.metadata.dbmigrate]` (package keys win) found through cargo_metadata.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use dbmigrate_core::{BackendKind, History, Migration, ParseError};

use crate::exit::{HistoryBroken, UsageError};

/// The keys `[package.metadata.dbmigrate]` may hold.
pub const KNOWN_KEYS: [&str; 7] = [
    "migrations",
    "lint",
    "default-target",
    "templates",
    "history-table",
    "lock-timeout",
    "statement-timeout",
];

/// Settings the runner applies to every migration unless its header overrides them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// `history-table`: the PostgreSQL history table (the backend's default when `None`).
    pub history_table: Option<String>,
    /// `lock-timeout`, e.g. `"5s"`.
    pub lock_timeout: Option<Duration>,
    /// `statement-timeout`, e.g. `"60s"`.
    pub statement_timeout: Option<Duration>,
    /// `lint = "deny"`: lint errors fail `check` and the build (default `"warn"`).
    pub lint_deny: bool,
}

/// One package that keeps migrations.
#[derive(Debug, Clone)]
#[allow(
    dead_code,
    reason = "`root` and `settings` are read by the online commands"
)]
pub struct Project {
    /// The package's directory (the workspace root when there is no package).
    pub root: PathBuf,
    /// The migrations folder (`migrations` below `root` unless configured).
    pub migrations_dir: PathBuf,
    /// The backend `new` writes for when `--target` is not given.
    pub default_target: BackendKind,
    /// A folder whose `migration.{sql,cypher,weaviate.json}` override the built-in templates.
    pub templates_dir: Option<PathBuf>,
    /// Runner settings.
    pub settings: Settings,
}

impl Project {
    /// The project of `manifest_path`, or of the package containing the current directory.
    pub fn discover(manifest_path: Option<&Path>) -> anyhow::Result<Project> {
        let mut command = cargo_metadata::MetadataCommand::new();
        command.no_deps();
        if let Some(path) = manifest_path {
            command.manifest_path(path);
        }
        let metadata = command
            .exec()
            .context("failed to read the cargo metadata")?;
        let package = select_package(&metadata, manifest_path)?;
        let (root, package_table) = match package {
            Some(package) => {
                let dir = package
                    .manifest_path
                    .parent()
                    .expect("manifest has a parent");
                (
                    dir.as_std_path().to_path_buf(),
                    package.metadata.get("dbmigrate").cloned(),
                )
            }
            None => (metadata.workspace_root.as_std_path().to_path_buf(), None),
        };
        let workspace_table = metadata.workspace_metadata.get("dbmigrate").cloned();
        let table = merge(workspace_table, package_table);
        Project::from_table(root, &table).map_err(|error| UsageError(format!("{error:#}")).into())
    }

    /// The project rooted at `root` configured by a `dbmigrate` metadata table.
    pub fn from_table(
        root: PathBuf,
        table: &serde_json::Map<String, serde_json::Value>,
    ) -> anyhow::Result<Project> {
        if let Some(key) = table.keys().find(|key| !KNOWN_KEYS.contains(&key.as_str())) {
            anyhow::bail!(
                "unknown key `{key}` in [package.metadata.dbmigrate]\n  help: known keys are {}",
                KNOWN_KEYS.join(", ")
            );
        }
        let migrations = string(table, "migrations")?.unwrap_or_else(|| "migrations".into());
        let default_target = match string(table, "default-target")? {
            Some(text) => text
                .parse()
                .map_err(|message: String| anyhow::anyhow!("`default-target`: {message}"))?,
            None => BackendKind::Postgres,
        };
        let templates_dir = string(table, "templates")?.map(|dir| root.join(dir));
        let settings = Settings {
            history_table: string(table, "history-table")?,
            lock_timeout: duration(table, "lock-timeout")?,
            statement_timeout: duration(table, "statement-timeout")?,
            lint_deny: match string(table, "lint")?.as_deref() {
                None | Some("warn") => false,
                Some("deny") => true,
                Some(other) => anyhow::bail!(
                    "`lint = {other:?}` in [package.metadata.dbmigrate]\n  help: use \"warn\" (the default) or \"deny\""
                ),
            },
        };
        Ok(Project {
            migrations_dir: root.join(migrations),
            root,
            default_target,
            templates_dir,
            settings,
        })
    }

    /// The migrations folder as shown to a person: relative to the current directory when inside it.
    pub fn display_dir(&self) -> PathBuf {
        relative_to_cwd(&self.migrations_dir)
    }

    /// Every migration file, parsed; parse errors end in a [`HistoryBroken`]
    /// error (the first; the others are printed to stderr). A missing folder holds no migrations.
    pub fn load_migrations(&self) -> anyhow::Result<Vec<Migration>> {
        self.load(false).map(|(migrations, _)| migrations)
    }

    /// Like [`Project::load_history`], but a file whose up section is still
    /// empty loads too; each such file comes back as a warning (`new` only
    /// needs the graph; build, check and upgrade refuse the file).
    pub fn load_history_lenient(&self) -> anyhow::Result<(History, Vec<ParseError>)> {
        let (migrations, warnings) = self.load(true)?;
        let history = History::new(migrations).map_err(|error| HistoryBroken(error.to_string()))?;
        Ok((history, warnings))
    }

    fn load(&self, lenient: bool) -> anyhow::Result<(Vec<Migration>, Vec<ParseError>)> {
        if !self.migrations_dir.is_dir() {
            return Ok((Vec::new(), Vec::new()));
        }
        let dir = self.display_dir();
        let loaded = if lenient {
            dbmigrate_core::parse::load_dir_lenient(&dir)
        } else {
            dbmigrate_core::parse::load_dir(&dir).map(|migrations| (migrations, Vec::new()))
        };
        loaded.map_err(|errors| {
            // The first error is the command's error (JSON shows its file and
            // line); any others are listed before it.
            for error in errors.iter().skip(1) {
                eprintln!("error: {error}");
            }
            let first = errors.first().map(ToString::to_string).unwrap_or_default();
            let more = match errors.len() {
                0 | 1 => String::new(),
                n => format!(
                    "\n  ({} more invalid migration file(s) in {}, listed above)",
                    n - 1,
                    self.display_dir().display()
                ),
            };
            HistoryBroken(format!("{first}{more}")).into()
        })
    }

    /// The validated timeline; parse and graph errors are printed to stderr.
    pub fn load_history(&self) -> anyhow::Result<History> {
        let migrations = self.load_migrations()?;
        History::new(migrations).map_err(|error| HistoryBroken(error.to_string()).into())
    }
}

/// `path` relative to the current directory when it is below it, else unchanged.
pub fn relative_to_cwd(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir()
        .ok()
        .and_then(|cwd| cwd.canonicalize().ok());
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    match cwd
        .as_deref()
        .and_then(|cwd| canonical.strip_prefix(cwd).ok())
    {
        Some(relative) if relative.as_os_str().is_empty() => PathBuf::from("."),
        Some(relative) => relative.to_path_buf(),
        None => path.to_path_buf(),
    }
}

/// The package named by `--manifest-path`, or the innermost one containing the current directory.
fn select_package<'a>(
    metadata: &'a cargo_metadata::Metadata,
    manifest_path: Option<&Path>,
) -> anyhow::Result<Option<&'a cargo_metadata::Package>> {
    let packages = metadata.workspace_packages();
    if let Some(path) = manifest_path {
        let wanted = path
            .canonicalize()
            .with_context(|| format!("{}: cannot read", path.display()))?;
        return Ok(packages
            .into_iter()
            .find(|package| package.manifest_path.as_std_path() == wanted));
    }
    let cwd = std::env::current_dir()?.canonicalize()?;
    Ok(packages
        .into_iter()
        .filter(|package| {
            package
                .manifest_path
                .parent()
                .is_some_and(|dir| cwd.starts_with(dir))
        })
        .max_by_key(|package| package.manifest_path.as_str().len()))
}

fn merge(
    workspace: Option<serde_json::Value>,
    package: Option<serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut table = serde_json::Map::new();
    for value in [workspace, package].into_iter().flatten() {
        if let serde_json::Value::Object(map) = value {
            table.extend(map);
        }
    }
    table
}

fn string(
    table: &serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> anyhow::Result<Option<String>> {
    match table.get(key) {
        None => Ok(None),
        Some(serde_json::Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => anyhow::bail!("`{key}` must be a string, found `{other}`"),
    }
}

fn duration(
    table: &serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> anyhow::Result<Option<Duration>> {
    string(table, key)?
        .map(|text| {
            parse_duration(&text).ok_or_else(|| {
                anyhow::anyhow!("`{key} = \"{text}\"` is not a duration\n  help: write a number with a unit: \"500ms\", \"5s\", \"1min\"")
            })
        })
        .transpose()
}

/// `500ms`, `5s`, `1min` → a duration, with the migration headers' syntax.
pub fn parse_duration(text: &str) -> Option<Duration> {
    dbmigrate_core::parse::parse_duration(text.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(json: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        json.as_object().unwrap().clone()
    }

    #[test]
    fn defaults() {
        let project = Project::from_table("/p".into(), &table(serde_json::json!({}))).unwrap();
        assert_eq!(project.migrations_dir, Path::new("/p/migrations"));
        assert_eq!(project.default_target, BackendKind::Postgres);
        assert_eq!(project.templates_dir, None);
        assert_eq!(project.settings, Settings::default());
    }

    #[test]
    fn every_key() {
        let json = serde_json::json!({
            "migrations": "db/migrations", "default-target": "neo4j", "templates": "db/templates",
            "history-table": "schema_history", "lock-timeout": "5s", "statement-timeout": "1min",
        });
        let project = Project::from_table("/p".into(), &table(json)).unwrap();
        assert_eq!(project.migrations_dir, Path::new("/p/db/migrations"));
        assert_eq!(project.default_target, BackendKind::Neo4j);
        assert_eq!(
            project.templates_dir.as_deref(),
            Some(Path::new("/p/db/templates"))
        );
        assert_eq!(
            project.settings.history_table.as_deref(),
            Some("schema_history")
        );
        assert_eq!(project.settings.lock_timeout, Some(Duration::from_secs(5)));
        assert_eq!(
            project.settings.statement_timeout,
            Some(Duration::from_secs(60))
        );
    }

    #[test]
    fn bad_values_say_the_fix() {
        let unknown =
            Project::from_table("/p".into(), &table(serde_json::json!({"migration": "m"})));
        assert!(unknown
            .unwrap_err()
            .to_string()
            .contains("known keys are migrations"));
        let timeout = Project::from_table(
            "/p".into(),
            &table(serde_json::json!({"lock-timeout": "5"})),
        );
        assert!(timeout.unwrap_err().to_string().contains("\"5s\""));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
    }
}
