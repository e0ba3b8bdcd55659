//! The live view's terminal: raw mode and the alternate screen while it runs, keys read on a
//! thread of their own, and the screen restored however the watch ends: a return, an error,
//! a stop signal (the loop returns), or a panic (a hook restores it before the message).

use super::session::{Flow, Input, Sink, Stamped, Wake};
use super::view::View;
use crate::error::Result;
use crate::model::Warning;
use crate::render::watch_view::{draw, table_height};
use crate::timeline::Reading;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::{Hide, Show};
use ratatui::crossterm::event::{self, Event};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use std::io::Write;
use std::sync::mpsc::Sender;
use std::sync::Once;
use std::time::SystemTime;

pub(super) struct Terminal<'a> {
    term: ratatui::Terminal<CrosstermBackend<&'a mut dyn Write>>,
    view: View,
}

impl<'a> Terminal<'a> {
    /// Take over the terminal and start reading keys into `tx`.
    pub fn enter(out: &'a mut dyn Write, view: View, tx: Sender<Wake>) -> Result<Terminal<'a>> {
        install_panic_hook();
        enable_raw_mode()?;
        let mut backend = CrosstermBackend::new(out);
        if let Err(e) = execute!(backend, EnterAlternateScreen, Hide) {
            let _ = disable_raw_mode();
            return Err(e.into());
        }
        // From here on Drop restores the screen.
        let mut t = Terminal {
            term: ratatui::Terminal::new(backend)?,
            view,
        };
        t.term.clear()?;
        std::thread::Builder::new()
            .name("keys".into())
            .spawn(move || {
                while let Ok(ev) = event::read() {
                    if matches!(ev, Event::Key(_) | Event::Resize(..))
                        && tx.send(Wake::Input(ev)).is_err()
                    {
                        break;
                    }
                }
            })?;
        t.redraw()?;
        Ok(t)
    }

    fn redraw(&mut self) -> Result<()> {
        let view = &mut self.view;
        self.term.draw(|f| {
            let rows = view.rows();
            let m = view.model(&rows);
            let page = table_height(f.area().height, &m);
            draw(f, &m);
            view.page = page;
        })?;
        Ok(())
    }
}

impl Sink for Terminal<'_> {
    fn read(&mut self, events: &[Stamped], now: &Reading, first: bool) -> Result<()> {
        let at = crate::render::time::rfc3339_ms(SystemTime::now());
        // HH:MM:SS (UTC) of the read, from the RFC 3339 form.
        let clock = at.get(11..19).unwrap_or("-");
        self.view.apply(events, now, first, clock);
        self.redraw()
    }

    fn warning(&mut self, _at: SystemTime, w: &Warning) -> Result<()> {
        self.view.warning(&w.message);
        self.redraw()
    }

    fn input(&mut self, input: Input) -> Result<Flow> {
        let flow = self.view.on_input(input);
        self.redraw()?;
        Ok(flow)
    }

    fn filter_result(&mut self, result: std::result::Result<String, String>) {
        self.view.filter_result(result);
        let _ = self.redraw();
    }

    fn paused(&self) -> bool {
        self.view.paused()
    }
}

impl Drop for Terminal<'_> {
    fn drop(&mut self) {
        let _ = execute!(self.term.backend_mut(), LeaveAlternateScreen, Show);
        let _ = disable_raw_mode();
    }
}

/// On a panic, give the terminal back before the message is printed (else it lands on the
/// alternate screen, which is then thrown away, in raw mode). Written to /dev/tty, not
/// stdout: the panicking thread may not be the one that holds the stdout lock.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = disable_raw_mode();
            if let Ok(mut tty) = std::fs::OpenOptions::new().write(true).open("/dev/tty") {
                let _ = execute!(tty, LeaveAlternateScreen, Show);
            }
            previous(info);
        }));
    });
}
