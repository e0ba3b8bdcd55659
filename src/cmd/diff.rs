//! `portwatch diff BASELINE [NEW]`: the host now (or a second document) against a baseline,
//! by the identities of `timeline::compare`. Exit status as diff(1): 0 the same, 1
//! different, 2 trouble (main.rs maps every error of this command to 2).

use super::Context;
use crate::config::{self, DiffConfig, DocPath};
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::model::{Query, Row};
use crate::pipeline::{self, Request};
use crate::platform::fake::Fake;
use crate::platform::SocketSource;
use crate::registry::Registry;
use crate::render::{diff as render, notes};
use crate::timeline::{self, Baseline, Options};
use std::io::{Read, Write};
use std::path::PathBuf;

pub fn run(cfg: &DiffConfig, ctx: Context, out: &mut dyn Write) -> Result<u8> {
    let base = read(&cfg.baseline)?;
    let listing = match (&cfg.listing, &base.selection) {
        (Some(l), _) => l.clone(),
        (None, Some((args, filter))) => {
            config::listing_from_words(args, filter).map_err(|e| Error::BadFile {
                path: doc_path(&cfg.baseline),
                line: 1,
                msg: format!("its selection does not read back: {e}"),
            })?
        }
        (None, None) => {
            return Err(Error::Usage(format!(
                "{}: a listing saved with --json does not say how it was read: give the \
                 listing flags it was taken with (e.g. -ltup)",
                cfg.baseline.display()
            )))
        }
    };
    let mut req = config::request(&listing)?;
    // The holding program is part of a socket's identity.
    req.owners = true;
    req.user_names = true;
    let reg = &ctx.registry;
    let mut warnings = ctx.warnings;
    warnings.extend(coverage_note(&base, &req));
    let old_rows = recorded(&base, &req, reg)?;
    let (new_rows, new_doc, new_owners) = match &cfg.new {
        Some(p) => {
            let doc = read(p)?;
            (
                recorded(&doc, &req, reg)?,
                Some(doc.clone()),
                doc.has_owners,
            )
        }
        None => {
            let sys = &ctx.system;
            let listing = pipeline::run(&req, sys, sys, reg)?;
            warnings.extend(listing.warnings);
            (listing.rows, None, true)
        }
    };
    let ignore = resolve_ignores(&cfg.ignore, &ctx.system, reg)?;
    let keep = |rows: Vec<Row>| -> Vec<Row> {
        rows.into_iter()
            .filter(|r| !ignore.iter().any(|f| f.matches(r)))
            .collect()
    };
    let opts = Options {
        connections: cfg.connections,
        programs: base.has_owners && new_owners,
    };
    let diffs = timeline::compare(&keep(old_rows), &keep(new_rows), opts);

    let (host_now, now) = (
        ctx.system.hostname(),
        crate::render::time::rfc3339_ms(std::time::SystemTime::now()),
    );
    let old_side = side(Some(&cfg.baseline), &base);
    let new_side = match (&cfg.new, &new_doc) {
        (Some(p), Some(doc)) => side(Some(p), doc),
        _ => render::Side {
            path: None,
            host: host_now.as_deref(),
            created: Some(&now),
        },
    };
    if cfg.json {
        render::write_json(&old_side, &new_side, &diffs, out)?;
    } else {
        render::write_text(&old_side, &new_side, &diffs, out)?;
    }
    out.flush()?;
    notes::print_warnings(&warnings);
    Ok(u8::from(!diffs.is_empty()))
}

fn side<'a>(path: Option<&'a DocPath>, doc: &'a Baseline) -> render::Side<'a> {
    render::Side {
        path: path.map(|p| match p {
            DocPath::Std => "-",
            DocPath::File(f) => f.to_str().unwrap_or("(baseline)"),
        }),
        host: doc.host.as_deref(),
        created: doc.created.as_deref(),
    }
}

fn doc_path(p: &DocPath) -> PathBuf {
    match p {
        DocPath::Std => PathBuf::from("-"),
        DocPath::File(f) => f.clone(),
    }
}

/// Read and parse a document (stdin for `-`).
fn read(p: &DocPath) -> Result<Baseline> {
    let path = doc_path(p);
    let bytes = match p {
        DocPath::Std => {
            let mut v = Vec::new();
            std::io::stdin()
                .read_to_end(&mut v)
                .map_err(|source| Error::File {
                    path: path.clone(),
                    source,
                })?;
            v
        }
        DocPath::File(f) => std::fs::read(f).map_err(|source| Error::File {
            path: path.clone(),
            source,
        })?,
    };
    timeline::parse_baseline(&bytes, &path)
}

/// The recorded sockets as the request selects them: the same pipeline as a live read, over
/// the document as a source, so flags, filter and annotations apply alike.
fn recorded(b: &Baseline, req: &Request, reg: &Registry) -> Result<Vec<Row>> {
    let host = Fake {
        sockets: b.sockets.clone(),
        owners: b.owners.clone(),
        users: b.users.clone(),
        ephemeral: b.ephemeral,
        ..Fake::default()
    };
    Ok(pipeline::run(req, &host, &host, reg)?.rows)
}

fn resolve_ignores(
    ignore: &[Filter],
    sys: &crate::platform::System,
    reg: &Registry,
) -> Result<Vec<Filter>> {
    ignore
        .iter()
        .map(|f| pipeline::resolve_filter(f, reg, sys, sys.ephemeral_range()))
        .collect()
}

/// A note when the request reads more than the baseline recorded: those sockets show as
/// added although the baseline never looked for them.
fn coverage_note(base: &Baseline, req: &Request) -> Option<crate::model::Warning> {
    let (args, filter) = base.selection.as_ref()?;
    let then = config::request(&config::listing_from_words(args, filter).ok()?).ok()?;
    let (a, b): (&Query, &Query) = (&then.query, &req.query);
    let covered = (!b.tcp || a.tcp)
        && (!b.udp || a.udp)
        && (!b.unix || a.unix)
        && (!b.raw || a.raw)
        && (!b.ipv4 || a.ipv4)
        && (!b.ipv6 || a.ipv6)
        && b.states.0 & !a.states.0 == 0
        && (then.filter.is_empty() || then.filter.text() == req.filter.text());
    (!covered).then(|| {
        crate::model::Warning::new(
            "baseline-narrower",
            format!(
                "the baseline was taken with `{}`: sockets it did not look for show as added",
                [args.join(" "), filter.clone()].join(" ").trim()
            ),
        )
    })
}
