//! Parsers and command lines, on outputs recorded from the real Ceph.
use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/ceph/vm-mgr/",
            $name
        ))
    };
}

#[test]
fn parses_recorded_listings() {
    assert!(parse_names(fixture!("rbd-ls-empty.json"), "rbd ls")
        .unwrap()
        .is_empty());
    assert_eq!(
        parse_names(fixture!("rbd-ls.json"), "rbd ls").unwrap(),
        ["data_fx_0", "system_fx"]
    );
    assert_eq!(
        parse_names(fixture!("rbd-group-ls.json"), "rbd group ls").unwrap(),
        ["fx"]
    );
    assert_eq!(
        parse_group_images(fixture!("rbd-group-image-list.json"), "rbd").unwrap(),
        ["data_fx_0", "system_fx"]
    );
    assert!(
        parse_group_images(fixture!("rbd-group-image-list.json"), "other")
            .unwrap()
            .is_empty()
    );
    assert!(
        parse_group_images(fixture!("rbd-group-image-list-missing.json"), "rbd")
            .unwrap()
            .is_empty()
    );
    assert!(parse_names("{", "rbd ls").is_err());
}

#[test]
fn parses_recorded_metadata() {
    let m = parse_meta_list(fixture!("rbd-image-meta-list.json")).unwrap();
    assert_eq!(m["owner"], "ops team");
    assert_eq!(m["xml"], "<domain><name>fx</name></domain>");
    assert_eq!(m["_vmmgr_settings"], r#"{"a":1}"#);
    // rbd prints nothing at all for an image without metadata.
    assert!(parse_meta_list(fixture!("rbd-image-meta-list-empty.json"))
        .unwrap()
        .is_empty());
}

#[test]
fn parses_mon_dump_and_qemu_img_info() {
    let mons = parse_mon_dump(fixture!("ceph-mon-dump.json")).unwrap();
    assert_eq!(
        mons,
        [MonHost {
            host: "10.78.0.254".into(),
            port: 6789
        }]
    );
    assert_eq!(
        parse_qemu_img_format(fixture!("qemu-img-info-qcow2.json")).unwrap(),
        "qcow2"
    );
    assert_eq!(
        parse_qemu_img_format(fixture!("qemu-img-info-raw.json")).unwrap(),
        "raw"
    );
    assert!(parse_qemu_img_format(fixture!("qemu-img-info-missing.json")).is_err());
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
fn enoent_is_recognised_from_recorded_errors() {
    let failed = |code, stderr: &str| CmdError::Failed {
        cmdline: "rbd".into(),
        status: String::new(),
        code: Some(code),
        stderr: stderr.into(),
    };
    assert!(is_enoent(&failed(
        2,
        fixture!("rbd-image-meta-get-missing.txt.stderr")
    )));
    assert!(is_enoent(&failed(
        2,
        fixture!("rbd-info-missing.json.stderr")
    )));
    assert!(!is_enoent(&failed(
        17,
        fixture!("rbd-group-create-exists.txt.stderr")
    )));
    assert!(!is_enoent(&failed(
        31,
        fixture!("rbd-rm-ingroup.txt.stderr")
    )));
}

#[test]
fn command_lines_carry_connection_settings_and_refuse_odd_values() {
    let r = Rbd::new("rbd", Some("/etc/ceph/c.conf".into()), "libvirt", None).unwrap();
    assert_eq!(
        r.argv("rbd", &["ls"]),
        ["rbd", "--conf", "/etc/ceph/c.conf", "--id", "libvirt", "ls"]
    );
    assert_eq!(
        r.qemu_target("system_a"),
        "rbd:rbd/system_a:id=libvirt:conf=/etc/ceph/c.conf"
    );
    assert!(Rbd::new("rbd;x", None, "admin", None).is_err());
    assert!(Rbd::new("-rbd", None, "admin", None).is_err());
    assert!(Rbd::new("rbd", None, "a:b", None).is_err());
    assert!(Rbd::new("rbd", Some("rel.conf".into()), "admin", None).is_err());
    assert!(Rbd::new("rbd", Some("/a:b".into()), "admin", None).is_err());
}

#[test]
fn the_import_dies_with_vm_mgr() {
    let r = Rbd::new("rbd", None, "admin", None).unwrap();
    let argv = r.import_argv(Path::new("/var/tmp/a.qcow2"), "qcow2", "system_a");
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
            "rbd:rbd/system_a:id=admin"
        ]
    );
    // The fallback without setpriv is plain qemu-img.
    assert_eq!(argv[3], "qemu-img");
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
}
