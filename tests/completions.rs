//! Shell completions are generated from the clap definition by `portwatch completions SHELL`
//! and committed under completions/; this test fails when they are stale and runs each
//! through its shell's syntax check. Regenerate with
//! `UPDATE_GENERATED=1 cargo test --test completions`.

mod common;

use std::process::Command;

const SHELLS: &[(&str, &str)] = &[
    ("bash", "portwatch.bash"),
    ("zsh", "_portwatch"),
    ("fish", "portwatch.fish"),
];

fn generated(shell: &str) -> Vec<u8> {
    let out = common::bin()
        .args(["completions", shell])
        .output()
        .expect("run portwatch");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.stdout.is_empty());
    out.stdout
}

fn path(file: &str) -> String {
    format!("{}/completions/{file}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_completions_are_current() {
    for (shell, file) in SHELLS {
        let fresh = generated(shell);
        if std::env::var_os("UPDATE_GENERATED").is_some() {
            std::fs::create_dir_all(path("")).unwrap();
            std::fs::write(path(file), &fresh).unwrap();
            continue;
        }
        let committed = std::fs::read(path(file)).unwrap_or_default();
        assert!(
            committed == fresh,
            "completions/{file} is stale: run `UPDATE_GENERATED=1 cargo test --test completions` and commit it"
        );
    }
}

#[test]
fn completions_know_the_subcommands_and_listing_flags() {
    for (shell, _) in SHELLS {
        let text = String::from_utf8(generated(shell)).unwrap();
        // fish spells long options `-l listening`, the others `--listening`.
        for word in [
            "explain",
            "label",
            "list",
            "listening",
            "processes",
            "netlink",
        ] {
            assert!(text.contains(word), "{shell} completion lacks {word}");
        }
    }
}

#[test]
fn completion_scripts_pass_their_shells_syntax_check() {
    for (shell, file) in SHELLS {
        // -n: parse only (fish spells it --no-execute too).
        let status = Command::new(shell).arg("-n").arg(path(file)).status();
        match status {
            Ok(s) => assert!(s.success(), "{shell} -n {file} failed"),
            Err(e) if std::env::var_os("CI").is_some() => {
                panic!("{shell} is required under CI (apt-get install {shell}): {e}")
            }
            Err(e) => eprintln!("skipping {shell} syntax check: {e} (CI installs it)"),
        }
    }
}
