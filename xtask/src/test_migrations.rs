//! `cargo xtask test-migrations` (placeholder until its owner lands it).

/// Runs `cargo xtask test-migrations`.
pub fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("`cargo xtask test-migrations` is not implemented yet")
}
