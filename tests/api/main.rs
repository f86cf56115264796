//! Black-box tests: a real server per test, real HTTP, on SQLite and PostgreSQL.

mod accounts;
mod attacks;
mod audit;
mod auth;
mod demo;
mod errors;
mod guard;
mod hardening;
mod helpers;
mod jobs;
mod limits;
mod listings;
mod ops;
mod oversight;
mod params;
mod project;
mod public;
mod replicas;
mod retention;
mod roles;
mod schema;
mod scores;
mod screening;
mod subjects;
mod violations;
mod web;
