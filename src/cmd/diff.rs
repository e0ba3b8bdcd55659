//! `portwatch diff BASELINE [NEW]`: the host now (or a second document) against a baseline,
//! by the identities of `timeline::compare`. Exit status as diff(1): 0 the same, 1
//! different, 2 trouble (main.rs maps every error of this command to 2).

use super::Context;
use crate::cli::ListingArgs;
use crate::config::{self, DiffConfig, DocPath, Side};
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::model::{Row, Warning};
use crate::pipeline::{self, Request};
use crate::platform::fake::Fake;
use crate::platform::SocketSource;
use crate::registry::Registry;
use crate::render::{diff as render, notes, time::rfc3339_ms};
use crate::timeline::{self, Baseline, Options};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::SystemTime;

pub fn run(cfg: &DiffConfig, ctx: Context, out: &mut dyn Write) -> Result<u8> {
    let base = read(&cfg.baseline)?;
    let (listing, narrowed) = selection(cfg, &base)?;
    let mut req = config::request(&listing)?;
    // What a document must have looked at for its absences to mean something: the request,
    // or when a filter only narrowed the baseline's selection, that selection itself.
    let covering = match &narrowed {
        Some(own) => config::request(own)?,
        None => req.clone(),
    };
    // The holding program is part of a socket's identity.
    req.owners = true;
    req.user_names = true;
    let (sys, reg) = (&ctx.system, &ctx.registry);
    let mut warnings = ctx.warnings;
    if let (Some((args, filter)), None) = (&base.selection, &narrowed) {
        warnings.extend(config::narrower_note(Side::Baseline, args, filter, &req));
    }
    let new_doc = cfg.new.as_ref().map(read).transpose()?;
    match new_doc.as_ref().map(|d| &d.selection) {
        Some(Some((args, filter))) => {
            warnings.extend(config::narrower_note(Side::New, args, filter, &covering));
        }
        Some(None) => warnings.push(Warning::new(
            "baseline-narrower",
            "NEW is a listing saved with --json, which does not say how it was read: sockets \
             it did not look for show as removed",
        )),
        None => {}
    }
    let (new_rows, new_owners) = match &new_doc {
        Some(doc) => (recorded(doc, &req, reg)?, doc.has_owners),
        None => {
            let listing = pipeline::run(&req, sys, sys, reg)?;
            warnings.extend(listing.warnings);
            (listing.rows, true)
        }
    };
    let ignore: Vec<Filter> = cfg
        .ignore
        .iter()
        .map(|f| {
            let mut f = pipeline::resolve_filter(f, reg, sys)?;
            if f.needs_ephemeral_range() {
                f.set_ephemeral_range(sys.ephemeral_range());
            }
            Ok(f)
        })
        .collect::<Result<_>>()?;
    let keep = |rows: Vec<Row>| -> Vec<Row> {
        rows.into_iter()
            .filter(|r| !ignore.iter().any(|f| f.matches(r)))
            .collect()
    };
    let opts = Options {
        connections: cfg.connections,
        programs: base.has_owners && new_owners,
    };
    let diffs = timeline::compare(&keep(recorded(&base, &req, reg)?), &keep(new_rows), opts);

    let (host, now) = (sys.hostname(), rfc3339_ms(SystemTime::now()));
    let old_side = side(&cfg.baseline, &base);
    let new_side = match (&cfg.new, &new_doc) {
        (Some(p), Some(doc)) => side(p, doc),
        _ => render::Side {
            path: None,
            host: host.as_deref(),
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

/// The listing flags to read with: diff's own, else the baseline's.
/// The listing flags and filter both sides are read and cut with, and, when they only narrow
/// the baseline's own selection, that selection: a filter without flags (`diff base.json
/// sport = :22` keeps the baseline's `-lt`, so what it never looked for is not reported as
/// added). A filter naming states (`state`, `exclude`) replaces the state set, as in ss, so
/// it replaces the selection instead.
fn selection(cfg: &DiffConfig, base: &Baseline) -> Result<(ListingArgs, Option<ListingArgs>)> {
    let read_back = |args: &[String], filter: &str| {
        config::listing_from_words(args, filter).map_err(|e| Error::BadFile {
            path: doc_path(&cfg.baseline),
            line: 1,
            msg: format!("its selection does not read back: {e}"),
        })
    };
    match (&cfg.listing, &base.selection) {
        (Some(l), Some((args, filter)))
            if !config::flags_select(l)
                && config::request(l)?.filter.state_override().is_none() =>
        {
            let mine = l.filter.join(" ");
            let both = match filter.trim() {
                "" => mine,
                theirs => format!("( {theirs} ) and ( {mine} )"),
            };
            Ok((read_back(args, &both)?, Some(read_back(args, filter)?)))
        }
        (Some(l), _) => Ok((l.clone(), None)),
        (None, Some((args, filter))) => Ok((read_back(args, filter)?, None)),
        (None, None) => Err(Error::Usage(format!(
            "{}: a listing saved with --json does not say how it was read: give the listing \
             flags it was taken with (e.g. -ltup)",
            cfg.baseline.display()
        ))),
    }
}

fn side<'a>(path: &'a DocPath, doc: &'a Baseline) -> render::Side<'a> {
    render::Side {
        path: Some(match path {
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
