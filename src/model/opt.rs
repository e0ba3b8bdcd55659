//! Optional integers in their own width, for the fields every socket (or every connection's
//! tcp_info) carries: `Option<u32>` takes 8 bytes and `Option<u64>` 16.

use std::fmt;

macro_rules! opt_int {
    ($(#[$doc:meta])* $name:ident, $int:ty) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name($int);

        impl $name {
            pub const NONE: $name = $name(<$int>::MAX);

            /// `v`, or unknown when `v` is the sentinel (see the type's comment).
            pub const fn some(v: $int) -> $name {
                $name(v)
            }

            pub const fn new(v: Option<$int>) -> $name {
                match v {
                    Some(v) => $name(v),
                    None => $name::NONE,
                }
            }

            pub const fn get(self) -> Option<$int> {
                if self.0 == <$int>::MAX {
                    None
                } else {
                    Some(self.0)
                }
            }

            pub const fn is_some(self) -> bool {
                self.0 != <$int>::MAX
            }

            pub const fn is_none(self) -> bool {
                self.0 == <$int>::MAX
            }
        }

        impl Default for $name {
            fn default() -> $name {
                $name::NONE
            }
        }

        impl From<Option<$int>> for $name {
            fn from(v: Option<$int>) -> $name {
                $name::new(v)
            }
        }

        impl From<$name> for Option<$int> {
            fn from(v: $name) -> Option<$int> {
                v.get()
            }
        }

        /// Shown as the `Option` it stands for.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.get().fmt(f)
            }
        }

        /// Serialized as the `Option` it stands for (a number or null).
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.get().serialize(s)
            }
        }
    };
}

opt_int!(
    /// A `u32` that may be unknown, in 4 bytes: `u32::MAX` stands for unknown. The socket
    /// fields that use it (queue lengths, uids, interface indexes) never hold `u32::MAX` as a
    /// value: the kernel's queues are ints, `(uid_t)-1` is its invalid uid and interface
    /// indexes are positive ints. tcp_info's 32-bit counters wrap, so one of them could read
    /// exactly `u32::MAX` for one sample: it shows as unknown then, never as another number.
    /// A source that reads `u32::MAX` anyway (a malformed line) gets unknown, which is what
    /// it is. 16 bytes less a socket (issue #17), 160 a connection's tcp_info.
    OptU32,
    u32
);

opt_int!(
    /// A `u64` that may be unknown, in 8 bytes: `u64::MAX` stands for unknown (tcp_info's
    /// rates and byte counts; an unlimited pacing rate, `~0`, is unknown already).
    OptU64,
    u64
);

#[cfg(test)]
mod tests {
    use super::{OptU32, OptU64};

    #[test]
    fn round_trips_every_value_but_the_sentinel() {
        for v in [0, 1, 65534, u32::MAX - 1] {
            assert_eq!(OptU32::some(v).get(), Some(v));
            assert_eq!(OptU32::new(Some(v)).get(), Some(v));
            assert!(OptU32::some(v).is_some());
            assert_eq!(OptU64::some(u64::from(v)).get(), Some(u64::from(v)));
        }
        assert_eq!(OptU64::some(u64::MAX - 1).get(), Some(u64::MAX - 1));
        assert_eq!(OptU32::NONE.get(), None);
        assert_eq!(OptU64::NONE.get(), None);
        assert_eq!(OptU32::new(None), OptU32::NONE);
        assert_eq!(
            OptU32::some(u32::MAX).get(),
            None,
            "the sentinel reads as unknown"
        );
        assert_eq!(
            OptU64::some(u64::MAX).get(),
            None,
            "the sentinel reads as unknown"
        );
        assert_eq!(OptU32::default(), OptU32::NONE);
        assert_eq!(format!("{:?}", OptU32::some(7)), "Some(7)");
        assert_eq!(format!("{:?}", OptU32::NONE), "None");
        assert_eq!(serde_json::to_string(&OptU64::some(9)).expect("json"), "9");
        assert_eq!(serde_json::to_string(&OptU32::NONE).expect("json"), "null");
        assert_eq!(std::mem::size_of::<OptU32>(), 4);
        assert_eq!(std::mem::size_of::<OptU64>(), 8);
    }
}
