//! The rules of the registry, free of HTTP and SQL so they can be tested exhaustively.

pub mod accounts;
pub mod calendar;
pub mod identifiers;
pub mod names;
pub mod procedure;
pub mod registry;
pub mod scoring;
