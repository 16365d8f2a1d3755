//! Parser tests on recorded real Ceph 16.2.15 outputs (tests/fixtures/ceph/, see its README),
//! plus the constructed `rbd device list` outputs, labelled as such.

use super::error::{classify, errno_in};
use super::types::*;
use super::{Ceph, CephError, Conn, ImageSpec};

#[test]
fn image_info() {
    let i = parse_image_info(fixture!("rbd-info.out")).unwrap();
    assert_eq!(i.name, "rec1");
    assert_eq!(i.size, 16 * 1024 * 1024);
    assert_eq!(i.format, 2);
    assert!(i.id.as_deref().is_some_and(|id| !id.is_empty()));
    assert!(i.has_exclusive_lock());
    assert_eq!(i.group.as_deref(), Some("rbd/recg"));
    let j = parse_image_info(fixture!("rbd-info-in-group.out")).unwrap();
    assert_eq!(j.name, "rec2");
}

#[test]
fn status_watchers() {
    assert!(parse_status(fixture!("rbd-status-no-watchers.out"))
        .unwrap()
        .is_empty());
    let w = parse_status(fixture!("rbd-status-watchers.out")).unwrap();
    assert_eq!(w.len(), 2);
    let ips: Vec<String> = w.iter().map(|w| w.address.ip.to_string()).collect();
    assert_eq!(ips, ["10.78.0.2", "10.78.0.3"]);
    assert!(w
        .iter()
        .all(|w| w.client > 0 && w.cookie > 0 && w.address.nonce > 0));
}

#[test]
fn rbd_locks() {
    assert!(parse_lock_ls(fixture!("rbd-lock-ls-empty.out"))
        .unwrap()
        .is_empty());
    let l = parse_lock_ls(fixture!("rbd-lock-ls-advisory.out")).unwrap();
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].id, "cookie sim1");
    assert!(l[0].locker.starts_with("client."));
    assert_eq!(l[0].address.ip.to_string(), "10.78.0.1");
    assert!(!l[0].is_librbd());
    let q = parse_lock_ls(fixture!("rbd-lock-ls-librbd.out")).unwrap();
    assert_eq!(q.len(), 1);
    assert!(q[0].is_librbd());
    assert_eq!(q[0].address.ip.to_string(), "10.78.0.3");
    // librbd's lock is held by the writer whose watcher is in `rbd status` at the same time
    let w = parse_status(fixture!("rbd-status-watchers.out")).unwrap();
    assert!(w.iter().any(|w| w.address == q[0].address));
}

#[test]
fn object_locks() {
    let never = parse_object_lock(fixture!("rados-lock-info-never-taken.out")).unwrap();
    assert_eq!((never.lock_type.as_str(), never.lockers.len()), ("none", 0));
    let held = parse_object_lock(fixture!("rados-lock-info-held.out")).unwrap();
    assert_eq!(held.name, "vmmgr_guard");
    assert_eq!(held.lock_type, "exclusive");
    assert_eq!(held.tag, "vmmgr-guard");
    assert_eq!(held.lockers.len(), 1);
    let h = &held.lockers[0];
    assert_eq!(h.cookie, "sim1");
    assert_eq!(h.description, "vmmgr guard: node sim1");
    assert_eq!(h.addr.ip.to_string(), "10.78.0.1");
    assert!(h.name.starts_with("client."));
    let released = parse_object_lock(fixture!("rados-lock-info-released.out")).unwrap();
    assert_eq!(released.lock_type, "exclusive");
    assert!(released.lockers.is_empty());
}

#[test]
fn device_lists() {
    // real: no device mapped
    assert!(parse_device_list(fixture!("rbd-device-list-empty.out"))
        .unwrap()
        .is_empty());
    // CONSTRUCTED (no krbd here): the krbd JSON shape of src/krbd.cc
    let k = parse_device_list(fixture!("constructed-rbd-device-list-krbd.json")).unwrap();
    assert_eq!(k.len(), 4);
    assert_eq!(
        k[0],
        MappedDevice {
            id: "0".into(),
            pool: "rbd".into(),
            namespace: String::new(),
            image: "vm1-disk".into(),
            snap: None,
            device: "/dev/rbd0".into()
        }
    );
    assert_eq!(k[1].namespace, "ns1");
    assert_eq!(k[2].snap.as_deref(), Some("base"));
    // CONSTRUCTED (no nbd here): the rbd-nbd JSON shape of src/tools/rbd/action/Nbd.cc
    let n = parse_device_list(fixture!("constructed-rbd-device-list-nbd.json")).unwrap();
    assert_eq!(n[0].id, "4242");
    assert_eq!(n[0].image, "vm1-disk");
    assert_eq!(n[0].snap, None);
    assert_eq!(n[1].snap.as_deref(), Some("base"));
    assert_eq!(n[1].device, "/dev/nbd1");
}

#[test]
fn groups() {
    let g = parse_group_images(fixture!("rbd-group-image-list.out")).unwrap();
    let names: Vec<&str> = g.iter().map(|i| i.image.as_str()).collect();
    assert_eq!(names, ["rec1", "rec2"]);
    assert!(g
        .iter()
        .all(|i| i.pool == "rbd" && i.namespace.is_empty() && i.state == 0));
    // a missing group looks like an empty one
    assert!(
        parse_group_images(fixture!("rbd-group-image-list-missing-group.out"))
            .unwrap()
            .is_empty()
    );
    assert!(parse_group_list(fixture!("rbd-group-list.out"))
        .unwrap()
        .contains(&"recg".to_string()));
}

#[test]
fn image_meta() {
    let m = parse_image_meta(fixture!("rbd-image-meta-list.out")).unwrap();
    assert_eq!(m.get("vmmgr.k1").map(String::as_str), Some("v 1"));
    // recorded: no metadata prints nothing at all (the fixture file is not even created)
    assert!(parse_image_meta("").unwrap().is_empty());
    assert_eq!(fixture!("rbd-image-meta-get.out"), "v 1\n");
}

#[test]
fn blocklist() {
    let text = fixture!("ceph-osd-blocklist-ls.out");
    assert!(text.starts_with('\n') && text.trim_end().ends_with("[]"));
    let b = parse_blocklist(text).unwrap();
    assert!(b.iter().any(|e| e.addr == "10.78.0.99:0/12345"));
    assert!(b.iter().all(|e| !e.until.is_empty()));
    assert!(parse_blocklist("\n[][]").unwrap().is_empty());
}

#[test]
fn map_output() {
    assert_eq!(parse_map_output("/dev/rbd0\n").unwrap(), "/dev/rbd0");
    assert!(parse_map_output("").is_err());
}

fn rc(text: &str) -> Option<i32> {
    text.trim().parse().ok()
}

/// (program, recorded exit code, recorded stderr, expected class)
type Case = (
    &'static str,
    &'static str,
    &'static str,
    fn(&CephError) -> bool,
);

#[test]
fn errors_are_classified() {
    let cases: [Case; 10] = [
        (
            "rbd",
            fixture!("rbd-info-missing-image.rc"),
            fixture!("rbd-info-missing-image.err"),
            CephError::is_not_found,
        ),
        (
            "rbd",
            fixture!("rbd-info-missing-pool.rc"),
            fixture!("rbd-info-missing-pool.err"),
            CephError::is_not_found,
        ),
        (
            "rbd",
            fixture!("rbd-lock-add-busy.rc"),
            fixture!("rbd-lock-add-busy.err"),
            CephError::is_busy,
        ),
        (
            "rbd",
            fixture!("rbd-info-mon-down.rc"),
            fixture!("rbd-info-mon-down.err"),
            CephError::is_unreachable,
        ),
        (
            "rados",
            fixture!("rados-lock-get-busy.rc"),
            fixture!("rados-lock-get-busy.err"),
            CephError::is_busy,
        ),
        (
            "rados",
            fixture!("rados-lock-info-missing-object.rc"),
            fixture!("rados-lock-info-missing-object.err"),
            CephError::is_not_found,
        ),
        (
            "rados",
            fixture!("rados-lock-break-gone.rc"),
            fixture!("rados-lock-break-gone.err"),
            CephError::is_not_found,
        ),
        (
            "rados",
            fixture!("rados-lock-info-mon-down.rc"),
            fixture!("rados-lock-info-mon-down.err"),
            CephError::is_unreachable,
        ),
        (
            "ceph",
            fixture!("ceph-osd-blocklist-add-mon-down.rc"),
            fixture!("ceph-osd-blocklist-add-mon-down.err"),
            CephError::is_unreachable,
        ),
        (
            "rbd",
            fixture!("rbd-image-meta-get-missing-key.rc"),
            fixture!("rbd-image-meta-get-missing-key.err"),
            CephError::is_not_found,
        ),
    ];
    for (program, code, stderr, check) in cases {
        let e = classify(program.into(), rc(code), stderr.trim().into(), program);
        assert!(check(&e), "{program} rc={code}: {e:?}");
    }
    // other failures stay generic, with their errno
    let e = classify(
        "ceph".into(),
        rc(fixture!("ceph-osd-blocklist-add-invalid.rc")),
        fixture!("ceph-osd-blocklist-add-invalid.err").into(),
        "ceph",
    );
    assert!(
        matches!(
            e,
            CephError::Failed {
                errno: Some(22),
                ..
            }
        ),
        "{e:?}"
    );
    let e = classify(
        "rbd".into(),
        rc(fixture!("rbd-device-unmap-not-mapped.rc")),
        fixture!("rbd-device-unmap-not-mapped.err").into(),
        "rbd",
    );
    assert!(
        matches!(
            e,
            CephError::Failed {
                errno: Some(22),
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn errno_extraction() {
    assert_eq!(errno_in("error 16: (16) Device or resource busy"), Some(16));
    assert_eq!(
        errno_in("rbd: error opening image nosuch: (2) No such file or directory"),
        Some(2)
    );
    assert_eq!(errno_in("rbd: lock is already held by someone else"), None);
}

#[test]
fn meta_get_carries_the_connection_and_a_mount_timeout() {
    // (moved from the VirtualDomain agent's fetch of rbd_xml_source, which now calls meta_get)
    let image = ImageSpec::new("rbd", "", "system_a", "").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let words = |conn: Conn| -> Vec<String> {
        let cmdline = Ceph::new(conn, deadline)
            .meta_get_cmd(&image, "xml")
            .unwrap()
            .cmdline();
        cmdline.split_whitespace().map(str::to_owned).collect()
    };
    let plain = words(Conn::default());
    assert_eq!(plain[0], "rbd");
    assert_eq!(plain[1], "--client-mount-timeout");
    assert_eq!(plain[3..], ["image-meta", "get", "rbd/system_a", "xml"]);
    let conn = Conn {
        user: Some("libvirt".into()),
        conf: Some("/etc/ceph/prod.conf".into()),
        ..Conn::default()
    };
    let w = words(conn);
    assert_eq!(
        w[..5],
        ["rbd", "-c", "/etc/ceph/prod.conf", "--id", "libvirt"]
    );
    assert_eq!(w[7..], ["image-meta", "get", "rbd/system_a", "xml"]);
    let bad = Ceph::new(Conn::default(), deadline).meta_get_cmd(&image, "-x");
    assert!(bad.is_err(), "an option-like key never reaches the argv");
}

#[test]
fn an_interrupted_tool_says_so() {
    use std::error::Error as _;
    let e = CephError::from(crate::cmd::CmdError::Interrupted {
        cmdline: "rbd cp a@s b".into(),
        started: true,
    });
    assert_eq!(e.to_string(), "a Ceph tool was interrupted");
    let source = e.source().expect("the command's error").to_string();
    assert!(
        source.contains("`rbd cp a@s b` was ended by an interrupt"),
        "{source}"
    );
}
