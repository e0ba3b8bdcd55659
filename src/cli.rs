//! Command-line definition (clap derive). Doc comments here are the --help text and the man page.
//!
//! One grammar for every command: the listing flags (`ListingArgs`) and the filter expression
//! mean the same after a subcommand as before it (`portwatch watch -lnt sport = :80`), and
//! options may follow the filter as in ss (`argv.rs` reorders the words before clap sees them).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
FILTER is an ss filter expression, given as the words after the options, e.g.
  portwatch -tn state established '( dport = :443 or dport = :80 )'
  portwatch -lnt sport = :22
  portwatch -lntp proc nginx
  portwatch -lntp -N all container web
Options may also follow the filter (as ss); after `--` every word is filter. The first word
that is not an option names a subcommand when it is one; no filter keyword is a subcommand
name, and after a listing subcommand the same flags and filter work as before it
(`portwatch list -lnt sport = :22`). See portwatch(1) for the whole language.

Examples:
  portwatch -lntp              listening TCP sockets and their processes
  portwatch -antp --json | jq  every TCP socket as JSON
  portwatch -lntp -N all       listeners in every network namespace and container
  portwatch -tin --sort rtt    TCP connections, slowest first, with RTT, cwnd, retransmits
  portwatch -sl                socket totals (as ss -s) and the busiest listeners
  portwatch -K dport = :8080   close the connections to port 8080 (root)
  portwatch explain 5432       what is port 5432, and who uses it here
  portwatch watch -ltp         listeners as they open and close, live
  portwatch snapshot -ltu -o b listeners now, as a baseline document
  portwatch diff b             what changed since (exit 1 when anything did)
  portwatch audit -N all       what every namespace exposes that it should not
  portwatch kill 3000          stop what listens on port 3000 (asks first)
  portwatch serve              Prometheus metrics of the listeners on 127.0.0.1:10455
  portwatch label set 8123/tcp home-assistant";

/// A local socket inspector: list sockets like ss, with their processes and what their ports are.
#[derive(Debug, Parser)]
#[command(
    name = "portwatch",
    version,
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(flatten)]
    pub listing: ListingArgs,

    #[command(flatten)]
    pub mode: ModeArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

// Options that choose which sockets to read and what to join to them (ss's meanings): the
// same after every listing subcommand.
#[derive(Debug, Args, Default, Clone)]
pub struct ListingArgs {
    /// Show only listening sockets (TCP/unix LISTEN, unconnected UDP/raw), as ss -l.
    #[arg(short = 'l', long = "listening")]
    pub listening: bool,

    /// Show all sockets: listening and non-listening, including TIME-WAIT.
    #[arg(short = 'a', long = "all")]
    pub all: bool,

    /// Numeric: accepted for ss compatibility. Ports in address columns are always numbers and
    /// host names are never resolved; the Service column stays (it is an annotation).
    #[arg(short = 'n', long = "numeric")]
    pub numeric: bool,

    /// TCP sockets.
    #[arg(short = 't', long = "tcp")]
    pub tcp: bool,

    /// UDP sockets.
    #[arg(short = 'u', long = "udp")]
    pub udp: bool,

    /// Unix domain sockets.
    #[arg(short = 'x', long = "unix")]
    pub unix: bool,

    /// Raw sockets.
    #[arg(short = 'w', long = "raw")]
    pub raw: bool,

    /// Show the processes holding each socket (pid, command, fd), every one when shared.
    /// Unless every connection is listed (-antp), the scan stops once each shown socket has a
    /// holder, then reads those holders' parents and children (where fork-shared copies are);
    /// see --all-owners.
    #[arg(short = 'p', long = "processes")]
    pub processes: bool,

    /// Read every process's fds for owners, as ss -p does, instead of stopping early: also
    /// finds holders outside the first holder's process tree (a socket passed to an unrelated
    /// process, workers whose master exited). Slower on hosts with many open files.
    #[arg(long = "all-owners")]
    pub all_owners: bool,

    /// Extended: show uid, user name and inode; under each socket (as with -i), its cookie
    /// (ss's sk:), cgroup and shutdown state.
    #[arg(short = 'e', long = "extended")]
    pub extended: bool,

    /// TCP internals under each socket, as ss -i: congestion control, RTT, cwnd, MSS,
    /// retransmissions, bytes and segments, rates (JSON: "tcp_info", in base units).
    #[arg(short = 'i', long = "info")]
    pub info: bool,

    /// Socket memory under each socket, as ss -m: skmem:(r,rb,t,tb,f,w,o,bl,d).
    #[arg(short = 'm', long = "memory")]
    pub memory: bool,

    /// Timers under each socket, as ss -o: timer:(on|keepalive|timewait|persist,EXPIRES,
    /// RETRANS).
    #[arg(short = 'o', long = "options")]
    pub options: bool,

    /// The cgroup v2 path of each socket, as ss --cgroup (also the filter `cgroup PATH`).
    #[arg(long = "cgroup")]
    pub cgroup: bool,

    /// Sort by a metric, largest first: recv_q, send_q, rtt, retrans, bytes, cwnd, mem (the
    /// TCP metrics read tcp_info, mem reads socket memory).
    #[arg(long = "sort", value_name = "KEY", value_parser = SORT_KEYS)]
    pub sort: Option<String>,

    /// IPv4 sockets only; includes dual-stack [::] listeners, which serve IPv4 (ss omits them).
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,

    /// IPv6 sockets only, except those bound to v4-mapped addresses (they carry IPv4).
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,

    /// Read these network namespaces instead of portwatch's own (repeatable): `all`, a name
    /// under /run/netns (as ss -N), a pid (that process's namespace) or the path of a
    /// namespace file (/proc/PID/ns/net, a bind mount). With more than one, rows are grouped
    /// by namespace (the host's first) under Netns and Container columns. Entering another
    /// namespace needs root (CAP_SYS_ADMIN); those that cannot be read are counted in one
    /// warning.
    #[arg(short = 'N', long = "netns", value_name = "WHICH")]
    pub netns: Vec<String>,

    /// Only sockets held by this process id (repeatable); same as the filter `pid N`.
    #[arg(long = "pid", value_name = "PID")]
    pub pids: Vec<u32>,

    /// Only sockets held by processes whose command matches this glob (repeatable); same as
    /// the filter `proc NAME`.
    #[arg(short = 'c', long = "command", value_name = "NAME")]
    pub commands: Vec<String>,

    /// Only sockets owned by this user name or uid (repeatable); same as the filter `user U`.
    #[arg(short = 'U', long = "user", value_name = "USER")]
    pub users: Vec<String>,

    /// Filter expression (ss syntax plus proc, pid, user, service, port, scope, netns,
    /// container, unit and host).
    #[arg(
        value_name = "FILTER",
        trailing_var_arg = true,
        allow_hyphen_values = false
    )]
    pub filter: Vec<String>,
}

/// The keys `--sort` takes (pipeline::SortKey::NAMES, kept in step by a test).
pub const SORT_KEYS: [&str; 7] = ["recv_q", "send_q", "rtt", "retrans", "bytes", "cwnd", "mem"];

// What the default listing (and `list`) can do instead of listing, as ss: a summary,
// closing sockets, following them closing.
#[derive(Debug, Args, Default, Clone)]
pub struct ModeArgs {
    /// Print the socket summary of ss -s (same numbers). With -l also the listeners whose
    /// accept queues fill up and the listeners per service; with -a also the listeners with
    /// most open connections.
    #[arg(short = 's', long = "summary", conflicts_with_all = ["kill", "events"])]
    pub summary: bool,

    /// Close the TCP (and UDP) sockets the flags and filter select, as ss -K (root only):
    /// prints each socket closed and each the kernel refused, with the reason; exit 1 if any
    /// was not closed. Refuses to run without a filter expression or -a/--all.
    #[arg(short = 'K', long = "kill", conflicts_with = "events")]
    pub kill: bool,

    /// Print TCP and UDP sockets as they close, as ss -E, until interrupted (with --json:
    /// one JSON object per line, "event": "closed").
    #[arg(short = 'E', long = "events")]
    pub events: bool,
}

// How the listing is printed.
#[derive(Debug, Args, Default, Clone)]
pub struct OutputArgs {
    /// Do not print the header line.
    #[arg(short = 'H', long = "no-header")]
    pub no_header: bool,

    /// Print one JSON document ({"schema": 1, "sockets": [...], "warnings": [...]}).
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,

    /// Print CSV (RFC 4180) with one header line.
    #[arg(long)]
    pub csv: bool,
}

// Options shared by every subcommand.
#[derive(Debug, Args, Default, Clone)]
pub struct GlobalArgs {
    /// Socket source: auto (netlink on Linux), netlink, proc (/proc/net text) or netstat2.
    #[arg(long, value_enum, default_value = "auto", global = true)]
    pub backend: BackendArg,

    /// How -p finds socket owners: auto (BPF where it pays and is allowed, else /proc), bpf
    /// (one kernel pass; root only; an error where unavailable) or proc (readlink of every
    /// /proc/PID/fd entry).
    #[arg(long, value_enum, default_value = "auto", global = true)]
    pub owners: OwnersArg,

    /// Read an extra services(5) file; its names win over /etc/services (repeatable).
    #[arg(long = "services", value_name = "FILE", global = true)]
    pub services: Vec<PathBuf>,

    /// The labels file [default: $PORTWATCH_LABELS, else $XDG_CONFIG_HOME/portwatch/labels].
    #[arg(long = "labels", value_name = "FILE", global = true)]
    pub labels: Option<PathBuf>,

    /// Read socket tables and processes from this directory instead of /proc (for tests).
    #[arg(long = "proc-root", value_name = "DIR", hide = true, global = true)]
    pub proc_root: Option<PathBuf>,

    /// Read the services(5) database from this file instead of /etc/services (for tests).
    #[arg(long = "etc-services", value_name = "FILE", hide = true, global = true)]
    pub etc_services: Option<PathBuf>,
}

/// `--backend`: which socket source to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum BackendArg {
    /// netlink sock_diag on Linux (with /proc/net for raw sockets and any protocol whose diag
    /// module is missing); netstat2 elsewhere.
    #[default]
    Auto,
    /// netlink sock_diag (Linux), /proc/net for raw and missing diag modules.
    Netlink,
    /// /proc/net text tables only (Linux).
    Proc,
    /// The netstat2 crate: TCP and UDP only; the default off Linux.
    Netstat2,
}

/// `--owners`: how the owner scan reads the processes' fds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OwnersArg {
    /// BPF when the host has enough open files for it to pay and it loads; else /proc.
    #[default]
    Auto,
    /// A BPF task iterator: every process's fds in one kernel pass (Linux 5.8+ with BTF,
    /// root or CAP_BPF and CAP_PERFMON).
    Bpf,
    /// A readlink of every /proc/PID/fd entry.
    Proc,
}

#[derive(Debug, Subcommand)]
// Each command's arguments are built only when it runs (or for --help, completions, the man
// page): building all eleven, most flattening the sixty listing flags, was a third of the
// start-up of every run.
#[command(defer = true)]
pub enum Command {
    /// The listing, by name: `portwatch list -lntp` is `portwatch -lntp`.
    List(ListCommandArgs),
    /// Everything known about a port: names, descriptions, class, your label, who uses it now.
    Explain(ExplainArgs),
    /// Name ports yourself: `label set 8123/tcp home-assistant`, `label rm`, `label list`.
    #[command(subcommand)]
    Label(LabelCommand),
    /// Watch sockets open, close and change: a live view on a terminal, NDJSON events
    /// otherwise (`portwatch watch -lnt`).
    Watch(WatchArgs),
    /// Save the listing as a baseline document for `diff` (`portwatch snapshot -ltup -o base.json`).
    Snapshot(SnapshotArgs),
    /// Compare the host now, or a second snapshot, with a baseline, by what survives a restart:
    /// exit 0 when they match, 1 when they differ (`portwatch diff base.json`).
    #[command(override_usage = "portwatch diff [OPTIONS] <BASELINE> [NEW] [FILTER]...")]
    Diff(DiffArgs),
    /// Judge the listeners: what is reachable beyond loopback that should not be (plaintext
    /// logins, private services, unknown ports), suspicious holders, and what the firewall
    /// does with each. Exit 1 when a finding reaches --fail-on.
    Audit(AuditArgs),
    /// Free a port: signal the processes listening on it (SIGTERM, then SIGKILL), safely.
    ///
    /// `portwatch kill 3000` (also `:3000`, `3000/tcp`) selects the processes holding a
    /// listening TCP or UDP socket on local port 3000 (-t or -u narrows it), never a client
    /// connected to it. Anything else is a filter expression with the listing's flags, and
    /// selects the holders of exactly what the listing shows: `portwatch kill -t state
    /// established dport = :5432` signals the clients of port 5432. A lone number is a port:
    /// a filter always starts with a keyword.
    ///
    /// The plan comes first: each process (pid, name, user, command line, the matched sockets
    /// it holds, its systemd unit or container), then the question, asked only when stdin,
    /// stdout and stderr are terminals; without a terminal and without --yes nothing is
    /// signalled (exit status 2). pid 1, kernel threads and portwatch itself are never
    /// signalled. Each process is signalled through a pidfd opened before the question, after
    /// checking that it is the same process (start time) and still holds a matching socket,
    /// so a pid reused meanwhile is never hit. Then it waits for the port to have no listener
    /// and says whether it is free or which process took it (a supervisor restarting it).
    ///
    /// Exit status: 0 every target exited and the port is free; 1 nothing matched; 2 bad
    /// usage or the question was not answered yes; 3 a target survived or could not be
    /// signalled, or the port is held again.
    #[command(override_usage = "portwatch kill [OPTIONS] PORT|FILTER...")]
    Kill(KillArgs),
    /// Serve Prometheus metrics over HTTP: /metrics, / and /healthz (see METRICS in portwatch(1)).
    Serve(ServeArgs),
    /// Print the Prometheus metrics once, or write them atomically for node_exporter's textfile
    /// collector (--textfile).
    Export(ExportArgs),
    /// Print a shell completion script: `portwatch completions bash > /etc/bash_completion.d/portwatch`.
    Completions(CompletionsArgs),
}

// `watch`: the listing flags and filter, then how often and how long.
#[derive(Debug, Args)]
// Follows portwatch's own namespace: -N is refused (config::own_namespace_only), so the help
// does not offer it.
#[command(mut_arg("netns", |a| a.hide(true)))]
pub struct WatchArgs {
    #[command(flatten)]
    pub listing: ListingArgs,

    /// Time between reads: 1s, 200ms, 2s, 1m; a plain number is seconds.
    #[arg(long, value_name = "DURATION", default_value = "1s")]
    pub interval: String,

    /// Stop after N reads.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,

    /// Stop after this long (30s, 10m, 1h30m; a plain number is seconds).
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,

    /// Report every socket of the first read as opened; otherwise the first read is the
    /// starting point and reports nothing.
    #[arg(long)]
    pub initial: bool,

    /// A change of Recv-Q or Send-Q is a change too (otherwise only state and owners are).
    #[arg(long)]
    pub queues: bool,

    /// How reads after the first find what changed: auto (as root, a TCP-only watch takes
    /// the kernel's state changes when it streams events without --queues, else glimpses
    /// every TCP socket; both read in full only the new and changed ones), glimpse (never
    /// the state changes), full (dump every socket on each read).
    #[arg(long, value_enum, value_name = "HOW", default_value = "auto")]
    pub reads: ReadsArg,

    /// NDJSON events, one object per line, even on a terminal.
    #[arg(long)]
    pub json: bool,

    /// Colour in the live view: auto (unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    pub color: ColorArg,

    /// Print each read's wall and CPU time to stderr (for benchmarks).
    #[arg(long, hide = true)]
    pub timings: bool,
}

/// `watch --reads`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ReadsArg {
    #[default]
    Auto,
    Glimpse,
    Full,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorArg {
    #[default]
    Auto,
    Always,
    Never,
}

// `snapshot`: the listing flags and filter, and where to write.
#[derive(Debug, Args)]
// Follows portwatch's own namespace: -N is refused (config::own_namespace_only), so the help
// does not offer it.
#[command(mut_arg("netns", |a| a.hide(true)))]
// `-o` is the output file here, as in most tools; ss's -o (timers) is `--options`.
#[command(mut_arg("options", |a| a.short(None)))]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub listing: ListingArgs,

    /// Write the document to FILE, atomically (a temp file in the same directory, renamed
    /// over FILE); `-` is stdout, the default.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

// `diff BASELINE [NEW] [LISTING FLAGS] [FILTER]`. NEW is the first word after BASELINE
// when that word does not start a filter (a filter starts with a keyword such as `sport`
// or `state`, or with `(` or `!`): name a file called like a keyword `./state`.
#[derive(Debug, Args)]
// Follows portwatch's own namespace: -N is refused (config::own_namespace_only), so the help
// does not offer it.
#[command(mut_arg("netns", |a| a.hide(true)))]
pub struct DiffArgs {
    /// The baseline: a document written by `snapshot` (or a listing saved with --json); `-`
    /// reads stdin. Then, optionally, NEW: a second document to compare with instead of the
    /// host now. NEW is the next word unless it starts a filter (a keyword such as `sport` or
    /// `state`, or `(` or `!`); name a file called like a keyword `./state`.
    #[arg(value_name = "BASELINE")]
    pub baseline: PathBuf,

    #[command(flatten)]
    pub listing: ListingArgs,

    /// Leave out the sockets this filter matches, on both sides (repeatable): expected churn,
    /// e.g. --ignore 'sport = :5353'.
    #[arg(long, value_name = "FILTER")]
    pub ignore: Vec<String>,

    /// Compare connections one by one (by local address, remote address and the service
    /// port, never an ephemeral one) instead of as counts per service and remote address class.
    #[arg(long)]
    pub connections: bool,

    /// Print a JSON document of the differences.
    #[arg(long)]
    pub json: bool,
}

// `kill`: the listing flags and the PORT or filter words, then what to send and whether to
// ask.
#[derive(Debug, Args)]
pub struct KillArgs {
    #[command(flatten)]
    pub listing: ListingArgs,

    /// Signal without asking (needed when stdin, stdout or stderr is not a terminal).
    #[arg(short = 'y', long = "yes")]
    pub yes: bool,

    /// Show the plan and signal nothing.
    #[arg(long = "dry-run")]
    pub dry_run: bool,

    /// How long to wait for the processes to exit after SIGTERM before SIGKILL, and then
    /// for the port to be free: 200ms, 2s, 1.5s, 1m (a bare number is seconds; at most a day).
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub timeout: String,

    /// Send this signal only (a name such as HUP or SIGINT, or a number), with no SIGKILL
    /// after it.
    #[arg(long = "signal", value_name = "SIG")]
    pub signal: Option<String>,

    /// Print one JSON document with the plan and the outcome of each process ({"schema": 1,
    /// ...}); needs --yes or --dry-run, since it does not ask.
    #[arg(long)]
    pub json: bool,
}

// `audit`: the listing flags and filter choose which TCP and UDP listeners are judged
// (`-N all` for every network namespace); then its own options.
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub listing: ListingArgs,

    /// Accepted exposures, one per line: `PROTO/PORT [PROGRAM-GLOB] [SCOPE]`, e.g.
    /// `tcp/22 sshd public`, `tcp/5432 postgres private`, `udp/53`; `#` starts a comment.
    /// Findings an entry matches are counted, not listed. A malformed line is an error
    /// naming it (exit 2).
    #[arg(long = "allow", value_name = "FILE")]
    pub allow: Option<PathBuf>,

    /// Exit 1 when a finding is at or above this severity (findings below it are still
    /// shown).
    #[arg(
        long = "fail-on",
        value_enum,
        value_name = "SEVERITY",
        default_value = "medium"
    )]
    pub fail_on: FailOn,

    /// Identify what answers on each TCP listener reachable beyond loopback by connecting to
    /// it from inside its network namespace (greeting, TLS ClientHello, HTTP HEAD; 0.7 s
    /// timeout per step): TLS on plaintext ports, plaintext where TLS is expected, SMTP,
    /// POP3 and IMAP without STARTTLS. Nothing is sent anywhere else.
    #[arg(long)]
    pub probe: bool,

    /// Print one JSON document ({"schema": 1, "findings": [...], "summary": {...},
    /// "warnings": [...]}).
    #[arg(long)]
    pub json: bool,
}

/// `--fail-on`: the least severity that makes `audit` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Info,
    Low,
    Medium,
    High,
}

// A listing subcommand's arguments: the listing flags and filter, then its own options.
// Every listing subcommand flattens `ListingArgs` the same way.
#[derive(Debug, Args)]
pub struct ListCommandArgs {
    #[command(flatten)]
    pub listing: ListingArgs,

    #[command(flatten)]
    pub mode: ModeArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// The port `serve` listens on by default: on no exporter's entry of Prometheus' default port
/// allocations, nor registered with IANA (README, "Metrics").
pub const DEFAULT_LISTEN: &str = "127.0.0.1:10455";

// `serve`: the listing flags and filter select what is exported (by default TCP and UDP
// sockets in every state: listeners with their processes, connections as counts).
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub listing: ListingArgs,

    /// Address and port to listen on. A non-loopback address exposes every listener, process
    /// and user name of this host to whoever can reach it (said on stderr at start).
    #[arg(long, value_name = "ADDR:PORT", default_value = DEFAULT_LISTEN)]
    pub listen: String,

    /// Reuse a collection for scrapes within this long of it (500ms, 2s, 1m; a plain number is
    /// seconds; at most 1h); 0 collects for every scrape. Scrapes arriving during a collection always share it.
    #[arg(long, value_name = "DURATION", default_value = "1s")]
    pub min_interval: String,

    /// Seconds a client may take to send a request head, or to take response bytes.
    #[arg(
        long = "http-timeout",
        value_name = "SECONDS",
        default_value_t = 10,
        hide = true
    )]
    pub http_timeout: u64,
}

// `export`: the same metrics as `serve`, once.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub listing: ListingArgs,

    /// Replace FILE atomically (a temporary file in its directory, then a rename) instead of
    /// printing; a failed write leaves FILE as it was. For node_exporter's textfile collector:
    /// name it *.prom in its --collector.textfile.directory.
    #[arg(long, value_name = "FILE")]
    pub textfile: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Shells `completions` writes scripts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// PORT or PORT/PROTO (tcp, udp, sctp, dccp).
    #[arg(value_name = "PORT[/PROTO]")]
    pub port: String,

    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum LabelCommand {
    /// Set (or replace) the label of PORT/PROTO.
    Set {
        /// PORT/PROTO, e.g. 8123/tcp (PROTO defaults to tcp).
        #[arg(value_name = "PORT[/PROTO]")]
        port: String,
        /// A short name, shown in the Service column.
        name: String,
        /// A longer description, shown by `explain`.
        description: Option<String>,
    },
    /// Remove the label of PORT/PROTO.
    Rm {
        #[arg(value_name = "PORT[/PROTO]")]
        port: String,
    },
    /// List all labels.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// The clap command, for the man page and completions.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}
