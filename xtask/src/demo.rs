//! `cargo xtask demo` (placeholder until its owner lands it).

/// Runs `cargo xtask demo`.
pub fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("`cargo xtask demo` is not implemented yet")
}
