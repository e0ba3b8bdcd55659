//! `portwatch label set|rm|list`: the user's own port names, in a plain-text file.

use crate::cli::{GlobalArgs, LabelCommand};
use crate::config::{self, Env};
use crate::error::{Error, Result};
use crate::registry::labels::{self, LabelStore};
use crate::render::sanitize::escape_str;
use std::io::Write;

fn store(g: &GlobalArgs, env: &Env) -> Result<LabelStore> {
    config::labels_path(g, env).map(LabelStore::open).ok_or_else(|| {
        Error::Usage(
            "no place for the labels file: set HOME, XDG_CONFIG_HOME or PORTWATCH_LABELS, or pass --labels FILE"
                .into(),
        )
    })
}

fn spec(s: &str) -> Result<(u16, &'static str)> {
    labels::parse_port_proto(s, Some("tcp")).map_err(|m| Error::Usage(format!("label: {m}")))
}

pub fn run(cmd: &LabelCommand, g: &GlobalArgs, env: &Env, out: &mut dyn Write) -> Result<()> {
    let store = store(g, env)?;
    match cmd {
        LabelCommand::Set {
            port,
            name,
            description,
        } => {
            let (port, proto) = spec(port)?;
            let old = store.set(port, proto, name, description.as_deref())?;
            match old {
                Some(o) => writeln!(
                    out,
                    "{port}/{proto}: {} (was {})",
                    escape_str(name),
                    escape_str(&o.name)
                )?,
                None => writeln!(out, "{port}/{proto}: {}", escape_str(name))?,
            }
        }
        LabelCommand::Rm { port } => {
            let (port, proto) = spec(port)?;
            match store.remove(port, proto)? {
                Some(o) => writeln!(out, "removed {port}/{proto} {}", escape_str(&o.name))?,
                None => {
                    return Err(Error::Usage(format!(
                        "label rm: no label for {port}/{proto} in {}",
                        store.path().display()
                    )))
                }
            }
        }
        LabelCommand::List { json } => {
            let all = store.list()?;
            if *json {
                serde_json::to_writer_pretty(&mut *out, &all).map_err(std::io::Error::other)?;
                out.write_all(b"\n")?;
            } else {
                for l in &all {
                    write!(out, "{}/{}\t{}", l.port, l.proto, escape_str(&l.name))?;
                    match &l.description {
                        Some(d) => writeln!(out, "\t{}", escape_str(d))?,
                        None => writeln!(out)?,
                    }
                }
            }
        }
    }
    Ok(())
}
