//! man/portwatch.1 is generated from the clap definition plus `portwatch::manual`; this test
//! fails when the committed page is stale. Regenerate with `UPDATE_MAN=1 cargo test --test man`.

use std::io::Write;

/// Escape text for roff: backslashes, and a leading `.` or `'` that would read as a request.
fn roff_text(line: &str) -> String {
    let s = line.replace('\\', "\\e").replace('-', "\\-");
    if s.starts_with('.') || s.starts_with('\'') {
        format!("\\&{s}")
    } else {
        s
    }
}

/// One section per subcommand (nested ones included), since there are no separate pages.
fn render_subcommands(buf: &mut Vec<u8>, cmd: &clap::Command, prefix: &str) {
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("{prefix} {}", sub.get_name());
        let sub = sub.clone().bin_name(name.clone());
        if !sub.has_subcommands() {
            writeln!(buf, ".SH \"{}\"", name.to_uppercase()).unwrap();
            let man = clap_mangen::Man::new(sub.clone());
            let mut part = Vec::new();
            man.render_description_section(&mut part).unwrap();
            man.render_synopsis_section(&mut part).unwrap();
            man.render_options_section(&mut part).unwrap();
            // Demote the sub-page's own .SH headings so they nest under this section.
            let part = String::from_utf8(part).unwrap().replace(".SH ", ".SS ");
            buf.extend_from_slice(part.as_bytes());
        }
        render_subcommands(buf, &sub, &name);
    }
}

fn render() -> Vec<u8> {
    let cmd = portwatch::cli::command();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut buf)
        .expect("render man page");
    render_subcommands(&mut buf, &cmd, "portwatch");
    for (title, body) in portwatch::manual::SECTIONS {
        writeln!(buf, ".SH \"{}\"", title).unwrap();
        let mut in_example = false;
        for para in body.split("\n\n") {
            let example = para.lines().all(|l| l.starts_with("  "));
            if example != in_example {
                writeln!(buf, "{}", if example { ".nf" } else { ".fi" }).unwrap();
                in_example = example;
            }
            if !example {
                writeln!(buf, ".PP").unwrap();
            } else {
                writeln!(buf).unwrap();
            }
            for line in para.lines() {
                writeln!(buf, "{}", roff_text(line)).unwrap();
            }
        }
        if in_example {
            writeln!(buf, ".fi").unwrap();
        }
    }
    buf
}

#[test]
fn man_page_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/man/portwatch.1");
    let fresh = render();
    if std::env::var_os("UPDATE_MAN").is_some() || std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::write(path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read(path).unwrap_or_default();
    assert!(
        committed == fresh,
        "man/portwatch.1 is stale: run `UPDATE_MAN=1 cargo test --test man` and commit it"
    );
}
