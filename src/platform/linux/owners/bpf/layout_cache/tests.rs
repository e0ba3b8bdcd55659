use super::*;
use std::os::unix::fs::PermissionsExt;

fn a_layout() -> Layout {
    let mut offsets = [0u32; OFFSETS];
    for (i, o) in offsets.iter_mut().enumerate() {
        *o = (i as u32) * 8 + 3;
    }
    Layout {
        iter_func: 12345,
        task_func: Some(678),
        tcp_func: None,
        offsets,
        glimpse: true,
        state_tracepoint: Some(4242),
        per_process: false,
    }
}

/// ELF notes: (name, type, desc) each as the kernel lays them out.
fn notes(entries: &[(&[u8], u32, &[u8])]) -> Vec<u8> {
    let mut v = Vec::new();
    let pad = |v: &mut Vec<u8>| v.resize(v.len().next_multiple_of(4), 0);
    for (name, kind, desc) in entries {
        v.extend_from_slice(&(name.len() as u32).to_ne_bytes());
        v.extend_from_slice(&(desc.len() as u32).to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(name);
        pad(&mut v);
        v.extend_from_slice(desc);
        pad(&mut v);
    }
    v
}

#[test]
fn the_build_id_is_the_gnu_note_of_type_3() {
    let id = [0x4a, 0x5a, 0x9b, 0x0a, 0xff, 0xb6, 0x6c, 0x43, 0x7a, 0xbc];
    let blob = notes(&[
        (b"Xen\0", 3, b"not this one"),
        (b"Linux\0", 1, &[1, 2, 3]),
        (b"GNU\0", 1, b"wrong type"),
        (b"GNU\0", 3, &id),
    ]);
    assert_eq!(build_id(&blob), Some(&id[..]));
    assert_eq!(build_id(&notes(&[(b"Linux\0", 3, &id)])), None);
    assert_eq!(
        build_id(&notes(&[(b"GNU\0", 3, &[])])),
        None,
        "an empty id is none"
    );
}

#[test]
fn cut_or_garbage_notes_never_panic() {
    let blob = notes(&[(b"Linux\0", 1, &[1, 2, 3]), (b"GNU\0", 3, &[9; 20])]);
    for cut in 0..blob.len() {
        let id = build_id(&blob[..cut]);
        assert!(id.is_none(), "a note cut at {cut} is not read past its end");
    }
    let huge = [0xffu8; 64];
    assert_eq!(build_id(&huge), None);
}

#[test]
fn a_layout_reads_back_as_written_for_its_key_only() {
    let l = a_layout();
    let text = render("abc 1 2", &l);
    assert_eq!(parse(&text, "abc 1 2"), Some(l.clone()));
    assert_eq!(parse(&text, "abc 1 3"), None, "another kernel's");
    // Every way of being cut or changed is no layout, never a wrong one.
    for cut in 0..text.len() {
        assert_eq!(parse(&text[..cut], "abc 1 2"), None, "cut at {cut}");
    }
    let extra = text.replace("\noffsets ", "\noffsets 1 ");
    assert_eq!(parse(&extra, "abc 1 2"), None, "one offset too many");
    let renamed = text.replace("glimpse 1", "glimpse yes");
    assert_eq!(parse(&renamed, "abc 1 2"), None);
    let trailing = format!("{text}more\n");
    assert_eq!(parse(&trailing, "abc 1 2"), None);
    let other_version = text.replacen("btf-layout 1", "btf-layout 2", 1);
    assert_eq!(parse(&other_version, "abc 1 2"), None);
}

#[test]
fn stored_then_loaded_and_only_when_nobody_else_could_write_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let l = a_layout();
    assert_eq!(load(&dir, "k"), None, "nothing kept yet");
    store(&dir, "k", &l);
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "the directory is made private");
    assert_eq!(load(&dir, "k"), Some(l.clone()));
    assert_eq!(load(&dir, "other"), None);

    let file = dir.join(FILE);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(
        load(&dir, "k"),
        None,
        "a file others may write is not trusted"
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert_eq!(
        load(&dir, "k"),
        None,
        "nor one in a directory others may write"
    );
    store(&dir, "k2", &l);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        render("k", &l),
        "nor is it written there"
    );
}

#[test]
fn a_garbled_file_is_replaced_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join(FILE), "portwatch btf-layout 1\nkey k\niter_fu").unwrap();
    assert_eq!(load(dir, "k"), None);
    store(dir, "k", &a_layout());
    assert_eq!(load(dir, "k"), Some(a_layout()));
    let names: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
    assert_eq!(names.len(), 1, "no temp file left");
}

#[test]
fn this_kernel_has_a_key() {
    // Linux has had a build id note since 2.6.23; a kernel without BTF has no key.
    if std::fs::metadata("/sys/kernel/btf/vmlinux").is_err() {
        return;
    }
    let k = key("/sys/kernel/btf/vmlinux").expect("a key for this kernel");
    let size = std::fs::metadata("/sys/kernel/btf/vmlinux").unwrap().len();
    assert!(k.contains(&format!(" {size} ")), "{k}");
    assert_eq!(key("/nonexistent/vmlinux"), None);
}

#[test]
fn links_are_not_followed_to_a_layout_or_a_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real");
    store(&real, "k", &a_layout());
    assert_eq!(load(&real, "k"), Some(a_layout()));
    // A link in the directory's place: neither read nor written through.
    let linked_dir = tmp.path().join("linked");
    std::os::unix::fs::symlink(&real, &linked_dir).unwrap();
    assert_eq!(load(&linked_dir, "k"), None);
    store(&linked_dir, "k2", &a_layout());
    assert_eq!(
        load(&real, "k"),
        Some(a_layout()),
        "not written through the link"
    );
    // A link in the file's place, to a layout elsewhere: not read, and replaced by a file.
    let other = tmp.path().join("other");
    store(&other, "k", &a_layout());
    let dir = tmp.path().join("dir");
    std::fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
    std::os::unix::fs::symlink(other.join(FILE), dir.join(FILE)).unwrap();
    assert_eq!(load(&dir, "k"), None);
    store(&dir, "k", &a_layout());
    assert!(!std::fs::symlink_metadata(dir.join(FILE))
        .unwrap()
        .is_symlink());
    assert_eq!(load(&dir, "k"), Some(a_layout()));
    assert_eq!(
        load(&other, "k"),
        Some(a_layout()),
        "the link's target is untouched"
    );
}
