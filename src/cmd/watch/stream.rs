//! The NDJSON sink: each event and each new warning as one line, flushed as it is written.

use super::session::{Sink, Stamped};
use crate::error::Result;
use crate::model::Warning;
use crate::render::events;
use crate::timeline::Reading;
use std::io::Write;
use std::time::SystemTime;

pub(super) struct Stream<'a> {
    pub out: &'a mut dyn Write,
}

impl Sink for Stream<'_> {
    fn read(&mut self, evs: &[Stamped], _now: &Reading, _first: bool) -> Result<()> {
        for s in evs {
            let e = &s.event;
            events::write_event(self.out, e.change, s.at, &e.row, e.before.as_ref())?;
        }
        Ok(())
    }

    fn warning(&mut self, at: SystemTime, w: &Warning) -> Result<()> {
        Ok(events::write_warning(self.out, at, w)?)
    }
}
