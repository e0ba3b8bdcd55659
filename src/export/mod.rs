//! Listeners and connection counts as Prometheus metrics, for `serve` and `export`.
//!
//! ```text
//! Plan ─ collect (two pipeline runs) ─> Collected ─ metrics::build (pure) ─> [Family]
//!                                                        encode (prometheus-client) ─> text
//! ```
//!
//! `collect` is the only part that reads the system; `metrics` turns rows into metric families
//! without touching it, and `encode` hands them to the exposition library.

mod collect;
pub mod defs;
pub mod encode;
pub mod metrics;

pub use collect::{collect, Collected, Plan};
pub use defs::{Family, Kind, Label, Sample, Value};
pub use encode::{encode, Format};
pub use metrics::{build, Host};
