//! The dir backend on a private temporary directory, with the real `qemu-img`.

use std::path::{Path, PathBuf};

use shared::cmd::Cmd;

use super::super::snapshots::{GroupSnap, SnapshotStore};
use super::super::testing::write_head;
use super::*;

/// A private directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let d = std::env::temp_dir().join(format!(
            "vmmgr-dir-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("vms")).unwrap();
        Scratch(d)
    }

    fn store(&self) -> Dir {
        Dir::new(&self.0.join("vms")).unwrap()
    }

    /// A qcow2 image of 4 MiB with `pattern` at offset 64 KiB (made by qemu-img itself).
    fn image(&self, file: &str, pattern: &[u8]) -> PathBuf {
        let raw = self.0.join(format!("{file}.raw"));
        let mut data = vec![0u8; 4 << 20];
        data[65536..65536 + pattern.len()].copy_from_slice(pattern);
        std::fs::write(&raw, &data).unwrap();
        raw
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn raw_bytes(qcow2: &Path, out: &Path) -> Vec<u8> {
    Cmd::new("qemu-img")
        .args(["convert", "-f", "qcow2", "-O", "raw", "--"])
        .arg(qcow2)
        .arg(out)
        .timeout(std::time::Duration::from_secs(30))
        .run()
        .unwrap();
    std::fs::read(out).unwrap()
}

#[test]
fn image_names_map_to_files_in_the_vm_directory() {
    let d = Dir::new(Path::new("/srv/vms")).unwrap();
    assert_eq!(
        d.disk_path("system_web-1").unwrap(),
        Path::new("/srv/vms/web-1/system.qcow2")
    );
    assert_eq!(
        d.disk_path("data_web_1_0").unwrap(),
        Path::new("/srv/vms/web_1/data_1.qcow2")
    );
    assert_eq!(
        d.disk_path("data_a_11").unwrap(),
        Path::new("/srv/vms/a/data_12.qcow2")
    );
    assert_eq!(d.xml_path("a"), Path::new("/srv/vms/a/domain.xml"));
    assert_eq!(d.image_label("system_a"), "/srv/vms/a/system.qcow2");
    for bad in [
        "system_",
        "system_../x",
        "data_a",
        "data_a_",
        "data_a_x",
        "x_a",
        "data_1_0",
    ] {
        assert!(d.disk_path(bad).is_err(), "{bad}");
    }
    assert_eq!(
        Disk::image_of("a", "data_3.qcow2").as_deref(),
        Some("data_a_2")
    );
    assert_eq!(Disk::image_of("a", "data_0.qcow2"), None);
    assert_eq!(Disk::image_of("a", "other.qcow2"), None);
    // the root: absolute, and nothing that could break the XML or a shell-less argv
    assert!(Dir::new(Path::new("vms")).unwrap_err().is_invalid_input());
    assert!(Dir::new(Path::new("/a'b")).is_err());
    assert!(Dir::new(Path::new("/a\nb")).is_err());
    assert_eq!(d.backend(), Backend::Dir);
}

/// A VM's life on the dir backend as create and remove drive it: directory, import converted
/// to qcow2 with progress (the content kept), metadata in files written atomically, listing,
/// and removal leaving no directory.
#[test]
fn create_import_metadata_list_and_remove() {
    let s = Scratch::new("life");
    let d = s.store();
    assert!(d.list_images().unwrap().is_empty());
    d.create_group("a").unwrap();
    assert!(matches!(
        d.create_group("a"),
        Err(StorageError::Exists { .. })
    ));
    let raw = s.image("sys", b"vm-mgr dir backend");
    assert_eq!(d.probe_format(&raw).unwrap(), "raw");
    let mut seen = Vec::new();
    d.import(&raw, "raw", "system_a", &mut |p| seen.push(p))
        .unwrap();
    assert_eq!(seen.last().copied().flatten(), Some(1.0), "{seen:?}");
    let system = s.0.join("vms/a/system.qcow2");
    assert_eq!(qcow2::probe_format(&system).unwrap(), "qcow2");
    let back = raw_bytes(&system, &s.0.join("back.raw"));
    assert_eq!(back, std::fs::read(&raw).unwrap(), "the content is kept");
    // a second import onto the same disk is refused, and the first is untouched
    assert!(matches!(
        d.import(&raw, "raw", "system_a", &mut |_| {}),
        Err(StorageError::Exists { .. })
    ));
    // a qcow2 source stays qcow2: data disk 1
    let q = s.0.join("data.qcow2");
    qcow2::convert_to_qcow2(&s.image("data", b"data"), "raw", &q, &mut |_| {}).unwrap();
    assert_eq!(d.probe_format(&q).unwrap(), "qcow2");
    d.import(&q, "qcow2", "data_a_0", &mut |_| {}).unwrap();
    assert!(s.0.join("vms/a/data_1.qcow2").is_file());
    // no partial file is left behind
    let names: Vec<String> = std::fs::read_dir(s.0.join("vms/a"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.starts_with('.')), "{names:?}");

    assert_eq!(d.list_images().unwrap(), ["data_a_0", "system_a"]);
    assert_eq!(d.list_groups().unwrap(), ["a"]);
    assert_eq!(d.group_images("a").unwrap(), ["data_a_0", "system_a"]);
    assert!(d.group_images("b").unwrap().is_empty());
    assert!(d.image_exists("system_a").unwrap());
    assert!(!d.image_exists("system_b").unwrap());
    d.group_add("a", "data_a_0").unwrap();
    assert!(d.group_add("a", "system_b").is_err());

    // metadata: xml and the fragment in their own files, the rest in metadata.json
    d.meta_set("system_a", "xml", "<domain/>").unwrap();
    d.meta_set("system_a", "_vmmgr_fragment", "<vmmgr-fragment/>")
        .unwrap();
    d.meta_set("system_a", "owner", "ops").unwrap();
    d.meta_set("system_a", "note", "--help\nline 2").unwrap();
    assert_eq!(
        std::fs::read_to_string(s.0.join("vms/a/domain.xml")).unwrap(),
        "<domain/>"
    );
    assert_eq!(
        std::fs::read_to_string(s.0.join("vms/a/cib.xml")).unwrap(),
        "<vmmgr-fragment/>"
    );
    let json = std::fs::read_to_string(s.0.join("vms/a/metadata.json")).unwrap();
    let parsed: BTreeMap<String, String> = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed.len(), 2, "{json}");
    assert_eq!(
        d.meta_get("system_a", "note").unwrap().as_deref(),
        Some("--help\nline 2")
    );
    assert_eq!(
        d.meta_get("system_a", "xml").unwrap().as_deref(),
        Some("<domain/>")
    );
    assert_eq!(d.meta_get("system_a", "nosuch").unwrap(), None);
    let all = d.meta_list("system_a").unwrap();
    assert_eq!(
        all.keys().collect::<Vec<_>>(),
        ["_vmmgr_fragment", "note", "owner", "xml"]
    );
    d.meta_remove("system_a", "owner").unwrap();
    d.meta_remove("system_a", "owner").unwrap();
    assert_eq!(d.meta_get("system_a", "owner").unwrap(), None);
    // only the system disk has metadata; a missing VM is "not found"
    assert!(d.meta_set("data_a_0", "k", "v").is_err());
    assert!(d.meta_get("system_b", "k").unwrap_err().is_not_found());

    // remove as teardown does: no snapshots, the disks, then the directory
    assert!(d.group_snap_list("a").unwrap().is_empty());
    for i in d.group_images("a").unwrap() {
        d.remove_image(&i).unwrap();
    }
    assert!(d.remove_image("system_a").unwrap_err().is_not_found());
    d.remove_group("a").unwrap();
    assert!(!s.0.join("vms/a").exists());
    d.remove_group("a").unwrap();
    assert!(d.list_groups().unwrap().is_empty());
}

#[test]
fn remove_group_leaves_files_vm_mgr_did_not_write() {
    let s = Scratch::new("foreign");
    let d = s.store();
    d.create_group("a").unwrap();
    std::fs::write(s.0.join("vms/a/notes.txt"), "mine").unwrap();
    // what a killed import or write left is vm-mgr's own
    std::fs::write(s.0.join("vms/a/.system.qcow2.part"), "half").unwrap();
    std::fs::write(s.0.join("vms/a/.metadata.json.tmp-99"), "half").unwrap();
    let e = d.remove_group("a").unwrap_err();
    assert!(e.to_string().contains("only its own files"), "{e}");
    assert!(s.0.join("vms/a/notes.txt").is_file());
    assert!(!s.0.join("vms/a/.system.qcow2.part").exists());
    assert!(!s.0.join("vms/a/.metadata.json.tmp-99").exists());
    std::fs::remove_file(s.0.join("vms/a/notes.txt")).unwrap();
    d.remove_group("a").unwrap();
    assert!(!s.0.join("vms/a").exists());
}

#[test]
fn a_corrupt_or_oversized_metadata_file_is_an_error_not_a_panic() {
    let s = Scratch::new("corrupt");
    let d = s.store();
    d.create_group("a").unwrap();
    std::fs::write(s.0.join("vms/a/system.qcow2"), b"").unwrap();
    std::fs::write(s.0.join("vms/a/metadata.json"), "{not json").unwrap();
    let e = d.meta_list("system_a").unwrap_err();
    assert!(matches!(e, StorageError::Parse { .. }), "{e}");
    // a FIFO instead of the XML is refused at once (bounded reads), not waited on
    let fifo = s.0.join("vms/a/domain.xml");
    Cmd::new("mkfifo")
        .arg(&fifo)
        .timeout(std::time::Duration::from_secs(5))
        .run()
        .unwrap();
    let e = d.meta_get("system_a", "xml").unwrap_err();
    assert!(e.to_string().contains("FIFO"), "{e}");
}

#[test]
fn a_failed_import_leaves_no_partial_disk() {
    let s = Scratch::new("fail");
    let d = s.store();
    d.create_group("a").unwrap();
    let raw = s.image("sys", b"x");
    // claimed to be qcow2: qemu-img refuses it
    let e = d
        .import(&raw, "qcow2", "system_a", &mut |_| {})
        .unwrap_err();
    assert!(e.to_string().contains("qemu-img"), "{e}");
    let left: Vec<_> = std::fs::read_dir(s.0.join("vms/a")).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    // into a VM directory that does not exist: an error naming the disk
    let e = d.import(&raw, "raw", "system_b", &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("system"), "{e}");
}

/// Snapshots are qcow2 snapshots in every disk file (real `qemu-img`); a copy is a new qcow2
/// file of the snapshot's data; a copy-on-write clone of a missing disk is not found.
#[test]
fn snapshots_are_in_every_disk_file_and_a_copy_has_the_snapshot_s_data() {
    let d = Dir::new(Path::new("/srv/vms")).unwrap();
    let e = d.group_snap_create("a", "s").unwrap_err();
    assert!(e.is_not_found(), "{e}");
    let e = d.clone_image("system_a", "s", "system_b").unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(!Path::new("/srv/vms/.bases").exists());
    assert!(d.copy_image("system_a", "s", "system_b").is_err());

    let s = Scratch::new("snap");
    let d = s.store();
    d.create_group("a").unwrap();
    let raw = s.image("sys", b"first");
    for i in ["system_a", "data_a_0"] {
        d.import(&raw, "raw", i, &mut |_| {}).unwrap();
    }
    d.group_snap_create("a", "s").unwrap();
    let e = d.group_snap_create("a", "s").unwrap_err();
    assert!(matches!(e, StorageError::Exists { .. }), "{e}");
    assert_eq!(
        d.group_snap_list("a").unwrap(),
        [GroupSnap {
            name: "s".into(),
            state: "ok".into()
        }]
    );
    for i in ["system_a", "data_a_0"] {
        let snaps = d.image_snaps(i).unwrap();
        assert_eq!(snaps.len(), 1, "{i}");
        assert!(
            snaps[0].is_group_snap("s") && !snaps[0].protected,
            "{snaps:?}"
        );
        d.snap_create(i, "s").unwrap();
    }
    assert!(d.snap_create("system_a", "t").unwrap_err().is_not_found());
    // the export of a snapshot is its raw content
    let out = s.0.join("out.raw");
    d.export_image("data_a_0", "s", &out).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&raw).unwrap());
    assert!(d
        .export_image("data_a_0", "t", &out)
        .unwrap_err()
        .is_not_found());
    // a copy: a new qcow2 file with the snapshot's data and no snapshot, not over a disk
    d.create_group("b").unwrap();
    d.copy_image("data_a_0", "s", "system_b").unwrap();
    assert!(d.image_snaps("system_b").unwrap().is_empty());
    d.group_snap_create("b", "t").unwrap();
    let copied = s.0.join("copied.raw");
    d.export_image("system_b", "t", &copied).unwrap();
    assert_eq!(
        std::fs::read(&copied).unwrap(),
        std::fs::read(&raw).unwrap()
    );
    let e = d.copy_image("data_a_0", "s", "system_b").unwrap_err();
    assert!(matches!(e, StorageError::Exists { .. }), "{e}");
    // removing from one disk leaves the snapshot incomplete; removing the group's is total
    d.snap_remove("data_a_0", "s").unwrap();
    d.snap_remove("data_a_0", "s").unwrap();
    assert_eq!(d.group_snap_list("a").unwrap()[0].state, "incomplete");
    assert!(d.group_snap_rollback("a", "s").unwrap_err().is_not_found());
    d.group_snap_remove("a", "s").unwrap();
    assert!(d.group_snap_list("a").unwrap().is_empty());
    assert!(d.image_snaps("system_a").unwrap().is_empty());
}

/// A VM `a` with a system and a data disk holding `pattern`, at snapshot `s`, whose disks
/// then change to `B`s.
fn source_at_s(s: &Scratch, d: &Dir) {
    d.create_group("a").unwrap();
    let raw = s.image("a", b"snapshot data");
    for i in ["system_a", "data_a_0"] {
        d.import(&raw, "raw", i, &mut |_| {}).unwrap();
    }
    d.group_snap_create("a", "s").unwrap();
    for f in ["system.qcow2", "data_1.qcow2"] {
        write_head(&s.0.join("vms/a").join(f), b'B');
    }
}

/// Copy-on-write clones (real `qemu-img`): overlays of one read-only base per snapshot, with
/// the snapshot's data; the source removed, they keep it; snapshots, copies and exports of a
/// clone are self-contained; the base goes with its last clone.
#[test]
fn copy_on_write_clones_share_a_base_that_outlives_the_source_and_goes_with_the_last_clone() {
    let s = Scratch::new("cow");
    let d = s.store();
    source_at_s(&s, &d);
    let raw = std::fs::read(s.0.join("a.raw")).unwrap();
    for c in ["b", "c"] {
        d.create_group(c).unwrap();
        d.clone_image("system_a", "s", &format!("system_{c}"))
            .unwrap();
    }
    d.clone_image("data_a_0", "s", "data_b_0").unwrap();
    let base = d.base_path("system_a", "s").unwrap();
    let dir = base.parent().unwrap();
    assert!(dir.starts_with(s.0.join("vms/.bases")), "{}", dir.display());
    assert!(dir
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("a@s@"));
    let mut in_base: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    in_base.sort();
    assert_eq!(
        in_base,
        ["data_1.qcow2", "system.qcow2"],
        "one base per disk"
    );
    assert!(std::fs::metadata(&base).unwrap().permissions().readonly());
    assert_eq!(d.base_users(&base).unwrap(), 2);
    let disk_b = s.0.join("vms/b/system.qcow2");
    assert_eq!(qcow2::backing_file(&disk_b).unwrap(), Some(base.clone()));
    assert_eq!(
        raw_bytes(&disk_b, &s.0.join("b.raw")),
        raw,
        "the snapshot's data"
    );
    assert_eq!(d.list_groups().unwrap(), ["a", "b", "c"], ".bases is no VM");

    // the source's snapshot and the source itself go: the clones keep their data
    d.group_snap_remove("a", "s").unwrap();
    for i in ["system_a", "data_a_0"] {
        d.remove_image(i).unwrap();
    }
    d.remove_group("a").unwrap();
    assert_eq!(raw_bytes(&disk_b, &s.0.join("b.raw")), raw);
    // a clone's own snapshot, rollback, copy and export; the latter two hold the whole data
    d.group_snap_create("b", "t").unwrap();
    write_head(&disk_b, b'C');
    d.group_snap_rollback("b", "t").unwrap();
    assert_eq!(raw_bytes(&disk_b, &s.0.join("b.raw")), raw, "rolled back");
    write_head(&disk_b, b'D');
    let out = s.0.join("b-t.raw");
    d.export_image("system_b", "t", &out).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), raw, "the export is flattened");
    d.create_group("e").unwrap();
    d.copy_image("system_b", "t", "system_e").unwrap();
    let disk_e = s.0.join("vms/e/system.qcow2");
    assert_eq!(qcow2::backing_file(&disk_e).unwrap(), None);
    assert_eq!(raw_bytes(&disk_e, &s.0.join("e.raw")), raw);

    // the base goes with its last clone, not before (with what a killed writer left there)
    std::fs::write(dir.join(".system.qcow2.part-1"), b"half").unwrap();
    d.remove_image("system_b").unwrap();
    assert!(base.is_file(), "c still uses it");
    d.remove_image("system_c").unwrap();
    assert!(!base.exists());
    assert!(dir.join("data_1.qcow2").is_file(), "data_b_0 still uses it");
    d.remove_image("data_b_0").unwrap();
    assert!(!dir.exists(), "the base directory is gone");
}

/// A snapshot taken again under the same name gets its own base (the new data); a clone that
/// fails leaves no base behind; a clone of a snapshot that does not exist writes nothing.
#[test]
fn a_new_snapshot_of_the_same_name_gets_a_new_base_and_a_failed_clone_leaves_none() {
    let s = Scratch::new("cow2");
    let d = s.store();
    source_at_s(&s, &d);
    d.create_group("b").unwrap();
    d.clone_image("system_a", "s", "system_b").unwrap();
    let old = d.base_path("system_a", "s").unwrap();
    d.group_snap_remove("a", "s").unwrap();
    d.group_snap_create("a", "s").unwrap();
    let new = d.base_path("system_a", "s").unwrap();
    assert_ne!(old, new);
    d.create_group("c").unwrap();
    d.clone_image("system_a", "s", "system_c").unwrap();
    let head = |c: &str| {
        raw_bytes(
            &s.0.join("vms").join(c).join("system.qcow2"),
            &s.0.join("h.raw"),
        )
    };
    assert_eq!(head("c")[..512], [b'B'; 512][..], "the new snapshot's data");
    assert_eq!(&head("b")[65536..65549], b"snapshot data");
    assert_ne!(head("b")[..512], [b'B'; 512][..]);

    // onto an existing disk: refused, and the base it wrote is gone again
    let e = d.clone_image("data_a_0", "s", "system_c").unwrap_err();
    assert!(matches!(e, StorageError::Exists { .. }), "{e}");
    assert!(!new.with_file_name("data_1.qcow2").exists());
    assert!(new.is_file(), "the base in use stays");
    let e = d.clone_image("system_a", "nosuch", "system_d").unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(!s.0.join("vms/d").exists());
    let bases: Vec<_> = std::fs::read_dir(s.0.join("vms/.bases"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(bases.len(), 3, "the lock and two bases: {bases:?}");
}
