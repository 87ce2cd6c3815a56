//! Revision targets. (skeleton)

/// Where `upgrade`/`downgrade` should go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The newest revision.
    Head,
    /// Before the first revision.
    Base,
    /// A full stem, a revision id or a unique prefix of a rev.
    Revision(String),
    /// `+N` / `-N` from the current position.
    Relative(i64),
}
