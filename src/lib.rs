//! portwatch: a local socket inspector. The library holds every stage so tests can drive them:
//! platform -> model::Snapshot -> join -> filter -> render, tied together by `pipeline`;
//! `timeline` compares reads over time.

pub mod argv;
pub mod audit;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod error;
pub mod export;
pub mod filter;
pub mod join;
pub mod kill;
pub mod manual;
pub mod model;
pub mod pipeline;
pub mod platform;
pub mod registry;
pub mod render;
pub mod serve;
pub mod timeline;
