//! Numbers and IPv4 addresses appended to text without the formatting machinery: a big
//! table or `-i` line holds tens of them per socket.

use std::net::Ipv4Addr;

/// Decimal digits of `v`.
pub fn push_u64(out: &mut String, v: u64) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// Dotted-quad form, as `Ipv4Addr`'s `Display` writes it.
pub fn push_ipv4(out: &mut String, a: &Ipv4Addr) {
    for (i, o) in a.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        push_u64(out, o.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn numbers_as_display(v: u64) {
            let mut s = String::from("x");
            push_u64(&mut s, v);
            prop_assert_eq!(s, format!("x{v}"));
        }

        #[test]
        fn ipv4_as_display(bits: u32) {
            let a = Ipv4Addr::from(bits);
            let mut s = String::new();
            push_ipv4(&mut s, &a);
            prop_assert_eq!(s, a.to_string());
        }
    }
}
