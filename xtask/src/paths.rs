//! Where things are, in one place: the workspace root, the target folder and `$CARGO`
//! (and a shell that runs commands from the root).

use std::path::{Path, PathBuf};

/// The workspace root: the parent of xtask's manifest folder.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// `$CARGO_TARGET_DIR`, else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root().join("target"),
    }
}

/// An `xshell` shell in the workspace root, for commands run to completion.
pub fn workspace_shell() -> anyhow::Result<xshell::Shell> {
    let shell = xshell::Shell::new()?;
    shell.change_dir(workspace_root());
    Ok(shell)
}

/// `$CARGO`, as cargo sets it for `cargo xtask`, else `cargo`.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}
