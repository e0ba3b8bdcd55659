//! Resolves parsed arguments plus the environment into a Config. Pure: the environment is
//! passed in, so every rule here is unit-tested. The commands over time resolve in
//! `config/watch.rs` and `config/baseline.rs`.

mod baseline;
pub mod duration;
mod watch;

pub use baseline::{
    diff_config, flags_select, narrower_note, snapshot_config, DiffConfig, DocPath, Side,
    SnapshotConfig,
};
pub use watch::{refilter, watch_config, Color, WatchConfig, WatchMode};

use crate::cli::{BackendArg, GlobalArgs, ListingArgs, ModeArgs, OutputArgs, OwnersArg};
use crate::error::{Error, Result};
use crate::export::Plan;
use crate::filter::{self, Filter, ParseOptions, Pred, UserSpec};
use crate::model::{Detail, FamilyFilter, NetnsSpec, OwnerMethod, Query, StateSet};
use crate::pipeline::{Request, SortKey};
use crate::platform::{Backend, SourceOptions};
use crate::registry::{labels, RegistryOptions};
use crate::render::detail::Show;
use crate::render::Column;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// What the environment says, read once by main.rs.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// Stdout is a terminal.
    pub stdout_tty: bool,
    /// Terminal width when stdout is a terminal (`COLUMNS`, else the tty's size).
    pub term_width: Option<usize>,
    pub portwatch_labels: Option<PathBuf>,
    pub xdg_config_home: Option<PathBuf>,
    pub home: Option<PathBuf>,
    /// `NO_COLOR` is set to something non-empty (no-color.org).
    pub no_color: bool,
    /// `TERM`, when set.
    pub term: Option<String>,
    /// `PORTWATCH_DEBUG=1`: say on stderr how the owners were read and why.
    pub debug: bool,
    /// `PORTWATCH_FEED_RING`: the size of watch's first state-feed ring, in bytes (tests
    /// make it small to fill it).
    pub feed_ring: Option<String>,
}

/// Output format of the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// Columns; fitted to `Some(width)` on a terminal, never truncated in a pipe.
    Table {
        fit_width: Option<usize>,
    },
    Json,
    Csv,
}

/// How the listing command prints, resolved.
#[derive(Debug, Clone)]
pub struct Output {
    pub format: Format,
    /// Table columns (ss's, plus Service, User/Inode with -e, Process with -p).
    pub columns: Vec<Column>,
    pub header: bool,
    /// What the table prints under each socket (-i, -m, -o, -e, --cgroup).
    pub show: Show,
}

impl Output {
    /// The table layout, when the output is a table.
    pub fn table_opts(&self) -> Option<crate::render::table::TableOpts> {
        let Format::Table { fit_width } = self.format else {
            return None;
        };
        Some(crate::render::table::TableOpts {
            columns: self.columns.clone(),
            header: self.header,
            fit_width,
            show: self.show,
        })
    }
}

/// What the default listing does: list, or one of ss's other modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    List,
    /// -s: totals and listener load.
    Summary,
    /// -K: close the selected sockets.
    Kill,
    /// -E: print sockets as they close.
    Events,
}

/// Everything the list command needs, resolved.
#[derive(Debug, Clone)]
pub struct ListConfig {
    pub request: Request,
    /// The network namespaces to read (`-N`); empty: portwatch's own.
    pub netns: Vec<NetnsSpec>,
    pub output: Output,
    pub source: SourceOptions,
    pub registry: RegistryOptions,
    /// The labels file was named with --labels (so failing to read it is an error).
    pub labels_explicit: bool,
    /// Say on stderr how the owners were read (PORTWATCH_DEBUG=1).
    pub debug: bool,
}

/// Source options shared by every subcommand.
pub fn source_options(g: &GlobalArgs) -> SourceOptions {
    SourceOptions {
        backend: match g.backend {
            BackendArg::Auto => Backend::Auto,
            BackendArg::Netlink => Backend::Netlink,
            BackendArg::Proc => Backend::Proc,
            BackendArg::Netstat2 => Backend::Netstat2,
        },
        proc_root: g
            .proc_root
            .clone()
            .unwrap_or_else(|| PathBuf::from("/proc")),
        fixture: g.proc_root.is_some(),
        owners: match g.owners {
            OwnersArg::Auto => None,
            OwnersArg::Bpf => Some(OwnerMethod::Bpf),
            OwnersArg::Proc => Some(OwnerMethod::Proc),
        },
    }
}

/// Labels path: --labels, else $PORTWATCH_LABELS, else $XDG_CONFIG_HOME/portwatch/labels,
/// else ~/.config/portwatch/labels.
pub fn labels_path(g: &GlobalArgs, env: &Env) -> Option<PathBuf> {
    labels::default_labels_path(g.labels.as_deref(), |k| match k {
        "PORTWATCH_LABELS" => env.portwatch_labels.clone().map(Into::into),
        "XDG_CONFIG_HOME" => env.xdg_config_home.clone().map(Into::into),
        "HOME" => env.home.clone().map(Into::into),
        _ => None,
    })
}

/// Where the registry layers come from.
pub fn registry_options(g: &GlobalArgs, env: &Env) -> RegistryOptions {
    RegistryOptions {
        etc_services: g
            .etc_services
            .clone()
            .unwrap_or_else(|| PathBuf::from("/etc/services")),
        extra_services: g.services.clone(),
        labels: labels_path(g, env),
    }
}

/// The filter: the expression words (ss syntax), and-ed with the shorthand flags
/// (`--pid`, `-c`, `-U`: each repeated flag means "any of").
fn build_filter(a: &ListingArgs) -> Result<Filter> {
    if let Some(w) = a.filter.first().filter(|w| crate::argv::is_subcommand(w)) {
        return Err(Error::Usage(format!(
            "'{w}' is a subcommand, not a filter word: run `portwatch {w} ...`"
        )));
    }
    let unix_only = a.unix && !(a.tcp || a.udp || a.raw);
    let mut f = filter::parse_with(
        &a.filter,
        ParseOptions {
            unix_hosts: unix_only,
        },
    )?;
    if a.users.iter().any(|u| u.is_empty()) {
        return Err(Error::Usage("--user needs a user name or uid".into()));
    }
    if a.commands.iter().any(|c| c.is_empty()) {
        return Err(Error::Usage(
            "--command needs a command name or glob".into(),
        ));
    }
    for shorthand in [
        Filter::any_of(a.pids.iter().map(|&p| Pred::Pid(p))),
        Filter::any_of(a.commands.iter().map(|c| Pred::Proc(c.clone()))),
        Filter::any_of(a.users.iter().map(|u| Pred::User(UserSpec::parse(u)))),
    ] {
        f = f.and(shorthand);
    }
    Ok(f)
}

/// The request the listing flags and filter make: what to read, keep and join. Pure.
pub fn request(a: &ListingArgs) -> Result<Request> {
    let any_proto = a.tcp || a.udp || a.unix || a.raw;
    let inet_only = a.ipv4 || a.ipv6;
    if inet_only && a.unix && !(a.tcp || a.udp || a.raw) {
        return Err(Error::Usage(
            "-x (unix) cannot be combined with -4 or -6: unix sockets have no IP family".into(),
        ));
    }
    let filter = build_filter(a)?;
    let default_states = if a.all {
        StateSet::ALL
    } else if a.listening {
        StateSet::LISTENING
    } else {
        StateSet::CONNECTED
    };
    // As in ss, a `state`/`exclude` in the filter replaces the -l/-a set; the kernel is asked
    // for exactly that set.
    let states = filter.states_or(default_states);
    let query = Query {
        tcp: a.tcp || !any_proto,
        udp: a.udp || !any_proto,
        unix: a.unix || (!any_proto && !inet_only),
        raw: a.raw || !any_proto,
        // -4 also reads the IPv6 tables: dual-stack listeners there serve IPv4.
        ipv4: !a.ipv6,
        ipv6: true,
        states,
        detail: Default::default(),
        local_ports: Default::default(),
    };
    let family = if a.ipv4 {
        FamilyFilter::Ipv4
    } else if a.ipv6 {
        FamilyFilter::Ipv6
    } else {
        FamilyFilter::Any
    };
    let sort = a.sort.as_deref().map(|k| {
        SortKey::parse(k).ok_or_else(|| Error::Usage(format!("--sort: unknown key '{k}'")))
    });
    let sort = sort.transpose()?;
    let by_sort = sort.map(SortKey::detail).unwrap_or_default();
    let query = Query {
        detail: Detail {
            tcp_info: a.info || by_sort.tcp_info,
            memory: a.memory || by_sort.memory,
            timers: a.options,
            shutdown: a.extended,
        },
        ..query
    };
    Ok(Request {
        query,
        family,
        filter,
        owners: a.processes,
        all_owners: a.all_owners,
        user_names: a.extended,
        attribution: false,
        cgroups: a.extended || a.cgroup,
        sort,
        sorted: true,
    })
}

/// What `serve` and `export` read. Without flags: TCP and UDP sockets in every state (the
/// listeners for their labels, the rest for connection counts); -t/-u/-x/-w choose the tables
/// as for the listing, -l keeps the listeners only, and a filter's `state` replaces the set.
/// Listeners always get their owners, user names, container and unit (their labels carry
/// them), so -p and -e change nothing here; -N chooses the namespaces as for the listing.
/// Pure.
pub fn export_plan(a: &ListingArgs) -> Result<Plan> {
    let mut base = request(a)?;
    // No label shows tcp_info, memory, timers or cgroup paths, nor does the order matter:
    // asking the kernel for them (-i, -m, -o, -e, --sort) would only make replies larger.
    base.query.detail = Detail::default();
    base.cgroups = false;
    base.sort = None;
    base.attribution = false;
    if !(a.tcp || a.udp || a.unix || a.raw) {
        // Metrics are about ports: unix and raw sockets only when asked for.
        base.query.unix = false;
        base.query.raw = false;
    }
    let default = if a.listening && !a.all {
        StateSet::LISTENING
    } else {
        StateSet::ALL
    };
    let states = base.filter.states_or(default);
    Ok(Plan {
        netns: netns_specs(&a.netns)?,
        ..Plan::split(base, states)
    })
}

/// `--listen ADDR:PORT`: an IP address (IPv6 in brackets) and a port.
pub fn listen_addr(s: &str) -> Result<SocketAddr> {
    s.trim().parse().map_err(|_| {
        Error::Usage(format!(
            "--listen {s:?}: expected an IP address and port, e.g. 127.0.0.1:10455 or [::1]:10455"
        ))
    })
}

/// `--min-interval`: 0 or a duration. At most an hour: a longer cache would serve data older
/// than any scrape interval.
pub fn min_interval(s: &str) -> Result<Duration> {
    duration::flag("--min-interval", s, true, Duration::from_secs(3600))
}

/// Which mode the flags ask for, checked against the rest of the command line: -K needs a
/// filter or -a (one missing word must not close every connection on the host) and closes
/// TCP and UDP only; -E follows TCP and UDP only; none of the three writes CSV.
pub fn mode(m: &ModeArgs, a: &ListingArgs, o: &OutputArgs) -> Result<Mode> {
    let mode = if m.summary {
        Mode::Summary
    } else if m.kill {
        Mode::Kill
    } else if m.events {
        Mode::Events
    } else {
        return Ok(Mode::List);
    };
    let flag = match mode {
        Mode::Summary => "-s",
        Mode::Kill => "-K",
        _ => "-E",
    };
    if o.csv {
        return Err(Error::Usage(format!(
            "{flag} prints a table or --json, not CSV"
        )));
    }
    // These read (or close, or follow) portwatch's own namespace: taking -N quietly would
    // count, close or watch the wrong sockets.
    if !a.netns.is_empty() {
        return Err(Error::Usage(format!(
            "{flag} works on portwatch's own network namespace; it cannot be combined with \
             -N/--netns (run it inside the namespace: ip netns exec NAME portwatch {flag} ...)"
        )));
    }
    if matches!(mode, Mode::Kill | Mode::Events) && (a.unix || a.raw) {
        return Err(Error::Usage(format!(
            "{flag} works on TCP and UDP sockets only (sock_diag cannot {} unix or raw ones)",
            if mode == Mode::Kill {
                "close"
            } else {
                "follow"
            }
        )));
    }
    let filtered =
        !a.filter.is_empty() || !a.pids.is_empty() || !a.commands.is_empty() || !a.users.is_empty();
    if mode == Mode::Kill && !filtered && !a.all {
        return Err(Error::Usage(
            "-K closes every socket the flags select: give a filter expression (e.g. \
             `dport = :8080`), or -a/--all to close them all"
                .into(),
        ));
    }
    Ok(mode)
}

/// The request of a mode: -K and -E read TCP and UDP only (both when neither -t nor -u:
/// `request` already selects them then, and `mode` refused -x and -w).
pub fn mode_request(mode: Mode, mut req: Request) -> Request {
    if matches!(mode, Mode::Kill | Mode::Events) {
        req.query.unix = false;
        req.query.raw = false;
    }
    req
}

/// How the listing prints: format, columns and header.
pub fn output(o: &OutputArgs, a: &ListingArgs, req: &Request, env: &Env) -> Output {
    let format = if o.json {
        Format::Json
    } else if o.csv {
        Format::Csv
    } else {
        Format::Table {
            fit_width: if env.stdout_tty { env.term_width } else { None },
        }
    };
    Output {
        format,
        columns: columns(&req.query, a.extended, a.processes),
        header: !o.no_header,
        show: Show {
            timers: a.options,
            extended: a.extended,
            cgroup: a.cgroup,
            memory: a.memory,
            info: a.info,
            numeric: a.numeric,
        },
    }
}

/// The whole configuration of the list command.
pub fn list_config(
    a: &ListingArgs,
    o: &OutputArgs,
    g: &GlobalArgs,
    env: &Env,
) -> Result<ListConfig> {
    let mut request = request(a)?;
    let output = output(o, a, &request, env);
    // JSON and CSV carry user names, namespaces, containers and units whatever the columns.
    let full = matches!(output.format, Format::Json | Format::Csv);
    request.user_names |= full;
    request.attribution |= full;
    Ok(ListConfig {
        request,
        netns: netns_specs(&a.netns)?,
        output,
        source: source_options(g),
        registry: registry_options(g, env),
        labels_explicit: g.labels.is_some(),
        debug: env.debug,
    })
}

/// Commands that follow or record portwatch's own network namespace over time refuse `-N`
/// rather than take it quietly and show the wrong sockets.
pub(crate) fn own_namespace_only(cmd: &str, a: &ListingArgs) -> Result<()> {
    match a.netns.is_empty() {
        true => Ok(()),
        false => Err(Error::Usage(format!(
            "{cmd} reads portwatch's own network namespace; it cannot be combined with \
             -N/--netns yet (run it inside the namespace: ip netns exec NAME portwatch {cmd} ...)"
        ))),
    }
}

/// `-N` values; one that cannot name a namespace is a usage error naming it.
pub fn netns_specs(values: &[String]) -> Result<Vec<NetnsSpec>> {
    values
        .iter()
        .map(|v| NetnsSpec::parse(v).map_err(|e| Error::Usage(e.to_string())))
        .collect()
}

/// The columns for a listing of several network namespaces: Netns and Container first, so
/// each row says where it lives before what it is.
pub fn with_namespace_columns(columns: &[Column]) -> Vec<Column> {
    let mut c = vec![Column::Netns, Column::Container];
    c.extend(
        columns
            .iter()
            .copied()
            .filter(|c| !matches!(c, Column::Netns | Column::Container)),
    );
    c
}

/// Table columns: ss's, without Netid when one protocol is shown (as ss), plus Service,
/// User/Inode with -e and Process with -p.
pub fn columns(q: &Query, extended: bool, owners: bool) -> Vec<Column> {
    let tables = [q.tcp, q.udp, q.unix, q.raw].iter().filter(|b| **b).count();
    let mut c = Vec::with_capacity(10);
    if tables > 1 || q.unix {
        c.push(Column::Netid);
    }
    c.extend([
        Column::State,
        Column::RecvQ,
        Column::SendQ,
        Column::Local,
        Column::Peer,
        Column::Service,
    ]);
    if extended {
        c.extend([Column::User, Column::Inode]);
    }
    if owners {
        c.push(Column::Process);
    }
    c
}

/// The listing flags as long options (`--listening --tcp --pid 7`), without the filter: how a
/// snapshot records what it read, for `diff` to read the same (`listing_from_words`).
pub fn selection_words(a: &ListingArgs) -> Vec<String> {
    let flags = [
        (a.listening, "--listening"),
        (a.all, "--all"),
        (a.tcp, "--tcp"),
        (a.udp, "--udp"),
        (a.unix, "--unix"),
        (a.raw, "--raw"),
        (a.processes, "--processes"),
        (a.all_owners, "--all-owners"),
        (a.extended, "--extended"),
        (a.ipv4, "--ipv4"),
        (a.ipv6, "--ipv6"),
    ];
    let mut v: Vec<String> = flags
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, f)| f.to_string())
        .collect();
    let valued = [
        (
            "--pid",
            a.pids.iter().map(u32::to_string).collect::<Vec<_>>(),
        ),
        ("--command", a.commands.clone()),
        ("--user", a.users.clone()),
    ];
    for (flag, values) in valued {
        for value in values {
            v.extend([flag.to_string(), value]);
        }
    }
    v
}

/// The listing flags and filter back from `selection_words` and a filter text (as stored in
/// a snapshot). Unknown or malformed words are a usage error naming them.
pub fn listing_from_words(words: &[String], filter: &str) -> Result<ListingArgs> {
    use clap::Parser;
    let mut argv: Vec<&str> = vec!["portwatch", "list"];
    argv.extend(words.iter().map(String::as_str));
    if !filter.trim().is_empty() {
        argv.extend(["--", filter]);
    }
    match crate::cli::Cli::try_parse_from(argv) {
        Ok(crate::cli::Cli {
            command: Some(crate::cli::Command::List(l)),
            ..
        }) => Ok(l.listing),
        Ok(_) => Err(Error::Usage("not a listing selection".into())),
        Err(e) => Err(Error::Usage(
            e.to_string().lines().next().unwrap_or("").to_string(),
        )),
    }
}

/// The command line `portwatch SUB ARGS...` as clap reads it (for the tests of `config/`,
/// which keep clap out of their own files).
#[cfg(test)]
fn parse_cli(sub: &str, args: &[&str]) -> Result<crate::cli::Cli> {
    use clap::Parser;
    let head = ["portwatch", sub];
    let v = head.iter().chain(args).copied();
    crate::cli::Cli::try_parse_from(v).map_err(|e| Error::Usage(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn cfg(args: &[&str], env: &Env) -> Result<ListConfig> {
        let mut v = vec!["portwatch"];
        v.extend_from_slice(args);
        let cli = Cli::try_parse_from(v).map_err(|e| Error::Usage(e.to_string()))?;
        list_config(&cli.listing, &cli.output, &cli.global, env)
    }

    #[test]
    fn lntp_is_tcp_listeners_with_owners() {
        let c = cfg(&["-lntp"], &Env::default()).unwrap();
        assert!(
            c.request.query.tcp
                && !c.request.query.udp
                && !c.request.query.unix
                && !c.request.query.raw
        );
        assert_eq!(c.request.query.states, StateSet::LISTENING);
        assert!(c.request.owners);
        assert_eq!(
            c.output.columns[0],
            Column::State,
            "one protocol: no Netid, as ss"
        );
        assert_eq!(*c.output.columns.last().unwrap(), Column::Process);
    }

    #[test]
    fn defaults_follow_ss() {
        let c = cfg(&[], &Env::default()).unwrap();
        assert!(
            c.request.query.tcp
                && c.request.query.udp
                && c.request.query.unix
                && c.request.query.raw
        );
        assert_eq!(c.request.query.states, StateSet::CONNECTED);
        assert_eq!(c.output.columns[0], Column::Netid);
        let c = cfg(&["-a"], &Env::default()).unwrap();
        assert_eq!(c.request.query.states, StateSet::ALL);
    }

    #[test]
    fn ipv4_reads_v6_tables_for_dual_stack() {
        let c = cfg(&["-ltn4"], &Env::default()).unwrap();
        assert!(c.request.query.ipv4 && c.request.query.ipv6);
        assert_eq!(c.request.family, FamilyFilter::Ipv4);
        let c = cfg(&["-4"], &Env::default()).unwrap();
        assert!(!c.request.query.unix, "-4 alone means inet sockets only");
        let c = cfg(&["-6t"], &Env::default()).unwrap();
        assert!(!c.request.query.ipv4);
        assert!(cfg(&["-4", "-6"], &Env::default()).is_err());
        assert!(cfg(&["-4x"], &Env::default()).is_err());
    }

    #[test]
    fn table_fits_only_on_a_tty() {
        let tty = Env {
            stdout_tty: true,
            term_width: Some(80),
            ..Env::default()
        };
        assert_eq!(
            cfg(&["-lnt"], &tty).unwrap().output.format,
            Format::Table {
                fit_width: Some(80)
            }
        );
        let pipe = Env {
            term_width: Some(80),
            ..Env::default()
        };
        assert_eq!(
            cfg(&["-lnt"], &pipe).unwrap().output.format,
            Format::Table { fit_width: None }
        );
        assert_eq!(cfg(&["--json"], &tty).unwrap().output.format, Format::Json);
    }

    #[test]
    fn filter_states_replace_the_default_set() {
        let c = cfg(&["-t", "state", "established"], &Env::default()).unwrap();
        assert_eq!(
            c.request.query.states,
            StateSet::of(&[crate::model::State::ESTABLISHED])
        );
        let c = cfg(&["-lt", "state", "time-wait"], &Env::default()).unwrap();
        assert_eq!(
            c.request.query.states,
            StateSet::of(&[crate::model::State::TIME_WAIT])
        );
        let c = cfg(&["-lt", "sport", "=", ":22"], &Env::default()).unwrap();
        assert_eq!(c.request.query.states, StateSet::LISTENING);
    }

    #[test]
    fn shorthand_flags_and_with_the_expression() {
        let c = cfg(&["-lnt", "--pid", "7", "-c", "nginx"], &Env::default()).unwrap();
        assert!(c.request.filter.needs_owners());
        assert!(!cfg(&["-lnt"], &Env::default())
            .unwrap()
            .request
            .filter
            .needs_owners());
        let e = cfg(&["-t", "sport", "=", ":"], &Env::default()).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains('^'), "{e}");
    }

    fn plan(args: &[&str]) -> Result<Plan> {
        let mut v = vec!["portwatch", "export"];
        v.extend_from_slice(args);
        let cli = Cli::try_parse_from(v).map_err(|e| Error::Usage(e.to_string()))?;
        match cli.command {
            Some(crate::cli::Command::Export(a)) => export_plan(&a.listing),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn export_reads_tcp_and_udp_in_every_state_by_default() {
        let p = plan(&[]).unwrap();
        let l = p.listeners.expect("listeners");
        let o = p.others.expect("connections");
        for q in [&l.query, &o.query] {
            assert!(q.tcp && q.udp && !q.unix && !q.raw, "{q:?}");
        }
        assert_eq!(l.query.states, StateSet::LISTENING);
        assert_eq!(o.query.states.union(l.query.states), StateSet::ALL);
        assert!(l.owners && l.user_names, "labels carry process and user");
        assert!(
            !o.owners,
            "connections are counted, their owners never read"
        );
    }

    #[test]
    fn export_flags_narrow_the_plan() {
        let p = plan(&["-l"]).unwrap();
        assert!(p.listeners.is_some() && p.others.is_none());
        let p = plan(&["-t"]).unwrap();
        assert!(!p.listeners.unwrap().query.udp);
        let p = plan(&["-x"]).unwrap();
        assert!(
            p.others.unwrap().query.unix,
            "asked for: unix sockets are counted"
        );
        let p = plan(&["state", "established"]).unwrap();
        assert!(p.listeners.is_none(), "the filter's states replace the set");
        assert_eq!(
            p.others.unwrap().query.states,
            StateSet::of(&[crate::model::State::ESTABLISHED])
        );
        let p = plan(&["-lt", "sport", "=", ":22"]).unwrap();
        assert!(!p.listeners.unwrap().filter.is_empty());
        assert_eq!(plan(&["-4x"]).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn listen_and_min_interval_parse_or_say_why() {
        assert_eq!(listen_addr("127.0.0.1:10455").unwrap().port(), 10455);
        assert!(listen_addr("[::1]:9").unwrap().is_ipv6());
        let e = listen_addr("localhost").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("--listen"), "{e}");
        let ms = |s: &str| min_interval(s).map(|d| d.as_millis());
        assert_eq!(ms("1s").unwrap(), 1000);
        assert_eq!(ms("500ms").unwrap(), 500);
        assert_eq!(ms("2.5s").unwrap(), 2500);
        assert_eq!(ms("1m").unwrap(), 60_000);
        assert_eq!(ms("1h").unwrap(), 3_600_000);
        assert_eq!(ms("0").unwrap(), 0);
        assert_eq!(
            ms("1").unwrap(),
            1000,
            "a plain number is seconds, as everywhere"
        );
        for bad in ["", "-1s", "2h", "1.5.s", "fast", "61m", "1d"] {
            assert_eq!(ms(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn selection_words_read_back_as_the_same_flags() {
        let Some(crate::cli::Command::List(l)) = parse_cli(
            "list",
            &[
                "-ltp4", "--pid", "7", "-c", "a b", "-U", "root", "--", "sport", "=", ":22",
            ],
        )
        .unwrap()
        .command
        else {
            unreachable!()
        };
        let words = selection_words(&l.listing);
        assert_eq!(
            words[..4],
            ["--listening", "--tcp", "--processes", "--ipv4"]
        );
        let back = listing_from_words(&words, "sport = :22").unwrap();
        assert_eq!(selection_words(&back), words);
        assert_eq!(back.commands, ["a b"]);
        assert_eq!(back.filter, ["sport = :22"]);
        let e = listing_from_words(&["--bogus".into()], "").unwrap_err();
        assert!(e.to_string().contains("--bogus"), "{e}");
    }

    #[test]
    fn commands_over_time_refuse_other_namespaces() {
        for cmd in ["watch", "snapshot", "diff"] {
            let words: &[&str] = if cmd == "diff" {
                &["b.json", "-N", "all"]
            } else {
                &["-N", "all"]
            };
            let e = parse_cli(cmd, words).and_then(|c| match c.command {
                Some(crate::cli::Command::Watch(a)) => watch_config(&a, &Env::default()).map(drop),
                Some(crate::cli::Command::Snapshot(a)) => snapshot_config(&a).map(drop),
                Some(crate::cli::Command::Diff(a)) => diff_config(&a).map(drop),
                _ => unreachable!(),
            });
            let e = e.unwrap_err();
            assert_eq!(e.exit_code(), 2, "{cmd}");
            assert!(
                e.to_string().contains("cannot be combined with -N"),
                "{cmd}: {e}"
            );
        }
    }

    #[test]
    fn modes_refuse_other_namespaces() {
        for flag in ["-s", "-K", "-E"] {
            let cli = Cli::try_parse_from(["portwatch", flag, "-a", "-N", "all"]).unwrap();
            let e = mode(&cli.mode, &cli.listing, &cli.output).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().contains("cannot be combined with -N"), "{e}");
        }
    }

    #[test]
    fn netns_values_are_checked_and_json_carries_containers() {
        let c = cfg(
            &["-lnt", "-N", "all", "-N", "blue", "-N", "42"],
            &Env::default(),
        )
        .unwrap();
        assert_eq!(
            c.netns,
            [
                NetnsSpec::All,
                NetnsSpec::Name("blue".into()),
                NetnsSpec::Pid(42)
            ]
        );
        assert!(
            !c.request.attribution,
            "a table of one namespace has no Container column"
        );
        let e = cfg(&["-lnt", "-N", ""], &Env::default()).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("--netns \"\""), "{e}");
        let e = cfg(&["--netns=0"], &Env::default()).unwrap_err();
        assert!(e.to_string().contains("\"0\": not a process id"), "{e}");
        assert!(
            cfg(&["--json"], &Env::default())
                .unwrap()
                .request
                .attribution
        );
        assert!(
            cfg(&["--csv"], &Env::default())
                .unwrap()
                .request
                .attribution
        );
        let cols = with_namespace_columns(&columns(
            &cfg(&["-lnt"], &Env::default()).unwrap().request.query,
            false,
            true,
        ));
        assert_eq!(
            &cols[..3],
            [Column::Netns, Column::Container, Column::State]
        );
    }

    #[test]
    fn labels_path_precedence() {
        let g = GlobalArgs::default();
        let env = Env {
            portwatch_labels: Some("/a/labels".into()),
            xdg_config_home: Some("/x".into()),
            home: Some("/h".into()),
            ..Env::default()
        };
        assert_eq!(labels_path(&g, &env), Some("/a/labels".into()));
        let env = Env {
            portwatch_labels: None,
            ..env
        };
        assert_eq!(labels_path(&g, &env), Some("/x/portwatch/labels".into()));
        let env = Env {
            xdg_config_home: Some("relative".into()),
            ..env
        };
        assert_eq!(
            labels_path(&g, &env),
            Some("/h/.config/portwatch/labels".into())
        );
        let g = GlobalArgs {
            labels: Some("/flag".into()),
            ..GlobalArgs::default()
        };
        assert_eq!(labels_path(&g, &env), Some("/flag".into()));
    }
}
