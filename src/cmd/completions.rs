//! `portwatch completions SHELL`: the completion script for bash, zsh or fish, generated from
//! the clap definition (so it never drifts from the flags). The same scripts are committed
//! under completions/ and a test fails when they are stale.

use crate::cli::{command, Shell};
use std::io::{self, Write};

/// Write the completion script for `shell`.
pub fn write(shell: Shell, out: &mut dyn Write) -> io::Result<()> {
    let mut cmd = command();
    let mut buf = Vec::new();
    let gen = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(gen, &mut cmd, "portwatch", &mut buf);
    out.write_all(&buf)
}
