//! Unit tests of the guard's pure decisions.

use super::*;

fn holder(cookie: &str, addr: &str) -> LockHolder {
    LockHolder {
        name: "client.1".into(),
        cookie: cookie.into(),
        description: String::new(),
        expiration: "0.000000".into(),
        addr: addr.parse().unwrap(),
    }
}

#[test]
fn lock_state_from_this_node() {
    let free = ObjectLock {
        name: GUARD_LOCK_NAME.into(),
        lock_type: "none".into(),
        tag: String::new(),
        lockers: vec![],
    };
    assert_eq!(held(&free, "sim1"), Held::Free);
    let l = ObjectLock {
        lockers: vec![holder("sim2", "10.78.0.2:0/7")],
        ..free.clone()
    };
    assert!(matches!(held(&l, "sim1"), Held::Other(h) if h.cookie == "sim2"));
    assert!(matches!(held(&l, "sim2"), Held::Ours(_)));
    // the recorded real lock
    let real = shared::ceph::types::parse_object_lock(include_str!(
        "../../../tests/fixtures/ceph/rados-lock-info-held.out"
    ))
    .unwrap();
    assert!(matches!(held(&real, "sim1"), Held::Ours(_)));
    assert!(matches!(held(&real, "sim2"), Held::Other(_)));
}

#[test]
fn users_are_sorted_by_address() {
    let a = |s: &str| s.parse::<ClientAddr>().unwrap();
    let users = [
        a("10.78.0.1:0/1"),
        a("10.78.0.2:0/2"),
        a("10.78.0.2:0/2"),
        a("10.78.0.3:0/3"),
    ];
    let dead: BTreeSet<IpAddr> = ["10.78.0.2".parse().unwrap()].into();
    let (fence, foreign) = sort_users(&users, &dead, Some("10.78.0.1".parse().unwrap()));
    assert_eq!(fence, [a("10.78.0.2:0/2")]);
    assert_eq!(foreign, [a("10.78.0.3:0/3")]);
    let (fence, foreign) = sort_users(&users, &BTreeSet::new(), None);
    assert!(fence.is_empty());
    assert_eq!(foreign.len(), 3);
}

#[test]
fn a_monitor_takes_only_images_new_in_a_group_it_holds() {
    // add-disk on a running VM: one image ours, the new one free
    assert!(adopts_new_images(false, 1, 0, 0, 1));
    // a probe never takes; nothing of ours (stopped, or another node's guard): no
    assert!(!adopts_new_images(true, 1, 0, 0, 1));
    assert!(!adopts_new_images(false, 0, 0, 0, 2));
    // another node holds one, or an image is gone: the guard is lost, nothing taken
    assert!(!adopts_new_images(false, 1, 1, 0, 1));
    assert!(!adopts_new_images(false, 1, 0, 1, 1));
    // nothing free: nothing to take
    assert!(!adopts_new_images(false, 2, 0, 0, 0));
}
