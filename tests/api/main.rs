//! Black-box tests: a real server per test, real HTTP, on SQLite and PostgreSQL.

mod accounts;
mod attacks;
mod audit;
mod auth;
mod demo;
mod errors;
mod guard;
mod helpers;
mod jobs;
mod listings;
mod ops;
mod project;
mod public;
mod replicas;
mod roles;
mod schema;
mod scores;
mod screening;
mod subjects;
mod violations;
mod web;
