//! Passwords, tokens, and the extractors that state who may call a handler.

pub mod extract;
pub mod password;
pub mod tokens;

pub use extract::{
    Admin, AuditReader, Authenticated, Overseer, Platform, PlatformRecordReader, Reader, Regulator,
};
pub use tokens::TokenService;
