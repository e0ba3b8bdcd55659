//! A filter error: the expression, the byte span of the offending token and what was expected
//! there, rendered with a caret line the way compilers point at a column.

use std::fmt;
use std::ops::Range;
use unicode_width::UnicodeWidthChar;

/// A filter that does not parse or resolve. `Display` renders
/// `portwatch: bad filter\n  EXPR\n  ^^^ MESSAGE` (exit status 2 in the CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// The expression as parsed: the command-line words joined with single spaces.
    pub expr: String,
    /// Byte range of the offending token in `expr`; empty at the end of input.
    pub span: Range<usize>,
    /// What was expected there, e.g. "expected a port after ':'".
    pub message: String,
}

impl FilterError {
    pub fn new(expr: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        FilterError {
            expr: expr.to_string(),
            span,
            message: message.into(),
        }
    }

    /// Display column (0-based, in terminal cells) where the caret starts.
    pub fn column(&self) -> usize {
        let start = clamp_to_char(&self.expr, self.span.start);
        self.expr[..start].chars().map(cell_width).sum()
    }

    /// The caret line (without the leading indent): spaces, then one '^' per cell of the span
    /// (at least one).
    pub fn caret_line(&self) -> String {
        let start = clamp_to_char(&self.expr, self.span.start);
        let end = clamp_to_char(&self.expr, self.span.end.max(start));
        let width: usize = self.expr[start..end].chars().map(cell_width).sum();
        format!("{}{}", " ".repeat(self.column()), "^".repeat(width.max(1)))
    }
}

/// Columns a character takes once shown. Control characters are shown as '?' (1 cell) so an
/// expression cannot move the cursor; wide characters take 2 cells.
fn cell_width(c: char) -> usize {
    if c.is_control() {
        1
    } else {
        c.width().unwrap_or(0)
    }
}

fn clamp_to_char(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn sanitized(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "portwatch: bad filter")?;
        writeln!(f, "  {}", sanitized(&self.expr))?;
        write!(f, "  {} {}", self.caret_line(), self.message)
    }
}

impl std::error::Error for FilterError {}

impl From<FilterError> for crate::error::Error {
    fn from(e: FilterError) -> Self {
        crate::error::Error::Filter {
            rendered: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_sits_under_the_span() {
        let e = FilterError::new("sport = :x", 9..10, "expected a port after ':'");
        assert_eq!(
            e.to_string(),
            "portwatch: bad filter\n  sport = :x\n           ^ expected a port after ':'"
        );
    }

    #[test]
    fn wide_and_multibyte_characters_count_by_cells() {
        // "é" is 2 bytes, 1 cell; "日" is 3 bytes, 2 cells.
        let e = FilterError::new("proc é日 bad", 11..14, "m");
        assert_eq!(e.column(), 9);
        assert_eq!(e.caret_line(), format!("{}^^^", " ".repeat(9)));
        let e = FilterError::new("proc é日 bad", 7..10, "m");
        assert_eq!(e.caret_line(), format!("{}^^", " ".repeat(6)));
    }

    #[test]
    fn end_of_input_gets_one_caret_and_bad_spans_do_not_panic() {
        let e = FilterError::new("sport =", 7..7, "m");
        assert_eq!(e.caret_line(), "       ^");
        let e = FilterError::new("é", 1..99, "m");
        assert_eq!(e.caret_line(), "^");
    }

    #[test]
    fn control_characters_are_not_echoed() {
        let e = FilterError::new("a\x1b[2Jb", 0..1, "m");
        assert!(!e.to_string().contains('\x1b'));
    }
}
