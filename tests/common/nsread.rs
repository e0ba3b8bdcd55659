//! Reading other network namespaces through the library (the CLI's `-N` is not wired yet),
//! and running ss inside the same namespace, into the rows `netns.rs` compares.
#![allow(dead_code)]

use super::netns::{diff, explain, from_portwatch, ss_rows, Row};
use portwatch::join;
use portwatch::model::NetnsSpec;
use portwatch::model::{OwnerMap, Query, Row as PwRow, StateSet, Wanted};
use portwatch::platform::linux::netns::{self, Discovery, MultiRead, NetnsSet, Via};
use portwatch::platform::{ProcessSource, SourceOptions, System};
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How a test's tools get into a namespace.
#[derive(Debug, Clone)]
pub enum Enter {
    /// `ip netns exec NAME`
    Named(String),
    /// `nsenter -t PID -n`
    Pid(u32),
    /// `nsenter --net=PATH`
    Path(PathBuf),
}

impl Enter {
    /// `prog` run inside.
    pub fn command(&self, prog: &str) -> Command {
        let mut c;
        match self {
            Enter::Named(n) => {
                c = Command::new("ip");
                c.args(["netns", "exec", n]);
            }
            Enter::Pid(p) => {
                c = Command::new("nsenter");
                c.args(["-t", &p.to_string(), "-n"]);
            }
            Enter::Path(p) => {
                c = Command::new("nsenter");
                c.arg(format!("--net={}", p.display()));
            }
        }
        c.arg(prog);
        c
    }

    /// The WHICH that selects it.
    pub fn spec(&self) -> NetnsSpec {
        match self {
            Enter::Named(n) => NetnsSpec::Name(n.clone()),
            Enter::Pid(p) => NetnsSpec::Pid(*p),
            Enter::Path(p) => NetnsSpec::Path(p.clone()),
        }
    }

    /// `ss -n -e -p -H -O ARGS` inside (exit 0 asserted; stderr ignored, see netns.rs).
    pub fn ss(&self, args: &[&str]) -> String {
        let out = self
            .command("ss")
            .args(["-n", "-e", "-p", "-H", "-O"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run ss");
        assert!(out.status.success(), "{self:?} ss {args:?}: {}", out.status);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Run `prog args` inside and assert it worked.
    pub fn run(&self, prog: &str, args: &[&str]) {
        let st = self
            .command(prog)
            .args(args)
            .stdin(Stdio::null())
            .status()
            .expect("run in namespace");
        assert!(st.success(), "{self:?} {prog} {args:?}: {st}");
    }
}

/// `-tua` (every state, TCP and UDP, both families), or with unix sockets too.
pub fn query(unix: bool) -> Query {
    Query {
        tcp: true,
        udp: true,
        unix,
        raw: false,
        ipv4: true,
        ipv6: true,
        states: StateSet::ALL,
        detail: Default::default(),
        local_ports: Default::default(),
    }
}

/// Discover, select with `specs`, open, read.
pub fn read(specs: &[NetnsSpec], q: &Query) -> (Discovery, NetnsSet, MultiRead) {
    let mut d = netns::discover();
    let names = Path::new(netns::NETNS_DIRS[0]);
    let chosen = netns::resolve(specs, &mut d, Path::new("/proc"), names).expect("resolve");
    let hidden = if specs.contains(&NetnsSpec::All) {
        d.hidden_pids
    } else {
        0
    };
    let set = NetnsSet::open(&d, &chosen, Path::new("/proc"), false, hidden).expect("open");
    let r = set.read_all(q).expect("read");
    (d, set, r)
}

/// The namespace `which` selects, read alone: its inode, sockets as rows (owners from one
/// scan of every process, interface names from inside), and how it was read.
pub fn pw_rows(which: &Enter, q: &Query) -> (NonZeroU64, Vec<Row>, Via) {
    let (_, set, mut r) = read(&[which.spec()], q);
    assert_eq!(set.sources().len(), 1, "{which:?} selects one namespace");
    assert!(r.skipped.is_empty(), "{which:?} skipped: {:?}", r.skipped);
    let (ns, snap, via) = r.namespaces.pop().expect("read");
    for s in &snap.sockets {
        assert_eq!(s.netns_inode(), Some(ns.inode), "every socket tagged");
    }
    let owners = scan_all_owners();
    let src = &set.sources()[0];
    (
        ns.inode,
        to_rows(snap.sockets, &owners, |i| src.iface_name(i)),
        via,
    )
}

/// The owners of every socket on the host (one scan of every process).
pub fn scan_all_owners() -> OwnerMap {
    System::new(SourceOptions::default())
        .expect("the live system")
        .scan_owners(Wanted::All)
}

/// Sockets as the JSON renderer writes them, read back as comparison rows.
pub fn to_rows(
    mut socks: Vec<portwatch::model::Socket>,
    owners: &OwnerMap,
    iface: impl FnMut(u32) -> Option<String>,
) -> Vec<Row> {
    join::attach_unix_peers(&mut socks);
    let mut rows: Vec<PwRow> = socks.into_iter().map(PwRow::new).collect();
    join::attach_owners(&mut rows, owners);
    join::attach_ifaces(&mut rows, iface);
    let mut out = Vec::new();
    portwatch::render::json::write(&rows, &[], None, None, &mut out).expect("render");
    from_portwatch(&serde_json::from_slice(&out).expect("JSON"))
}

/// The library's rows for the namespace equal ss's inside it (TCP, UDP, unix; all states,
/// owners included), read again up to twice before a difference is a failure.
pub fn assert_same_as_ss(which: &Enter) -> (NonZeroU64, Vec<Row>, Via) {
    let mut last = String::new();
    for _ in 0..3 {
        let (ino, pw, via) = pw_rows(which, &query(true));
        let ss = ss_rows(|a| which.ss(a), &["-a"], &["-t", "-u", "-x"]);
        let (only_pw, only_ss) = diff(&pw, &ss);
        if only_pw.is_empty() && only_ss.is_empty() {
            return (ino, pw, via);
        }
        last = explain(&only_pw, &only_ss);
    }
    panic!("{which:?}: the library's read differs from ss:{last}");
}

/// A network namespace held only by a bind mount on a file in a temp dir; unmounted (and so
/// released, once no socket of it is open) on drop.
pub struct BindNs {
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl BindNs {
    pub fn new() -> BindNs {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ns");
        std::fs::write(&path, b"").expect("mount point");
        let st = Command::new("unshare")
            .arg(format!("--net={}", path.display()))
            .arg("true")
            .status()
            .expect("unshare (util-linux)");
        assert!(st.success(), "unshare --net: {st}");
        let ns = BindNs { path, _dir: dir };
        Enter::Path(ns.path.clone()).run("ip", &["link", "set", "lo", "up"]);
        ns
    }
}

impl Drop for BindNs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

/// Run `f` on a thread that has entered the namespace at `path`, so sockets `f` opens live
/// there while this process (in its own namespace) keeps holding them.
pub fn in_namespace<T: Send + 'static>(path: &Path, f: impl FnOnce() -> T + Send + 'static) -> T {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(path).expect("open namespace file");
    std::thread::spawn(move || {
        // SAFETY: setns on a descriptor we hold; it changes only this short-lived thread.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        f()
    })
    .join()
    .expect("thread in namespace")
}

/// Root plus nsenter and unshare, on top of netns.rs's prerequisites; a failure under CI.
pub fn prerequisites_met() -> bool {
    if !super::netns::prerequisites_met() {
        return false;
    }
    for prog in ["nsenter", "unshare", "umount"] {
        let ok = Command::new(prog)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("namespace tests need `{prog}` (apt-get install util-linux mount)");
            }
            eprintln!("skipped: namespace tests need `{prog}`");
            return false;
        }
    }
    true
}
