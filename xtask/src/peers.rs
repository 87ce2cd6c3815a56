//! `cargo xtask peers install [tool…]`: the other migration tools the import
//! tests run for real, installed from their package registries into
//! `<cache>/peers` (the cache of `cargo xtask services`, outside `target/`).
//! Installing is idempotent: a tool whose pinned version is already there is
//! skipped, so a warm run costs a few file checks.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _};

use crate::services::Layout;

/// One installable tool.
struct Peer {
    /// The name `peers install` and the tests use.
    name: &'static str,
    /// The pinned version.
    version: &'static str,
    /// The executable, relative to `<cache>/peers`.
    binary: &'static str,
    /// Installs it into `<cache>/peers`.
    install: fn(&Path, &str) -> anyhow::Result<()>,
    /// Installed by `peers install` with no names (what the tests use); the
    /// others only when named.
    by_default: bool,
}

const PEERS: [Peer; 8] = [
    Peer {
        name: "golang-migrate",
        version: "v4.18.3",
        binary: "bin/migrate",
        by_default: true,
        install: install_golang_migrate,
    },
    Peer {
        name: "alembic",
        version: "1.14.1",
        binary: "alembic-venv/bin/alembic",
        by_default: true,
        install: install_alembic,
    },
    Peer {
        name: "sqlx-cli",
        version: "0.8.6",
        binary: "bin/sqlx",
        by_default: true,
        install: install_sqlx_cli,
    },
    Peer {
        name: "flyway",
        version: "10.22.0",
        binary: "flyway/FlywayMigrate.java",
        by_default: true,
        install: install_flyway,
    },
    Peer {
        name: "diesel_cli",
        version: "2.3.14",
        binary: "bin/diesel",
        by_default: true,
        install: install_diesel_cli,
    },
    Peer {
        name: "refinery_cli",
        version: "0.10.0",
        binary: "bin/refinery",
        // Its cold build measured 2m04s of CPU (5m31s wall on the busy
        // 2-core machine) next to sqlx-cli's and diesel_cli's build folder,
        // and it is cached like them: the import test runs it in CI.
        by_default: true,
        install: install_refinery_cli,
    },
    // Its engine from Maven Central, driven through its Java API like
    // Flyway's: 2.17.3 is the newest whose parent POM Maven Central serves
    // (2.18.x and 2.19.x name a parent it does not have).
    Peer {
        name: "neo4j-migrations",
        version: "2.17.3",
        binary: "neo4j-migrations/Neo4jMigrate.java",
        by_default: true,
        install: install_neo4j_migrations,
    },
    // The lint's side-by-side test; the same version as the squawk-linter crate.
    Peer {
        name: "squawk",
        version: "2.68.0",
        binary: "squawk-venv/bin/squawk",
        by_default: true,
        install: install_squawk,
    },
];

/// `cargo xtask peers …`.
#[derive(Debug, clap::Subcommand)]
pub enum PeersCommand {
    /// Install the named tools (when none is named: every tool a test uses) into `<cache>/peers`.
    Install {
        /// The tools.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(PEERS.map(|peer| peer.name)))]
        tools: Vec<String>,
    },
    /// Print the folder the tools are installed in.
    Dir,
}

/// Runs `cargo xtask peers …`.
pub fn run(command: PeersCommand) -> anyhow::Result<()> {
    match command {
        PeersCommand::Install { tools } => install(&tools),
        PeersCommand::Dir => {
            println!("{}", peers_dir()?.display());
            Ok(())
        }
    }
}

/// `<cache>/peers`.
pub fn peers_dir() -> anyhow::Result<PathBuf> {
    Ok(Layout::discover()?.cache.join("peers"))
}

/// Installs the named tools (when none is named, every tool a test uses).
pub fn install(names: &[String]) -> anyhow::Result<()> {
    let dir = peers_dir()?;
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    for name in names {
        if !PEERS.iter().any(|peer| peer.name == name) {
            bail!("unknown tool `{name}`");
        }
    }
    for peer in PEERS.iter().filter(|peer| {
        if names.is_empty() {
            peer.by_default
        } else {
            names.iter().any(|n| n == peer.name)
        }
    }) {
        let stamp = dir.join(format!(".{}.version", peer.name));
        let installed = std::fs::read_to_string(&stamp).is_ok_and(|v| v.trim() == peer.version);
        if installed && dir.join(peer.binary).is_file() {
            eprintln!("peers: {} {} already installed", peer.name, peer.version);
            continue;
        }
        eprintln!(
            "peers: installing {} {} into {}",
            peer.name,
            peer.version,
            dir.display()
        );
        (peer.install)(&dir, peer.version)
            .with_context(|| format!("failed to install {}", peer.name))?;
        anyhow::ensure!(
            dir.join(peer.binary).is_file(),
            "{} was installed but {} is missing",
            peer.name,
            peer.binary
        );
        std::fs::write(&stamp, peer.version)?;
    }
    Ok(())
}

fn install_golang_migrate(dir: &Path, version: &str) -> anyhow::Result<()> {
    let module = format!("github.com/golang-migrate/migrate/v4/cmd/migrate@{version}");
    run_command(
        Command::new("go")
            .args(["install", "-tags", "postgres", &module])
            .env("GOBIN", dir.join("bin")),
    )
    .context("needs Go (https://go.dev/dl/) on PATH")
}

fn install_alembic(dir: &Path, version: &str) -> anyhow::Result<()> {
    let venv = dir.join("alembic-venv");
    if !venv.join("bin/pip").is_file() {
        run_command(Command::new("python3").args(["-m", "venv"]).arg(&venv))
            .context("needs python3 with venv (Debian: apt-get install python3-venv)")?;
    }
    run_command(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        &format!("alembic=={version}"),
        "psycopg2-binary==2.9.10",
    ]))
}

fn install_squawk(dir: &Path, version: &str) -> anyhow::Result<()> {
    let venv = dir.join("squawk-venv");
    if !venv.join("bin/pip").is_file() {
        run_command(Command::new("python3").args(["-m", "venv"]).arg(&venv))
            .context("needs python3 with venv (Debian: apt-get install python3-venv)")?;
    }
    run_command(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        &format!("squawk-cli=={version}"),
    ]))
}

fn install_sqlx_cli(dir: &Path, version: &str) -> anyhow::Result<()> {
    cargo_install(dir, "sqlx-cli", version, "postgres,rustls")
}

/// PostgreSQL only: links the system libpq, so Debian's `libpq-dev` is
/// installed first when it is missing (as root, like the PostgreSQL server).
fn install_diesel_cli(dir: &Path, version: &str) -> anyhow::Result<()> {
    ensure_debian_package("libpq-dev")?;
    cargo_install(dir, "diesel_cli", version, "postgres")
        .context("diesel_cli's postgres feature links libpq (Debian: apt-get install libpq-dev)")
}

/// Installs a Debian package with apt-get unless dpkg says it is installed.
fn ensure_debian_package(package: &str) -> anyhow::Result<()> {
    let status = Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output();
    if status.is_ok_and(|out| out.stdout.ends_with(b"install ok installed")) {
        return Ok(());
    }
    anyhow::ensure!(
        nix::unistd::geteuid().is_root(),
        "{package} is not installed: run `sudo apt-get install -y {package}`, then \
         `cargo xtask peers install` again"
    );
    eprintln!("peers: installing Debian's {package} package");
    for args in [
        &["update"][..],
        &["install", "-y", "--no-install-recommends", package][..],
    ] {
        run_command(
            Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
        .with_context(|| format!("apt-get {}", args.join(" ")))?;
    }
    Ok(())
}

fn install_refinery_cli(dir: &Path, version: &str) -> anyhow::Result<()> {
    cargo_install(dir, "refinery_cli", version, "postgresql")
}

/// `cargo install` of a pinned crates.io version with only the PostgreSQL
/// features, into `<dir>/bin`; a cold build takes minutes, a warm one none.
fn cargo_install(dir: &Path, krate: &str, version: &str, features: &str) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run_command(
        Command::new(cargo)
            .args([
                "install",
                krate,
                "--locked",
                "--version",
                version,
                "--no-default-features",
                "--features",
                features,
                "--root",
            ])
            .arg(dir)
            // Its own build folder, so the workspace's target/ is not rebuilt.
            .env("CARGO_TARGET_DIR", dir.join("build")),
    )
}

/// Flyway's command-line jar is not on Maven Central (only its POM is), so
/// the test drives Flyway's engine (`flyway-core`, which is) through its Java
/// API with this launcher, run as a single-file Java program.
const FLYWAY_LAUNCHER: &str = r#"import java.util.Map;
import org.flywaydb.core.Flyway;

/** Applies a folder of Flyway migrations: FlywayMigrate <jdbc-url> <user> <password> <dir>. */
public class FlywayMigrate {
    public static void main(String[] args) {
        var result = Flyway.configure()
            .dataSource(args[0], args[1], args[2])
            .locations("filesystem:" + args[3])
            // Without this, Flyway's lock transaction blocks CREATE INDEX CONCURRENTLY forever.
            .configuration(Map.of("flyway.postgresql.transactional.lock", "false"))
            .load()
            .migrate();
        System.out.println("applied " + result.migrationsExecuted);
    }
}
"#;

fn install_flyway(dir: &Path, version: &str) -> anyhow::Result<()> {
    install_java_engine(
        &dir.join("flyway"),
        &[
            ("org.flywaydb", "flyway-core", version),
            ("org.flywaydb", "flyway-database-postgresql", version),
            ("org.postgresql", "postgresql", "42.7.4"),
        ],
        ("FlywayMigrate.java", FLYWAY_LAUNCHER),
    )
}

/// neo4j-migrations' engine (`eu.michael-simons.neo4j:neo4j-migrations`,
/// which brings the Neo4j Java driver) and a launcher: `Neo4jMigrate
/// <bolt-uri> <user> <dir>`, the password from `NEO4J_PASSWORD` so it never
/// shows in a process list.
const NEO4J_MIGRATIONS_LAUNCHER: &str = r#"import ac.simons.neo4j.migrations.core.Migrations;
import ac.simons.neo4j.migrations.core.MigrationsConfig;
import ac.simons.neo4j.migrations.core.MigrationVersion;
import org.neo4j.driver.AuthTokens;
import org.neo4j.driver.GraphDatabase;

/** Applies a folder of .cypher migrations: Neo4jMigrate <bolt-uri> <user> <dir>. */
public class Neo4jMigrate {
    public static void main(String[] args) {
        var auth = AuthTokens.basic(args[1], System.getenv("NEO4J_PASSWORD"));
        try (var driver = GraphDatabase.driver(args[0], auth)) {
            var config = MigrationsConfig.builder()
                .withLocationsToScan("file://" + args[2])
                .build();
            var applied = new Migrations(config, driver).apply();
            System.out.println("applied up to " + applied.map(MigrationVersion::getValue).orElse("nothing"));
        }
    }
}
"#;

fn install_neo4j_migrations(dir: &Path, version: &str) -> anyhow::Result<()> {
    install_java_engine(
        &dir.join("neo4j-migrations"),
        &[("eu.michael-simons.neo4j", "neo4j-migrations", version)],
        ("Neo4jMigrate.java", NEO4J_MIGRATIONS_LAUNCHER),
    )
}

/// A tool's Java engine: its Maven Central artifacts (with their
/// dependencies) copied into `<folder>/lib` by Maven, and a launcher run as
/// a single-file Java program (`java -cp '<folder>/lib/*' <launcher>`).
fn install_java_engine(
    folder: &Path,
    artifacts: &[(&str, &str, &str)],
    (launcher, source): (&str, &str),
) -> anyhow::Result<()> {
    std::fs::create_dir_all(folder)?;
    let dependencies: String = artifacts
        .iter()
        .map(|(group, artifact, version)| {
            format!("<dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId><version>{version}</version></dependency>")
        })
        .collect();
    let pom = format!(
        "<project xmlns=\"http://maven.apache.org/POM/4.0.0\"><modelVersion>4.0.0</modelVersion>\
         <groupId>dbmigrate.peers</groupId><artifactId>engine</artifactId><version>1</version><dependencies>{dependencies}</dependencies></project>\n"
    );
    std::fs::write(folder.join("pom.xml"), pom)?;
    run_command(
        Command::new("mvn")
            .args([
                "-q",
                "-B",
                "dependency:copy-dependencies",
                "-DoutputDirectory=lib",
            ])
            .current_dir(folder),
    )
    .context("needs Maven (mvn) and Java 17 on PATH")?;
    std::fs::write(folder.join(launcher), source)?;
    Ok(())
}

fn run_command(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot run {command:?}"))?;
    if !status.success() {
        bail!("{command:?} exited with {status}");
    }
    Ok(())
}
