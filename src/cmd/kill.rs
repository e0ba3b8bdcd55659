//! `portwatch kill PORT|FILTER...`: resolve the command line, then hand the terminals and
//! the question to `kill::run` (the flow and every decision live in `crate::kill`).

use super::Context;
use crate::cli::KillArgs;
use crate::error::Result;
use crate::kill::{self, spec};
use std::io::{self, BufRead, IsTerminal, Write};

pub fn run(a: &KillArgs, ctx: Context, out: &mut dyn Write) -> Result<u8> {
    let spec = spec::resolve(a)?;
    let ttys = spec::Ttys {
        stdin: io::stdin().is_terminal(),
        stdout: io::stdout().is_terminal(),
        stderr: io::stderr().is_terminal(),
    };
    let mut ask = |prompt: &str| -> io::Result<bool> {
        let mut err = io::stderr().lock();
        err.write_all(prompt.as_bytes())?;
        err.flush()?;
        let mut line = String::new();
        // EOF (an empty read) is no.
        io::stdin().lock().read_line(&mut line)?;
        Ok(spec::is_yes(&line))
    };
    let ui = kill::Ui {
        out,
        ttys,
        ask: &mut ask,
    };
    kill::run(spec, &ctx.system, &ctx.registry, ctx.warnings, ui)
}
