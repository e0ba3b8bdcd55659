//! The BTF a program with a bpf_loop callback must carry: the kernel refuses a function
//! address (BPF_PSEUDO_FUNC) in a program without `func_info`, which names each function's
//! BTF type. These are the two functions' types only, built here (the object's own BTF would
//! need libbpf's fix-ups before the kernel took it), and loaded with BPF_BTF_LOAD.

use std::io;
use std::os::fd::OwnedFd;

const BTF_MAGIC: u16 = 0xeb9f;
const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
/// BTF_INT_SIGNED in an INT's encoding byte.
const INT_SIGNED: u32 = 1 << 24;

/// Type ids in `blob`: the program's function and the callback's.
pub const PROGRAM_FUNC: u32 = 4;
pub const CALLBACK_FUNC: u32 = 6;

/// `struct bpf_func_info`: where a function starts and its BTF type.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuncInfo {
    pub insn_off: u32,
    pub type_id: u32,
}

/// The func_info of a program whose callback starts at instruction `callback`.
pub fn func_info(callback: usize) -> [FuncInfo; 2] {
    [
        FuncInfo {
            insn_off: 0,
            type_id: PROGRAM_FUNC,
        },
        FuncInfo {
            insn_off: callback as u32,
            type_id: CALLBACK_FUNC,
        },
    ]
}

/// A BTF blob with `int (*program)(void *ctx)` and `int (*callback)(int i, void *ctx)`, both
/// static (the verifier then checks them as the code it sees, not against the types).
pub fn blob(program: &str, callback: &str) -> Vec<u8> {
    let mut strings = vec![0u8];
    let mut name = |s: &str| -> u32 {
        let off = strings.len() as u32;
        strings.extend_from_slice(s.as_bytes());
        strings.push(0);
        off
    };
    let (int, ctx, i) = (name("int"), name("ctx"), name("i"));
    let (program, callback) = (name(program), name(callback));
    let info = |kind: u32, vlen: u32| kind << 24 | vlen;
    let types: Vec<u32> = [
        // 1: int
        &[int, info(KIND_INT, 0), 4, INT_SIGNED | 32][..],
        // 2: void *
        &[0, info(KIND_PTR, 0), 0],
        // 3: int (void *ctx)
        &[0, info(KIND_FUNC_PROTO, 1), 1, ctx, 2],
        // 4: the program
        &[program, info(KIND_FUNC, 0), 3],
        // 5: int (int i, void *ctx)
        &[0, info(KIND_FUNC_PROTO, 2), 1, i, 1, ctx, 2],
        // 6: the callback
        &[callback, info(KIND_FUNC, 0), 5],
    ]
    .concat();
    let type_len = types.len() as u32 * 4;
    let mut b = Vec::new();
    b.extend_from_slice(&BTF_MAGIC.to_le_bytes());
    b.extend_from_slice(&[1, 0]); // version 1, no flags
    for w in [24, 0, type_len, type_len, strings.len() as u32] {
        b.extend_from_slice(&w.to_le_bytes());
    }
    for w in types {
        b.extend_from_slice(&w.to_le_bytes());
    }
    b.extend_from_slice(&strings);
    b
}

/// `union bpf_attr` for BPF_BTF_LOAD.
#[repr(C)]
#[derive(Default)]
struct BtfLoadAttr {
    btf: u64,
    btf_log_buf: u64,
    btf_size: u32,
    btf_log_size: u32,
    btf_log_level: u32,
}

const BPF_BTF_LOAD: libc::c_long = 18;

/// Load `blob` into the kernel: the fd a program's `prog_btf_fd` names.
pub fn load(blob: &[u8]) -> io::Result<OwnedFd> {
    let mut attr = BtfLoadAttr {
        btf: blob.as_ptr() as u64,
        btf_size: blob.len() as u32,
        ..BtfLoadAttr::default()
    };
    // SAFETY: a BTF_LOAD attr whose one pointer, to `blob`, outlives the call, with its exact
    // length and no log buffer.
    unsafe { super::loader::bpf(BPF_BTF_LOAD, &mut attr) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blob_has_a_header_types_and_names() {
        let b = blob("prog", "cb");
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
        assert_eq!(&b[..4], &[0x9f, 0xeb, 1, 0]);
        assert_eq!(u32_at(4), 24, "header length");
        let (type_len, str_off, str_len) = (u32_at(12), u32_at(16), u32_at(20));
        assert_eq!(str_off, type_len);
        assert_eq!(
            b.len() as u32,
            24 + type_len + str_len,
            "nothing after the strings"
        );
        let strings = &b[24 + str_off as usize..];
        assert!(strings.starts_with(b"\0int\0ctx\0i\0prog\0cb\0"));
        // The two FUNCs are where func_info says: the 4th and 6th types.
        assert_eq!(
            func_info(40)[1],
            FuncInfo {
                insn_off: 40,
                type_id: 6
            }
        );
    }
}
