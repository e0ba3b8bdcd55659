//! `watch`: the listing request plus how often, how long, and where the events go (the
//! live view on a terminal, NDJSON otherwise). Pure, like the rest of `config`.

use super::{columns, duration, request, Env};
use crate::cli::{ColorArg, ListingArgs, ReadsArg, WatchArgs};
use crate::error::{Error, Result};
use crate::pipeline::Request;
use crate::render::Column;
use crate::timeline::Compare;
use std::time::Duration;

/// The longest --interval or --duration: a year (a bound, so no value overflows a deadline).
const LONGEST: Duration = Duration::from_secs(365 * 86_400);

/// Where the events go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchMode {
    /// The full-screen view (stdout is a capable terminal and --json was not given).
    Terminal(Color),
    /// NDJSON, one event per line.
    Stream,
}

/// Whether the view uses colour (NO_COLOR, --color).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    On,
    Off,
}

/// Everything `watch` needs, resolved.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    pub request: Request,
    /// The listing flags as given, so that a filter edited in the view is read with them.
    pub listing: ListingArgs,
    pub interval: Duration,
    /// Stop after this many reads.
    pub count: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// The first read's sockets are reported as opened.
    pub initial: bool,
    pub compare: Compare,
    pub mode: WatchMode,
    /// Columns of the live view.
    pub columns: Vec<Column>,
    /// Each read's timings to stderr.
    pub timings: bool,
    /// How reads find what changed (`--reads`).
    pub reads: ReadsArg,
    /// PORTWATCH_DEBUG=1: say why reads are full.
    pub debug: bool,
    /// PORTWATCH_FEED_RING: the state feed's first ring size (else the default).
    pub feed_ring: Option<u32>,
}

/// The ring sizes PORTWATCH_FEED_RING takes: a page (the kernel's least) to the most a
/// ring grows to.
const FEED_RING: std::ops::RangeInclusive<u32> = 4096..=crate::platform::FEED_RING_MAX;

/// PORTWATCH_FEED_RING's value: a power of two in `FEED_RING`.
fn feed_ring(text: Option<&str>) -> Result<Option<u32>> {
    let Some(text) = text else {
        return Ok(None);
    };
    match text.trim().parse::<u32>() {
        Ok(n) if n.is_power_of_two() && FEED_RING.contains(&n) => Ok(Some(n)),
        _ => Err(Error::Usage(format!(
            "PORTWATCH_FEED_RING: expected a power of two from {} to {} (bytes), got '{}'",
            FEED_RING.start(),
            FEED_RING.end(),
            crate::render::sanitize::escape_str(text)
        ))),
    }
}

/// Resolve `watch`'s arguments.
pub fn watch_config(a: &WatchArgs, env: &Env) -> Result<WatchConfig> {
    super::own_namespace_only("watch", &a.listing)?;
    let mut req = request(&a.listing)?;
    let interval = duration::flag("--interval", &a.interval, false, LONGEST)?;
    let duration = match &a.duration {
        Some(d) => Some(duration::flag("--duration", d, false, LONGEST)?),
        None => None,
    };
    if a.count == Some(0) {
        return Err(Error::Usage("--count: expected at least 1 read".into()));
    }
    let capable = env.stdout_tty && env.term.as_deref() != Some("dumb");
    let mode = if a.json || !capable {
        WatchMode::Stream
    } else {
        WatchMode::Terminal(color(a.color, env))
    };
    // Events carry the same socket objects as the listing's JSON, user names included.
    req.user_names |= mode == WatchMode::Stream;
    // Events come in the listing's order and the view sorts what it shows: the rows of a
    // read need no order of their own.
    req.sorted = false;
    Ok(WatchConfig {
        columns: columns(&req.query, a.listing.extended, a.listing.processes),
        request: req,
        listing: a.listing.clone(),
        interval,
        count: a.count,
        duration,
        initial: a.initial,
        compare: Compare { queues: a.queues },
        mode,
        timings: a.timings,
        reads: a.reads,
        debug: env.debug,
        feed_ring: feed_ring(env.feed_ring.as_deref())?,
    })
}

/// The request for a filter typed in the live view: the same flags, the new expression
/// (`state` words in it replace the -l/-a states, as on the command line).
pub fn refilter(listing: &ListingArgs, text: &str) -> Result<Request> {
    let words = if text.trim().is_empty() {
        Vec::new()
    } else {
        vec![text.to_string()]
    };
    let req = request(&ListingArgs {
        filter: words,
        ..listing.clone()
    })?;
    Ok(Request {
        sorted: false,
        ..req
    })
}

/// auto: colour unless NO_COLOR is set (the view only runs on a terminal that is not dumb).
fn color(arg: ColorArg, env: &Env) -> Color {
    match arg {
        ColorArg::Always => Color::On,
        ColorArg::Never => Color::Off,
        ColorArg::Auto if env.no_color => Color::Off,
        ColorArg::Auto => Color::On,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Command;

    fn cfg(args: &[&str], env: &Env) -> Result<WatchConfig> {
        match super::super::parse_cli("watch", args)?.command {
            Some(Command::Watch(a)) => watch_config(&a, env),
            _ => unreachable!("a watch command line"),
        }
    }

    fn tty() -> Env {
        Env {
            stdout_tty: true,
            term: Some("xterm".into()),
            ..Env::default()
        }
    }

    #[test]
    fn feed_ring_takes_powers_of_two_from_a_page_to_8_mib() {
        let with = |v: &str| Env {
            feed_ring: Some(v.into()),
            ..tty()
        };
        assert_eq!(cfg(&[], &tty()).unwrap().feed_ring, None);
        for (v, bytes) in [("4096", 4096), ("8388608", 8 << 20), (" 65536\n", 65536)] {
            assert_eq!(cfg(&[], &with(v)).unwrap().feed_ring, Some(bytes), "{v:?}");
        }
        for v in ["2048", "5000", "16777216", "1M", "", "-4096", "\u{1b}[2J"] {
            let e = cfg(&[], &with(v)).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{v:?}: {e}");
            let msg = e.to_string();
            assert!(
                msg.starts_with("PORTWATCH_FEED_RING: expected a power of two"),
                "{msg}"
            );
            assert!(!msg.contains('\u{1b}'), "escaped: {msg:?}");
        }
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for args in [
            &["--interval", "soon"][..],
            &["--interval", "0"],
            &["--duration", "forever"],
            &["--count", "0"],
        ] {
            let e = cfg(args, &tty()).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
        }
        let e = cfg(&["--interval", "soon"], &tty()).unwrap_err();
        assert!(e.to_string().starts_with("--interval: 'soon'"), "{e}");
    }

    #[test]
    fn the_view_only_on_a_capable_terminal() {
        assert_eq!(
            cfg(&[], &tty()).unwrap().mode,
            WatchMode::Terminal(Color::On)
        );
        assert_eq!(cfg(&["--json"], &tty()).unwrap().mode, WatchMode::Stream);
        assert_eq!(cfg(&[], &Env::default()).unwrap().mode, WatchMode::Stream);
        let dumb = Env {
            term: Some("dumb".into()),
            ..tty()
        };
        assert_eq!(cfg(&[], &dumb).unwrap().mode, WatchMode::Stream);
        assert_eq!(
            cfg(&["-lt"], &tty()).unwrap().interval,
            Duration::from_secs(1)
        );
    }

    #[test]
    fn colour_follows_no_color_and_the_flag() {
        let no_color = Env {
            no_color: true,
            ..tty()
        };
        let mode = |args: &[&str], env: &Env| cfg(args, env).unwrap().mode;
        assert_eq!(mode(&[], &no_color), WatchMode::Terminal(Color::Off));
        assert_eq!(
            mode(&["--color", "always"], &no_color),
            WatchMode::Terminal(Color::On)
        );
        assert_eq!(
            mode(&["--color", "never"], &tty()),
            WatchMode::Terminal(Color::Off)
        );
    }

    #[test]
    fn a_typed_filter_keeps_the_flags() {
        let c = cfg(&["-lt", "-c", "nginx", "sport", "=", ":80"], &tty()).unwrap();
        let r = refilter(&c.listing, "state established").unwrap();
        assert!(r.query.tcp && !r.query.udp);
        assert_eq!(
            r.query.states,
            crate::model::StateSet::of(&[crate::model::State::ESTABLISHED])
        );
        assert!(r.filter.needs_owners(), "-c stays and-ed");
        assert!(refilter(&c.listing, "sport = :").is_err());
        assert!(refilter(&c.listing, "  ").unwrap().filter.needs_owners());
    }
}
