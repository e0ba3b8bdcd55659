//! The tracker on made-up proc trees changed between calls (what is found, and how many links
//! each call reads), and live on this host with the test's own sockets.

use super::fdtable::{bitset, fd_name, has};
use super::*;
use std::os::unix::fs::symlink;

/// A proc tree in a temporary directory; processes are added and changed by the tests.
struct Tree(tempfile::TempDir);

impl Tree {
    fn new() -> Tree {
        Tree(tempfile::tempdir().expect("tempdir"))
    }

    fn root(&self) -> &Path {
        self.0.path()
    }

    /// A process with `fds` (fd, link target) and start time `start`.
    fn add(&self, pid: u32, start: u64, fds: &[(u32, &str)]) {
        let p = self.root().join(pid.to_string());
        std::fs::create_dir_all(p.join("fd")).expect("mkdir");
        std::fs::write(p.join("comm"), format!("p{pid}\n")).expect("comm");
        std::fs::write(p.join("status"), "Uid:\t7\t7\t7\t7\n").expect("status");
        // Fields 3..=22 after "(comm)": the 20th is the start time.
        let fields: Vec<String> = (3..22).map(|f| f.to_string()).collect();
        let stat = format!("{pid} (p{pid}) {} {start}\n", fields.join(" "));
        std::fs::write(p.join("stat"), stat).expect("stat");
        for &(fd, target) in fds {
            self.set(pid, fd, target);
        }
    }

    /// Point `pid`'s `fd` at `target` (replacing what was there).
    fn set(&self, pid: u32, fd: u32, target: &str) {
        let link = self.root().join(format!("{pid}/fd/{fd}"));
        let _ = std::fs::remove_file(&link);
        symlink(target, link).expect("link");
    }

    fn close(&self, pid: u32, fd: u32) {
        std::fs::remove_file(self.root().join(format!("{pid}/fd/{fd}"))).expect("close");
    }

    fn exit(&self, pid: u32) {
        std::fs::remove_dir_all(self.root().join(pid.to_string())).expect("exit");
    }
}

fn set(inodes: &[u64]) -> InodeSet {
    inodes.iter().copied().collect()
}

/// (pid, fd) of each holder of `inode`.
fn holders(map: &OwnerMap, inode: u64) -> Vec<(u32, u32)> {
    map.get(inode).iter().map(|o| (o.pid, o.fd)).collect()
}

fn ask(t: &mut Tracker, inodes: &[u64]) -> OwnerMap {
    t.owners(&set(inodes), Some(&HashSet::from([7])))
}

/// Three processes: 10 and 11 share listener 900 (fork), 12 holds connection 901.
fn host() -> Tree {
    let t = Tree::new();
    t.add(10, 100, &[(0, "/dev/null"), (3, "socket:[900]")]);
    t.add(11, 101, &[(0, "/dev/null"), (4, "socket:[900]")]);
    t.add(
        12,
        102,
        &[(0, "pipe:[5]"), (5, "socket:[901]"), (6, "socket:[950]")],
    );
    t
}

#[test]
fn the_first_call_reads_everything_then_nothing_while_nothing_changes() {
    let tree = host();
    let mut t = Tracker::new(tree.root());
    let m = ask(&mut t, &[900, 901]);
    assert_eq!(holders(&m, 900), [(10, 3), (11, 4)]);
    assert_eq!(holders(&m, 901), [(12, 5)]);
    assert_eq!(m.get(901)[0].comm().as_bytes(), b"p12");
    assert_eq!(m.get(901)[0].uid(), Some(7));
    assert!(!m.partial, "the first call read every process");
    assert_eq!(t.links_read(), 7);

    let m = ask(&mut t, &[900, 901]);
    assert_eq!(holders(&m, 900), [(10, 3), (11, 4)]);
    assert_eq!(t.links_read(), 0, "nothing new: nothing read");
    // A socket that was not asked for is known too (950, held since the first read).
    assert_eq!(holders(&ask(&mut t, &[950]), 950), [(12, 6)]);
    assert_eq!(
        t.links_read(),
        3,
        "the slots of 900 (two holders) and 901, gone from the selection"
    );
}

#[test]
fn a_replaced_connection_is_found_in_its_freed_slot() {
    let tree = host();
    let mut t = Tracker::new(tree.root());
    ask(&mut t, &[900, 901]);
    // 901 closed, 902 opened on the lowest free fd: the same number.
    tree.set(12, 5, "socket:[902]");
    let m = ask(&mut t, &[900, 902]);
    assert_eq!(holders(&m, 902), [(12, 5)]);
    assert_eq!(t.links_read(), 1, "only the freed slot");
}

#[test]
fn new_fd_numbers_closed_ones_and_exits() {
    let tree = host();
    let mut t = Tracker::new(tree.root());
    ask(&mut t, &[900, 901]);
    tree.set(10, 7, "socket:[903]");
    let m = ask(&mut t, &[900, 901, 903]);
    assert_eq!(holders(&m, 903), [(10, 7)]);
    assert_eq!(t.links_read(), 1, "the new number only");

    // 11 closes its copy of the listener; then 10 exits: the socket keeps no holder we know.
    tree.close(11, 4);
    let m = ask(&mut t, &[900, 901, 903]);
    assert_eq!(holders(&m, 900), [(10, 3)]);
    tree.exit(10);
    let m = ask(&mut t, &[901]);
    assert!(holders(&m, 900).is_empty());
    assert_eq!(holders(&m, 901), [(12, 5)]);
}

#[test]
fn a_reused_pid_is_read_again() {
    let tree = host();
    let mut t = Tracker::new(tree.root());
    ask(&mut t, &[901]);
    // 12 exits and another process gets its pid, holding 904 where 12 held 901.
    tree.exit(12);
    tree.add(12, 999, &[(5, "socket:[904]")]);
    let m = ask(&mut t, &[904]);
    assert_eq!(holders(&m, 904), [(12, 5)]);
    assert!(holders(&m, 901).is_empty());
}

#[test]
fn what_the_pass_cannot_see_the_fallback_finds_once() {
    let tree = host();
    let mut t = Tracker::new(tree.root());
    ask(&mut t, &[900]);
    // A socket where /dev/null was: same numbers, nothing freed. The pass misses it; the
    // full scan looks for it in the next call, as it is still there.
    tree.set(10, 0, "socket:[905]");
    let m = ask(&mut t, &[900, 905]);
    assert!(holders(&m, 905).is_empty(), "a read late");
    assert!(m.unsure.contains(&905), "its holders are unknown, not none");
    assert!(!m.unsure.contains(&900));
    assert!(m.partial);
    let m = ask(&mut t, &[900, 905]);
    assert_eq!(holders(&m, 905), [(10, 0)]);
    assert!(m.unsure.is_empty());
    assert!(
        t.changed().contains(&905),
        "found: its rows are to be read again"
    );
    // One that is gone by then costs no scan: 906 appears without a holder, then vanishes.
    let m = ask(&mut t, &[900, 905, 906]);
    assert!(holders(&m, 906).is_empty());
    let m = ask(&mut t, &[900, 905]);
    assert_eq!(holders(&m, 905), [(10, 0)]);
    // A socket nobody visible holds is looked for once, not on every call: unknown after
    // the pass, held by nothing visible after the full scan (a change for whoever kept it
    // as unknown), and not looked for again.
    let m = ask(&mut t, &[900, 905, 999]);
    assert!(m.unsure.contains(&999));
    let m = ask(&mut t, &[900, 905, 999]);
    assert!(holders(&m, 999).is_empty() && m.unsure.is_empty());
    assert!(t.changed().contains(&999));
    let m = ask(&mut t, &[900, 905, 999]);
    assert!(holders(&m, 999).is_empty() && m.unsure.is_empty());
    assert!(!t.changed().contains(&999));
    let m = ask(&mut t, &[900, 905, 999]);
    assert_eq!(holders(&m, 905), [(10, 0)], "remembered from the fallback");
    assert_eq!(t.links_read(), 0);
}

#[test]
fn fd_sets_and_names() {
    let s = bitset(&[0, 3, 64, 130]);
    assert!([0, 3, 64, 130].iter().all(|&fd| has(&s, fd)));
    assert!(![1, 63, 65, 129, 131, 100_000].iter().any(|&fd| has(&s, fd)));
    assert!(bitset(&[]).is_empty());
    let mut buf = [0u8; 12];
    assert_eq!(fd_name(4_294_967_295, &mut buf).to_bytes(), b"4294967295");
}

#[test]
fn live_own_sockets_and_the_fd_count() {
    use std::os::fd::AsRawFd as _;
    let proc_root = Path::new("/proc");
    let me = std::process::id();
    let own = |l: &std::net::TcpListener| nix::sys::stat::fstat(l).expect("fstat").st_ino;
    let a = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut t = Tracker::new(proc_root);
    let m = ask_uid(&mut t, &[own(&a)]);
    assert!(
        m.get(own(&a)).iter().any(|o| o.pid == me),
        "own listener found: {m:?}"
    );
    assert_eq!(
        t.counts_work,
        Some(true),
        "Linux 6.2+ gives the fd count as the fd directory's size"
    );
    // Replace it: the new listener takes the lowest free fd (the freed one, unless another
    // test's thread took it first: then the count changed).
    let old = own(&a);
    drop(a);
    let b = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let fd = b.as_raw_fd();
    let mut m = ask_uid(&mut t, &[own(&b)]);
    if m.get(own(&b)).is_empty() {
        // Another test's thread moved the fd numbers meanwhile: found a read late.
        m = ask_uid(&mut t, &[own(&b)]);
    }
    assert!(m
        .get(own(&b))
        .iter()
        .any(|o| o.pid == me && o.fd as i32 == fd));
    assert!(m.get(old).is_empty());
}

fn ask_uid(t: &mut Tracker, inodes: &[u64]) -> OwnerMap {
    t.owners(
        &set(inodes),
        Some(&HashSet::from([nix::unistd::getuid().as_raw()])),
    )
}

#[test]
fn a_socket_born_and_gone_between_two_reads_frees_its_slot() {
    let tree = host();
    let mut t = Tracker::new(tree.root());
    ask(&mut t, &[900, 901]);
    // The dump saw 902 in 901's place, which by the pass already holds 903 (born after the
    // dump, so not asked for): 903 is remembered, 902 is not found.
    tree.set(12, 5, "socket:[903]");
    let m = ask(&mut t, &[900, 902]);
    assert!(holders(&m, 902).is_empty(), "gone by the pass");
    // 903 is replaced by 904 before the next dump: 903 was never asked for, yet its slot is
    // read again, and 904 found in the pass, not a read late.
    tree.set(12, 5, "socket:[904]");
    let m = ask(&mut t, &[900, 904]);
    assert_eq!(holders(&m, 904), [(12, 5)]);
    assert_eq!(t.links_read(), 1);
}

#[test]
fn the_full_scan_corrects_a_stale_slot() {
    let tree = host();
    let mut t = Tracker::new(tree.root());
    ask(&mut t, &[900]);
    // 950 (never asked for) is replaced at fd 6 by 904: nothing tells the pass.
    tree.set(12, 6, "socket:[904]");
    assert!(holders(&ask(&mut t, &[900, 904]), 904).is_empty());
    assert_eq!(holders(&ask(&mut t, &[900, 904]), 904), [(12, 6)]);
    // Remembered from then on.
    assert_eq!(holders(&ask(&mut t, &[900, 904]), 904), [(12, 6)]);
    assert_eq!(t.links_read(), 0);
}

#[test]
fn changed_names_the_inodes_whose_holders_moved_and_update_reports_only_those_asked() {
    let tree = host();
    let mut t = Tracker::new(tree.root());
    ask(&mut t, &[900, 901]);
    // Nothing moved.
    ask(&mut t, &[900, 901]);
    assert!(t.changed().is_empty(), "{:?}", t.changed());
    // 11 exits (900 loses a holder); 12 opens 902 on a new fd.
    tree.exit(11);
    tree.set(12, 7, "socket:[902]");
    let map = t.update(&set(&[900, 901, 902]), None, &set(&[902]));
    let mut changed: Vec<u64> = t.changed().iter().copied().collect();
    changed.sort_unstable();
    assert_eq!(changed, [900, 902]);
    assert_eq!(holders(&map, 902), [(12, 7)]);
    assert!(map.get(901).is_empty(), "not asked to be reported");
    // The memory still holds 901 and the one remaining holder of 900.
    let map = ask(&mut t, &[900, 901, 902]);
    assert_eq!(holders(&map, 900), [(10, 3)]);
    assert_eq!(holders(&map, 901), [(12, 5)]);
}

#[test]
fn diff_socks_pairs_holdings_by_fd() {
    let before = [(3, 30), (4, 40), (6, 60), (9, 90)];
    let after = [(3, 30), (4, 41), (5, 50), (9, 90), (12, 120)];
    let (added, removed) = diff_socks(&before, &after);
    assert_eq!(added, [41, 50, 120]);
    assert_eq!(removed, [40, 60]);
    assert_eq!(diff_socks(&[], &after).0.len(), 5);
    assert_eq!(diff_socks(&before, &[]).1, [30, 40, 60, 90]);
}
