//! Subcommands: each parses its arguments, builds a pipeline request, runs it and renders.
//! None reaches into another; what they share is `pipeline`, `render` and the helpers here.

pub mod audit;
pub mod close;
pub mod completions;
pub mod diff;
pub mod events;
pub mod explain;
pub mod export;
pub mod kill;
pub mod label;
pub mod list;
pub mod serve;
pub mod snapshot;
pub mod summary;
pub mod watch;

use crate::cli::GlobalArgs;
use crate::config::{self, Env};
use crate::error::Result;
use crate::model::Warning;
use crate::platform::System;
use crate::registry::Registry;

/// What every listing command starts from: the system to read and the registry to name
/// ports with (plus the registry's warnings).
pub struct Context {
    pub system: System,
    pub registry: Registry,
    pub warnings: Vec<Warning>,
}

impl Context {
    /// The system and no service registry, for a command that names no port (`-s` without
    /// its listener sections): /etc/services and the labels file are not read. Only when no
    /// `--services` or `--labels` file was named, which must be checked as everywhere.
    pub fn without_registry(g: &GlobalArgs) -> Result<Context> {
        Ok(Context {
            system: System::new(config::source_options(g))?,
            registry: Registry::default(),
            warnings: Vec::new(),
        })
    }

    pub fn new(g: &GlobalArgs, env: &Env) -> Result<Context> {
        let system = System::new(config::source_options(g))?;
        let (registry, warnings) =
            Registry::load_lenient(&config::registry_options(g, env), g.labels.is_some())?;
        Ok(Context {
            system,
            registry,
            warnings,
        })
    }
}
