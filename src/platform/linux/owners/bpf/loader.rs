//! Loading the BPF programs: a program's instructions out of the embedded ELF object
//! (elf.rs, with its bpf_loop callback after it here), values known only at load time
//! patched into them (patch.rs: the kernel's field offsets, the callback's address, wanted
//! files, map fds, constants), and the bpf(2) commands that load and attach them (sys.rs).
//!
//! Why not a BPF library: the programs need little one offers (two maps made here, no
//! relocations, helpers called by number), and aya 0.14, the newest that builds on the project's
//! rust-version, parses the kernel's whole BTF in `EbpfLoader::new` whether it is used or not:
//! 10-15 ms and 18 MiB of peak memory per run, more than the rest of a one-port query.

mod elf;
mod patch;
mod sys;

pub use elf::{object, Object};
pub use patch::{patch_constants, patch_maps, patch_offsets, patch_wanted, WANTED_MAX};
use std::io;
pub(super) use sys::bpf;
pub use sys::{
    create_map, iterate_process, load, lookup_u64, open_raw_tracepoint, BPF_MAP_TYPE_ARRAY,
    BPF_MAP_TYPE_RINGBUF, ITERATOR, TRACEPOINT,
};

/// Why loading failed; the caller maps it to a reason for the user.
#[derive(Debug)]
pub enum LoadError {
    /// The embedded object is not what this loader expects (a build problem, not the host's).
    Object(String),
    /// A bpf(2) command failed; for PROG_LOAD, with the end of the verifier's log.
    Syscall {
        what: &'static str,
        error: io::Error,
        log: String,
    },
}

/// The program in section `program` followed by the function in section `callback`, with the
/// marked function addresses pointing at it (none marked is an error: a build problem).
pub fn object_with_callback(
    elf: &[u8],
    program: &str,
    callback: &str,
) -> Result<Object, LoadError> {
    let mut main = object(elf, program)?;
    let function = object(elf, callback)?;
    let start = main.insns.len() / 8;
    main.insns.extend_from_slice(&function.insns);
    if patch::patch_functions(&mut main.insns, start)? == 0 {
        return Err(LoadError::Object(format!(
            "BPF object: {program} does not take the address of {callback}"
        )));
    }
    main.callback = Some(start);
    Ok(main)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::linux::owners::bpf::{BY_TASK, BY_TASK_CALLBACK, OBJECT, PROGRAM};

    #[test]
    fn a_callback_follows_its_program_which_takes_its_address() {
        let by_task = object_with_callback(OBJECT, BY_TASK, BY_TASK_CALLBACK)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let start = by_task.callback.expect("the callback's start");
        assert!(start > 0 && start < by_task.insns.len() / 8);
        // The per-file program takes no function's address.
        assert!(matches!(
            object_with_callback(OBJECT, PROGRAM, BY_TASK_CALLBACK),
            Err(LoadError::Object(_))
        ));
    }
}
