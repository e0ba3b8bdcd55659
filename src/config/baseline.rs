//! `snapshot` and `diff`: what to read, where the documents are, and how BASELINE [NEW] are
//! told from the filter words. Pure, like the rest of `config`.

use super::{listing_from_words, request, selection_words};
use crate::cli::{DiffArgs, ListingArgs, SnapshotArgs};
use crate::error::{Error, Result};
use crate::filter::{self, Filter, KEYWORDS};
use crate::model::{Query, Warning};
use crate::pipeline::Request;
use std::path::PathBuf;

/// A document to read or write: a file, or stdin/stdout (`-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocPath {
    Std,
    File(PathBuf),
}

impl DocPath {
    fn of(p: PathBuf) -> DocPath {
        if p.as_os_str() == "-" {
            DocPath::Std
        } else {
            DocPath::File(p)
        }
    }

    /// How messages name it.
    pub fn display(&self) -> String {
        match self {
            DocPath::Std => "-".into(),
            DocPath::File(p) => p.display().to_string(),
        }
    }
}

/// Everything `snapshot` needs, resolved.
#[derive(Debug, Clone)]
pub struct SnapshotConfig {
    /// The listing request, with owners and user names always: a baseline is compared by
    /// the holding program's name.
    pub request: Request,
    /// The listing flags as words (`--listening --tcp`), and the filter text: what a later
    /// `diff` reads the host with when given no flags of its own.
    pub selection: (Vec<String>, String),
    pub output: DocPath,
}

pub fn snapshot_config(a: &SnapshotArgs) -> Result<SnapshotConfig> {
    super::own_namespace_only("snapshot", &a.listing)?;
    let mut req = request(&a.listing)?;
    req.owners = true;
    req.user_names = true;
    Ok(SnapshotConfig {
        request: req,
        selection: (selection_words(&a.listing), a.listing.filter.join(" ")),
        output: a.output.clone().map_or(DocPath::Std, DocPath::of),
    })
}

/// Everything `diff` needs, resolved.
#[derive(Debug, Clone)]
pub struct DiffConfig {
    pub baseline: DocPath,
    /// A second document to compare with, instead of the host now.
    pub new: Option<DocPath>,
    /// The listing flags and filter given to `diff`, when any: otherwise the baseline's own
    /// selection is read (so `diff base.json` compares like with like).
    pub listing: Option<ListingArgs>,
    /// `--ignore` filters, parsed (resolved against the registry when used).
    pub ignore: Vec<Filter>,
    pub connections: bool,
    pub json: bool,
}

pub fn diff_config(a: &DiffArgs) -> Result<DiffConfig> {
    super::own_namespace_only("diff", &a.listing)?;
    let (new, words) = split_new(&a.listing.filter);
    let listing = ListingArgs {
        filter: words.to_vec(),
        ..a.listing.clone()
    };
    // Validate the flags and filter now, whatever is read later.
    request(&listing)?;
    let ignore = a
        .ignore
        .iter()
        .map(|text| {
            filter::parse_str(text).map_err(|e| Error::Filter {
                rendered: format!("--ignore: {e}"),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(DiffConfig {
        baseline: DocPath::of(a.baseline.clone()),
        new: new.map(|w| DocPath::of(PathBuf::from(w))),
        listing: selects(&listing).then_some(listing),
        ignore,
        connections: a.connections,
        json: a.json,
    })
}

/// NEW is the first free word after BASELINE unless that word starts a filter: a filter
/// always starts with a keyword (`filter::KEYWORDS`), `(` or `!`. A file named like a
/// keyword is given as `./state`.
fn split_new(words: &[String]) -> (Option<&String>, &[String]) {
    match words.split_first() {
        Some((first, rest)) if !starts_filter(first) => (Some(first), rest),
        _ => (None, words),
    }
}

fn starts_filter(word: &str) -> bool {
    let w = word.trim_start();
    if w.starts_with(['(', '!']) {
        return true;
    }
    let head = w
        .split(|c: char| c.is_whitespace() || "()=!<>".contains(c))
        .next()
        .unwrap_or("");
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(head))
}

/// Whether the flags or the filter choose sockets: then they replace the baseline's
/// selection (a filter alone narrows it: `flags_select`).
fn selects(a: &ListingArgs) -> bool {
    flags_select(a) || !a.filter.is_empty()
}

/// Whether the flags choose sockets. -n, -p, --all-owners and -e choose none (diff reads
/// owners and user names whatever they say), so they keep the baseline's selection.
pub fn flags_select(a: &ListingArgs) -> bool {
    a.listening
        || a.all
        || a.tcp
        || a.udp
        || a.unix
        || a.raw
        || a.ipv4
        || a.ipv6
        || !a.pids.is_empty()
        || !a.commands.is_empty()
        || !a.users.is_empty()
}

/// Which side of a comparison a recorded selection belongs to, for `narrower_note`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Baseline,
    New,
}

/// A note when `req` reads more than a document's selection (`args`, `filter`) recorded:
/// sockets the baseline never looked for show as added, those NEW never looked for as
/// removed.
pub fn narrower_note(side: Side, args: &[String], filter: &str, req: &Request) -> Option<Warning> {
    let then = request(&listing_from_words(args, filter).ok()?).ok()?;
    let (a, b): (&Query, &Query) = (&then.query, &req.query);
    let covered = (!b.tcp || a.tcp)
        && (!b.udp || a.udp)
        && (!b.unix || a.unix)
        && (!b.raw || a.raw)
        && (!b.ipv4 || a.ipv4)
        && (!b.ipv6 || a.ipv6)
        && b.states.0 & !a.states.0 == 0
        && (then.filter.is_empty() || then.filter.text() == req.filter.text());
    let (doc, shown) = match side {
        Side::Baseline => ("the baseline", "added"),
        Side::New => ("NEW", "removed"),
    };
    (!covered).then(|| {
        Warning::new(
            "baseline-narrower",
            format!(
                "{doc} was taken with `{}`: sockets it did not look for show as {shown}",
                [args.join(" "), filter.to_string()].join(" ").trim()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Command;

    fn diff(args: &[&str]) -> Result<DiffConfig> {
        let v: Vec<std::ffi::OsString> = ["portwatch", "diff"]
            .iter()
            .chain(args)
            .map(Into::into)
            .collect();
        // As main does: the words reordered first, so options may follow the filter.
        let words: Vec<String> = crate::argv::permute_args(v)
            .into_iter()
            .skip(2)
            .map(|w| w.into_string().unwrap())
            .collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        match super::super::parse_cli("diff", &words)?.command {
            Some(Command::Diff(a)) => diff_config(&a),
            _ => unreachable!("a diff command line"),
        }
    }

    fn file(p: &str) -> DocPath {
        DocPath::File(p.into())
    }

    #[test]
    fn new_is_a_word_that_does_not_start_a_filter() {
        let c = diff(&["base.json"]).unwrap();
        assert_eq!((c.baseline, c.new), (file("base.json"), None));
        assert!(c.listing.is_none(), "no flags: the baseline's selection");

        let c = diff(&["base.json", "new.json", "-lt", "sport", "=", ":80"]).unwrap();
        assert_eq!(c.new, Some(file("new.json")));
        assert_eq!(c.listing.unwrap().filter, ["sport", "=", ":80"]);

        let c = diff(&["base.json", "sport", "=", ":80", "--json"]).unwrap();
        assert_eq!(c.new, None);
        assert!(c.json);
        assert_eq!(c.listing.unwrap().filter, ["sport", "=", ":80"]);

        for filter in [
            "( sport = :80 )",
            "! sport = :80",
            "not sport = :80",
            "state established",
            "sport=:80",
        ] {
            let c = diff(&["-", filter]).unwrap_or_else(|e| panic!("{filter}: {e}"));
            assert_eq!((&c.baseline, &c.new), (&DocPath::Std, &None), "{filter}");
        }
        let c = diff(&["-", "./state"]).unwrap();
        assert_eq!(c.new, Some(file("./state")));
    }

    #[test]
    fn flags_replace_the_baseline_selection_and_bad_input_is_exit_2() {
        assert!(diff(&["b", "-n"]).unwrap().listing.is_none());
        assert!(diff(&["b", "-t"]).unwrap().listing.is_some());
        for bad in [
            &["b", "sport", "=", ":"][..],
            &["b", "--ignore", "sport ="],
            &["b", "-4", "-6"],
        ] {
            assert_eq!(diff(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
        let e = diff(&["b", "--ignore", "sport ="]).unwrap_err();
        assert!(e.to_string().starts_with("--ignore: "), "{e}");
        assert_eq!(
            diff(&["b", "--ignore", "sport = :5353", "--ignore", "dport = :53"])
                .unwrap()
                .ignore
                .len(),
            2
        );
    }

    #[test]
    fn a_wider_read_than_the_baseline_is_noted() {
        let req = |args: &[&str]| {
            let Some(Command::List(l)) = super::super::parse_cli("list", args).unwrap().command
            else {
                unreachable!()
            };
            request(&l.listing).unwrap()
        };
        let base = ["--listening".to_string(), "--tcp".to_string()];
        assert!(narrower_note(Side::Baseline, &base, "", &req(&["-lt"])).is_none());
        assert!(narrower_note(
            Side::Baseline,
            &base,
            "",
            &req(&["-lt", "sport", "=", ":22"])
        )
        .is_none());
        let w = narrower_note(Side::Baseline, &base, "", &req(&["-ltu"])).unwrap();
        assert_eq!(w.kind, "baseline-narrower");
        assert!(w.message.contains("`--listening --tcp`"), "{}", w.message);
        assert!(
            narrower_note(Side::Baseline, &base, "", &req(&["-at"])).is_some(),
            "more states"
        );
    }

    #[test]
    fn a_snapshot_always_reads_owners() {
        let cli =
            super::super::parse_cli("snapshot", &["-lt", "-o", "-", "--", "sport", "=", ":22"]);
        let Some(Command::Snapshot(a)) = cli.unwrap().command else {
            unreachable!()
        };
        let c = snapshot_config(&a).unwrap();
        assert!(c.request.owners && c.request.user_names);
        assert_eq!(c.output, DocPath::Std);
        assert_eq!(c.selection.1, "sport = :22");
        assert!(c.selection.0.contains(&"--listening".to_string()));
    }
}
