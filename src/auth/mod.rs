//! Passwords, tokens, the extractors that state who may call a handler,
//! and the client's address behind trusted proxies.

pub mod address;
pub mod extract;
pub mod password;
pub mod tokens;

pub use extract::{
    Admin, AuditReader, Authenticated, Caller, Overseer, Platform, PlatformRecordReader, Reader,
    ReaderOrParty, Regulator, RegulatorOrParty,
};
pub use tokens::TokenService;
