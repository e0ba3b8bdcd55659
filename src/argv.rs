//! Argument order as ss users type it: GNU getopt lets ss take options after the filter
//! (`ss state established -p`); clap does not, so the words are reordered before parsing.
//! The same rules apply after a listing subcommand, so there is one grammar for all.

use crate::cli::command;
use std::ffi::OsString;

/// Whether `word` names a subcommand (asked of the derive's name table: building the whole
/// command tree costs more than a listing's start-up can spare).
pub fn is_subcommand(word: &str) -> bool {
    <crate::cli::Command as clap::Subcommand>::has_subcommand(word)
}

/// A subcommand takes the listing flags and a filter (its words are reordered as the default
/// command's are) when it has the FILTER positional.
fn takes_filter(cmd: &clap::Command) -> bool {
    cmd.get_arguments().any(|a| a.get_id() == "filter")
}

/// Reorder the words as ss users type them, for the default command and every listing
/// subcommand alike:
/// - filter words move after the options, as GNU getopt permutes ss's arguments, so
///   `portwatch sport = :22 -l` works like `portwatch -l sport = :22`; words after `--` are
///   always filter words;
/// - the first word that is not an option names a subcommand when it is one; options before
///   it move after it when the subcommand takes them (`portwatch -lnt watch` is `portwatch
///   watch -lnt`), so the listing flags mean the same before and after a subcommand;
/// - a subcommand without a filter (label, explain) gets its words untouched.
pub fn permute_args(args: Vec<OsString>) -> Vec<OsString> {
    permute_args_with(&command(), args)
}

/// `permute_args` with the command tree the caller built (and parses with next): the tree
/// is built once per run, not once per step. A subcommand's arguments are built only when
/// the line names it (the tree defers them).
pub fn permute_args_with(root: &clap::Command, args: Vec<OsString>) -> Vec<OsString> {
    let mut it = args.into_iter();
    let prog: Vec<OsString> = it.next().into_iter().collect();
    let (mut opts, free, sub) = split(root, root, &mut it, true);
    let Some(sub) = sub else {
        return [prog, opts, with_filter(free)].concat();
    };
    let Some(mut sub_cmd) = root
        .find_subcommand(sub.to_str().unwrap_or_default())
        .cloned()
    else {
        return [prog, opts, vec![sub], it.collect()].concat();
    };
    // A copy, so that the tree clap parses with next builds it in its own order.
    sub_cmd.build();
    let sub_cmd = &sub_cmd;
    if !takes_filter(sub_cmd) {
        return [prog, opts, vec![sub], it.collect()].concat();
    }
    // Options before the subcommand are read as if they came after it.
    let (more, free, _) = split(root, sub_cmd, &mut it, false);
    opts.extend(more);
    [prog, vec![sub], opts, with_filter(free)].concat()
}

/// Sort the words of one command line level into options (with their values) and free
/// words. With `find_sub`, stops at a first free word that names a subcommand and returns it.
fn split(
    root: &clap::Command,
    cmd: &clap::Command,
    it: &mut impl Iterator<Item = OsString>,
    find_sub: bool,
) -> (Vec<OsString>, Vec<OsString>, Option<OsString>) {
    let takes_value = |a: &clap::Arg| !a.is_positional() && a.get_action().takes_values();
    // Global options (--backend ...) are accepted at every level.
    let args = || cmd.get_arguments().chain(root.get_arguments());
    let long_with_value: Vec<&str> = args()
        .filter(|a| takes_value(a))
        .filter_map(|a| a.get_long())
        .collect();
    let short_with_value: Vec<char> = args()
        .filter(|a| takes_value(a))
        .filter_map(|a| a.get_short())
        .collect();
    let mut opts = Vec::new();
    let mut free = Vec::new();
    while let Some(arg) = it.next() {
        let Some(s) = arg.to_str() else {
            free.push(arg);
            continue;
        };
        if s == "--" {
            free.extend(it.by_ref());
            break;
        }
        if let Some(long) = s.strip_prefix("--") {
            let needs_value = !long.contains('=') && long_with_value.contains(&long);
            opts.push(arg.clone());
            if needs_value {
                opts.extend(it.next());
            }
        } else if s.len() > 1 && s.starts_with('-') {
            // A short cluster (-lntp); a value-taking flag ends it, its value attached or next.
            let chars: Vec<char> = s[1..].chars().collect();
            let pos = chars.iter().position(|c| short_with_value.contains(c));
            opts.push(arg.clone());
            if pos.is_some_and(|p| p == chars.len() - 1) {
                opts.extend(it.next());
            }
        } else {
            // `help` is clap's own subcommand, added when the tree is built (after this).
            let names_sub = cmd.find_subcommand(s).is_some() || s == "help";
            if find_sub && free.is_empty() && names_sub {
                return (opts, free, Some(arg));
            }
            free.push(arg);
        }
    }
    (opts, free, None)
}

/// The free words as clap's trailing FILTER: after `--`, so none is read as an option.
fn with_filter(free: Vec<OsString>) -> Vec<OsString> {
    if free.is_empty() {
        return free;
    }
    let mut v = Vec::with_capacity(free.len() + 1);
    v.push("--".into());
    v.extend(free);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Vec<String> {
        permute_args(args.iter().map(Into::into).collect())
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect()
    }

    #[test]
    fn filter_words_move_after_options() {
        assert_eq!(
            p(&["pw", "sport", "=", ":22", "-l", "-e"]),
            ["pw", "-l", "-e", "--", "sport", "=", ":22"]
        );
        assert_eq!(
            p(&["pw", "-lntp", "state", "listening", "--json"]),
            ["pw", "-lntp", "--json", "--", "state", "listening"]
        );
        assert_eq!(p(&["pw", "-lntp"]), ["pw", "-lntp"]);
    }

    #[test]
    fn option_values_stay_with_their_option() {
        assert_eq!(
            p(&[
                "pw",
                "--backend",
                "proc",
                "proc",
                "nginx",
                "-c",
                "x",
                "--pid=3"
            ]),
            [
                "pw",
                "--backend",
                "proc",
                "-c",
                "x",
                "--pid=3",
                "--",
                "proc",
                "nginx"
            ]
        );
        assert_eq!(
            p(&["pw", "-tc", "nginx", "-l"]),
            ["pw", "-tc", "nginx", "-l"]
        );
        assert_eq!(p(&["pw", "-cnginx", "-l"]), ["pw", "-cnginx", "-l"]);
    }

    #[test]
    fn listing_subcommands_take_the_same_grammar() {
        // Options after the filter, as ss.
        assert_eq!(
            p(&["pw", "list", "sport", "=", ":22", "-l"]),
            ["pw", "list", "-l", "--", "sport", "=", ":22"]
        );
        // Listing flags before the subcommand are read after it.
        assert_eq!(
            p(&["pw", "-lnt", "list", "sport", "=", ":80", "-p"]),
            ["pw", "list", "-lnt", "-p", "--", "sport", "=", ":80"]
        );
        // A global option keeps its value wherever it stands.
        assert_eq!(
            p(&["pw", "list", "--backend", "proc", "proc", "x"]),
            ["pw", "list", "--backend", "proc", "--", "proc", "x"]
        );
        // Non-listing subcommands: untouched, so clap reports misplaced flags itself.
        assert_eq!(
            p(&["pw", "-l", "label", "list"]),
            ["pw", "-l", "label", "list"]
        );
    }

    #[test]
    fn help_is_a_subcommand_word() {
        assert_eq!(
            p(&["portwatch", "help", "watch"]),
            ["portwatch", "help", "watch"]
        );
        assert_eq!(
            p(&["portwatch", "-lnt", "help"]),
            ["portwatch", "-lnt", "help"]
        );
    }

    #[test]
    fn no_filter_keyword_is_a_subcommand() {
        for kw in crate::filter::KEYWORDS {
            assert!(
                !is_subcommand(kw),
                "'{kw}' is both a filter word and a subcommand"
            );
            // The keyword list is the parser's: each one starts a term (the error, if any,
            // is about what follows it, not about the word itself).
            let e = crate::filter::parse_str(kw).err().map(|e| e.to_string());
            assert!(
                e.as_deref().is_none_or(|m| !m.ends_with(
                    "^ expected a filter term: state, \
exclude, src, dst, sport, dport, port, proc, pid, user, service, scope, autobound, dev, not or '('"
                ) && !m.contains(&format!("\n  {kw}\n  ^"))),
                "{kw}: {e:?}"
            );
        }
    }

    #[test]
    fn double_dash_and_subcommands() {
        assert_eq!(
            p(&["pw", "-l", "--", "-p", "x"]),
            ["pw", "-l", "--", "-p", "x"]
        );
        assert_eq!(
            p(&["pw", "label", "set", "80/tcp", "-x"]),
            ["pw", "label", "set", "80/tcp", "-x"]
        );
        assert_eq!(
            p(&["pw", "--labels", "f", "label", "list"]),
            ["pw", "--labels", "f", "label", "list"]
        );
        // A subcommand name after a filter word is just a filter word.
        assert_eq!(
            p(&["pw", "service", "explain", "-l"]),
            ["pw", "-l", "--", "service", "explain"]
        );
    }
}
