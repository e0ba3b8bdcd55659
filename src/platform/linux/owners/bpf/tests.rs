//! Tests of the BPF owner scan's user-space side: records into the owner table, the
//! reasons for being unavailable, the attach point, the embedded object.

use super::*;
use crate::model::OwnerMethod;

fn rec(inode: u64, tgid: u32, fd: u32, comm: &[u8]) -> Record {
    let mut c = [0u8; 16];
    c[..comm.len()].copy_from_slice(comm);
    Record {
        inode,
        start_boottime: u64::from(tgid) * 1000,
        tgid,
        fd,
        uid: 1000,
        flags: 0,
        comm: c,
    }
}

#[test]
fn records_become_the_proc_scans_owner_table() {
    let mut f = Found::new(None);
    for r in [
        rec(900, 20, 4, b"nginx"),
        rec(901, 20, 5, b"nginx"),
        rec(900, 10, 4, b"nginx"),
        // A thread's copied fd table: the same socket at the same fd again.
        rec(900, 20, 4, b"nginx"),
        rec(902, 30, 3, b"sshd"),
    ] {
        f.add(&r);
    }
    let scan = f.finish(5);
    let map = &scan.owners;
    let pids: Vec<(u32, u32)> = map.get(900).iter().map(|o| (o.pid, o.fd)).collect();
    assert_eq!(
        pids,
        [(10, 4), (20, 4)],
        "sorted by pid, the duplicate gone"
    );
    assert_eq!(map.get(902)[0].comm().as_bytes(), b"sshd");
    assert_eq!(map.get(902)[0].uid(), Some(1000));
    assert!(!map.partial && map.denied_pids == 0);
    assert!(map.privileged && map.method == OwnerMethod::Bpf);
    assert_eq!(scan.starts.get(20), Some(20_000));
    assert_eq!(scan.starts.get(21), None);
    assert_eq!(scan.starts.len(), 3);
    assert_eq!(scan.records, 5);
}

#[test]
fn only_wanted_inodes_are_kept() {
    let wanted: InodeSet = [901].into_iter().collect();
    let mut f = Found::new(Some(&wanted));
    f.add(&rec(900, 20, 4, b"a"));
    f.add(&rec(901, 20, 5, b"a"));
    let scan = f.finish(2);
    assert_eq!(scan.owners.inodes().collect::<Vec<_>>(), [901]);
}

#[test]
fn one_name_per_process() {
    let mut f = Found::new(None);
    f.add(&rec(900, 20, 4, b"a"));
    f.add(&rec(901, 20, 5, b"a"));
    let scan = f.finish(2);
    let (a, b) = (scan.owners.get(900), scan.owners.get(901));
    assert!(std::ptr::eq(a[0].comm().as_bytes(), b[0].comm().as_bytes()));
}

#[test]
fn a_verifier_rejection_is_not_a_missing_privilege() {
    let load_error = |errno: i32, log: &str| loader::LoadError::Syscall {
        what: "BPF_PROG_LOAD",
        error: io::Error::from_raw_os_error(errno),
        log: log.into(),
    };
    if locked_down() {
        return; // every load error reads as lockdown there
    }
    let log = "1: (79) r2 = *(u64 *)(r1 +8) | R2 invalid mem access 'scalar'";
    match from_load_error(load_error(libc::EACCES, log)) {
        Unavailable::Load(why) => assert!(why.contains("invalid mem access"), "{why}"),
        other => panic!("EACCES from the verifier: {other:?}"),
    }
    let e = from_load_error(load_error(libc::EPERM, ""));
    assert!(matches!(e, Unavailable::NotPermitted), "{e:?}");
}

#[test]
fn open_files_from_file_nr() {
    assert_eq!(open_files("202879\t0\t2466170\n"), Some(202_879));
    assert_eq!(open_files(""), None);
    assert_eq!(open_files("x 0 1"), None);
    let live = std::fs::read_to_string("/proc/sys/fs/file-nr").unwrap_or_default();
    assert!(open_files(&live).is_some_and(|n| n > 0), "{live:?}");
}

#[test]
fn embedded_object_is_a_bpf_elf() {
    assert_eq!(OBJECT.get(..4), Some(&b"\x7fELF"[..]));
    // e_machine EM_BPF (247), little-endian.
    assert_eq!(OBJECT.get(18..20), Some(&[247u8, 0][..]));
}
