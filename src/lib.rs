//! livecredit: the credit blacklist registry for live-stream selling.
//!
//! Layers, top to bottom: `cli` → `app` (server, routes) → `api` (handlers) →
//! `auth`, `audit` → `db` (diesel, both backends) ; `domain` holds the pure rules.

pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
/// The rules, in their own crate so that Cargo keeps them pure.
pub use livecredit_domain as domain;
pub mod error;
pub mod events;
pub mod jobs;
pub mod screening;
pub mod signing;
pub mod telemetry;
pub mod web;
pub mod webhooks;
pub mod workflows;
