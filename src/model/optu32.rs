//! An optional u32 in four bytes, for the socket fields every row carries.

use std::fmt;

/// A `u32` that may be unknown, stored in 4 bytes instead of `Option<u32>`'s 8: `u32::MAX`
/// stands for unknown. The fields that use it (queue lengths, uids, interface indexes) never
/// hold `u32::MAX` as a value: the kernel's queues are ints, `(uid_t)-1` is its invalid uid
/// and interface indexes are positive ints. A source that reads `u32::MAX` anyway (a malformed
/// line) gets unknown, which is what it is. Saves 16 bytes a socket (issue #17: 1.2 MB of a
/// 75k-socket listing).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OptU32(u32);

impl OptU32 {
    pub const NONE: OptU32 = OptU32(u32::MAX);

    /// `v`, or unknown when `v` is `u32::MAX` (see the type's comment).
    pub const fn some(v: u32) -> OptU32 {
        OptU32(v)
    }

    pub const fn new(v: Option<u32>) -> OptU32 {
        match v {
            Some(v) => OptU32(v),
            None => OptU32::NONE,
        }
    }

    pub const fn get(self) -> Option<u32> {
        if self.0 == u32::MAX {
            None
        } else {
            Some(self.0)
        }
    }

    pub const fn is_some(self) -> bool {
        self.0 != u32::MAX
    }

    pub const fn is_none(self) -> bool {
        self.0 == u32::MAX
    }
}

impl Default for OptU32 {
    fn default() -> OptU32 {
        OptU32::NONE
    }
}

impl From<Option<u32>> for OptU32 {
    fn from(v: Option<u32>) -> OptU32 {
        OptU32::new(v)
    }
}

impl From<OptU32> for Option<u32> {
    fn from(v: OptU32) -> Option<u32> {
        v.get()
    }
}

/// Shown as the `Option<u32>` it stands for.
impl fmt::Debug for OptU32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

/// Serialized as the `Option<u32>` it stands for (a number or null).
impl serde::Serialize for OptU32 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::OptU32;

    #[test]
    fn round_trips_every_value_but_the_sentinel() {
        for v in [0, 1, 65534, u32::MAX - 1] {
            assert_eq!(OptU32::some(v).get(), Some(v));
            assert_eq!(OptU32::new(Some(v)).get(), Some(v));
            assert!(OptU32::some(v).is_some());
        }
        assert_eq!(OptU32::NONE.get(), None);
        assert_eq!(OptU32::new(None), OptU32::NONE);
        assert_eq!(
            OptU32::some(u32::MAX).get(),
            None,
            "the sentinel reads as unknown"
        );
        assert_eq!(OptU32::default(), OptU32::NONE);
        assert_eq!(format!("{:?}", OptU32::some(7)), "Some(7)");
        assert_eq!(format!("{:?}", OptU32::NONE), "None");
        assert_eq!(std::mem::size_of::<OptU32>(), 4);
    }
}
