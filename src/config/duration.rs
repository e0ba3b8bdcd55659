//! One grammar for every duration a flag takes (`watch --interval`, `kill --timeout`,
//! `serve --min-interval`): `200ms`, `2s`, `1.5s`, `1m`, `1h30m`, or a plain number of
//! seconds, so what one command accepts the next one does too.

use crate::error::{Error, Result};
use crate::render::sanitize::escape_str;
use std::time::Duration;

/// What every duration message suggests.
const EXAMPLES: &str = "e.g. 200ms, 2s, 1.5s, 1m or 1h30m; a plain number is seconds";

/// `text` as a duration: one or more `NUMBER UNIT` parts, added up (units ms, s, m or min, h;
/// a number may have a fraction; `1h30m`, also `1m1m`), or one plain number of seconds. No
/// sign, exponent or inner space.
pub fn parse(text: &str) -> std::result::Result<Duration, String> {
    let bad = || format!("'{}' is not a duration ({EXAMPLES})", escape_str(text));
    let t = text.trim();
    if t.is_empty() {
        return Err(bad());
    }
    let mut rest = t;
    let mut secs = 0.0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(num_len);
        let unit_len = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let well_formed = num.bytes().filter(|&b| b == b'.').count() <= 1
            && num.bytes().any(|b| b.is_ascii_digit());
        if !well_formed {
            return Err(bad());
        }
        let n: f64 = num.parse().map_err(|_| bad())?;
        let scale = match unit {
            // A plain number stands alone: `1m30` is a typo, not 90 seconds.
            "" if secs == 0.0 && after.is_empty() && rest.len() == t.len() => 1.0,
            "ms" => 0.001,
            "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        secs += n * scale;
        rest = after;
    }
    match Duration::try_from_secs_f64(secs) {
        // Below a nanosecond but not zero: the shortest duration, never a silent 0.
        Ok(d) if d.is_zero() && secs > 0.0 => Ok(Duration::from_nanos(1)),
        Ok(d) => Ok(d),
        // Well formed but beyond what a Duration holds: longer than any flag's bound, which
        // `flag` then names.
        Err(_) => Ok(Duration::MAX),
    }
}

/// The value of `flag`: parsed, then checked against its bounds (`zero` whether 0 is
/// allowed, `max` the longest). A bad value is a usage error naming the flag.
pub fn flag(flag: &str, text: &str, zero: bool, max: Duration) -> Result<Duration> {
    let d = parse(text).map_err(|m| Error::Usage(format!("{flag}: {m}")))?;
    if d.is_zero() && !zero {
        return Err(Error::Usage(format!(
            "{flag}: '{}': expected more than zero",
            escape_str(text)
        )));
    }
    if d > max {
        return Err(Error::Usage(format!(
            "{flag}: '{}' is longer than {}",
            escape_str(text),
            say(max)
        )));
    }
    Ok(d)
}

/// A bound as words: `1h`, `1 day`.
fn say(d: Duration) -> String {
    match d.as_secs() {
        31_536_000 => "a year".into(),
        86_400 => "a day".into(),
        3_600 => "an hour".into(),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammar() {
        let ok = |s: &str| parse(s).unwrap().as_millis();
        assert_eq!(ok("200ms"), 200);
        assert_eq!(ok("2s"), 2000);
        assert_eq!(ok("2"), 2000);
        assert_eq!(ok("0.5"), 500);
        assert_eq!(ok("1.5s"), 1500);
        assert_eq!(ok("1m"), 60_000);
        assert_eq!(ok("1min"), 60_000);
        assert_eq!(ok("1h30m"), 5_400_000);
        assert_eq!(ok("1m30s"), 90_000);
        assert_eq!(ok(" 3s "), 3000);
        assert_eq!(ok("0"), 0);
        assert_eq!(parse("0.0000001ms").unwrap(), Duration::from_nanos(1));
        assert_eq!(parse("99999999999999999999h").unwrap(), Duration::MAX);
        assert_eq!(parse(&"9".repeat(400)).unwrap(), Duration::MAX);
        for bad in [
            "", "s", ".s", "5x", "-1s", "1.2.3s", "inf", "NaN", "2 s", "1e3", "1d", "1m30", "fast",
            "1.2.3",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(
                e.contains("not a duration") && e.contains("200ms"),
                "{bad:?}: {e}"
            );
        }
    }

    #[test]
    fn bounds_name_the_flag() {
        let day = Duration::from_secs(86_400);
        assert!(flag("--timeout", "0", true, day).unwrap().is_zero());
        let e = flag("--interval", "0s", false, day).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("--interval") && e.to_string().contains("more than zero"));
        let e = flag("--interval", "99999999999999999999h", false, day).unwrap_err();
        assert!(e.to_string().contains("longer than a day"), "{e}");
        let year = Duration::from_secs(31_536_000);
        let e = flag("--duration", "9000h", false, year).unwrap_err();
        assert!(e.to_string().contains("longer than a year"), "{e}");
        let e = flag("--timeout", "25h", true, day).unwrap_err();
        assert!(e.to_string().contains("longer than a day"), "{e}");
        let e = flag("--min-interval", "61m", true, Duration::from_secs(3600)).unwrap_err();
        assert!(e.to_string().contains("longer than an hour"), "{e}");
        let e = flag("--x", "\u{202e}1s", true, day).unwrap_err();
        assert!(
            !e.to_string().contains('\u{202e}'),
            "control text is escaped: {e}"
        );
    }
}
