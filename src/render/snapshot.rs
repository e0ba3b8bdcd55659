//! The snapshot document: the listing's JSON (same socket objects, one per line) with a
//! header saying what it is, when and where it was taken, and how (the listing flags and
//! filter, for `diff` to read the host the same way):
//!
//! ```text
//! {"schema":1,"kind":"portwatch-snapshot","created":"2026-11-30T09:00:00.000Z","host":"web1",
//!  "selection":{"args":["--listening","--tcp"],"filter":""},"ephemeral_range":[32768,60999],
//!  "sockets":[ ... ],"warnings":[...],"owner_scan":"all-processes"}
//! ```

use super::json::{self, SCHEMA};
use super::time::rfc3339_ms;
use crate::pipeline::Listing;
use crate::timeline::SNAPSHOT_KIND;
use std::io::{self, Write};
use std::time::SystemTime;

/// What the header records.
pub struct Meta<'a> {
    pub created: SystemTime,
    pub host: Option<&'a str>,
    /// The listing flags as words and the filter text.
    pub args: &'a [String],
    pub filter: &'a str,
    pub ephemeral: Option<(u16, u16)>,
}

pub fn write(meta: &Meta<'_>, listing: &Listing, out: &mut dyn Write) -> io::Result<()> {
    write!(
        out,
        "{{\"schema\":{SCHEMA},\"kind\":{},\"created\":{},\"host\":{},\"selection\":{{\"args\":{},\"filter\":{}}},\"ephemeral_range\":{},",
        j(&SNAPSHOT_KIND),
        j(&rfc3339_ms(meta.created)),
        j(&meta.host),
        j(&meta.args),
        j(&meta.filter),
        j(&meta.ephemeral),
    )?;
    json::write_listing(
        &listing.rows,
        &listing.warnings,
        listing.owner_scan,
        listing.owner_method,
        out,
    )
}

/// One JSON value as text, for the header's fields (strings need escaping, so serde).
fn j<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_then_the_listing() {
        let listing = Listing::default();
        let mut out = Vec::new();
        let meta = Meta {
            created: std::time::UNIX_EPOCH,
            host: Some("h\"1"),
            args: &["--listening".into()],
            filter: "sport = :80",
            ephemeral: Some((32768, 60999)),
        };
        write(&meta, &listing, &mut out).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["kind"], "portwatch-snapshot");
        assert_eq!(doc["host"], "h\"1");
        assert_eq!(doc["created"], "1970-01-01T00:00:00.000Z");
        assert_eq!(doc["selection"]["args"][0], "--listening");
        assert_eq!(doc["ephemeral_range"][1], 60999);
        assert!(doc["sockets"].as_array().unwrap().is_empty());
        // The document is what `diff` reads back.
        let back = crate::timeline::parse_baseline(&out, "s.json".as_ref()).unwrap();
        assert_eq!(
            back.selection,
            Some((vec!["--listening".into()], "sport = :80".into()))
        );
    }
}
