//! The BPF owner scan on live processes, against the /proc scan and `ss -p`: the owners of
//! the test's own sockets (fork-shared, passed over SCM_RIGHTS, unix, held by many processes
//! and by another user) are the same (pid, fd, comm, uid) by both methods and as ss prints
//! them, whether one iterator walks every process or one per process runs on threads; an
//! iterator limited to a process sees only it; a thread with its own fd table is found;
//! churn never makes a scan fail nor leaves an owner that is gone; inside a pid namespace
//! pids are the namespace's; without privileges the scan says why it is unavailable. Needs
//! root (CI=true: fails without it).

mod common;
#[path = "common/procs.rs"]
mod procs;

use portwatch::model::{InodeSet, OwnerMap, Wanted};
use portwatch::platform::linux::owners::{self, bpf};
use std::collections::{BTreeSet, HashSet};
use std::io::{BufRead, BufReader, IoSlice, IoSliceMut, Read, Write};
use std::net::TcpListener;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{mpsc, Mutex};

/// The job of a child run by this file's own tests (besides procs.rs's holder jobs).
const JOB: &str = "PORTWATCH_BPF_TEST_JOB";

/// Tests here look at this process's fd table; one at a time, so a thread with its own fd
/// table in one test is not an extra owner in another.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
#[ignore = "child process of the BPF owner tests"]
fn child_entry() {
    match std::env::var(JOB).as_deref() {
        Ok(job) => std::process::exit(child_job(job)),
        Err(_) => procs::child_main(),
    }
}

/// (inode, pid, fd, comm, uid) of one owner.
type Held = (u64, u32, u32, Vec<u8>, Option<u32>);

/// Every owner in `map` that is one of `pids`.
fn held_by(map: &OwnerMap, pids: &HashSet<u32>) -> BTreeSet<Held> {
    map.inodes()
        .flat_map(|i| map.get(i).into_iter().map(move |o| (i, o)))
        .filter(|(_, o)| pids.contains(&o.pid))
        .map(|(i, o)| (i, o.pid, o.fd, o.comm().as_bytes().to_vec(), o.uid()))
        .collect()
}

/// Root, and a BPF program that loads: else skipped (a failure under CI=true).
fn loaded() -> Option<bpf::OwnerIter> {
    if !procs::require(procs::is_root(), "the BPF owner tests need root") {
        return None;
    }
    match bpf::OwnerIter::load() {
        Ok(it) => Some(it),
        Err(e) => {
            procs::require(false, &format!("the BPF owner scan is unavailable: {e}"));
            None
        }
    }
}

/// The owners by one BPF walk of every process.
fn whole(iter: &mut bpf::OwnerIter, wanted: Wanted<'_>) -> OwnerMap {
    let scan = iter.scan_walking(wanted, bpf::Walk::Whole);
    scan.expect("BPF scan, one walk").owners
}

/// The owners by a BPF iterator per process, on threads (what a host with many files per
/// process gets); this kernel must be able to (Linux 6.1+).
fn by_process(iter: &mut bpf::OwnerIter, wanted: Wanted<'_>) -> OwnerMap {
    assert!(
        iter.per_process(),
        "this kernel cannot iterate one process's files"
    );
    let scan = iter.scan_walking(wanted, bpf::Walk::ByProcess);
    scan.expect("BPF scan by process").owners
}

fn inode_of(fd: &impl AsFd) -> u64 {
    nix::sys::stat::fstat(fd).map_or(0, |st| st.st_ino)
}

fn comm_of(pid: u32) -> Vec<u8> {
    let c = std::fs::read(format!("/proc/{pid}/comm")).unwrap_or_default();
    c.strip_suffix(b"\n").unwrap_or(&c).to_vec()
}

/// (inode, pid, fd, comm) of every owner `ss -p` prints for TCP and unix sockets, of `pids`.
fn ss_owners(pids: &HashSet<u32>) -> BTreeSet<(u64, u32, u32, Vec<u8>)> {
    let text = common::ss(&["-Hanpe", "-A", "tcp,unix"]);
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        // TCP rows say ino:N; unix rows print the inode after the local address.
        let inode = f
            .iter()
            .find_map(|w| w.strip_prefix("ino:"))
            .or_else(|| {
                f.first()
                    .filter(|n| n.starts_with("u_"))
                    .and(f.get(5).copied())
            })
            .and_then(|i| i.parse::<u64>().ok());
        let (Some(inode), Some(users)) = (inode, line.split_once("users:((")) else {
            continue;
        };
        // ("comm",pid=N,fd=M),("comm",pid=N,fd=M)
        for user in users.1.split("),(") {
            let Some((comm, rest)) = user.trim_start_matches('"').split_once("\",pid=") else {
                continue;
            };
            let mut nums = rest
                .split(|c: char| !c.is_ascii_digit())
                .filter(|s| !s.is_empty());
            let (Some(pid), Some(fd)) = (nums.next(), nums.next()) else {
                continue;
            };
            let (Ok(pid), Ok(fd)) = (pid.parse::<u32>(), fd.parse::<u32>()) else {
                continue;
            };
            if pids.contains(&pid) {
                out.insert((inode, pid, fd, comm.as_bytes().to_vec()));
            }
        }
    }
    out
}

/// A child of this file's own jobs: killed and reaped on drop, its `READY` line kept.
struct Kid {
    child: common::Child,
    ready: String,
}

fn start(job: &str, mut cmd: Command) -> Kid {
    cmd.env(JOB, job)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = common::Child(cmd.spawn().expect("spawn a child"));
    let out = child.0.stdout.take().expect("child stdout");
    let ready = BufReader::new(out)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("READY").map(|r| r.trim().to_string()));
    let ready = ready.unwrap_or_else(|| panic!("child {job:?} never got ready"));
    Kid { child, ready }
}

/// A line to the parent test, at once.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn child_job(job: &str) -> i32 {
    let mut words = job.split_whitespace();
    match (words.next(), words.next()) {
        (Some("recvfd"), Some(fd)) => recv_fd_and_hold(fd.parse().unwrap_or(-1)),
        (Some("pidns"), _) => pidns_compare(),
        (Some("unprivileged"), _) => {
            match bpf::scan(Wanted::All) {
                Ok(map) => say(&format!("RESULT ok {}", map.len())),
                Err(e @ bpf::Unavailable::NotPermitted) => {
                    say(&format!("RESULT not-permitted {e}"))
                }
                Err(e) => say(&format!("RESULT other {e}")),
            }
            0
        }
        _ => 3,
    }
}

/// Receive one fd over the unix socket at `sock` (SCM_RIGHTS), say its number, hold it
/// until stdin closes.
fn recv_fd_and_hold(sock: RawFd) -> i32 {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};
    let _ = std::fs::write("/proc/self/comm", "pw-recvfd");
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let Ok(msg) = recvmsg::<UnixAddr>(sock, &mut iov, Some(&mut space), MsgFlags::empty()) else {
        return 4;
    };
    let fds: Vec<RawFd> = msg
        .cmsgs()
        .into_iter()
        .flatten()
        .filter_map(|c| match c {
            ControlMessageOwned::ScmRights(fds) => Some(fds),
            _ => None,
        })
        .flatten()
        .collect();
    let Some(&fd) = fds.first() else { return 5 };
    // SAFETY: the fd was just received and is owned by nothing else in this process.
    let held = unsafe { OwnedFd::from_raw_fd(fd) };
    say(&format!("READY {}", held.as_raw_fd()));
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    0
}

/// Send `fd` over `sock` (SCM_RIGHTS).
fn send_fd(sock: &UnixStream, fd: RawFd) {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
    let fds = [fd];
    let iov = [IoSlice::new(b"x")];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<UnixAddr>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)
        .expect("sendmsg SCM_RIGHTS");
}

#[test]
fn bpf_owners_equal_proc_scan_and_ss() {
    let _serial = serial();
    let Some(mut iter) = loaded() else { return };
    let me = std::process::id();

    // Fork-shared: a listener inherited by `sleep`.
    let shared = TcpListener::bind("127.0.0.1:0").expect("bind");
    let sleeper = common::spawn_holding(shared.as_raw_fd());
    // Passed: a listener sent to an unrelated child over a unix socket.
    let passed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let (ours, theirs) = UnixStream::pair().expect("socketpair");
    let mut cmd = procs::child_command("");
    common::inherit_fd(&mut cmd, theirs.as_raw_fd());
    send_fd(&ours, passed.as_raw_fd());
    let receiver = start(&format!("recvfd {}", theirs.as_raw_fd()), cmd);
    // Unix sockets of this process: a connected pair and an abstract listener.
    let (pair_a, pair_b) = UnixStream::pair().expect("socketpair");
    // Many processes, each with a TCP and an abstract unix listener; names with a space and
    // one longer than the kernel keeps (15 bytes).
    let tag = format!("pw-bpf-{me}");
    let mut holders = Vec::new();
    for i in 0..8 {
        let comm = match i {
            0 => b"pw bpf space".to_vec(),
            1 => b"pw-bpf-longer-than-fifteen".to_vec(),
            _ => format!("pw-bpf-{i}").into_bytes(),
        };
        let spec = procs::Spec {
            comm: Some(comm),
            tcp: vec!["127.0.0.1:0".into()],
            unix: vec![format!("\0{tag}-{i}").into_bytes()],
        };
        holders.push(procs::hold(&spec, None));
    }
    // Another user's processes, when the test user exists: uids must agree too.
    let mut keep = Vec::new();
    if let Some(ids) = procs::user_ids("portwatch-test") {
        let exe = common::runnable(&std::env::current_exe().expect("test exe"), &mut keep);
        let spec = procs::Spec {
            comm: Some(b"pw-bpf-user".to_vec()),
            tcp: vec!["127.0.0.1:0".into()],
            unix: vec![format!("\0{tag}-user").into_bytes()],
        };
        holders.push(procs::hold_with_exe(&exe, &spec, Some(ids)));
    }

    let mut pids: HashSet<u32> = holders.iter().map(procs::Holder::pid).collect();
    pids.extend([me, sleeper.0.id(), receiver.child.0.id()]);
    // The sleeper holds the fd once it has exec'd; until then it is a copy of this test.
    for _ in 0..300 {
        if comm_of(sleeper.0.id()) == b"sleep" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }

    let by_bpf = held_by(&whole(&mut iter, Wanted::All), &pids);
    let by_proc = held_by(&owners::scan(Path::new("/proc"), Wanted::All), &pids);
    assert_eq!(by_bpf, by_proc, "BPF and /proc scans differ");
    let split = held_by(&by_process(&mut iter, Wanted::All), &pids);
    assert_eq!(
        split, by_bpf,
        "the BPF scan by process and by one walk differ"
    );
    // The default program walks each task's fd table itself; the per-file one (for kernels
    // before 5.17) is called by the kernel per file. Both find the same.
    assert!(
        iter.program().per_task(),
        "Linux 5.17+ takes a per-task program, not {:?}",
        iter.program()
    );
    // The per-task program of either kind (fd slots one by one, or 8 at a time with the
    // inode's fields in one read, which a big host gets) and the per-file one.
    for program in [
        bpf::Program::ByTask,
        bpf::Program::ByTaskChunked,
        bpf::Program::ByFile,
    ] {
        let mut other = bpf::OwnerIter::load_program(Some(program))
            .unwrap_or_else(|e| panic!("{program:?}: {e}"));
        assert_eq!(other.program(), program);
        let found = held_by(&whole(&mut other, Wanted::All), &pids);
        assert_eq!(found, by_bpf, "{program:?}");
        let found = held_by(&by_process(&mut other, Wanted::All), &pids);
        assert_eq!(found, by_bpf, "{program:?}, by process");
    }

    // The one-port query: the holders of a few listeners, found by their files' addresses
    // (every fd slot compared, no file read), equal a whole scan's.
    let listeners: InodeSet = [inode_of(&shared), inode_of(&passed)].into_iter().collect();
    let one_port = iter.scan_listeners(&listeners).expect("listener scan");
    let one_port = one_port.expect("two TCP listeners of this namespace: the shortcut applies");
    let of = |owners: &BTreeSet<Held>| -> BTreeSet<Held> {
        owners
            .iter()
            .filter(|h| listeners.contains(h.0))
            .cloned()
            .collect()
    };
    assert_eq!(
        of(&held_by(&one_port.owners, &pids)),
        of(&by_bpf),
        "listener shortcut"
    );
    assert_eq!(of(&by_bpf).len(), 4, "two holders each");
    // What is not a TCP listener here is left to the whole scan.
    let unix: InodeSet = [inode_of(&shared), inode_of(&pair_a)].into_iter().collect();
    assert!(iter.scan_listeners(&unix).expect("listener scan").is_none());
    let scan = iter.scan(Wanted::Some { inodes: &unix }).expect("scan");
    assert_eq!(
        scan.owners.get(inode_of(&pair_a)).len(),
        1,
        "found by the whole scan"
    );

    // What the test knows independently of both scans.
    let pid_fds = |inode: u64| -> Vec<(u32, u32)> {
        let mut v: Vec<(u32, u32)> = by_bpf
            .iter()
            .filter(|h| h.0 == inode)
            .map(|h| (h.1, h.2))
            .collect();
        v.sort_unstable();
        v
    };
    let fd = |s: &dyn AsRawFd| u32::try_from(s.as_raw_fd()).unwrap_or(u32::MAX);
    let mut want = vec![(me, fd(&shared)), (sleeper.0.id(), fd(&shared))];
    want.sort_unstable();
    assert_eq!(pid_fds(inode_of(&shared)), want, "fork-shared listener");
    let received: u32 = receiver.ready.parse().expect("received fd number");
    let mut want = vec![(me, fd(&passed)), (receiver.child.0.id(), received)];
    want.sort_unstable();
    assert_eq!(
        pid_fds(inode_of(&passed)),
        want,
        "listener passed over SCM_RIGHTS"
    );
    assert_eq!(pid_fds(inode_of(&pair_a)), [(me, fd(&pair_a))]);
    assert_eq!(pid_fds(inode_of(&pair_b)), [(me, fd(&pair_b))]);
    for h in &holders {
        let n = by_bpf.iter().filter(|o| o.1 == h.pid()).count();
        assert_eq!(n, 2, "holder {} has a TCP and a unix listener", h.pid());
    }
    let comms: BTreeSet<&[u8]> = by_bpf.iter().map(|h| h.3.as_slice()).collect();
    assert!(comms.contains(&b"pw bpf space"[..]), "{comms:?}");
    assert!(
        comms.contains(&b"pw-bpf-longer-t"[..]),
        "cut at 15 bytes: {comms:?}"
    );
    for h in &by_bpf {
        let status = std::fs::read_to_string(format!("/proc/{}/status", h.1)).unwrap_or_default();
        let uid = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|u| u.split_whitespace().next()?.parse().ok());
        assert_eq!(h.4, uid, "uid of {}", h.1);
    }

    let by_ss = ss_owners(&pids);
    let bpf_no_uid: BTreeSet<_> = by_bpf
        .iter()
        .map(|h| (h.0, h.1, h.2, h.3.clone()))
        .collect();
    assert_eq!(bpf_no_uid, by_ss, "BPF scan and ss -p differ");
    drop((pair_a, pair_b, ours, theirs, keep));
}

/// Stops the thread of `unshared_fd_table_thread_is_found` however the test ends.
struct StopThread(
    Option<mpsc::Sender<()>>,
    Option<std::thread::JoinHandle<()>>,
);

impl Drop for StopThread {
    fn drop(&mut self) {
        drop(self.0.take());
        if let Some(t) = self.1.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn unshared_fd_table_thread_is_found() {
    let _serial = serial();
    let Some(mut iter) = loaded() else { return };
    // Open before the unshare: in both tables, at the same fd.
    let copied = TcpListener::bind("127.0.0.1:0").expect("bind");
    let (tx, rx) = mpsc::channel();
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        // SAFETY: unshare takes no pointers; CLONE_FILES gives this thread a private copy of
        // the fd table and changes nothing for the other threads.
        if unsafe { libc::unshare(libc::CLONE_FILES) } != 0 {
            let _ = tx.send(Err(std::io::Error::last_os_error()));
            return;
        }
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        // SAFETY: gettid takes no arguments and cannot fail.
        let tid = unsafe { libc::gettid() };
        let _ = tx.send(Ok((l.as_raw_fd(), inode_of(&l), tid)));
        let _ = stopped.recv();
    });
    let _guard = StopThread(Some(stop), Some(thread));
    let (fd, inode, tid) = rx
        .recv()
        .expect("thread reply")
        .expect("unshare(CLONE_FILES)");
    let me = std::process::id();
    // The thread's own table has it; the process's (the leader's) does not.
    let link = std::fs::read_link(format!("/proc/{me}/task/{tid}/fd/{fd}")).expect("fd link");
    assert_eq!(link.to_string_lossy(), format!("socket:[{inode}]"));

    let copied_inode = inode_of(&copied);
    let wanted: InodeSet = [inode, copied_inode].into_iter().collect();
    let copied_fd = u32::try_from(copied.as_raw_fd()).unwrap_or(u32::MAX);
    let fd = u32::try_from(fd).unwrap_or(u32::MAX);
    for (walk, owners) in [
        (
            "one walk",
            whole(&mut iter, Wanted::Some { inodes: &wanted }),
        ),
        (
            "by process",
            by_process(&mut iter, Wanted::Some { inodes: &wanted }),
        ),
        (
            "listener shortcut",
            iter.scan_listeners(&wanted)
                .expect("listener scan")
                .expect("two TCP listeners: the shortcut applies")
                .owners,
        ),
    ] {
        let twice: Vec<(u32, u32)> = owners
            .get(copied_inode)
            .iter()
            .map(|o| (o.pid, o.fd))
            .collect();
        assert_eq!(
            twice,
            [(me, copied_fd)],
            "{walk}: a socket in both tables is listed once"
        );
        let found: Vec<(u32, u32, Vec<u8>)> = owners
            .get(inode)
            .iter()
            .map(|o| (o.pid, o.fd, o.comm().as_bytes().to_vec()))
            .collect();
        assert_eq!(
            found,
            [(me, fd, comm_of(me))],
            "{walk}: under the process id and name"
        );
    }
    let (mut flags, mut copies) = (Vec::new(), 0);
    iter.for_each_record(|r| {
        if r.inode == inode {
            flags.push(r.flags);
        }
        copies += usize::from(r.inode == copied_inode);
    })
    .expect("BPF iteration");
    assert_eq!(flags, [bpf::record::THREAD_FILES]);
    assert_eq!(copies, 2, "the kernel reports the copied table's fds too");
}

/// A process with more socket fds than one kernel write of the per-task program holds (about
/// 4,000): the program (of either per-task kind) cuts it short and the process is read again
/// by the per-file program, so every socket still has its owner, by either walk.
#[test]
fn a_process_with_thousands_of_sockets_is_read_whole() {
    let _serial = serial();
    let Some(iter) = loaded() else { return };
    assert!(iter.program().per_task(), "{:?}", iter.program());
    let want = 4200;
    common::allow_open_files(16_384);
    let pairs: Vec<(UnixStream, UnixStream)> = (0..want / 2)
        .map(|_| UnixStream::pair().expect("socketpair"))
        .collect();
    let mine: InodeSet = pairs
        .iter()
        .flat_map(|(a, b)| [inode_of(a), inode_of(b)])
        .collect();
    let me = std::process::id();
    for program in [bpf::Program::ByTask, bpf::Program::ByTaskChunked] {
        let mut iter = bpf::OwnerIter::load_program(Some(program))
            .unwrap_or_else(|e| panic!("{program:?}: {e}"));
        for (walk, owners) in [
            ("one walk", whole(&mut iter, Wanted::Some { inodes: &mine })),
            (
                "by process",
                by_process(&mut iter, Wanted::Some { inodes: &mine }),
            ),
        ] {
            let found = mine
                .iter()
                .filter(|&&i| owners.get(i).iter().any(|o| o.pid == me))
                .count();
            assert_eq!(
                found, want,
                "{program:?}, {walk}: sockets of this process with it as owner"
            );
            let twice = mine.iter().filter(|&&i| owners.get(i).len() > 1).count();
            assert_eq!(
                twice, 0,
                "{program:?}, {walk}: a socket read twice is listed once"
            );
        }
        // The scan says so (PORTWATCH_DEBUG names the per-file program's part).
        for walk in [bpf::Walk::Whole, bpf::Walk::ByProcess] {
            let scan = iter
                .scan_walking(Wanted::Some { inodes: &mine }, walk)
                .expect("BPF scan");
            assert!(scan.reread >= 1, "{program:?}, {walk:?}: no re-read said");
        }
    }
    drop(pairs);
}

/// An iterator limited to one process sees that process's sockets and no other's; one for a
/// process that has exited sees nothing and is no error.
#[test]
fn a_process_iterator_sees_that_process_only() {
    let _serial = serial();
    let Some(iter) = loaded() else { return };
    assert!(
        iter.per_process(),
        "this kernel cannot iterate one process's files"
    );
    let mine = TcpListener::bind("127.0.0.1:0").expect("bind");
    let shared = TcpListener::bind("127.0.0.1:0").expect("bind");
    let sleeper = common::spawn_holding(shared.as_raw_fd());
    for _ in 0..300 {
        if comm_of(sleeper.0.id()) == b"sleep" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let me = std::process::id();
    for (pid, has, lacks) in [
        (me, vec![inode_of(&mine), inode_of(&shared)], vec![]),
        (
            sleeper.0.id(),
            vec![inode_of(&shared)],
            vec![inode_of(&mine)],
        ),
    ] {
        let mut seen = Vec::new();
        let n = iter
            .for_each_record_of(pid, |r| seen.push((r.tgid, r.inode)))
            .expect("iterate one process");
        assert_eq!(n, seen.len());
        assert!(seen.iter().all(|&(t, _)| t == pid), "{pid}: {seen:?}");
        for inode in has {
            assert!(seen.iter().any(|&(_, i)| i == inode), "{pid} holds {inode}");
        }
        for inode in lacks {
            assert!(
                !seen.iter().any(|&(_, i)| i == inode),
                "{pid} lacks {inode}"
            );
        }
    }
    // A pid past pid_max: never a process.
    let none = iter.for_each_record_of(u32::MAX >> 1, |_| panic!("a record of no process"));
    assert_eq!(none.expect("iterate a process that is not there"), 0);
}

/// The one-port shortcut takes up to 16 listeners (a port on many addresses, or a
/// SO_REUSEPORT group): each compared address is patched in and finds its holder; one more
/// is left to the whole scan.
#[test]
fn the_listener_shortcut_takes_sixteen_listeners() {
    let _serial = serial();
    let Some(iter) = loaded() else { return };
    let me = std::process::id();
    let listeners: Vec<TcpListener> = (0..17)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    let sixteen: InodeSet = listeners[..16].iter().map(inode_of).collect();
    let scan = iter.scan_listeners(&sixteen).expect("listener scan");
    let owners = scan.expect("16 listeners: the shortcut applies").owners;
    for l in &listeners[..16] {
        let got: Vec<(u32, u32)> = owners
            .get(inode_of(l))
            .iter()
            .map(|o| (o.pid, o.fd))
            .collect();
        let fd = u32::try_from(l.as_raw_fd()).unwrap_or(u32::MAX);
        assert_eq!(got, [(me, fd)], "listener on fd {fd}");
    }
    let seventeen: InodeSet = listeners.iter().map(inode_of).collect();
    assert!(iter
        .scan_listeners(&seventeen)
        .expect("listener scan")
        .is_none());
}

/// An O_PATH fd of a unix socket's path is an S_IFSOCK inode of the file system, not a
/// socket: /proc shows its path, and neither scan may list it as a socket.
#[test]
fn o_path_fd_of_a_socket_file_is_not_a_socket() {
    let _serial = serial();
    let Some(mut iter) = loaded() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pw.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind unix");
    let o_path = nix::fcntl::open(
        &path,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .expect("open O_PATH");
    let fs_inode = inode_of(&o_path);
    let me = HashSet::from([std::process::id()]);
    let fd = u32::try_from(o_path.as_raw_fd()).unwrap_or(u32::MAX);
    let by_bpf = held_by(&iter.scan(Wanted::All).expect("BPF scan").owners, &me);
    let by_proc = held_by(&owners::scan(Path::new("/proc"), Wanted::All), &me);
    for (method, held) in [("bpf", &by_bpf), ("proc", &by_proc)] {
        assert!(
            !held.iter().any(|h| h.2 == fd || h.0 == fs_inode),
            "{method} lists the O_PATH fd {fd} (inode {fs_inode}) as a socket"
        );
        assert!(held.iter().any(|h| h.0 == inode_of(&listener)), "{method}");
    }
}

#[test]
fn start_time_is_proc_stat_field_22() {
    let _serial = serial();
    let Some(mut iter) = loaded() else { return };
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let wanted: InodeSet = [inode_of(&l)].into_iter().collect();
    let scan = iter
        .scan(Wanted::Some { inodes: &wanted })
        .expect("BPF scan");
    let me = std::process::id();
    let start_ns = scan.starts.get(me).expect("own start time");
    let stat = std::fs::read_to_string("/proc/self/stat").expect("stat");
    let after_comm = stat.rsplit_once(')').map(|s| s.1).unwrap_or_default();
    // Field 22 overall is the 20th after the comm (state is the 3rd field).
    let ticks: u64 = after_comm
        .split_whitespace()
        .nth(19)
        .and_then(|t| t.parse().ok())
        .expect("field 22");
    // SAFETY: sysconf only reads a configuration value.
    let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap_or(100);
    assert_eq!(start_ns / (1_000_000_000 / hz), ticks);
}

#[test]
fn churn_never_fails_and_leaves_no_dead_owner() {
    let _serial = serial();
    let Some(mut iter) = loaded() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let stable = procs::hold(
        &procs::Spec {
            comm: Some(b"pw-bpf-stable".to_vec()),
            tcp: vec!["127.0.0.1:0".into()],
            unix: vec![],
        },
        None,
    );
    let stable_pids = HashSet::from([stable.pid()]);
    let before = held_by(&owners::scan(Path::new("/proc"), Wanted::All), &stable_pids);
    assert_eq!(before.len(), 1, "the stable holder's listener: {before:?}");

    let done = std::sync::atomic::AtomicBool::new(false);
    let churned = std::thread::scope(|s| {
        let churner = s.spawn(|| {
            let mut pids = Vec::new();
            let job = format!("churn 127.0.0.1 {}", dir.path().display());
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let kids: Vec<common::Child> = (0..8)
                    .filter_map(|_| procs::child_command(&job).spawn().ok())
                    .map(common::Child)
                    .collect();
                pids.extend(kids.iter().map(|k| k.0.id()));
                for mut k in kids {
                    let _ = k.0.wait();
                }
            }
            pids
        });
        for i in 0..60 {
            // Both walks: by process, a process can exit between the listing of /proc and
            // its iterator.
            let walk = [bpf::Walk::Whole, bpf::Walk::ByProcess][i % 2];
            let scan = iter.scan_walking(Wanted::All, walk);
            let scan = scan.unwrap_or_else(|e| panic!("BPF scan ({walk:?}) under churn: {e}"));
            assert_eq!(held_by(&scan.owners, &stable_pids), before, "{walk:?}");
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        churner.join().unwrap_or_default()
    });
    assert!(!churned.is_empty(), "no churn happened");
    // Every churn process is reaped: none may own anything (unless its pid was reused).
    let maps = [
        whole(&mut iter, Wanted::All),
        by_process(&mut iter, Wanted::All),
    ];
    let dead: HashSet<u32> = churned
        .into_iter()
        .filter(|&p| !Path::new(&format!("/proc/{p}")).exists())
        .collect();
    for map in &maps {
        let ghosts = held_by(map, &dead);
        assert!(ghosts.is_empty(), "owners that exited: {ghosts:?}");
    }
}

/// In its own pid namespace (and /proc), a process is numbered as that namespace numbers it:
/// both scans give the same pid for its socket, and it is the one getpid returns.
fn pidns_compare() -> i32 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let inode = inode_of(&l);
    let wanted: InodeSet = [inode].into_iter().collect();
    let pids = |m: &OwnerMap| -> Vec<u32> { m.get(inode).iter().map(|o| o.pid).collect() };
    let by_proc = pids(&owners::scan(
        Path::new("/proc"),
        Wanted::Some { inodes: &wanted },
    ));
    let scan = |walk| {
        let mut iter = bpf::OwnerIter::load()?;
        iter.scan_walking(Wanted::Some { inodes: &wanted }, walk)
    };
    match (scan(bpf::Walk::Whole), scan(bpf::Walk::ByProcess)) {
        (Ok(whole), Ok(split)) => say(&format!(
            "RESULT me={} split={:?} bpf={:?} proc={by_proc:?}",
            std::process::id(),
            pids(&split.owners),
            pids(&whole.owners)
        )),
        (Err(e), _) | (_, Err(e)) => say(&format!("RESULT unavailable {e}")),
    }
    0
}

#[test]
fn pid_namespace_pids_are_the_namespaces() {
    let _serial = serial();
    if loaded().is_none() {
        return;
    }
    let exe = std::env::current_exe().expect("test exe");
    let out = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--"])
        .arg(exe)
        .args(["--exact", "child_entry", "--ignored", "--nocapture", "-q"])
        .env(JOB, "pidns")
        .output()
        .expect("unshare (util-linux) is required");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find_map(|l| l.strip_prefix("RESULT "));
    let line = line.unwrap_or_else(|| {
        panic!(
            "no result from the namespace: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let me = line
        .split_whitespace()
        .next()
        .and_then(|m| m.strip_prefix("me="));
    let me = me.unwrap_or_else(|| panic!("{line}"));
    assert_ne!(me, "", "{line}");
    assert!(
        line.ends_with(&format!("split=[{me}] bpf=[{me}] proc=[{me}]")),
        "pids as the namespace numbers them, by either walk: {line}"
    );
}

#[test]
fn unprivileged_run_is_unavailable_not_a_panic() {
    if !procs::require(procs::is_root(), "switching to the test user needs root") {
        return;
    }
    let ids = procs::user_ids("portwatch-test");
    if !procs::require(
        ids.is_some(),
        "user portwatch-test is missing (.ci/run creates it)",
    ) {
        return;
    }
    let Some((uid, gid)) = ids else { return };
    let mut keep = Vec::new();
    let exe = common::runnable(&std::env::current_exe().expect("test exe"), &mut keep);
    let mut cmd = procs::child_command_of(&exe, "");
    cmd.env(JOB, "unprivileged")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    std::os::unix::process::CommandExt::uid(&mut cmd, uid);
    std::os::unix::process::CommandExt::gid(&mut cmd, gid);
    let out = cmd.output().expect("run the test binary as portwatch-test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find_map(|l| l.strip_prefix("RESULT "));
    let line = line.unwrap_or_else(|| {
        panic!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    });
    assert!(
        line.starts_with("not-permitted not permitted: needs root"),
        "{line}"
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
