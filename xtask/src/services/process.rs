//! Server processes: spawning them detached with their output in a log file, PID files,
//! liveness checks and signals (nix), graceful-then-forced stops, and waiting with a deadline.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use nix::errno::Errno;
use nix::sys::signal::{self, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// How often readiness and exit are polled.
const POLL: Duration = Duration::from_millis(250);

/// Starts `command` in its own process group (a Ctrl-C in the terminal does not reach it)
/// with stdin closed and stdout/stderr appended to `log`; returns its PID.
pub fn spawn_logged(command: &mut Command, log: &Path) -> anyhow::Result<u32> {
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("failed to open log file {}", log.display()))?;
    let err = out.try_clone()?;
    let program = command.get_program().to_string_lossy().into_owned();
    let child = command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .with_context(|| format!("failed to start {program}"))?;
    // The child outlives this process on purpose: dropping `Child` neither waits nor kills.
    Ok(child.id())
}

/// The PID stored in `pid_file`, if the file exists and holds a number.
pub fn read_pid(pid_file: &Path) -> Option<u32> {
    std::fs::read_to_string(pid_file).ok()?.trim().parse().ok()
}

/// Writes `pid` to `pid_file`.
pub fn write_pid(pid_file: &Path, pid: u32) -> anyhow::Result<()> {
    std::fs::write(pid_file, format!("{pid}\n"))
        .with_context(|| format!("failed to write PID file {}", pid_file.display()))
}

/// Removes `pid_file`; a missing file is fine.
pub fn remove_pid(pid_file: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(pid_file) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(error).with_context(|| format!("failed to remove PID file {}", pid_file.display()))
        }
        _ => Ok(()),
    }
}

/// Whether `pid` is a live (not zombie) process whose command line mentions `program`,
/// so that a PID reused by an unrelated process is never taken for our server.
pub fn is_alive(pid: u32, program: &str) -> bool {
    if !is_running(pid) {
        return false;
    }
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|cmdline| String::from_utf8_lossy(&cmdline).contains(program))
        .unwrap_or(false)
}

/// `pid` as a process id; `None` for 0 and for values that would name a process group.
fn process_id(pid: u32) -> Option<Pid> {
    i32::try_from(pid)
        .ok()
        .filter(|pid| *pid > 0)
        .map(Pid::from_raw)
}

/// Whether `pid` is a live process, whatever it runs. A child of this process that has
/// exited is reaped here, so a zombie left by a server this run started counts as gone.
fn is_running(pid: u32) -> bool {
    let Some(pid) = process_id(pid) else {
        return false;
    };
    match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::StillAlive) | Err(_) => {}
        Ok(_) => return false,
    }
    // Signal 0 only checks; EPERM means it exists but belongs to another user.
    !matches!(signal::kill(pid, None), Err(Errno::ESRCH))
}

/// Sends `signal` (a name such as `TERM`, `INT`, `KILL`, with or without `SIG`) to `pid`.
pub fn send_signal(pid: u32, signal: &str) -> anyhow::Result<()> {
    let name = format!("SIG{}", signal.trim_start_matches("SIG"));
    let parsed: Signal = name
        .parse()
        .with_context(|| format!("unknown signal `{signal}`"))?;
    let target = process_id(pid).with_context(|| format!("{pid} is not a process id"))?;
    signal::kill(target, parsed).with_context(|| format!("failed to send {name} to {pid}"))
}

/// How a stop went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The process was not running.
    NotRunning,
    /// The process exited after the graceful signal.
    Gracefully,
    /// The process ignored the graceful signal and was killed.
    Killed,
}

/// Stops `pid` with `signal`, then `KILL` after `grace`.
pub fn stop(pid: u32, program: &str, signal: &str, grace: Duration) -> anyhow::Result<Stopped> {
    if !is_alive(pid, program) {
        return Ok(Stopped::NotRunning);
    }
    send_signal(pid, signal)?;
    if wait_for_exit(pid, grace) {
        return Ok(Stopped::Gracefully);
    }
    kill(pid)?;
    Ok(Stopped::Killed)
}

/// Kills `pid` (a child this run started) with SIGKILL and waits until it is gone.
pub fn kill(pid: u32) -> anyhow::Result<()> {
    if is_running(pid) {
        send_signal(pid, "KILL")?;
    }
    anyhow::ensure!(
        wait_for_exit(pid, Duration::from_secs(10)),
        "process {pid} is still running after SIGKILL"
    );
    Ok(())
}

fn wait_for_exit(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if !is_running(pid) {
            return true;
        }
        sleep(POLL);
    }
    !is_running(pid)
}

/// What `wait_ready` watches while it waits.
pub struct Watch<'a> {
    /// The server process; waiting stops early when it exits.
    pub pid: u32,
    /// A word of its command line, for messages.
    pub program: &'a str,
    /// How long to wait.
    pub timeout: Duration,
    /// The logs whose tails explain a failure.
    pub logs: &'a [&'a Path],
}

/// Polls `ready` until it returns true; fails with the tails of the logs when the process
/// exits or the timeout passes. Returns how long it took.
pub fn wait_ready(watch: &Watch<'_>, mut ready: impl FnMut() -> bool) -> anyhow::Result<Duration> {
    let start = Instant::now();
    loop {
        if ready() {
            return Ok(start.elapsed());
        }
        // The PID is our own fresh child, so whether it runs is enough (no command-line
        // check, which could race with its exec).
        let problem = if !is_running(watch.pid) {
            format!("exited (pid {}) before it answered", watch.pid)
        } else if start.elapsed() >= watch.timeout {
            format!("did not answer within {}s", watch.timeout.as_secs())
        } else {
            sleep(POLL);
            continue;
        };
        anyhow::bail!("{} {problem}\n{}", watch.program, log_tails(watch.logs, 30));
    }
}

/// The last `lines` lines of each non-empty log, each under a header naming the file.
pub fn log_tails(logs: &[&Path], lines: usize) -> String {
    logs.iter()
        .filter_map(|log| {
            let tail = tail(log, lines)?;
            Some(format!("--- last lines of {} ---\n{tail}", log.display()))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The last `lines` lines of `path` (reading at most its last 64 KiB).
pub fn tail(path: &Path, lines: usize) -> Option<String> {
    let mut file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)))
        .ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    let tail = all[all.len().saturating_sub(lines)..].join("\n");
    (!tail.trim().is_empty()).then_some(tail)
}

/// Runs `command` to completion with its output appended to `log`; fails with the log tail.
pub fn run_logged(command: &mut Command, log: &Path, what: &str) -> anyhow::Result<()> {
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("failed to open log file {}", log.display()))?;
    let err = out.try_clone()?;
    let status = command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .with_context(|| format!("failed to run {what}"))?;
    anyhow::ensure!(
        status.success(),
        "{what} failed ({status})\n{}",
        log_tails(&[log], 30)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_bogus_pid_is_not() {
        let me = std::process::id();
        assert!(is_alive(me, ""));
        assert!(!is_alive(me, "certainly-not-in-the-command-line-42"));
        assert!(!is_alive(u32::MAX - 1, ""));
    }

    #[test]
    #[allow(clippy::zombie_processes)] // on purpose: `is_running` must reap it
    fn a_signalled_child_is_gone_once_it_exits() {
        let child = Command::new("sleep").arg("60").spawn().unwrap();
        let pid = child.id();
        assert!(is_running(pid));
        send_signal(pid, "TERM").unwrap();
        // Not waited for by `Child`: `is_running` itself must reap the zombie.
        assert!(wait_for_exit(pid, Duration::from_secs(10)));
        assert!(send_signal(pid, "BOGUS").is_err());
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, "one\ntwo\nthree\n").unwrap();
        assert_eq!(tail(&path, 2).as_deref(), Some("two\nthree"));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(tail(&path, 2), None);
    }
}
