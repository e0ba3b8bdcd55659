//! Values known only at load time, patched into the instructions: with no relocations (this
//! loader applies none), owners.bpf.c writes each as a 64-bit immediate whose high half is a
//! tag and low half an index (field offsets, wanted files, map fds, constants, the bpf_loop
//! callback's address), and these put the value in its place.

use super::LoadError;

/// The high half of a marked offset immediate (`OFF_MARK` in owners.bpf.c, "OWNR"); the low
/// half is the field's index.
const OFFSET_MARK: u32 = 0x4f57_4e52;

/// The high half of a marked function address (`FUNC_MARK` in owners.bpf.c, "OWNF").
const FUNC_MARK: u32 = 0x4f57_4e46;

/// The high half of a marked wanted-file immediate (`WANTED_MARK` in owners.bpf.c, "OWNW");
/// the low half is its index, below `WANTED_MAX`.
const WANTED_MARK: u32 = 0x4f57_4e57;

/// The high half of a marked map reference (`MAP_MARK` in owners.bpf.c, "OWNM"); the low
/// half is the map's index in what the loader made.
const MAP_MARK: u32 = 0x4f57_4e4d;

/// The high half of a marked load-time constant (`CONST_MARK` in owners.bpf.c, "OWNC"); the
/// low half is its index.
const CONST_MARK: u32 = 0x4f57_4e43;

/// How many file addresses the wanted-files program compares each fd slot with.
pub const WANTED_MAX: usize = 16;

/// `ld_imm64` (BPF_LD | BPF_IMM | BPF_DW): a 64-bit immediate over two instructions.
const LD_IMM64: u8 = 0x18;

/// The source register of an `ld_imm64` that holds a function's address (bpf_loop callbacks).
const BPF_PSEUDO_FUNC: u8 = 4;

/// The source register of an `ld_imm64` whose immediate is a map's fd (the verifier turns it
/// into the map's address).
const BPF_PSEUDO_MAP_FD: u8 = 1;

/// Replace every marked offset immediate with `offsets[index]`. Errors on an index past the
/// table; returns how many were patched.
pub fn patch_offsets(insns: &mut [u8], offsets: &[u32]) -> Result<usize, LoadError> {
    patch_marked(insns, OFFSET_MARK, |i| match offsets.get(i) {
        Some(&v) => Ok(Some(u64::from(v))),
        None => Err(LoadError::Object(format!(
            "BPF object: offset index {i} past the table"
        ))),
    })
}

/// Replace every marked wanted-file immediate with the address `files[index]`, or 0 (which
/// no fd slot that is compared holds) past the end of `files`. Returns how many were patched.
pub fn patch_wanted(insns: &mut [u8], files: &[u64]) -> Result<usize, LoadError> {
    if files.len() > WANTED_MAX {
        return Err(LoadError::Object(format!(
            "BPF object: {} wanted files, at most {WANTED_MAX}",
            files.len()
        )));
    }
    patch_marked(insns, WANTED_MARK, |i| {
        Ok((i < WANTED_MAX).then(|| files.get(i).copied().unwrap_or(0)))
    })
}

/// Set the 64-bit immediate of every `mark | index` to `value(index)`; `None` leaves it.
/// Returns how many were patched.
fn patch_marked(
    insns: &mut [u8],
    mark: u32,
    value: impl Fn(usize) -> Result<Option<u64>, LoadError>,
) -> Result<usize, LoadError> {
    each_ld_imm64(insns, |_, insn| {
        let (lo, hi) = (u32_of(&insn[4..8]), u32_of(&insn[12..16]));
        if hi != mark {
            return Ok(false);
        }
        let Some(v) = value(lo as usize)? else {
            return Ok(false);
        };
        insn[4..8].copy_from_slice(&(v as u32).to_le_bytes());
        insn[12..16].copy_from_slice(&((v >> 32) as u32).to_le_bytes());
        Ok(true)
    })
}

/// Turn every marked map reference (`MAP_MARK | index`) into a reference to the map whose fd
/// is `maps[index]` (BPF_PSEUDO_MAP_FD). Errors on an index past `maps`; returns how many
/// were patched.
pub fn patch_maps(insns: &mut [u8], maps: &[i32]) -> Result<usize, LoadError> {
    each_ld_imm64(insns, |_, insn| {
        let (lo, hi) = (u32_of(&insn[4..8]), u32_of(&insn[12..16]));
        if hi != MAP_MARK {
            return Ok(false);
        }
        let fd = maps.get(lo as usize).ok_or_else(|| {
            LoadError::Object(format!("BPF object: map index {lo} past the maps"))
        })?;
        insn[1] = (insn[1] & 0x0f) | (BPF_PSEUDO_MAP_FD << 4);
        insn[4..8].copy_from_slice(&fd.to_le_bytes());
        insn[12..16].copy_from_slice(&0u32.to_le_bytes());
        Ok(true)
    })
}

/// Replace every marked constant (`CONST_MARK | index`) with `values[index]`. Errors on an
/// index past `values`; returns how many were patched.
pub fn patch_constants(insns: &mut [u8], values: &[u64]) -> Result<usize, LoadError> {
    patch_marked(insns, CONST_MARK, |i| {
        values.get(i).copied().map(Some).ok_or_else(|| {
            LoadError::Object(format!("BPF object: constant index {i} past the values"))
        })
    })
}

/// Point every marked function address (`FUNC_MARK`) at the function that starts at
/// instruction `target`: a BPF_PSEUDO_FUNC immediate, relative to the instruction after it.
/// Returns how many were patched.
pub fn patch_functions(insns: &mut [u8], target: usize) -> Result<usize, LoadError> {
    each_ld_imm64(insns, |index, insn| {
        if u32_of(&insn[12..16]) != FUNC_MARK || u32_of(&insn[4..8]) != 0 {
            return Ok(false);
        }
        let delta = i32::try_from(target as i64 - index as i64 - 1)
            .map_err(|_| LoadError::Object("BPF object: function out of reach".into()))?;
        insn[1] = (insn[1] & 0x0f) | (BPF_PSEUDO_FUNC << 4);
        insn[4..8].copy_from_slice(&delta.to_le_bytes());
        insn[12..16].copy_from_slice(&0u32.to_le_bytes());
        Ok(true)
    })
}

/// `f` of each `ld_imm64` (its instruction index and 16 bytes), which says whether it changed
/// it; returns how many did.
fn each_ld_imm64(
    insns: &mut [u8],
    mut f: impl FnMut(usize, &mut [u8]) -> Result<bool, LoadError>,
) -> Result<usize, LoadError> {
    let mut changed = 0;
    let mut i = 0;
    while let Some(insn) = insns.get_mut(i..i + 16) {
        if insn[0] == LD_IMM64 {
            changed += usize::from(f(i / 8, insn)?);
            i += 16;
        } else {
            i += 8;
        }
    }
    Ok(changed)
}

fn u32_of(b: &[u8]) -> u32 {
    u32::from_le_bytes(b.try_into().unwrap_or([0; 4]))
}

#[cfg(test)]
mod tests {
    use super::super::{object, object_with_callback};
    use super::*;
    use crate::platform::linux::owners::bpf::{
        btf, feed, glimpse, BY_TASK, BY_TASK_CALLBACK, OBJECT, OF_FILES, OF_FILES_CALLBACK,
        PROGRAM, TCP_LISTENERS,
    };

    /// An ld_imm64 of `value`, then `exit`.
    fn ld_imm64(value: u64) -> Vec<u8> {
        let mut v = vec![LD_IMM64, 0x01, 0, 0];
        v.extend_from_slice(&(value as u32).to_le_bytes());
        v.extend_from_slice(&[0; 4]);
        v.extend_from_slice(&((value >> 32) as u32).to_le_bytes());
        v
    }

    #[test]
    fn marked_immediates_get_offsets_and_others_stay() {
        let mark = u64::from(OFFSET_MARK) << 32;
        let mut insns = [ld_imm64(mark | 2), ld_imm64(7), ld_imm64(mark)].concat();
        let plain = ld_imm64(7);
        assert_eq!(patch_offsets(&mut insns, &[100, 200, 300]).ok(), Some(2));
        assert_eq!(insns[..16], ld_imm64(300)[..]);
        assert_eq!(insns[16..32], plain[..]);
        assert_eq!(insns[32..], ld_imm64(100)[..]);
        let mut past = ld_imm64(mark | 9);
        assert!(patch_offsets(&mut past, &[1]).is_err());
    }

    #[test]
    fn every_field_is_read_by_some_program_and_patched_once() {
        let by_file = object(OBJECT, PROGRAM).unwrap_or_else(|e| panic!("{e:?}"));
        let by_task = object_with_callback(OBJECT, BY_TASK, BY_TASK_CALLBACK)
            .unwrap_or_else(|e| panic!("{e:?}"));
        // Every field is read by some program: patching with a table that marks
        // each field by its index shows which.
        let n = btf::OFFSETS;
        let table: Vec<u32> = (0..n as u32).map(|i| 1000 + i).collect();
        let mut seen = vec![false; n];
        let of_files = object_with_callback(OBJECT, OF_FILES, OF_FILES_CALLBACK)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let listeners = object(OBJECT, TCP_LISTENERS).unwrap_or_else(|e| panic!("{e:?}"));
        let glimpse = object(OBJECT, glimpse::SECTION).unwrap_or_else(|e| panic!("{e:?}"));
        let feed = object(OBJECT, feed::SECTION).unwrap_or_else(|e| panic!("{e:?}"));
        for obj in [&by_file, &by_task, &of_files, &listeners, &glimpse, &feed] {
            let mut insns = obj.insns.clone();
            patch_offsets(&mut insns, &table).expect("patch");
            each_ld_imm64(&mut insns, |_, insn| {
                if let Some(i) = u32_of(&insn[4..8]).checked_sub(1000) {
                    if let Some(s) = seen.get_mut(i as usize) {
                        *s = true;
                    }
                }
                Ok(false)
            })
            .expect("walk");
            // Patched once, nothing is left to patch.
            assert_eq!(patch_offsets(&mut insns, &[]).ok(), Some(0));
        }
        assert!(seen.iter().all(|&s| s), "fields no program reads: {seen:?}");
    }

    #[test]
    fn wanted_files_are_patched_in_and_the_rest_are_none() {
        let mark = u64::from(WANTED_MARK) << 32;
        let mut insns = [
            ld_imm64(mark | 1),
            ld_imm64(mark),
            ld_imm64(mark | 7),
            ld_imm64(9),
        ]
        .concat();
        let files = [0xffff_8880_0000_1000, 0xffff_8880_0000_2000];
        assert_eq!(patch_wanted(&mut insns, &files).ok(), Some(3));
        assert_eq!(insns[..16], ld_imm64(files[1])[..]);
        assert_eq!(insns[16..32], ld_imm64(files[0])[..]);
        assert_eq!(insns[32..48], ld_imm64(0)[..], "past the files: none");
        assert_eq!(insns[48..], ld_imm64(9)[..]);
        assert!(patch_wanted(&mut insns, &[1; WANTED_MAX + 1]).is_err());
        // The wanted-files program compares with all WANTED_MAX, each some times.
        let mut obj = object_with_callback(OBJECT, OF_FILES, OF_FILES_CALLBACK)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let mut seen = [false; WANTED_MAX];
        each_ld_imm64(&mut obj.insns, |_, insn| {
            if u32_of(&insn[12..16]) == WANTED_MARK {
                if let Some(s) = seen.get_mut(u32_of(&insn[4..8]) as usize) {
                    *s = true;
                }
            }
            Ok(false)
        })
        .expect("walk");
        assert_eq!(seen, [true; WANTED_MAX]);
        assert!(patch_wanted(&mut obj.insns, &files).expect("patch") >= WANTED_MAX);
    }

    #[test]
    fn maps_and_constants_are_patched_in() {
        let (map, konst) = (u64::from(MAP_MARK) << 32, u64::from(CONST_MARK) << 32);
        let mut insns = [
            ld_imm64(map | 1),
            ld_imm64(konst),
            ld_imm64(map),
            ld_imm64(7),
        ]
        .concat();
        assert_eq!(patch_maps(&mut insns, &[30, 31]).ok(), Some(2));
        assert_eq!(insns[1] >> 4, BPF_PSEUDO_MAP_FD);
        assert_eq!((u32_of(&insns[4..8]), u32_of(&insns[12..16])), (31, 0));
        assert_eq!(insns[33] >> 4, BPF_PSEUDO_MAP_FD);
        assert_eq!(u32_of(&insns[36..40]), 30);
        assert_eq!(patch_constants(&mut insns, &[0x1_f000_0001]).ok(), Some(1));
        assert_eq!(insns[16..32], ld_imm64(0x1_f000_0001)[..]);
        assert_eq!(insns[48..], ld_imm64(7)[..], "an unmarked immediate stays");
        assert!(patch_maps(&mut ld_imm64(map | 2), &[1, 2]).is_err());
        assert!(patch_constants(&mut ld_imm64(konst | 1), &[1]).is_err());
        // The feed refers to both its maps and to the reader's namespace; nothing is left
        // marked once patched.
        let mut feed = object(OBJECT, feed::SECTION).unwrap_or_else(|e| panic!("{e:?}"));
        let mut seen = [false; 2];
        each_ld_imm64(&mut feed.insns, |_, insn| {
            if u32_of(&insn[12..16]) == MAP_MARK {
                if let Some(s) = seen.get_mut(u32_of(&insn[4..8]) as usize) {
                    *s = true;
                }
            }
            Ok(false)
        })
        .expect("walk");
        assert_eq!(seen, [true; 2]);
        assert_eq!(patch_maps(&mut feed.insns, &[5, 6]).ok(), Some(2));
        assert_eq!(patch_constants(&mut feed.insns, &[1]).ok(), Some(1));
        let offsets = [0; btf::OFFSETS];
        assert!(patch_offsets(&mut feed.insns, &offsets).expect("patch") > 0);
        each_ld_imm64(&mut feed.insns, |_, insn| {
            let hi = u32_of(&insn[12..16]);
            assert!(
                ![MAP_MARK, CONST_MARK, OFFSET_MARK].contains(&hi),
                "left marked"
            );
            Ok(false)
        })
        .expect("walk");
    }

    #[test]
    fn a_marked_function_address_points_at_the_callback() {
        let mark = u64::from(FUNC_MARK) << 32;
        let mut insns = [vec![0xb7, 0, 0, 0, 0, 0, 0, 0], ld_imm64(mark), ld_imm64(7)].concat();
        assert_eq!(patch_functions(&mut insns, 10).ok(), Some(1));
        // At instruction 1, relative to the next (2 of the ld_imm64 pair): 10 - 1 - 1.
        assert_eq!(insns[9] >> 4, BPF_PSEUDO_FUNC);
        assert_eq!(u32_of(&insns[12..16]), 8);
        assert_eq!(u32_of(&insns[20..24]), 0);
        assert_eq!(insns[24..], ld_imm64(7)[..], "an unmarked immediate stays");
    }
}
