//! Long-form documentation for the man page (sections after OPTIONS). Paragraphs are separated
//! by blank lines; a paragraph whose lines all start with two spaces is shown verbatim.

/// (heading, body) pairs, rendered into man/portwatch.1 by tests/man.rs.
pub const SECTIONS: &[(&str, &str)] = &[(
    "EXIT STATUS",
    "0 on success, also when nothing matched (as ss). 1 when the system could not be read. \
2 on a usage error: a bad option, filter expression, labels or services file; the message \
names what is wrong and where.

Writing to a closed pipe (portwatch | head -1) is not an error: portwatch stops and exits 0.",
)];
