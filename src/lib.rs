//! livecredit: the credit blacklist registry for live-stream selling.
//!
//! Layers, each importing only from those below it (docs/ARCHITECTURE.md):
//!
//! - `domain` (the `livecredit-domain` crate): the rules, pure.
//! - `db`: diesel on SQLite and PostgreSQL; returns its own `DbError`.
//! - `infra`: group commit and rate limiting, knowing nothing of the use cases.
//! - `service`: the use cases, each in one place; returns `ServiceError`.
//! - the doors: `api` (JSON), `web` (HTML), `cli`, `jobs` (background), with
//!   `auth` (passwords, tokens, extractors) and `app` (the server) beside them.

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
/// The rules, in their own crate so that Cargo keeps them pure.
pub use livecredit_domain as domain;
pub mod error;
pub mod infra;
pub mod jobs;
pub mod service;
pub mod signing;
pub mod telemetry;
pub mod web;
