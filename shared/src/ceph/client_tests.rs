use super::*;

#[test]
fn conn_args_never_carry_a_key() {
    let c = Conn {
        conf: Some("/etc/ceph/ceph.conf".into()),
        mon: Some("10.0.0.1:6789".into()),
        user: Some("vmmgr".into()),
        keyfile: Some("/etc/ceph/vmmgr.key".into()),
        keyring: None,
    };
    let a: Vec<String> = c
        .args()
        .into_iter()
        .map(|s| s.into_string().unwrap())
        .collect();
    assert_eq!(
        a,
        [
            "-c",
            "/etc/ceph/ceph.conf",
            "-m",
            "10.0.0.1:6789",
            "--id",
            "vmmgr",
            "--keyfile",
            "/etc/ceph/vmmgr.key"
        ]
    );
    assert!(Conn::default().args().is_empty());
}

#[test]
fn mount_timeout_follows_the_deadline() {
    let c = Ceph::new(
        Conn::default(),
        Instant::now() + Duration::from_millis(10_500),
    );
    assert_eq!(c.mount_timeout(), "9");
    let c = Ceph::new(Conn::default(), Instant::now());
    assert_eq!(c.mount_timeout(), "1");
    let c = Ceph::new(Conn::default(), Instant::now() + Duration::from_secs(500));
    assert_eq!(c.mount_timeout(), "30");
}
