//! Entry point: parse arguments, resolve the config, run, and turn errors into messages and
//! exit codes (0 ok, 1 the system could not be read, 2 usage). A closed stdout pipe is not an
//! error: `portwatch | head -1` exits 0 quietly.

use clap::FromArgMatches;
use portwatch::cli::{Cli, Command, GlobalArgs, ListingArgs, ModeArgs, OutputArgs};
use portwatch::cmd::{self, Context};
use portwatch::config::{self, Env, Mode};
use portwatch::error::Error;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

fn read_env() -> Env {
    let stdout_tty = io::stdout().is_terminal();
    let term_width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|w| *w > 0)
        .or_else(|| terminal_size::terminal_size().map(|(w, _)| usize::from(w.0)));
    Env {
        stdout_tty,
        term_width,
        portwatch_labels: std::env::var_os("PORTWATCH_LABELS").map(Into::into),
        xdg_config_home: std::env::var_os("XDG_CONFIG_HOME").map(Into::into),
        home: std::env::var_os("HOME").map(Into::into),
        no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        term: std::env::var("TERM").ok(),
        debug: std::env::var_os("PORTWATCH_DEBUG").is_some_and(|v| v == "1"),
        feed_ring: std::env::var("PORTWATCH_FEED_RING").ok(),
    }
}

/// Run the command; `Ok` carries its exit status (0, or a command's own contract such as
/// "differences found"), `Err` what went wrong (mapped by `Error::exit_code`).
fn run(cli: Cli, out: &mut dyn Write) -> Result<u8, Error> {
    // Before any thread allocates (`one_heap`).
    portwatch::platform::runtime::one_heap();
    let env = read_env();
    let g = &cli.global;
    match cli.command {
        None => listing(&cli.listing, &cli.mode, &cli.output, g, &env, out),
        Some(Command::List(a)) => listing(&a.listing, &a.mode, &a.output, g, &env, out),
        Some(Command::Explain(a)) => cmd::explain::run(&a, Context::new(g, &env)?, out).map(|()| 0),
        Some(Command::Label(c)) => cmd::label::run(&c, g, &env, out).map(|()| 0),
        Some(Command::Serve(a)) => cmd::serve::run(&a, Context::new(g, &env)?).map(|()| 0),
        Some(Command::Export(a)) => cmd::export::run(&a, Context::new(g, &env)?, out).map(|()| 0),
        Some(Command::Completions(a)) => Ok(cmd::completions::write(a.shell, out).map(|()| 0)?),
        Some(Command::Watch(a)) => {
            let cfg = config::watch_config(&a, &env)?;
            cmd::watch::run(&cfg, Context::new(g, &env)?, out).map(|()| 0)
        }
        Some(Command::Snapshot(a)) => {
            let cfg = config::snapshot_config(&a)?;
            cmd::snapshot::run(&cfg, Context::new(g, &env)?, out).map(|()| 0)
        }
        Some(Command::Diff(a)) => {
            let cfg = config::diff_config(&a)?;
            cmd::diff::run(&cfg, Context::new(g, &env)?, out)
        }
        Some(Command::Audit(a)) => cmd::audit::run(&a, Context::new(g, &env)?, &env, out),
        Some(Command::Kill(a)) => cmd::kill::run(&a, Context::new(g, &env)?, out),
    }
}

/// The default listing and `list`: a listing, or -s, -K, -E.
fn listing(
    a: &ListingArgs,
    m: &ModeArgs,
    o: &OutputArgs,
    g: &GlobalArgs,
    env: &Env,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    let mode = config::mode(m, a, o)?;
    let mut cfg = config::list_config(a, o, g, env)?;
    cfg.request = config::mode_request(mode, cfg.request);
    // Plain -s names no port: it starts as fast as ss -s without reading /etc/services.
    let bare = mode == Mode::Summary
        && !cmd::summary::reads_listeners(&cfg)
        && g.services.is_empty()
        && g.labels.is_none();
    let ctx = match bare {
        true => Context::without_registry(g)?,
        false => Context::new(g, env)?,
    };
    cmd::list::run_mode(mode, &cfg, ctx, out)
}

fn main() -> ExitCode {
    portwatch::platform::tune_allocator();
    // One command tree for reordering and parsing: building it is most of the start-up.
    let mut root = portwatch::cli::command();
    let args = portwatch::argv::permute_args_with(&root, std::env::args_os().collect());
    let parsed = root
        .try_get_matches_from_mut(args)
        .and_then(|mut m| Cli::from_arg_matches_mut(&mut m))
        .map_err(|e| e.format(&mut root));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            // --help and --version print to stdout and exit 0; a closed pipe there is fine too.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    // diff keeps diff(1)'s contract: 1 means "different", so every error is 2.
    let trouble = matches!(cli.command, Some(Command::Diff(_))).then_some(2);
    let result =
        run(cli, &mut out).and_then(|code| out.flush().map(|()| code).map_err(Error::from));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            // Don't let a failing flush in BufWriter's drop turn into a second message.
            std::mem::forget(out);
            // A filter error is already rendered with its caret block and prefix.
            let _ = match &e {
                Error::Filter { rendered } => writeln!(io::stderr(), "{rendered}"),
                _ => writeln!(io::stderr(), "portwatch: {e}"),
            };
            ExitCode::from(trouble.unwrap_or(u8::try_from(e.exit_code()).unwrap_or(1)))
        }
    }
}
