//! Neo4j Community 5.26 on Java 17: its jars from Maven Central (cached outside `target/`),
//! run as a real server with Bolt on 127.0.0.1:56687, HTTP on 127.0.0.1:56474 (see
//! `ports`), auth on with a test password and usage reporting off. Ready means a
//! `RETURN 1` as the test user answers over the HTTP API and Bolt accepts connections.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context as _;

use super::layout::{create_dir, Layout};
use super::ports::Port;
use super::probe;
use super::process::{run_logged, spawn_logged};
use super::server::Server;
use super::service::Service;

/// The Neo4j release; keep `xtask/neo4j/pom.xml` in step.
pub const NEO4J_VERSION: &str = "5.26.12";
/// The built-in admin user.
pub const USER: &str = "neo4j";
/// Its test password (a throwaway, loopback only).
pub const PASSWORD: &str = "dbmigrate-test";

const POM: &str = include_str!("../../neo4j/pom.xml");
const JAVA_17: &str = "/usr/lib/jvm/java-17-openjdk-amd64";
/// The class `java` runs (also how `/proc` tells the server apart).
pub const MAIN_CLASS: &str = "org.neo4j.server.CommunityEntryPoint";

/// The Neo4j service.
pub struct Neo4j;

impl Service for Neo4j {
    fn server(&self) -> Server {
        Server::Neo4j
    }

    fn ports(&self) -> Vec<(&'static str, u16)> {
        vec![
            ("bolt", Port::Neo4jBolt.get()),
            ("http", Port::Neo4jHttp.get()),
        ]
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "NEO4J_URI".into(),
                format!("bolt://127.0.0.1:{}", Port::Neo4jBolt.get()),
            ),
            ("NEO4J_USER".into(), USER.into()),
            ("NEO4J_PASSWORD".into(), PASSWORD.into()),
        ]
    }

    fn prepare(&self, layout: &Layout) -> anyhow::Result<()> {
        let lib = download_jars(layout)?;
        let home = layout.dir(Server::Neo4j);
        for dir in ["conf", "data", "logs", "plugins", "import", "run"] {
            create_dir(&home.join(dir))?;
        }
        std::fs::write(home.join("conf/neo4j.conf"), config(&home))
            .context("failed to write neo4j.conf")?;
        set_initial_password(layout, &lib)
    }

    fn spawn(&self, layout: &Layout) -> anyhow::Result<u32> {
        let home = layout.dir(Server::Neo4j);
        let mut command = java(layout, &jar_dir(layout))?;
        command
            .args([
                "-Xms512m",
                "-Xmx1g",
                "-XX:+UseG1GC",
                "-XX:+ExitOnOutOfMemoryError",
            ])
            .args([
                "-Dfile.encoding=UTF-8",
                "-Dio.netty.tryReflectionSetAccessible=true",
            ])
            .args(["--add-opens", "java.base/java.nio=ALL-UNNAMED"])
            .args(["--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED"])
            .args(["--add-opens", "java.base/java.io=ALL-UNNAMED"])
            .arg(MAIN_CLASS)
            .arg(format!("--home-dir={}", home.display()))
            .arg(format!("--config-dir={}", home.join("conf").display()));
        spawn_logged(&mut command, &layout.log_file(Server::Neo4j))
    }

    fn answers(&self, _layout: &Layout) -> bool {
        return_1().is_ok() && probe::port_open(Port::Neo4jBolt.get())
    }

    fn startup_timeout(&self) -> Duration {
        Duration::from_secs(180)
    }

    fn logs(&self, layout: &Layout) -> Vec<PathBuf> {
        let home = layout.dir(Server::Neo4j);
        vec![layout.log_file(Server::Neo4j), home.join("logs/neo4j.log")]
    }
}

/// Runs `RETURN 1` as the test user through the HTTP API's transaction endpoint, so a
/// wrong password or a database that is not up yet counts as not ready.
fn return_1() -> anyhow::Result<()> {
    let credentials = format!("{USER}:{PASSWORD}");
    let request = probe::Request {
        method: "POST",
        port: Port::Neo4jHttp.get(),
        path: "/db/neo4j/tx/commit",
        basic_auth: Some(&credentials),
        json: Some(r#"{"statements":[{"statement":"RETURN 1 AS one"}]}"#),
    };
    let (status, body) = probe::http(&request)?;
    anyhow::ensure!(
        status == 200 && body.contains(r#""errors":[]"#) && body.contains(r#""row":[1]"#),
        "RETURN 1 over HTTP answered {status}: {body}"
    );
    Ok(())
}

/// The cache folder of this Neo4j release.
fn release_dir(layout: &Layout) -> PathBuf {
    layout.cache.join(format!("neo4j-{NEO4J_VERSION}"))
}

fn jar_dir(layout: &Layout) -> PathBuf {
    release_dir(layout).join("lib")
}

/// Copies `org.neo4j:neo4j` and its runtime closure into the cache with Maven, once.
fn download_jars(layout: &Layout) -> anyhow::Result<PathBuf> {
    let release = release_dir(layout);
    let lib = jar_dir(layout);
    let complete = release.join(".complete");
    if complete.is_file() {
        return Ok(lib);
    }
    create_dir(&release)?;
    if lib.exists() {
        std::fs::remove_dir_all(&lib).context("failed to delete a partial jar folder")?;
    }
    std::fs::write(release.join("pom.xml"), POM).context("failed to write pom.xml")?;
    let log = layout.dir(Server::Neo4j).join("maven.log");
    eprintln!(
        "neo4j: downloading Neo4j {NEO4J_VERSION} jars from Maven Central into {} (log: {})",
        lib.display(),
        log.display()
    );
    let mut command = Command::new("mvn");
    command
        .args(["-B", "-f"])
        .arg(release.join("pom.xml"))
        .arg("org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies")
        .arg(format!("-DoutputDirectory={}", lib.display()))
        .arg("-DincludeScope=runtime");
    if Path::new(JAVA_17).is_dir() {
        command.env("JAVA_HOME", JAVA_17);
    }
    run_logged(
        &mut command,
        &log,
        "mvn copy-dependencies (is Maven installed?)",
    )?;
    std::fs::write(&complete, "").context("failed to mark the jar download complete")?;
    Ok(lib)
}

/// `java -cp <lib>/*` on Java 17 (`$DBMIGRATE_JAVA` overrides the binary).
fn java(layout: &Layout, lib: &Path) -> anyhow::Result<Command> {
    let java = match std::env::var_os("DBMIGRATE_JAVA") {
        Some(java) => PathBuf::from(java),
        None if Path::new(JAVA_17).is_dir() => Path::new(JAVA_17).join("bin/java"),
        None => PathBuf::from("java"),
    };
    let home = layout.dir(Server::Neo4j);
    let mut command = Command::new(java);
    command
        .arg("-cp")
        .arg(format!("{}/*", lib.display()))
        .env("NEO4J_HOME", &home)
        .env("NEO4J_CONF", home.join("conf"))
        .current_dir(&home);
    Ok(command)
}

/// Sets the `neo4j` password before the first start (the only time it takes effect).
fn set_initial_password(layout: &Layout, lib: &Path) -> anyhow::Result<()> {
    let data = layout.data_dir(Server::Neo4j);
    if data.join("databases").exists() || data.join("dbms/auth.ini").exists() {
        return Ok(());
    }
    let log = layout.dir(Server::Neo4j).join("neo4j-admin.log");
    let mut command = java(layout, lib)?;
    command
        .arg("org.neo4j.cli.AdminTool")
        .args(["dbms", "set-initial-password", PASSWORD]);
    run_logged(&mut command, &log, "neo4j-admin dbms set-initial-password")
}

/// `neo4j.conf`: every listener on loopback, small memory, no phone-home.
fn config(home: &Path) -> String {
    let home = home.display();
    let (bolt_port, http_port) = (Port::Neo4jBolt.get(), Port::Neo4jHttp.get());
    format!(
        "# Written by `cargo xtask services up`; rewritten at every start.\n\
         server.default_listen_address=127.0.0.1\n\
         server.default_advertised_address=127.0.0.1\n\
         server.bolt.enabled=true\n\
         server.bolt.listen_address=127.0.0.1:{bolt_port}\n\
         server.bolt.advertised_address=127.0.0.1:{bolt_port}\n\
         server.http.enabled=true\n\
         server.http.listen_address=127.0.0.1:{http_port}\n\
         server.http.advertised_address=127.0.0.1:{http_port}\n\
         server.https.enabled=false\n\
         dbms.security.auth_enabled=true\n\
         dbms.usage_report.enabled=false\n\
         dbms.security.auth_max_failed_attempts=0\n\
         server.memory.heap.initial_size=512m\n\
         server.memory.heap.max_size=1g\n\
         server.memory.pagecache.size=128m\n\
         server.directories.data={home}/data\n\
         server.directories.logs={home}/logs\n\
         server.directories.plugins={home}/plugins\n\
         server.directories.import={home}/import\n\
         server.directories.run={home}/run\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pom_pins_the_same_neo4j_version() {
        assert!(
            POM.contains(&format!("<version>{NEO4J_VERSION}</version>")),
            "xtask/neo4j/pom.xml must depend on org.neo4j:neo4j {NEO4J_VERSION}"
        );
    }

    #[test]
    fn config_listens_on_loopback_only() {
        let config = config(Path::new("/x"));
        for line in config
            .lines()
            .filter(|line| line.contains("listen_address"))
        {
            assert!(line.contains("=127.0.0.1"), "{line}");
        }
        assert!(config.contains("dbms.usage_report.enabled=false"));
    }
}
