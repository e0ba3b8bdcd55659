//! Owner scan tests: on the fixture trees (tests/fixtures/README.md lists their processes) and
//! live on this host with the test's own loopback sockets and a child process.

use super::pidfs::*;
use super::*;
use crate::model::Text;
use std::collections::HashSet;
use std::os::fd::AsRawFd as _;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;

fn fixture(tree: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(tree)
}

fn owner(pid: u32, comm: &str, fd: u32, uid: Option<u32>) -> Owner {
    Owner::new(pid, comm, fd, uid)
}

/// The early-stopping scan of `root` for `inodes`, reading processes of `uids` first.
fn scan_family(root: &Path, inodes: &InodeSet, uids: impl IntoIterator<Item = u32>) -> OwnerMap {
    let uids: HashSet<u32> = uids.into_iter().collect();
    scan(
        root,
        Wanted::Family {
            inodes,
            uids: &uids,
        },
    )
}

fn owners_of(map: &OwnerMap, inode: u64) -> Vec<Owner> {
    map.get(inode)
}

#[test]
fn fixture_all_owners() {
    let map = scan(&fixture("proc-basic"), Wanted::All);
    assert!(map.warnings.is_empty(), "{:?}", map.warnings);
    assert_eq!(map.denied_pids, 0);
    let mut inodes: Vec<u64> = map.inodes().collect();
    inodes.sort_unstable();
    assert_eq!(
        inodes,
        [20001, 20002, 20003, 20004, 20010, 20030, 20031, 20032, 20034]
    );
    // Shared across fork: both holders, sorted by (pid, fd).
    assert_eq!(
        owners_of(&map, 20002),
        [
            owner(1200, "postgres", 5, Some(4242)),
            owner(1201, "postgres", 5, Some(4242)),
        ]
    );
    assert_eq!(owners_of(&map, 20001), [owner(412, "sshd", 3, Some(0))]);
    assert_eq!(
        owners_of(&map, 20030),
        [owner(733, "nginx", 7, Some(0))],
        "unix sockets are found the same way"
    );
    assert_eq!(owners_of(&map, 20004), [owner(3000, "psql", 3, Some(4242))]);
}

#[test]
fn fixture_some_records_only_wanted_inodes() {
    let inodes: InodeSet = [20002, 20021, 20032].into_iter().collect();
    let map = scan(&fixture("proc-basic"), Wanted::Some { inodes: &inodes });
    let mut keys: Vec<u64> = map.inodes().collect();
    keys.sort_unstable();
    assert_eq!(keys, [20002, 20032], "20021 has no owner in the tree");
    assert_eq!(
        owners_of(&map, 20002).len(),
        2,
        "every owner, not the first"
    );
}

#[test]
fn fixture_family_stops_early_and_keeps_fork_shared_owners() {
    // pids are read in order 412, 733, 1200, 1201, 3000: the scan stops at 1200 or 1201 (both
    // hold 20002), never reads 3000, and finds the other postgres through the family pass.
    let inodes: InodeSet = [20002, 20010].into_iter().collect();
    let map = scan_family(&fixture("proc-basic"), &inodes, [4242, 0]);
    assert!(map.partial, "3000 is never read");
    assert_eq!(owners_of(&map, 20010), [owner(733, "nginx", 6, Some(0))]);
    assert_eq!(
        owners_of(&map, 20002),
        [
            owner(1200, "postgres", 5, Some(4242)),
            owner(1201, "postgres", 5, Some(4242)),
        ],
        "the forked child (or its parent) is read by the family pass"
    );
    assert!(map.inodes().all(|k| inodes.contains(k)));
}

#[test]
fn fixture_family_reads_everything_when_an_inode_has_no_owner() {
    let inodes: InodeSet = [20001, 20021].into_iter().collect();
    let map = scan_family(&fixture("proc-basic"), &inodes, [0]);
    assert!(!map.partial, "20021 has no owner: every process was read");
    assert_eq!(owners_of(&map, 20001), [owner(412, "sshd", 3, Some(0))]);
}

#[test]
fn empty_wanted_set_scans_nothing() {
    let none = InodeSet::default();
    let map = scan(&fixture("proc-basic"), Wanted::Some { inodes: &none });
    assert!(map.is_empty() && map.warnings.is_empty());
}

#[test]
fn fixture_malformed_links_and_non_processes() {
    let map = scan(&fixture("proc-malformed"), Wanted::All);
    assert!(map.warnings.is_empty(), "{:?}", map.warnings);
    assert_eq!(map.denied_pids, 0);
    // Only the well-formed link of pid 50 counts; its status has no Uid line: unknown.
    assert_eq!(map.len(), 1, "{map:?}");
    assert_eq!(owners_of(&map, 20001), [owner(50, "broken", 3, None)]);
}

#[test]
fn missing_root_is_a_warning() {
    let map = scan(Path::new("/nonexistent/proc-root"), Wanted::All);
    assert!(map.is_empty());
    assert_eq!(map.warnings.len(), 1);
    assert_eq!(map.warnings[0].kind, "owners-unavailable");
}

#[test]
fn socket_link_targets() {
    assert_eq!(socket_inode(b"socket:[12345]"), Some(12345));
    assert_eq!(socket_inode(b"socket:[0]"), Some(0));
    assert_eq!(
        socket_inode(b"socket:[18446744073709551615]"),
        Some(u64::MAX)
    );
    for bad in [
        &b"socket:[18446744073709551616]"[..],
        b"socket:[]",
        b"socket:[12a]",
        b"socket:[12]x",
        b"socket:[12",
        b"pipe:[12]",
        b"/tmp/socket:[12]",
        b"",
    ] {
        assert_eq!(
            socket_inode(bad),
            None,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    assert_eq!(pid_path(4294967295, "/status").as_c(), c"4294967295/status");
    assert_eq!(parse_u32(b"4294967296"), None);
    assert_eq!(parse_u32(b"self"), None);
}

#[test]
fn stat_ppid_after_the_last_paren() {
    assert_eq!(stat_ppid(b"77 (a) b) (c) S 12 77 77 0"), Some(12));
    assert_eq!(stat_ppid(b"1 (init) S 0 1 1"), Some(0));
    assert_eq!(stat_ppid(b"1 (init) S"), None);
    assert_eq!(stat_ppid(b"garbage"), None);
}

#[test]
fn stat_flags_after_the_last_paren() {
    let kthread = b"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0";
    assert_eq!(stat_flags(kthread).map(|f| f & PF_KTHREAD != 0), Some(true));
    let odd = b"77 (a) b (c) S 1 77 77 0 -1 4194560 120 0 0 0 1 2 0 0 20 0 1 0 9 0 0";
    assert_eq!(stat_flags(odd), Some(4194560));
    assert_eq!(stat_flags(b"77 (trunc"), None);
    let own = std::fs::read("/proc/self/stat").unwrap_or_default();
    assert_eq!(stat_flags(&own).map(|f| f & PF_KTHREAD), Some(0));
}

/// The test's own socket: its inode is the st_ino of the fd (sockfs).
fn inode_of(fd: &impl AsFd) -> u64 {
    nix::sys::stat::fstat(fd).map_or(0, |st| st.st_ino)
}

fn own(listener: &std::net::TcpListener) -> (InodeSet, HashSet<u32>) {
    let inode = inode_of(listener);
    assert_ne!(inode, 0);
    (
        [inode].into_iter().collect(),
        HashSet::from([nix::unistd::geteuid().as_raw()]),
    )
}

#[test]
fn live_finds_own_listener() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let (inodes, uids) = own(&listener);
    let inode = inodes.iter().copied().next().unwrap_or_default();
    let comm = std::fs::read("/proc/self/comm").unwrap_or_default();
    let comm = comm.strip_suffix(b"\n").unwrap_or(&comm).to_vec();
    let me = Owner::new(
        std::process::id(),
        Text::from(comm),
        listener.as_raw_fd() as u32,
        Some(nix::unistd::getuid().as_raw()),
    );
    for wanted in [
        Wanted::Some { inodes: &inodes },
        Wanted::Family {
            inodes: &inodes,
            uids: &uids,
        },
        Wanted::All,
    ] {
        let map = scan(Path::new("/proc"), wanted.clone());
        assert!(
            owners_of(&map, inode).contains(&me),
            "{wanted:?}: {:?}",
            map.get(inode)
        );
    }
}

/// Kills and reaps the child however the test ends.
pub(crate) struct Child(pub(crate) std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn live_forked_child_is_a_second_owner() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let (inodes, uids) = own(&listener);
    let inode = inodes.iter().copied().next().unwrap_or_default();
    let fd = listener.as_raw_fd();
    let mut cmd = std::process::Command::new("sleep");
    cmd.arg("30");
    // SAFETY: only fcntl, which is async-signal-safe, runs between fork and exec. Clearing
    // FD_CLOEXEC in the child alone keeps the socket across exec without touching the fds
    // that other tests' children inherit.
    unsafe {
        cmd.pre_exec(move || {
            if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = Child(cmd.spawn().expect("spawn sleep"));
    let child_pid = child.0.id();

    for wanted in [
        Wanted::Some { inodes: &inodes },
        // Stops at the first holder, then finds the child through the family pass.
        Wanted::Family {
            inodes: &inodes,
            uids: &uids,
        },
    ] {
        let map = scan(Path::new("/proc"), wanted.clone());
        let owners = owners_of(&map, inode);
        let holders: Vec<(u32, u32)> = owners.iter().map(|o| (o.pid, o.fd)).collect();
        let fd = fd as u32;
        assert!(
            holders.contains(&(std::process::id(), fd)),
            "{wanted:?}: {owners:?}"
        );
        assert!(holders.contains(&(child_pid, fd)), "{wanted:?}: {owners:?}");
        let sleep = owners.iter().find(|o| o.pid == child_pid);
        assert_eq!(sleep.map(|o| o.comm().as_bytes()), Some(&b"sleep"[..]));
        let mut sorted = holders.clone();
        sorted.sort_unstable();
        assert_eq!(holders, sorted);
    }
    drop(child);
}

/// Run by `unprivileged_scan_counts_denied` in a copy of this test binary as uid 4242.
#[test]
#[ignore = "runs as an unprivileged child of unprivileged_scan_counts_denied"]
fn unprivileged_child() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let (inodes, _) = own(&listener);
    let inode = inodes.iter().copied().next().unwrap_or_default();
    let map = scan(Path::new("/proc"), Wanted::All);
    let mine = owners_of(&map, inode)
        .iter()
        .any(|o| o.pid == std::process::id());
    eprintln!("RESULT denied={} own={mine}", map.denied_pids);
}

#[test]
fn unprivileged_scan_counts_denied() {
    if !nix::unistd::geteuid().is_root() {
        return; // switching to another uid needs root
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "platform::linux::owners::tests::unprivileged_child",
        ])
        .args(["--ignored", "--nocapture", "--test-threads=1"])
        .uid(4242)
        .gid(4242)
        .output()
        .expect("run the test binary as uid 4242");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find_map(|l| l.strip_prefix("RESULT "));
    let line = line.unwrap_or_else(|| panic!("child said: {stderr}"));
    // This test process runs as root: uid 4242 cannot read its fds, so at least one denial;
    // the child's own fds are always readable.
    let denied: usize = line
        .split_whitespace()
        .find_map(|f| f.strip_prefix("denied="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(denied >= 1, "{line}");
    assert!(line.contains("own=true"), "{line}");
}

/// One process of a made-up proc tree: pid, parent pid, and (fd, link target) pairs.
type Proc<'a> = (u32, u32, &'a [(u32, &'a str)]);

/// A proc tree in a temporary directory.
fn tree(procs: &[Proc<'_>]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for &(pid, ppid, fds) in procs {
        let p = dir.path().join(pid.to_string());
        std::fs::create_dir_all(p.join("fd")).expect("mkdir");
        std::fs::write(p.join("comm"), "d\n").expect("comm");
        std::fs::write(p.join("status"), "Uid:\t0\t0\t0\t0\n").expect("status");
        // Flags (the 9th field) mark kernel threads: kthreadd (2) and its children.
        let flags = if pid == 2 || ppid == 2 { PF_KTHREAD } else { 0 };
        std::fs::write(
            p.join("stat"),
            format!("{pid} (d) S {ppid} {pid} {pid} 0 -1 {flags}\n"),
        )
        .expect("stat");
        for &(fd, target) in fds {
            std::os::unix::fs::symlink(target, p.join("fd").join(fd.to_string())).expect("link");
        }
    }
    dir
}

#[test]
fn family_of_pid_1_is_every_process() {
    // Socket activation: pid 1 holds the listener and so does the service it started, 5.
    // The scan stops at pid 1; its family is the whole tree, so nothing is left unread.
    // Kernel threads (kthreadd, 2, and its children) are outside pid 1's family but hold
    // nothing, so they are not left unread.
    let t = tree(&[
        (1, 0, &[(3, "socket:[900]")]),
        (2, 0, &[]),
        (3, 2, &[]),
        (5, 1, &[(3, "socket:[900]")]),
        (7, 1, &[(0, "/dev/null")]),
        (9, 7, &[(4, "socket:[900]")]),
    ]);
    let inodes: InodeSet = [900].into_iter().collect();
    let map = scan_family(t.path(), &inodes, [0]);
    let pids: Vec<u32> = map.get(900).iter().map(|o| o.pid).collect();
    assert_eq!(pids, [1, 5, 9]);
    assert!(!map.partial, "every process was read");
}

#[test]
fn family_pass_climbs_to_the_topmost_holder() {
    // 15 (a worker, pid reused below its parent's, so read first) <- 20 (the master, holds
    // it too) <- 10 (a shell, does not); 21 is another worker; 40 is unrelated. The scan
    // stops at 15 (or 20); the climb reaches 20 and its children give 21.
    let t = tree(&[
        (10, 1, &[(0, "/dev/null")]),
        (15, 20, &[(6, "socket:[500]")]),
        (20, 10, &[(6, "socket:[500]")]),
        (21, 20, &[(6, "socket:[500]")]),
        (40, 1, &[(6, "socket:[501]")]),
    ]);
    let inodes: InodeSet = [500].into_iter().collect();
    let map = scan_family(t.path(), &inodes, [0]);
    let pids: Vec<u32> = map.get(500).iter().map(|o| o.pid).collect();
    assert_eq!(pids, [15, 20, 21]);
    assert!(map.partial, "40 is never read");
}
