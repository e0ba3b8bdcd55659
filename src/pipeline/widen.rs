//! Turn a vector into one of bigger elements inside its own allocation: sockets into rows
//! without holding both tables at once.
//!
//! A 100k-socket listing reads ~10 MiB of sockets and makes ~16 MiB of rows from them. Copied
//! into a new vector, both are in memory together for a while (the rows' pages are faulted in
//! 2 MiB at a time, the sockets' given back a step behind), and that overlap was the peak RSS
//! of `-antp`. Here the sockets' buffer is grown to the rows' size (for a mapped block, an
//! `mremap` that copies nothing) and filled from the back: row i lies at or after socket i, so
//! writing it only covers sockets that were already taken.

use std::alloc::{self, Layout};
use std::mem::{self, ManuallyDrop};

/// `f` of every element of `v`, in order, in `v`'s allocation resized to exactly `v.len()`
/// elements of `B`; `advise` sees the new vector (empty, with its capacity) before it is
/// filled. `B` must be at least as large as `A`, with the same alignment (checked when built).
pub(super) fn widen<A, B>(
    v: Vec<A>,
    mut f: impl FnMut(A) -> B,
    advise: impl FnOnce(&mut Vec<B>),
) -> Vec<B> {
    const {
        assert!(mem::align_of::<A>() == mem::align_of::<B>());
        assert!(0 < mem::size_of::<A>() && mem::size_of::<A>() <= mem::size_of::<B>());
    }
    let n = v.len();
    if n == 0 {
        return Vec::new();
    }
    let Ok(new) = Layout::array::<B>(n) else {
        // More bytes than an allocation may have: make the vector the ordinary way, which
        // reports it as Vec does.
        return v.into_iter().map(f).collect();
    };
    let mut v = ManuallyDrop::new(v);
    let (ptr, cap) = (v.as_mut_ptr(), v.capacity());
    let old = Layout::array::<A>(cap).expect("a vector's buffer has a layout");
    // SAFETY: `ptr` is the buffer of a non-empty Vec<A> (capacity > 0, A not zero-sized), so
    // the global allocator gave it with layout `old`; `new` has the same alignment and a
    // non-zero size that does not overflow isize (`Layout::array` checked). `v` is never
    // dropped, so nothing else frees or uses the old pointer.
    let raw = unsafe { alloc::realloc(ptr.cast(), old, new.size()) };
    if raw.is_null() {
        alloc::handle_alloc_error(new);
    }
    // SAFETY: `raw` is a global-allocator block of layout `new`: a Vec<B> buffer of capacity
    // n. Length 0, so if `f` panics the vector frees the block and drops nothing (the elements
    // not yet moved are leaked, which is safe).
    let mut out = unsafe { Vec::from_raw_parts(raw.cast::<B>(), 0, n) };
    advise(&mut out);
    let (src, dst) = (raw.cast::<A>().cast_const(), out.as_mut_ptr());
    for i in (0..n).rev() {
        // SAFETY: realloc kept the first n A's (n * size_of A <= both sizes). A_i spans bytes
        // [i*a, (i+1)*a); the B's written so far, j > i, start at (i+1)*b >= (i+1)*a, so A_i is
        // intact and read (moved out) exactly once, before B_i is written over its bytes.
        unsafe {
            let a = src.add(i).read();
            dst.add(i).write(f(a));
        }
    }
    // SAFETY: all n elements were written above.
    unsafe { out.set_len(n) };
    out
}

#[cfg(test)]
mod tests {
    use super::widen;
    use std::sync::Arc;

    /// Bigger than its source, same alignment, with owned data in it (a double drop or a lost
    /// element shows in the Arc's count).
    #[derive(Debug, PartialEq)]
    struct Wide {
        n: u64,
        name: Arc<str>,
        more: [u64; 3],
    }

    #[test]
    fn keeps_order_and_every_element() {
        let shared: Arc<str> = "s".into();
        for len in [0usize, 1, 2, 3, 7, 1000] {
            let mut v: Vec<(u64, Arc<str>)> = Vec::with_capacity(len * 2 + 1);
            v.extend((0..len as u64).map(|i| (i, Arc::clone(&shared))));
            let mut advised = None;
            let out = widen(
                v,
                |(n, name)| Wide {
                    n,
                    name,
                    more: [n; 3],
                },
                |w: &mut Vec<Wide>| advised = Some((w.len(), w.capacity())),
            );
            assert_eq!(out.len(), len);
            assert!(out
                .iter()
                .enumerate()
                .all(|(i, w)| w.n == i as u64 && w.more == [w.n; 3]));
            assert_eq!(Arc::strong_count(&shared), len + 1);
            if len > 0 {
                assert_eq!(advised, Some((0, len)));
                assert_eq!(out.capacity(), len);
            }
            drop(out);
            assert_eq!(Arc::strong_count(&shared), 1);
        }
    }

    #[test]
    fn same_size_elements_too() {
        let v: Vec<u64> = (0..100).collect();
        let out = widen(v, |x| x * 2, |_: &mut Vec<u64>| {});
        assert_eq!(out, (0..100).map(|x| x * 2).collect::<Vec<u64>>());
    }
}
