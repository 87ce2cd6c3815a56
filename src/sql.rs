//! PostgreSQL script text without a server: the statement splitter the
//! `Transaction: none` runner uses, and the psql meta-command check the
//! parser runs on every `.sql` section (so the build helper, `check` and
//! the runtime refuse `\restrict`, `\connect`, `\i`, … alike).

mod meta;
mod split;

pub(crate) use meta::refuse_meta_commands;
#[cfg_attr(not(feature = "postgres"), allow(unused_imports))]
pub(crate) use split::{split, words, Statement};
