//! Subcommands: they only orchestrate platform -> join -> filter -> render.
