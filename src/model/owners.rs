//! A socket's holders as a window into one shared table of every owner the scan found: a
//! listing of 100k sockets holds one table, not 100k small vectors.

use super::Owner;
use std::fmt;
use std::ops::{Deref, Range};
use std::sync::Arc;

/// The processes holding one socket, sorted by (pid, fd). Derefs to `[Owner]`.
#[derive(Clone, Default)]
pub struct Owners {
    table: Arc<Vec<Owner>>,
    start: u32,
    len: u32,
}

impl Owners {
    /// The owners at `range` of `table`; empty when the range does not fit.
    pub fn new(table: &Arc<Vec<Owner>>, range: Range<usize>) -> Owners {
        let fits = range.start <= range.end && range.end <= table.len();
        match (u32::try_from(range.start), u32::try_from(range.len())) {
            (Ok(start), Ok(len)) if fits => Owners {
                table: Arc::clone(table),
                start,
                len,
            },
            _ => Owners::none_in(table),
        }
    }

    /// No owners, sharing `table` (no allocation).
    pub fn none_in(table: &Arc<Vec<Owner>>) -> Owners {
        Owners {
            table: Arc::clone(table),
            start: 0,
            len: 0,
        }
    }
}

impl Owners {
    /// Entries of the table this window is into (what a listing holds for its owners).
    #[cfg(test)]
    pub fn table_len(&self) -> usize {
        self.table.len()
    }
}

impl Deref for Owners {
    type Target = [Owner];

    fn deref(&self) -> &[Owner] {
        let start = self.start as usize;
        self.table
            .get(start..start + self.len as usize)
            .unwrap_or_default()
    }
}

impl From<Vec<Owner>> for Owners {
    fn from(v: Vec<Owner>) -> Owners {
        let len = v.len();
        Owners::new(&Arc::new(v), 0..len)
    }
}

impl PartialEq for Owners {
    fn eq(&self, other: &Owners) -> bool {
        **self == **other
    }
}

impl Eq for Owners {}

impl fmt::Debug for Owners {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::owner;

    #[test]
    fn windows_share_one_table() {
        let table = Arc::new(vec![owner(1), owner(2), owner(3)]);
        let mid = Owners::new(&table, 1..3);
        assert_eq!(mid.iter().map(|o| o.pid).collect::<Vec<_>>(), [2, 3]);
        assert!(Owners::none_in(&table).is_empty());
        assert!(Owners::new(&table, 2..4).is_empty(), "out of range: empty");
        assert_eq!(Owners::from(vec![owner(2), owner(3)]), mid);
        assert_eq!(Arc::strong_count(&table), 2);
    }
}
