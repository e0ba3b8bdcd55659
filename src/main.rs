//! Entry point: parse arguments, run, turn errors into messages and exit codes.

fn main() {
    let _cli = <portwatch::cli::Cli as clap::Parser>::parse();
}
