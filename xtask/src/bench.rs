//! `cargo xtask bench` (placeholder until its owner lands it).

/// Runs `cargo xtask bench`.
pub fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("`cargo xtask bench` is not implemented yet")
}
