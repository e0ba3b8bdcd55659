//! `portwatch kill` (issue #14): free a port safely. The flow, in order:
//!
//! 1. the pipeline lists the matched sockets with every holder (`spec`: `kill PORT` is what
//!    `portwatch -l -t -u sport = :PORT` lists, a filter what the listing shows);
//! 2. a pidfd is opened for each holder, its facts read and checked through it (`exec::arm`),
//!    and the plan made (`plan::build`): pid 1, kernel threads and portwatch itself are left
//!    alone, and so is a process the kernel would not let us signal;
//! 3. the plan is shown and, on a terminal, the question asked;
//! 4. each target is re-checked (same start time, still holding a matching socket) and
//!    signalled through its pidfd; exits are awaited on the pidfds, SIGKILL follows SIGTERM
//!    after the timeout; then the port is watched until it is free or someone took it.

pub mod exec;
pub mod plan;
pub mod spec;

use crate::error::{Error, Result};
use crate::model::kill::{Outcome, Plan, Selection};
use crate::model::Warning;
use crate::pipeline;
use crate::platform::process::Inspector;
use crate::platform::{ProcessSource, System};
use crate::registry::Registry;
use crate::render::{kill as render, notes};
use spec::{Confirm, KillSpec, Mode, Ttys};
use std::io::Write;

/// Where `kill` talks to the person: the output, the terminals, and the question.
pub struct Ui<'a> {
    pub out: &'a mut dyn Write,
    pub ttys: Ttys,
    /// Ask the question (the text is the prompt); `Ok(true)` for yes.
    pub ask: &'a mut dyn FnMut(&str) -> std::io::Result<bool>,
}

/// Run `kill`; the exit status (see `plan::exit_status`; 2 when the question was not
/// answered yes).
pub fn run(
    spec: KillSpec,
    sys: &System,
    reg: &Registry,
    mut warnings: Vec<Warning>,
    ui: Ui<'_>,
) -> Result<u8> {
    let opts = sys.options();
    if opts.fixture && spec.mode != Mode::DryRun {
        return Err(Error::Usage(
            "kill: --proc-root names a fixture tree, whose pids are no processes of this \
system: only --dry-run works there"
                .into(),
        ));
    }
    let listing = pipeline::run(&spec.request, sys, sys, reg)?;
    warnings.extend(listing.warnings);
    let mut inspector = Inspector::new(&opts.proc_root, !opts.fixture);
    let mut armed = exec::arm(
        &listing.rows,
        &mut inspector,
        std::process::id(),
        !opts.fixture,
    )?;
    let plan = plan::build(
        spec.selection.clone(),
        spec.signals.clone(),
        listing.rows,
        &warnings,
        |pid| armed.known(pid),
        |uid| sys.user_name(uid),
    );
    let dry_run = spec.mode == Mode::DryRun;
    let out = ui.out;

    if plan.rows.is_empty() {
        if spec.json {
            render::write_json(&plan, dry_run, None, 1, &warnings, out)?;
            return Ok(1);
        }
        // A port's hint would suggest -a, which a port refuses: only a filter gets one.
        let near_miss = match plan.selection {
            Selection::Filter { .. } => pipeline::near_misses(&spec.request, sys, sys, reg)?,
            Selection::Port { .. } => None,
        };
        out.flush()?;
        notes::print_warnings(&warnings);
        let _ = writeln!(
            std::io::stderr(),
            "portwatch: {}",
            render::nothing_matched(&plan.selection)
        );
        if let Some(m) = near_miss {
            notes::print_near_miss(&m);
        }
        return Ok(1);
    }
    if dry_run {
        if spec.json {
            render::write_json(&plan, true, None, 0, &warnings, out)?;
        } else {
            render::write_plan(&plan, true, out)?;
            out.flush()?;
            notes::print_warnings(&warnings);
        }
        return Ok(0);
    }
    if !spec.json {
        render::write_plan(&plan, false, out)?;
        out.flush()?;
        // Before the question: it may change the answer (owners hidden from us).
        notes::print_warnings(&warnings);
    }
    if plan.ready().next().is_some() {
        match spec::confirm(spec.mode, ui.ttys) {
            Confirm::Proceed => {}
            Confirm::Refuse => {
                return Err(Error::Usage(
                    "kill: nothing was signalled: not asking without a terminal (stdin, stdout \
and stderr must all be one); add --yes to signal without asking, or --dry-run"
                        .into(),
                ))
            }
            Confirm::Ask => {
                if !(ui.ask)(&render::question(&plan))? {
                    writeln!(out, "Nothing was signalled.")?;
                    return Ok(2);
                }
            }
        }
    }
    let outcome = signal(&plan, &armed, &spec, sys, reg, &mut inspector, out)?;
    let status = plan::exit_status(&plan, &outcome);
    if spec.json {
        render::write_json(&plan, false, Some(&outcome), status, &warnings, out)?;
    } else {
        render::write_outcome(&plan, &outcome, out)?;
    }
    Ok(status)
}

/// Step 4: signal, wait, watch the port.
fn signal(
    plan: &Plan,
    armed: &exec::Armed,
    spec: &KillSpec,
    sys: &System,
    reg: &Registry,
    inspector: &mut Inspector,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let mut relist = || pipeline::run(&spec.request, sys, sys, reg).map(|l| l.rows);
    let user_name = |uid| sys.user_name(uid);
    let json = spec.json;
    let mut sent = |sig: &_, n, wait| -> Result<()> {
        if !json {
            render::write_sent(out, sig, n, wait)?;
        }
        Ok(())
    };
    let mut env = exec::Env {
        inspector,
        relist: &mut relist,
        user_name: &user_name,
        sent: &mut sent,
    };
    exec::execute(plan, armed, &mut env)
}
