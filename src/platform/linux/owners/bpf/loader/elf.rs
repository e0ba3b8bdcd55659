//! Reading a program out of the embedded ELF object: the bytes of its section and the
//! license, with no more of ELF than a clang-built BPF object without relocations needs.

use super::LoadError;

/// The program as it leaves the object: instructions and license.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// 8-byte instructions, in the object's (native) byte order.
    pub insns: Vec<u8>,
    pub license: Vec<u8>,
    /// Where the program's bpf_loop callback starts (an instruction index), if it has one.
    pub callback: Option<usize>,
}

/// The ELF sections named `program` and `license` of a 64-bit little-endian object. A
/// relocation against the program section is refused: this loader applies none.
pub fn object(elf: &[u8], program: &str) -> Result<Object, LoadError> {
    let bad = |what: &str| LoadError::Object(format!("BPF object: {what}"));
    if elf.get(..6) != Some(b"\x7fELF\x02\x01") {
        return Err(bad("not a 64-bit little-endian ELF file"));
    }
    let u16_at = |at: usize| -> Option<usize> {
        Some(usize::from(u16::from_le_bytes(
            elf.get(at..at + 2)?.try_into().ok()?,
        )))
    };
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(elf.get(at..at + 4)?.try_into().ok()?))
    };
    let u64_at = |at: usize| -> Option<usize> {
        usize::try_from(u64::from_le_bytes(elf.get(at..at + 8)?.try_into().ok()?)).ok()
    };
    let (shoff, shentsize, shnum, shstrndx) =
        (|| Some((u64_at(0x28)?, u16_at(0x3a)?, u16_at(0x3c)?, u16_at(0x3e)?)))()
            .ok_or_else(|| bad("short header"))?;
    if shentsize < 64 {
        return Err(bad("section headers too small"));
    }
    // (name offset, type, info, data) of each section.
    let section = |i: usize| -> Option<(u32, u32, u32, &[u8])> {
        let h = shoff.checked_add(i.checked_mul(shentsize)?)?;
        let (off, size) = (u64_at(h + 0x18)?, u64_at(h + 0x20)?);
        let data = elf.get(off..off.checked_add(size)?)?;
        Some((u32_at(h)?, u32_at(h + 4)?, u32_at(h + 0x2c)?, data))
    };
    let names = section(shstrndx).ok_or_else(|| bad("no section names"))?.3;
    let name_of = |off: u32| -> &[u8] {
        let rest = names.get(off as usize..).unwrap_or_default();
        rest.split(|&b| b == 0).next().unwrap_or_default()
    };
    let (mut insns, mut license, mut prog_index) = (None, None, None);
    for i in 0..shnum {
        let (name, _, _, data) = section(i).ok_or_else(|| bad("section out of bounds"))?;
        if name_of(name) == program.as_bytes() {
            insns = Some(data);
            prog_index = Some(i);
        } else if name_of(name) == b"license" {
            license = Some(data);
        }
    }
    const SHT_REL: u32 = 9;
    for i in 0..shnum {
        if let Some((_, SHT_REL, info, _)) = section(i) {
            if Some(info as usize) == prog_index {
                return Err(bad("relocations against the program"));
            }
        }
    }
    let insns = insns.ok_or_else(|| bad(&format!("no section {program}")))?;
    if insns.is_empty() || insns.len() % 8 != 0 {
        return Err(bad("program size is not whole instructions"));
    }
    let license = license.ok_or_else(|| bad("no license section"))?;
    Ok(Object {
        insns: insns.to_vec(),
        license: license.to_vec(),
        callback: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::linux::owners::bpf::{OBJECT, PROGRAM};

    #[test]
    fn a_program_and_its_license_come_out_of_the_object_and_bad_ones_are_refused() {
        let by_file = object(OBJECT, PROGRAM).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(by_file.license, b"Dual MIT/GPL\0");
        assert_eq!(by_file.callback, None);
        assert!(matches!(object(b"\x7fELF", "x"), Err(LoadError::Object(_))));
        assert!(matches!(
            object(OBJECT, "no/such"),
            Err(LoadError::Object(_))
        ));
    }
}
