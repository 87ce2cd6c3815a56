//! The edututor service: boot (migrate, then use every database) and one
//! module per database it uses.

mod boot;
mod config;
mod curriculum;
mod library;
mod migrate;
mod school;

pub use boot::main;
