//! Tests of the BTF reader: blobs built here with the kernel's quirks (anonymous members,
//! typedefs of anonymous structs), bad and cut blobs, and this kernel's own BTF.

use super::*;
use proptest::prelude::*;

/// A BTF blob builder for tests: types as (name, kind, vlen, size_or_type, extra words).
#[derive(Default)]
struct Blob {
    types: Vec<u8>,
    strings: Vec<u8>,
    next: u32,
}

impl Blob {
    fn new() -> Blob {
        Blob {
            strings: vec![0],
            next: 1,
            ..Blob::default()
        }
    }

    fn name(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        off
    }

    fn ty(&mut self, name: &str, kind: u32, vlen: u32, third: u32, extra: &[u32]) -> u32 {
        let n = self.name(name);
        for w in [n, kind << 24 | vlen, third].iter().chain(extra) {
            self.types.extend_from_slice(&w.to_le_bytes());
        }
        self.next += 1;
        self.next - 1
    }

    fn strukt(&mut self, name: &str, size: u32, members: &[(&str, u32, u32)]) -> u32 {
        let mut extra = Vec::new();
        for &(m, ty, byte_off) in members {
            extra.extend([self.name(m), ty, byte_off * 8]);
        }
        self.ty(name, STRUCT, members.len() as u32, size, &extra)
    }

    fn bytes(&self) -> Vec<u8> {
        let mut b = Vec::new();
        for w in [0xeb9f_u32 | 1 << 16, 24, 0, self.types.len() as u32] {
            b.extend_from_slice(&w.to_le_bytes());
        }
        b.extend_from_slice(&(self.types.len() as u32).to_le_bytes());
        b.extend_from_slice(&(self.strings.len() as u32).to_le_bytes());
        b.extend_from_slice(&self.types);
        b.extend_from_slice(&self.strings);
        b
    }
}

/// The kernel's types, at made-up offsets, with the quirks: `comm` inside an anonymous
/// struct, `uid` a typedef of an anonymous struct, a forward declaration of `file`.
fn kernel_like() -> (Blob, u32) {
    kernel_like_with(8)
}

/// `kernel_like`, with an `i_ino` of `ino_size` bytes.
fn kernel_like_with(ino_size: u32) -> (Blob, u32) {
    kernel_like_full(ino_size, 0)
}

/// `kernel_like_with`, with `sock.__sk_common` at `common_at`.
fn kernel_like_full(ino_size: u32, common_at: u32) -> (Blob, u32) {
    kernel_like_opts(ino_size, common_at, false)
}

/// `kernel_like_full`, with the TCP glimpse's fields when `glimpse`.
fn kernel_like_opts(ino_size: u32, common_at: u32, glimpse: bool) -> (Blob, u32) {
    kernel_like_feed(ino_size, common_at, glimpse, false)
}

/// `kernel_like_opts`, with the state feed's fields too when `feed` (and `glimpse`).
fn kernel_like_feed(ino_size: u32, common_at: u32, glimpse: bool, feed: bool) -> (Blob, u32) {
    let mut b = Blob::new();
    let u16t = b.ty("unsigned short", INT, 0, 2, &[16]);
    let u32t = b.ty("unsigned int", INT, 0, 4, &[32]);
    let u64t = b.ty("long long unsigned int", INT, 0, 8, &[64]);
    let chr = b.ty("char", INT, 0, 1, &[8]);
    let ptr = b.ty("", PTR, 0, 0, &[]);
    let comm = b.ty("", ARRAY, 0, 0, &[chr, u32t, 16]);
    b.ty("file", FWD, 0, 0, &[]);
    b.strukt(
        "bpf_iter_meta",
        24,
        &[("seq", ptr, 0), ("session_id", u64t, 8)],
    );
    let anon = b.strukt("", 24, &[("comm", comm, 8)]);
    b.strukt(
        "task_struct",
        4096,
        &[
            ("group_leader", ptr, 1000),
            ("thread_pid", ptr, 1008),
            ("start_boottime", u64t, 1400),
            ("real_cred", ptr, 1800),
            ("", anon, 1816),
            ("files", ptr, 1900),
        ],
    );
    b.strukt("files_struct", 704, &[("count", u32t, 0), ("fdt", ptr, 32)]);
    b.strukt("fdtable", 56, &[("max_fds", u32t, 0), ("fd", ptr, 8)]);
    b.strukt("seq_file", 120, &[("buf", ptr, 0), ("count", u64t, 24)]);
    let kuid_anon = b.strukt("", 4, &[("val", u32t, 0)]);
    let kuid = b.ty("kuid_t", TYPEDEF, 0, kuid_anon, &[]);
    b.strukt("cred", 176, &[("usage", u64t, 0), ("uid", kuid, 8)]);
    let upid = b.strukt("upid", 16, &[("nr", u32t, 0), ("ns", ptr, 8)]);
    let numbers = b.ty("", ARRAY, 0, 0, &[upid, u32t, 0]);
    b.strukt("pid", 160, &[("level", u32t, 4), ("numbers", numbers, 144)]);
    b.strukt("file", 232, &[("f_inode", ptr, 32)]);
    let ino = if ino_size == 8 { u64t } else { u32t };
    b.strukt(
        "inode",
        600,
        &[("i_mode", u16t, 0), ("i_sb", ptr, 40), ("i_ino", ino, 64)],
    );
    b.strukt("super_block", 1000, &[("s_magic", u64t, 96)]);
    sockets(&mut b, common_at, glimpse, feed);
    let proto = b.ty("", FUNC_PROTO, 0, 0, &[]);
    let func = b.ty("bpf_iter_task_file", FUNC, 0, proto, &[]);
    (b, func)
}

/// `sock_common`, and a `sock` with it at `common_at` (0 in every kernel); with the
/// glimpse's fields, and the feed's (`possible_net_t` a typedef of an anonymous struct, as
/// in the kernel).
fn sockets(b: &mut Blob, common_at: u32, glimpse: bool, feed: bool) {
    let u8t = b.ty("unsigned char", INT, 0, 1, &[8]);
    let volatile = b.ty("", VOLATILE, 0, u8t, &[]);
    let ptr = b.ty("", PTR, 0, 0, &[]);
    if !glimpse {
        let common = b.strukt("sock_common", 136, &[("skc_state", volatile, 18)]);
        b.strukt(
            "sock",
            784,
            &[("__sk_common", common, common_at), ("sk_socket", ptr, 288)],
        );
        b.strukt("socket", 128, &[("file", ptr, 16)]);
        return;
    }
    let u16t = b.ty("short unsigned int", INT, 0, 2, &[16]);
    let u32t = b.ty("unsigned int", INT, 0, 4, &[32]);
    let in6 = b.strukt("in6_addr", 16, &[("s6_addr32", u32t, 0)]);
    let net_anon = b.strukt("", 8, &[("net", ptr, 0)]);
    let possible = b.ty("possible_net_t", TYPEDEF, 0, net_anon, &[]);
    if feed {
        let ns = b.strukt("ns_common", 80, &[("ns_type", u32t, 0), ("inum", u32t, 24)]);
        b.strukt("net", 4288, &[("passive", u32t, 0), ("ns", ns, 120)]);
    }
    // skc_daddr and skc_rcv_saddr sit in an anonymous struct (of an anonymous union).
    let pair = b.strukt("", 8, &[("skc_daddr", u32t, 0), ("skc_rcv_saddr", u32t, 4)]);
    let common = b.strukt(
        "sock_common",
        136,
        &[
            ("", pair, 0),
            ("skc_dport", u16t, 12),
            ("skc_num", u16t, 14),
            ("skc_family", u16t, 16),
            ("skc_state", volatile, 18),
            ("skc_bound_dev_if", u32t, 20),
            ("skc_v6_daddr", in6, 56),
            ("skc_v6_rcv_saddr", in6, 72),
            ("skc_net", possible, 48),
        ],
    );
    b.strukt(
        "sock",
        784,
        &[
            ("__sk_common", common, common_at),
            ("sk_ack_backlog", u32t, 276),
            ("sk_max_ack_backlog", u32t, 280),
            ("sk_socket", ptr, 288),
            ("sk_protocol", u16t, 300),
        ],
    );
    b.strukt("socket", 128, &[("file", ptr, 16)]);
    b.strukt(
        "tcp_sock",
        2300,
        &[
            ("copied_seq", u32t, 1500),
            ("rcv_nxt", u32t, 1504),
            ("snd_una", u32t, 1600),
            ("write_seq", u32t, 1604),
        ],
    );
}

/// A `bpf_iter_link_info` union with the given members (each a 4-byte struct here).
fn link_info(b: &mut Blob, members: &[&str]) {
    let u32t = b.ty("unsigned int", INT, 0, 4, &[32]);
    let mut extra = Vec::new();
    for m in members {
        let inner = b.strukt("", 4, &[("x", u32t, 0)]);
        extra.extend([b.name(m), inner, 0]);
    }
    b.ty(
        "bpf_iter_link_info",
        UNION,
        members.len() as u32,
        16,
        &extra,
    );
}

#[test]
fn per_process_iterators_only_where_the_link_info_has_a_task_member() {
    let (b, _) = kernel_like();
    assert!(!layout(&b.bytes()).expect("layout").per_process, "no union");
    let (mut b, _) = kernel_like();
    link_info(&mut b, &["map"]);
    assert!(
        !layout(&b.bytes()).expect("layout").per_process,
        "5.x: map only"
    );
    let (mut b, _) = kernel_like();
    link_info(&mut b, &["map", "cgroup", "task"]);
    assert!(layout(&b.bytes()).expect("layout").per_process, "6.1+");
}

#[test]
fn offsets_of_a_kernel_like_blob() {
    let (mut b, func) = kernel_like();
    let l = layout(&b.bytes()).expect("layout");
    assert_eq!(l.iter_func, func);
    assert_eq!(
        l.task_func, None,
        "no bpf_iter_task: the per-file program only"
    );
    assert_eq!(
        l.offsets,
        [
            0, 1000, 1008, 1400, 1800, 1824, 8, 4, 144, 0, 32, 0, 64, 40, 96, 1900, 32, 0, 8, 24,
            18, 288, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16
        ]
    );
    assert!(
        !l.glimpse,
        "no glimpse fields: no glimpse, the rest as before"
    );
    assert_eq!(l.tcp_func, None, "no bpf_iter_tcp: no one-port shortcut");
    let proto = b.ty("", FUNC_PROTO, 0, 0, &[]);
    let task = b.ty("bpf_iter_task", FUNC, 0, proto, &[]);
    let tcp = b.ty("bpf_iter_tcp", FUNC, 0, proto, &[]);
    let l = layout(&b.bytes()).expect("layout");
    assert_eq!(l.task_func, Some(task));
    assert_eq!(l.tcp_func, Some(tcp));
}

#[test]
fn a_sock_must_start_with_its_sock_common() {
    // The TCP program reads `sock.sk_socket` from the iterator's `sock_common` pointer.
    let (b, _) = kernel_like_full(8, 8);
    let err = layout(&b.bytes()).expect_err("__sk_common at 8");
    assert_eq!(err.to_string(), "sock.__sk_common is not at offset 0");
}

#[test]
fn what_is_missing_is_named() {
    let mut b = Blob::new();
    let u32t = b.ty("unsigned int", INT, 0, 4, &[32]);
    b.strukt("task_struct", 8, &[("pid", u32t, 0)]);
    assert_eq!(layout(&b.bytes()), Err(BtfError::NoIterator));
    let proto = b.ty("", FUNC_PROTO, 0, 0, &[]);
    b.ty("bpf_iter_task_file", FUNC, 0, proto, &[]);
    let err = layout(&b.bytes()).expect_err("no bpf_iter_meta");
    assert_eq!(err.to_string(), "no struct bpf_iter_meta in BTF");
    let mut bad = b.bytes();
    bad[0] = 0;
    assert!(matches!(layout(&bad), Err(BtfError::Malformed(_))));
    b.ty("x", 31, 0, 0, &[]);
    assert_eq!(layout(&b.bytes()), Err(BtfError::UnknownKind(31)));
}

#[test]
fn wrong_field_size_is_refused() {
    let (b, _) = kernel_like_with(4);
    let err = layout(&b.bytes()).expect_err("a 4-byte i_ino");
    assert_eq!(err.to_string(), "inode.i_ino is not 8 bytes");
}

#[test]
fn the_inode_window_holds_the_fields_or_is_refused() {
    let (b, _) = kernel_like();
    let mut offsets = layout(&b.bytes()).expect("layout").offsets;
    assert!(inode_window_fits(&offsets));
    let ino = FIELDS
        .iter()
        .position(|f| f.strukt == "inode" && f.path == ["i_ino"])
        .expect("i_ino is read");
    offsets[ino] = INODE_WINDOW - 8;
    assert!(inode_window_fits(&offsets), "the last 8 bytes are inside");
    offsets[ino] = INODE_WINDOW - 4;
    assert!(
        !inode_window_fits(&offsets),
        "an i_ino running past the window"
    );
    offsets[ino] = u32::MAX - 2;
    assert!(!inode_window_fits(&offsets), "no overflow");
}

#[test]
fn this_kernels_btf() {
    let Ok(blob) = KernelBtf::open("/sys/kernel/btf/vmlinux") else {
        return; // no BTF here: the live tests say so under CI
    };
    let l = layout(blob.bytes()).expect("layout of this kernel");
    let read = std::fs::read("/sys/kernel/btf/vmlinux").expect("read BTF");
    assert_eq!(blob.bytes(), &read[..], "mapped or read, the same bytes");
    assert!(l.iter_func > 0);
    assert!(l.task_func.is_some(), "Linux 5.8+ has bpf_iter_task");
    assert!(l.tcp_func.is_some(), "Linux 5.9+ has bpf_iter_tcp");
    assert!(l.glimpse);
    assert!(
        l.state_tracepoint.is_some(),
        "Linux 5.6+ has the tracepoint's typedef and a u16 sk_protocol"
    );
    assert_eq!(l.offsets[FIELDS.len()], 16, "struct upid on 64-bit");
    assert_eq!(l.offsets[0], 0, "bpf_iter_meta.seq comes first");
    assert!(
        inode_window_fits(&l.offsets),
        "the chunked walk's window fits here"
    );
}

proptest! {
    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = layout(&bytes);
    }

    #[test]
    fn a_cut_blob_never_panics(cut in 0usize..2000) {
        let (b, _) = kernel_like();
        let bytes = b.bytes();
        let _ = layout(bytes.get(..cut.min(bytes.len())).unwrap_or_default());
    }
}

#[test]
fn the_glimpse_fields_are_found_through_anonymous_members() {
    let (b, _) = kernel_like_opts(8, 0, true);
    let l = layout(&b.bytes()).expect("layout");
    assert!(l.glimpse);
    // After the 23 owner fields, in owners.bpf.c's order.
    assert_eq!(
        &l.offsets[23..37],
        &[16, 14, 12, 20, 0, 4, 56, 72, 276, 280, 1504, 1500, 1604, 1600]
    );
}

#[test]
fn the_feed_needs_its_tracepoint_its_fields_and_the_glimpses() {
    let typedef = |b: &mut Blob| {
        let proto = b.ty("", FUNC_PROTO, 0, 0, &[]);
        let ptr = b.ty("", PTR, 0, proto, &[]);
        b.ty("btf_trace_inet_sock_set_state", TYPEDEF, 0, ptr, &[])
    };
    let (mut b, _) = kernel_like_feed(8, 0, true, true);
    let l = layout(&b.bytes()).expect("layout");
    assert_eq!(l.state_tracepoint, None, "no tracepoint typedef: no feed");
    assert!(l.glimpse, "the glimpse does not need the tracepoint");
    let id = typedef(&mut b);
    let l = layout(&b.bytes()).expect("layout");
    assert_eq!(l.state_tracepoint, Some(id));
    // sk_protocol, skc_net.net, net.ns.inum: after the glimpse's fields.
    assert_eq!(&l.offsets[37..40], &[300, 48, 144]);
    // Without `struct net`'s namespace: a glimpse, no feed.
    let (mut b, _) = kernel_like_feed(8, 0, true, false);
    typedef(&mut b);
    let l = layout(&b.bytes()).expect("layout");
    assert!(l.glimpse);
    assert_eq!(l.state_tracepoint, None);
    // Without the glimpse's fields (the blob then has none of the feed's either): no feed.
    let (mut b, _) = kernel_like_feed(8, 0, false, true);
    typedef(&mut b);
    assert_eq!(layout(&b.bytes()).expect("layout").state_tracepoint, None);
}
