//! Argument order as ss users type it: GNU getopt lets ss take options after the filter
//! (`ss state established -p`); clap does not, so the words are reordered before parsing.

use crate::cli::command;

/// Move the filter words after the options, as GNU getopt permutes ss's arguments, so
/// `portwatch sport = :22 -l` works like `portwatch -l sport = :22`. Words after `--` are
/// always filter words. When the first free word names a subcommand, nothing is moved: the
/// subcommand owns the rest of the line.
pub fn permute_args(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let cmd = command();
    let subcommands: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
    let takes_value = |a: &clap::Arg| !a.is_positional() && a.get_action().takes_values();
    let long_with_value: Vec<&str> = cmd
        .get_arguments()
        .filter(|a| takes_value(a))
        .filter_map(|a| a.get_long())
        .collect();
    let short_with_value: Vec<char> = cmd
        .get_arguments()
        .filter(|a| takes_value(a))
        .filter_map(|a| a.get_short())
        .collect();

    let mut it = args.into_iter();
    let mut opts: Vec<std::ffi::OsString> = it.next().into_iter().collect();
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
            if free.is_empty() && subcommands.contains(&s) {
                // A subcommand: hand the rest over untouched.
                opts.push(arg);
                opts.extend(it.by_ref());
                return opts;
            }
            free.push(arg);
        }
    }
    if !free.is_empty() {
        opts.push("--".into());
        opts.extend(free);
    }
    opts
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
