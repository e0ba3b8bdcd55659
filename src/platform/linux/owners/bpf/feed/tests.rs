//! Tests of the state feed's user-space side: records into state changes, and the ring
//! reader on a fake ring laid out as the kernel lays one out (records that wrap past the
//! end, records still being written, discarded ones).

use super::*;
use crate::model::{Family, State};
use std::net::IpAddr;

/// A record as `tcp_state_change` writes it.
fn rec(cookie: u64, old: u8, new: u8, family: u8, ends: (&str, u16, &str, u16)) -> Vec<u8> {
    let mut r = vec![0u8; RECORD_SIZE];
    r[..8].copy_from_slice(&cookie.to_ne_bytes());
    r[8..12].copy_from_slice(&3u32.to_ne_bytes());
    r[12..14].copy_from_slice(&ends.1.to_ne_bytes());
    r[14..16].copy_from_slice(&ends.3.to_be_bytes());
    r[16] = old;
    r[17] = new;
    r[18] = family;
    r[19] = 1;
    for (at, a) in [(24, ends.0), (40, ends.2)] {
        match a.parse::<IpAddr>().expect("address") {
            IpAddr::V4(v4) => r[at..at + 4].copy_from_slice(&v4.octets()),
            IpAddr::V6(v6) => r[at..at + 16].copy_from_slice(&v6.octets()),
        }
    }
    r
}

fn v4(cookie: u64) -> Vec<u8> {
    rec(cookie, 2, 1, 2, ("127.0.0.1", 40000, "127.0.0.2", 8080))
}

#[test]
fn a_record_reads_as_the_glimpse_reports_the_socket() {
    let c = parse(&v4(77)).expect("parsed");
    assert_eq!(c.old, State::SYN_SENT);
    assert_eq!(c.now.state, State::ESTABLISHED);
    assert_eq!(c.now.cookie.get(), 77);
    assert_eq!(c.now.family, Family::Ipv4);
    assert_eq!(c.now.local, ("127.0.0.1".parse().unwrap(), 40000));
    assert_eq!(c.now.remote, ("127.0.0.2".parse().unwrap(), 8080));
    assert_eq!((c.now.iface, c.now.held), (3, true));
    assert_eq!((c.now.recv_q, c.now.send_q), (0, 0));
    // An IPv6 socket's v4-mapped connection stays IPv6, as the glimpse and sock_diag say.
    let m = parse(&rec(5, 10, 12, 10, ("::ffff:127.0.0.1", 1, "::1", 2))).expect("parsed");
    assert_eq!(m.now.family, Family::Ipv6);
    assert_eq!(m.now.local.0, "::ffff:127.0.0.1".parse::<IpAddr>().unwrap());
    assert_eq!(m.now.remote, ("::1".parse().unwrap(), 2));
    assert_eq!(m.old, State::LISTEN);
    assert_eq!(
        m.now.state,
        State::SYN_RECV,
        "NEW_SYN_RECV reads as sock_diag's SYN-RECV"
    );
    // No cookie, another family, another size: not a change.
    assert_eq!(parse(&rec(0, 1, 2, 2, ("1.1.1.1", 1, "1.1.1.1", 1))), None);
    assert_eq!(parse(&rec(1, 1, 2, 1, ("1.1.1.1", 1, "1.1.1.1", 1))), None);
    assert_eq!(parse(&v4(1)[..RECORD_SIZE - 1]), None);
    let mut long = v4(1);
    long.push(0);
    assert_eq!(parse(&long), None);
}

/// A ring of `size` data bytes as user space sees it: the data twice in a row (the kernel's
/// double mapping), the positions, and the writer's side.
struct Fake {
    consumer: AtomicU64,
    producer: AtomicU64,
    bytes: Vec<u8>,
    data: Vec<AtomicU32>,
}

impl Fake {
    fn new(size: usize) -> Fake {
        Fake {
            consumer: AtomicU64::new(0),
            producer: AtomicU64::new(0),
            bytes: vec![0xee; size],
            data: (0..2 * size / 4).map(|_| AtomicU32::new(0)).collect(),
        }
    }

    /// Write `b` at ring position `pos` (wrapping), and mirror it into both halves.
    fn put(&mut self, pos: u64, b: &[u8]) {
        let size = self.bytes.len();
        for (i, &x) in b.iter().enumerate() {
            self.bytes[(pos as usize + i) % size] = x;
        }
        for (k, w) in self.data.iter().enumerate() {
            let at = (4 * k) % size;
            let word = [0, 1, 2, 3].map(|j| self.bytes[at + j]);
            w.store(u32::from_ne_bytes(word), Ordering::Relaxed);
        }
    }

    /// A record at `pos` with header flags `flags`; the producer moves past it. Returns the
    /// next record's position.
    fn record(&mut self, pos: u64, body: &[u8], flags: u32) -> u64 {
        let mut head = (body.len() as u32 | flags).to_ne_bytes().to_vec();
        head.extend_from_slice(&[0; 4]);
        self.put(pos, &head);
        self.put(pos + HEADER, body);
        let next = (pos + HEADER + body.len() as u64 + 7) & !7;
        self.producer.store(next, Ordering::Relaxed);
        next
    }

    fn commit(&mut self, pos: u64, body: &[u8]) {
        let head = (body.len() as u32).to_ne_bytes();
        self.put(pos, &head);
    }

    fn view(&self) -> RingView<'_> {
        RingView {
            consumer: &self.consumer,
            producer: &self.producer,
            data: &self.data,
        }
    }

    fn cookies(&self) -> Vec<u64> {
        let mut out = Vec::new();
        self.view()
            .drain(|r| out.extend(parse(r).map(|c| c.now.cookie.get())));
        out
    }
}

#[test]
fn records_are_read_in_order_and_the_consumer_follows() {
    let mut f = Fake::new(256);
    assert_eq!(f.cookies(), Vec::<u64>::new(), "an empty ring");
    let mut at = 0;
    for c in 1..=3 {
        at = f.record(at, &v4(c), 0);
    }
    assert_eq!(f.cookies(), [1, 2, 3]);
    assert_eq!(f.consumer.load(Ordering::Relaxed), 192, "64 bytes a record");
    assert_eq!(f.cookies(), Vec::<u64>::new(), "read once");
}

#[test]
fn a_record_past_the_end_of_the_data_is_whole_through_the_second_mapping() {
    let mut f = Fake::new(256);
    f.consumer.store(192, Ordering::Relaxed);
    // A discarded 20-byte record: skipped, and 8-byte alignment puts the next at 224.
    let next = f.record(192, &[0xaa; 20], DISCARD);
    assert_eq!(next, 224);
    // Header at 224..232, body 232..288: past the end of the 256 data bytes.
    let end = f.record(next, &v4(9), 0);
    assert_eq!(f.cookies(), [9]);
    assert_eq!(f.consumer.load(Ordering::Relaxed), end);
    assert_eq!(end, 288);
    let again = f.record(end, &v4(10), 0);
    assert_eq!(f.cookies(), [10], "positions keep counting past the size");
    assert_eq!(f.consumer.load(Ordering::Relaxed), again);
}

#[test]
fn a_record_being_written_holds_back_those_after_it() {
    let mut f = Fake::new(512);
    let first = f.record(0, &v4(1), 0);
    let busy = f.record(first, &v4(2), BUSY);
    let _ = f.record(busy, &v4(3), 0);
    assert_eq!(f.cookies(), [1], "stops at the busy one");
    assert_eq!(f.consumer.load(Ordering::Relaxed), first);
    f.commit(first, &v4(2));
    assert_eq!(f.cookies(), [2, 3]);
    // Written but not yet published by the producer position: not read.
    let end = f.producer.load(Ordering::Relaxed);
    f.record(end, &v4(4), 0);
    f.producer.store(end, Ordering::Relaxed);
    assert_eq!(f.cookies(), Vec::<u64>::new());
}

#[test]
fn a_header_larger_than_the_ring_stops_the_read() {
    let mut f = Fake::new(256);
    f.record(0, &v4(1), 0);
    f.put(0, &(300u32).to_ne_bytes());
    f.producer.store(512, Ordering::Relaxed);
    assert_eq!(f.cookies(), Vec::<u64>::new());
    assert_eq!(f.consumer.load(Ordering::Relaxed), 0);
}

#[test]
fn a_ring_grows_fourfold_to_its_largest_and_no_further() {
    assert_eq!(grown(4096), Some(16384));
    assert_eq!(grown(RING_START_BYTES), Some(4 << 20));
    assert_eq!(grown(4 << 20), Some(RING_MAX_BYTES), "capped, not 16 MiB");
    assert_eq!(grown(RING_MAX_BYTES), None);
    assert!(RING_START_BYTES.is_power_of_two() && RING_MAX_BYTES.is_power_of_two());
}
