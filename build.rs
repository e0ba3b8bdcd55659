//! Build script: places the functions a listing runs together at the start of the binary's
//! text, when the linker can order symbols (lld, rustc's default on x86_64 Linux; mold).
//!
//! The kernel maps a binary's pages 64 KiB around each one a process touches, so a listing's
//! ~600 KiB of code scattered over a 4.6 MB text kept ~2.2 MB of it resident: a seventh of a
//! 100k-socket `-antp`'s peak RSS (issue #17). The list is data/hot-functions.txt, made by
//! scripts/hot-functions.py; a linker that does not take the option (GNU ld) links as before.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=data/hot-functions.txt");
    let Some(dir) = env::var_os("CARGO_MANIFEST_DIR") else {
        return;
    };
    let list = Path::new(&dir).join("data").join("hot-functions.txt");
    let Some(list) = list.to_str().filter(|s| !s.contains(',')) else {
        // -Wl splits its argument at commas.
        return;
    };
    let args = [
        format!("-Wl,--symbol-ordering-file={list}"),
        "-Wl,--no-warn-symbol-ordering".to_string(),
    ];
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") || !linker_takes(&args) {
        return;
    }
    for a in args {
        println!("cargo:rustc-link-arg-bin=portwatch={a}");
    }
}

/// Whether a program links with `args`, by the rustc, flags and linker cargo uses for the
/// real build (a probe costs a fraction of a second, once per change of this script).
fn linker_takes(args: &[String]) -> bool {
    let (Some(rustc), Some(out), Ok(target)) = (
        env::var_os("RUSTC"),
        env::var_os("OUT_DIR").map(PathBuf::from),
        env::var("TARGET"),
    ) else {
        return false;
    };
    let src = out.join("order_probe.rs");
    if fs::write(&src, "fn main() {}\n").is_err() {
        return false;
    }
    let mut cmd = Command::new(rustc);
    if let Some(flags) = env::var_os("CARGO_ENCODED_RUSTFLAGS") {
        let flags = flags.to_string_lossy().into_owned();
        cmd.args(flags.split('\x1f').filter(|f| !f.is_empty()));
    }
    if let Some(linker) = env::var_os("RUSTC_LINKER") {
        let mut arg = OsString::from("linker=");
        arg.push(linker);
        cmd.arg("-C").arg(arg);
    }
    for a in args {
        cmd.arg("-C").arg(format!("link-arg={a}"));
    }
    cmd.args([
        "--crate-type",
        "bin",
        "--edition",
        "2021",
        "--target",
        &target,
    ])
    .arg("-o")
    .arg(out.join("order_probe"))
    .arg(&src)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    cmd.status().is_ok_and(|s| s.success())
}
