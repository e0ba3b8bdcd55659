//! `portwatch label set|rm|list`: the user's own port names, in a plain-text file.

use crate::cli::{GlobalArgs, LabelCommand};
use crate::config::{self, Env};
use crate::error::{Error, Result};
use crate::registry::labels::{self, LabelStore};
use crate::render::labels as out_labels;
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
            out_labels::write_set(port, proto, name, old.as_ref(), out)?;
        }
        LabelCommand::Rm { port } => {
            let (port, proto) = spec(port)?;
            match store.remove(port, proto)? {
                Some(o) => out_labels::write_removed(port, proto, &o, out)?,
                None => {
                    return Err(Error::Usage(format!(
                        "label rm: no label for {port}/{proto} in {}",
                        store.path().display()
                    )))
                }
            }
        }
        LabelCommand::List { json } => out_labels::write_list(&store.list()?, *json, out)?,
    }
    Ok(())
}
