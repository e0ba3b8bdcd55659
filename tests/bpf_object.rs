//! The committed BPF object is what its C source builds to: scripts/build-bpf.sh rebuilds it
//! into a temporary directory and the bytes must be equal. A source edited without
//! rebuilding (or an object edited by hand) fails here. Needs clang and llvm-strip; under
//! CI=true their absence fails the test (.ci/run installs them).

#[path = "common/procs.rs"]
mod procs;

use std::path::Path;
use std::process::Command;

const OBJECT: &str = "src/platform/linux/owners/bpf/owners.bpf.o";

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn committed_object_matches_its_source() {
    let tools = have("clang") && have("llvm-strip");
    if !procs::require(
        tools,
        "clang and llvm-strip are needed to rebuild the BPF object (apt-get install clang llvm)",
    ) {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("owners.bpf.o");
    let run = Command::new("bash")
        .arg(root.join("scripts/build-bpf.sh"))
        .arg(&out)
        .output()
        .expect("run scripts/build-bpf.sh");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "build-bpf.sh failed:\n{stderr}");
    let built = std::fs::read(&out).expect("the rebuilt object");
    let committed = std::fs::read(root.join(OBJECT)).expect("the committed object");
    assert!(
        built == committed,
        "{OBJECT} differs from what owners.bpf.c builds to ({} bytes built, {} committed): \
         run scripts/build-bpf.sh and commit the object. {stderr}",
        built.len(),
        committed.len()
    );
}
