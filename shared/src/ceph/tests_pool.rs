//! Tests of the calls vm-mgr makes (pool, groups, metadata, snapshots, mon dump, import), on
//! outputs recorded from the real Ceph 16.2.15 and qemu-img 7.2 (tests/fixtures/ceph/, see
//! its README; the `-fx` and snapshot fixtures were recorded on vm-mgr's group `rbd/fx`).

use std::path::Path;
use std::time::Duration;

use super::bound::{Span, Timeouts};
use super::client::{Ceph, Conn};
use super::error::classify;
use super::import::{parse_qemu_img_format, qemu_img_progress};
use super::names::ImageSpec;
use super::types::*;
use super::CephError;

fn rc(text: &str) -> Option<i32> {
    text.trim().parse().ok()
}

fn rbd_error(rc_text: &str, stderr: &str) -> CephError {
    classify("rbd".into(), rc(rc_text), stderr.into(), "rbd")
}

#[test]
fn parses_recorded_listings() {
    assert!(parse_names("rbd ls", fixture!("rbd-ls-empty.out"))
        .unwrap()
        .is_empty());
    assert_eq!(
        parse_names("rbd ls", fixture!("rbd-ls.out")).unwrap(),
        ["data_fx_0", "system_fx"]
    );
    assert!(parse_group_list(fixture!("rbd-group-ls-empty.out"))
        .unwrap()
        .is_empty());
    assert_eq!(
        parse_group_list(fixture!("rbd-group-ls.out")).unwrap(),
        ["fx"]
    );
    let g = parse_group_images(fixture!("rbd-group-image-list-fx.out")).unwrap();
    let in_rbd: Vec<&str> = g
        .iter()
        .filter(|i| i.pool == "rbd")
        .map(|i| i.image.as_str())
        .collect();
    assert_eq!(in_rbd, ["data_fx_0", "system_fx"]);
    assert!(!g.iter().any(|i| i.pool == "other"));
    assert!(
        parse_group_images(fixture!("rbd-group-image-list-missing-fx.out"))
            .unwrap()
            .is_empty()
    );
    assert!(parse_names("rbd ls", "{").is_err());
}

#[test]
fn parses_recorded_metadata() {
    let m = parse_image_meta(fixture!("rbd-image-meta-list-fx.out")).unwrap();
    assert_eq!(m["owner"], "ops team");
    assert_eq!(m["xml"], "<domain><name>fx</name></domain>");
    assert_eq!(m["_vmmgr_settings"], r#"{"a":1}"#);
    // rbd prints nothing at all for an image without metadata (rbd-image-meta-list-empty-fx:
    // no .out file was written)
    assert!(parse_image_meta("").unwrap().is_empty());
}

#[test]
fn parses_mon_dump_and_qemu_img_info() {
    let mons = parse_mon_dump(fixture!("ceph-mon-dump.out")).unwrap();
    assert_eq!(
        mons,
        [MonHost {
            host: "10.78.0.254".into(),
            port: 6789
        }]
    );
    assert_eq!(
        parse_qemu_img_format(fixture!("qemu-img-info-qcow2.out")).unwrap(),
        "qcow2"
    );
    assert_eq!(
        parse_qemu_img_format(fixture!("qemu-img-info-raw.out")).unwrap(),
        "raw"
    );
    // a missing file: no stdout at all (hence no .out), exit 1
    assert!(parse_qemu_img_format("").is_err());
    assert_eq!(rc(fixture!("qemu-img-info-missing.rc")), Some(1));
    assert_eq!(
        parse_host_port("[fd00::1]:3300"),
        Some(MonHost {
            host: "fd00::1".into(),
            port: 3300
        })
    );
    assert_eq!(parse_host_port("mon1").map(|m| m.port), Some(6789));
    assert_eq!(parse_host_port("a;b:1"), None);
}

#[test]
fn enoent_and_eexist_are_recognised_from_recorded_errors() {
    for (code, err) in [
        (
            fixture!("rbd-image-meta-get-missing-fx.rc"),
            fixture!("rbd-image-meta-get-missing-fx.err"),
        ),
        (
            fixture!("rbd-image-meta-get-missing-image.rc"),
            fixture!("rbd-image-meta-get-missing-image.err"),
        ),
        (
            fixture!("rbd-image-meta-remove-missing.rc"),
            fixture!("rbd-image-meta-remove-missing.err"),
        ),
        (
            fixture!("rbd-info-missing-fx.rc"),
            fixture!("rbd-info-missing-fx.err"),
        ),
        (
            fixture!("rbd-rm-missing.rc"),
            fixture!("rbd-rm-missing.err"),
        ),
    ] {
        assert!(rbd_error(code, err).is_not_found(), "{err}");
    }
    let exists = rbd_error(
        fixture!("rbd-group-create-exists.rc"),
        fixture!("rbd-group-create-exists.err"),
    );
    assert!(exists.is_exists() && !exists.is_not_found(), "{exists:?}");
    let in_group = rbd_error(
        fixture!("rbd-rm-ingroup.rc"),
        fixture!("rbd-rm-ingroup.err"),
    );
    assert!(
        matches!(
            in_group,
            CephError::Failed {
                errno: Some(31),
                ..
            }
        ),
        "{in_group:?}"
    );
}

#[test]
fn group_snapshots_parse() {
    let snaps = parse_group_snaps(fixture!("rbd-group-snap-ls.out")).unwrap();
    assert_eq!(
        snaps,
        [
            GroupSnap {
                name: "s1".into(),
                state: "ok".into()
            },
            GroupSnap {
                name: "s2".into(),
                state: "ok".into()
            }
        ]
    );
    assert!(parse_group_snaps(fixture!("rbd-group-snap-ls-empty.out"))
        .unwrap()
        .is_empty());
    assert!(
        parse_group_snaps(fixture!("rbd-group-snap-ls-missing-group.out"))
            .unwrap()
            .is_empty()
    );
    assert!(parse_group_snaps("{").is_err());
}

#[test]
fn image_snapshots_of_every_namespace_parse() {
    let snaps = parse_image_snaps(fixture!("rbd-snap-ls-all.out")).unwrap();
    assert_eq!(snaps.len(), 3);
    assert!(snaps[0].is_group_snap("s1") && !snaps[0].is_user_snap("s1"));
    assert_eq!(
        snaps[0].namespace,
        SnapNamespace::Group {
            group: "fx".into(),
            group_snap: "s1".into()
        }
    );
    assert!(snaps[1].is_user_snap("s1") && !snaps[1].protected);
    assert_eq!(snaps[1].timestamp, "Sun Nov 22 02:50:36 2026");
    assert!(snaps[2].is_group_snap("s2"));
    let trash = parse_image_snaps(fixture!("rbd-snap-ls-all-trash.out")).unwrap();
    assert!(trash.iter().any(|s| matches!(
        &s.namespace,
        SnapNamespace::Trash { original_name } if original_name == "s1"
    )));
    assert!(!trash.iter().any(|s| s.is_user_snap("s1")));
    let prot = parse_image_snaps(fixture!("rbd-snap-ls-all-protected.out")).unwrap();
    assert!(prot.iter().any(|s| s.is_user_snap("s1") && s.protected));
    assert!(parse_image_snaps("[{\"id\":1}]").is_err());
}

#[test]
fn recorded_snapshot_exit_codes_map_to_errors() {
    for (code, err) in [
        (
            fixture!("rbd-group-snap-rollback-missing.rc"),
            fixture!("rbd-group-snap-rollback-missing.err"),
        ),
        (
            fixture!("rbd-group-snap-rm-missing.rc"),
            fixture!("rbd-group-snap-rm-missing.err"),
        ),
        (
            fixture!("rbd-snap-ls-all-missing-image.rc"),
            fixture!("rbd-snap-ls-all-missing-image.err"),
        ),
        (
            fixture!("rbd-cp-missing-snap.rc"),
            fixture!("rbd-cp-missing-snap.err"),
        ),
        (
            fixture!("rbd-clone-group-snap-by-name.rc"),
            fixture!("rbd-clone-group-snap-by-name.err"),
        ),
    ] {
        assert!(rbd_error(code, err).is_not_found(), "{err}");
    }
    for (code, err) in [
        (
            fixture!("rbd-group-snap-create-exists.rc"),
            fixture!("rbd-group-snap-create-exists.err"),
        ),
        (
            fixture!("rbd-clone-exists.rc"),
            fixture!("rbd-clone-exists.err"),
        ),
    ] {
        assert_eq!(rc(code), Some(17));
        assert!(rbd_error(code, err).is_exists(), "{err}");
    }
}

fn interactive(conf: Option<&str>, user: &str) -> Ceph {
    let conn = Conn {
        conf: conf.map(Into::into),
        user: Some(user.into()),
        ..Conn::default()
    };
    Ceph::per_call(conn, Timeouts::INTERACTIVE)
}

#[test]
fn per_call_mode_bounds_every_call_and_the_connect() {
    let c = interactive(Some("/etc/ceph/c.conf"), "libvirt");
    assert_eq!(
        c.tool_for("rbd", Span::Call).cmdline(),
        "rbd -c /etc/ceph/c.conf --id libvirt --client-mount-timeout 10"
    );
    assert_eq!(
        c.tool_for("ceph", Span::Long).cmdline(),
        "ceph -c /etc/ceph/c.conf --id libvirt --connect-timeout 10"
    );
    assert_eq!(c.mount_secs(), 10);
    let slow = Ceph::per_call(
        Conn::default(),
        Timeouts {
            mount: Duration::from_secs(500),
            ..Timeouts::INTERACTIVE
        },
    );
    assert_eq!(slow.mount_secs(), 30, "the mount timeout is capped");
}

#[test]
fn the_import_dies_with_its_caller_and_gives_up_on_dead_monitors() {
    let c = interactive(None, "admin");
    let img = ImageSpec::new("rbd", "", "system_a", "").unwrap();
    let argv = c
        .import_argv(Path::new("/var/tmp/a.qcow2"), "qcow2", &img)
        .unwrap();
    assert_eq!(
        argv.iter().map(|a| a.to_str().unwrap()).collect::<Vec<_>>(),
        [
            "setpriv",
            "--pdeathsig",
            "KILL",
            "qemu-img",
            "convert",
            "-p",
            "-f",
            "qcow2",
            "-O",
            "raw",
            "/var/tmp/a.qcow2",
            "rbd:rbd/system_a:id=admin:client_mount_timeout=10"
        ]
    );
    // The fallback without setpriv is plain qemu-img.
    assert_eq!(argv[3], "qemu-img");
    assert!(c
        .import_argv(Path::new("/var/tmp/a.vmdk"), "vmdk", &img)
        .is_err());
    let c = interactive(Some("/etc/ceph/c.conf"), "libvirt");
    assert_eq!(
        c.qemu_target(&img).unwrap(),
        "rbd:rbd/system_a:id=libvirt:conf=/etc/ceph/c.conf:client_mount_timeout=10"
    );
    // what would break QEMU's `rbd:` syntax is refused
    assert!(interactive(None, "a:b").qemu_target(&img).is_err());
    assert!(interactive(Some("/a:b"), "admin")
        .qemu_target(&img)
        .is_err());
    assert!(interactive(Some("rel.conf"), "admin")
        .qemu_target(&img)
        .is_err());
    let odd_pool = ImageSpec::new("a:b", "", "system_a", "").unwrap();
    assert!(c.qemu_target(&odd_pool).is_err());
}

#[test]
fn reads_qemu_img_progress_as_it_grows() {
    let out = fixture!("qemu-img-convert-p.out").as_bytes();
    assert_eq!(qemu_img_progress(b""), None);
    assert_eq!(
        qemu_img_progress(b"    (0.00/1"),
        None,
        "a partial first line"
    );
    assert_eq!(qemu_img_progress(&out[..16]), Some(0.0));
    // cut in the middle of the third line: the second is the last complete one
    let third = out
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\r')
        .nth(1)
        .map(|(i, _)| i + 8)
        .unwrap();
    assert_eq!(qemu_img_progress(&out[..third]), Some(0.02));
    assert_eq!(qemu_img_progress(out), Some(1.0));
    // the recorded import into RBD ends at 100 %
    assert_eq!(
        qemu_img_progress(fixture!("qemu-img-convert.out").as_bytes()),
        Some(1.0)
    );
}
