//! What goes to stderr beside a listing: warnings (each once), the one-line help when
//! nothing matched only because of the default state set, and (PORTWATCH_DEBUG=1) how the
//! owners were read.

use crate::model::{OwnerMethod, Warning};
use crate::pipeline::hint::{Asked, NearMiss};
use std::io::{self, Write};

/// Print warnings once each to stderr as `portwatch: warning: ...`. Stderr errors are ignored:
/// a closed stderr must not turn a listing into a failure.
pub fn print_warnings(warnings: &[Warning]) {
    let mut seen = std::collections::HashSet::new();
    let stderr = io::stderr();
    let mut e = stderr.lock();
    for w in warnings {
        if seen.insert(&w.message) {
            let _ = writeln!(e, "portwatch: warning: {}", w.message);
        }
    }
}

/// With PORTWATCH_DEBUG=1: how the owners were read and, for /proc under `--owners auto`,
/// why not BPF. Stderr errors are ignored, as for warnings.
pub fn print_owner_method(method: OwnerMethod, note: Option<&str>) {
    let mut e = io::stderr().lock();
    let _ = match note {
        Some(why) => writeln!(
            e,
            "portwatch: debug: owners read by {}: {why}",
            method.name()
        ),
        None => writeln!(e, "portwatch: debug: owners read by {}", method.name()),
    };
}

fn sockets(n: usize) -> String {
    if n == 1 {
        "1 socket".into()
    } else {
        format!("{n} sockets")
    }
}

/// "no connected socket matched; 1 listening socket does: add -l or -a".
pub fn near_miss_line(m: &NearMiss) -> String {
    let does = |n: usize| if n == 1 { "does" } else { "do" };
    match m.asked {
        Asked::Connected => {
            let (l, o) = (m.listening, m.other);
            let what = match (l, o) {
                (l, 0) => format!(
                    "{} listening {}",
                    l,
                    if l == 1 { "socket" } else { "sockets" }
                ),
                (0, o) => format!("{} in TIME-WAIT or SYN-RECV", sockets(o)),
                (l, o) => format!("{l} listening and {o} in TIME-WAIT or SYN-RECV"),
            };
            let how = if o == 0 { "add -l or -a" } else { "add -a" };
            format!("no connected socket matched; {what} {}: {how}", does(l + o))
        }
        Asked::Listening => format!(
            "no listening socket matched; {} in other states {}: add -a, or drop -l",
            sockets(m.other),
            does(m.other)
        ),
    }
}

/// Print `near_miss_line` to stderr (errors ignored, as for warnings).
pub fn print_near_miss(m: &NearMiss) {
    let _ = writeln!(io::stderr().lock(), "portwatch: {}", near_miss_line(m));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(asked: Asked, listening: usize, other: usize) -> String {
        near_miss_line(&NearMiss {
            asked,
            listening,
            other,
        })
    }

    #[test]
    fn says_which_flag_shows_the_missed_sockets() {
        assert_eq!(
            line(Asked::Connected, 1, 0),
            "no connected socket matched; 1 listening socket does: add -l or -a"
        );
        assert_eq!(
            line(Asked::Connected, 0, 2),
            "no connected socket matched; 2 sockets in TIME-WAIT or SYN-RECV do: add -a"
        );
        assert_eq!(
            line(Asked::Connected, 2, 1),
            "no connected socket matched; 2 listening and 1 in TIME-WAIT or SYN-RECV do: add -a"
        );
        assert_eq!(
            line(Asked::Listening, 0, 3),
            "no listening socket matched; 3 sockets in other states do: add -a, or drop -l"
        );
    }
}
