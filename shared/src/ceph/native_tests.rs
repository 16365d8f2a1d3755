//! Unit tests of [`super`] (the pure parts and the deadline of a call).

use super::*;

fn get<'a>(o: &'a [(&'static str, String)], k: &str) -> Option<&'a str> {
    o.iter().find(|(key, _)| *key == k).map(|(_, v)| v.as_str())
}

#[test]
fn client_timeouts_follow_the_time_left() {
    let o = client_options(&Conn::default(), Duration::from_millis(20_500));
    assert_eq!(get(&o, "client_mount_timeout"), Some("19"));
    assert_eq!(get(&o, "rados_mon_op_timeout"), Some("21"));
    assert_eq!(get(&o, "rados_osd_op_timeout"), Some("21"));
    assert_eq!(get(&o, "mon_host"), None);
    let o = client_options(&Conn::default(), Duration::ZERO);
    assert_eq!(get(&o, "client_mount_timeout"), Some("1"));
    assert_eq!(get(&o, "rados_osd_op_timeout"), Some("1"));
    let o = client_options(&Conn::default(), Duration::from_secs(600));
    assert_eq!(get(&o, "client_mount_timeout"), Some("30"));
}

#[test]
fn client_options_carry_the_connection_but_never_a_key() {
    let c = Conn {
        conf: Some("/etc/ceph/other.conf".into()),
        mon: Some("10.0.0.1:6789".into()),
        user: Some("vmmgr".into()),
        keyfile: Some("/etc/ceph/vmmgr.key".into()),
        keyring: Some("/etc/ceph/vmmgr.keyring".into()),
    };
    let o = client_options(&c, Duration::from_secs(5));
    assert_eq!(get(&o, "mon_host"), Some("10.0.0.1:6789"));
    assert_eq!(get(&o, "keyfile"), Some("/etc/ceph/vmmgr.key"));
    assert_eq!(get(&o, "keyring"), Some("/etc/ceph/vmmgr.keyring"));
    assert_eq!(get(&o, "key"), None);
    // the conf file and the user are given to rados_conf_read_file / rados_create
    assert!(o
        .iter()
        .all(|(_, v)| !v.contains("other.conf") && v != "vmmgr"));
}

#[test]
fn blocklist_commands_are_the_monitors_json() {
    let a: ClientAddr = "10.78.0.2:0/1234".parse().unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&blocklist_command(&a, Some(Duration::from_secs(600)))).unwrap();
    assert_eq!(v["prefix"], "osd blocklist");
    assert_eq!(v["blocklistop"], "add");
    assert_eq!(v["addr"], "10.78.0.2:0/1234");
    assert_eq!(v["expire"], 600.0);
    let v: serde_json::Value =
        serde_json::from_str(&blocklist_command(&a, Some(Duration::ZERO))).unwrap();
    assert_eq!(v["expire"], 1.0);
    let v: serde_json::Value = serde_json::from_str(&blocklist_command(&a, None)).unwrap();
    assert!(v.get("expire").is_none());
}

#[test]
fn library_errors_keep_the_tools_classes() {
    let e = |rc| {
        ffi_error(
            "rados_lock_exclusive(rbd rbd_header.1 vmmgr_guard cookie=sim1)",
            &FfiError {
                call: "rados_lock_exclusive",
                rc,
            },
        )
    };
    assert!(e(-16).is_busy());
    assert!(e(-2).is_not_found());
    assert!(e(-17).is_exists());
    assert!(e(-110).is_unreachable());
    let other = e(-13);
    assert!(matches!(
        other,
        CephError::Failed {
            errno: Some(13),
            ..
        }
    ));
    let text = other.to_string();
    assert!(
        text.contains("rados_lock_exclusive(rbd rbd_header.1")
            && text.contains("returned -13: Permission denied"),
        "{text}"
    );
}

#[test]
fn a_call_is_bounded_by_the_deadline() {
    // passed already: not run at all
    let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let r2 = Arc::clone(&ran);
    let r = run_bounded(Instant::now(), "rados_connect(x)".into(), move || {
        r2.store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    });
    assert!(
        matches!(r, Err(CephError::TimedOut { ref cmdline, .. }) if cmdline == "rados_connect(x)"),
        "{r:?}"
    );
    assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
    assert!(!abandoned(), "nothing was left running");
    // a call that hangs: the caller gets TimedOut at the deadline, not when it ends
    let t = Instant::now();
    let r = run_bounded(t + Duration::from_millis(200), "hang".into(), || {
        std::thread::sleep(Duration::from_secs(5));
        Ok(1)
    });
    let took = t.elapsed();
    assert!(matches!(r, Err(CephError::TimedOut { .. })), "{r:?}");
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(2),
        "{took:?}"
    );
    // an answer in time, and an error, come back as they are
    let r = run_bounded(Instant::now() + Duration::from_secs(5), "ok".into(), || {
        Ok(7)
    });
    assert_eq!(r.unwrap(), 7);
    let r: Result<(), _> = run_bounded(Instant::now() + Duration::from_secs(5), "e".into(), || {
        Err(ffi_error(
            "e",
            &FfiError {
                call: "rbd_get_id",
                rc: -2,
            },
        ))
    });
    assert!(r.unwrap_err().is_not_found());
}
