use super::*;

const CIB: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/vm-mgr/cib-3nodes-idle.xml"
));

fn tree() -> Element {
    Element::parse(CIB, "test CIB").unwrap()
}

fn pinned() -> Settings {
    Settings {
        pinned_host: Some("sim2".into()),
        live_migration: true,
        migration_user: Some("virtu".into()),
        ..Settings::default()
    }
}

#[test]
fn builds_the_group_guard_domain_and_constraints() {
    let f = build(
        &VmIds::new("g1"),
        &pinned(),
        &CephAccess::default(),
        "Started",
    );
    let xml = f.to_xml();
    for needle in [
        r#"<group id="g1">"#,
        r#"<nvpair id="g1.meta.target-role" name="target-role" value="Started"/>"#,
        r#"<primitive id="vmmgr-disk-g1" class="ocf" provider="vmmgr" type="rbd">"#,
        r#"name="mode" value="guard""#,
        r#"name="group" value="g1""#,
        r#"<primitive id="vmmgr-domain-g1" class="ocf" provider="vmmgr" type="VirtualDomain">"#,
        r#"name="rbd_xml_source" value="rbd/system_g1""#,
        r#"name="rbd_xml_key" value="xml""#,
        r#"name="config" value="/run/vmmgr/domains/g1.xml""#,
        r#"name="migration_user" value="virtu""#,
        r#"name="allow-migrate" value="true""#,
        r#"name="migrate_to" interval="0s" timeout="120s""#,
        r#"name="stop" interval="0s" timeout="30s""#,
        r#"<rsc_location id="vmmgr-ban-g1" rsc="g1">"#,
        r#"attribute="vmmgr-role" operation="eq" value="observer""#,
        r##"attribute="#kind" operation="ne" value="cluster""##,
        r#"<rsc_location id="vmmgr-pin-g1" rsc="g1">"#,
        r##"attribute="#uname" operation="ne" value="sim2""##,
        r#"<rsc_location id="vmmgr-pin-g1.home" rsc="g1" node="sim2" score="INFINITY" resource-discovery="always"/>"#,
    ] {
        assert!(xml.contains(needle), "missing {needle} in\n{xml}");
    }
    assert!(!xml.contains("cli-"), "{xml}");
    // Guard first: the group starts it before the domain.
    let group = &f.resources[0];
    let members: Vec<_> = group.children_named("primitive").collect();
    assert_eq!(members[0].attr("id"), Some("vmmgr-disk-g1"));
    assert_eq!(members[1].attr("id"), Some("vmmgr-domain-g1"));
    assert_eq!(Fragment::parse(&xml, "g1").unwrap(), f);
}

#[test]
fn without_guard_and_with_preference() {
    let s = Settings {
        disk_guard: false,
        preferred_host: Some("sim3".into()),
        ..Settings::default()
    };
    let ceph = CephAccess {
        pool: "vms".into(),
        ..CephAccess::default()
    };
    let f = build(&VmIds::new("a"), &s, &ceph, "Stopped");
    let xml = f.to_xml();
    assert!(!xml.contains("vmmgr-disk-a"));
    assert!(
        xml.contains(r#"<rsc_location id="vmmgr-prefer-a" rsc="a" node="sim3" score="INFINITY" resource-discovery="always"/>"#)
    );
    assert!(xml.contains(r#"value="vms/system_a""#));
    assert!(xml.contains(r#"name="target-role" value="Stopped""#));
    assert_eq!(f.constraint_ids(), ["vmmgr-ban-a", "vmmgr-prefer-a"]);
}

#[test]
fn insert_remove_round_trip_keeps_foreign_constraints() {
    let mut t = tree();
    let f = build(
        &VmIds::new("g1"),
        &pinned(),
        &CephAccess::default(),
        "Started",
    );
    assert!(insert(&mut t, &f, "Started").unwrap().is_empty());
    assert!(in_cib(&t, "g1"));
    // A colocation made by someone else, naming the VM.
    let coloc = Element::parse(
        r#"<rsc_colocation id="col-g1-fence" rsc="g1" with-rsc="sandbox-fence" score="100"/>"#,
        "t",
    )
    .unwrap();
    t.child_mut("configuration")
        .and_then(|c| c.child_mut("constraints"))
        .unwrap()
        .children
        .push(coloc);
    let with_coloc = t.clone();
    let out = remove(&mut t, "g1").unwrap();
    assert_eq!(
        out.constraint_ids(),
        [
            "vmmgr-ban-g1",
            "vmmgr-pin-g1",
            "vmmgr-pin-g1.home",
            "col-g1-fence"
        ]
    );
    assert_eq!(t, tree(), "removal restores the CIB exactly");
    // Through the stored XML and back in: identical CIB.
    let stored = Fragment::parse(&out.to_xml(), "g1").unwrap();
    insert(&mut t, &stored, "Started").unwrap();
    assert_eq!(t, with_coloc);
}

#[test]
fn insert_refuses_duplicates_and_drops_dangling_constraints() {
    let mut t = tree();
    let f = build(
        &VmIds::new("g1"),
        &Settings::default(),
        &CephAccess::default(),
        "Started",
    );
    insert(&mut t, &f, "Started").unwrap();
    assert!(matches!(
        insert(&mut t, &f, "Started"),
        Err(FragmentError::AlreadyInCib { .. })
    ));
    let mut t2 = tree();
    let mut clash = f.clone();
    clash.resources[0].set_attr("id", "g1");
    clash.resources[0].children[1].set_attr("id", "sandbox-fence");
    assert!(matches!(
        insert(&mut t2, &clash, "Started"),
        Err(FragmentError::IdConflict { .. })
    ));
    let mut dangling = f.clone();
    dangling.constraints.push(
        Element::parse(
            r#"<rsc_colocation id="c" rsc="g1" with-rsc="gone" score="1"/>"#,
            "t",
        )
        .unwrap(),
    );
    let mut t3 = tree();
    assert_eq!(insert(&mut t3, &dangling, "Stopped").unwrap(), ["c"]);
    assert!(matches!(
        remove(&mut tree(), "g1"),
        Err(FragmentError::NotInCib { .. })
    ));
}

#[test]
fn target_role_lives_on_the_group_only() {
    let mut t = tree();
    let f = build(
        &VmIds::new("g1"),
        &Settings::default(),
        &CephAccess::default(),
        "Started",
    );
    insert(&mut t, &f, "Started").unwrap();
    assert!(!set_target_role(&mut t, "g1", "Started").unwrap());
    // Someone ran `crm resource stop vmmgr-domain-g1`.
    set_param(&mut t, "g1", "vmmgr-domain-g1", "force_stop", "false").unwrap();
    let d = t.find_id_mut("vmmgr-domain-g1.meta").unwrap();
    d.children.push(
        Element::parse(
            r#"<nvpair id="x" name="target-role" value="Stopped"/>"#,
            "t",
        )
        .unwrap(),
    );
    assert!(set_target_role(&mut t, "g1", "Stopped").unwrap());
    let xml = t.to_xml();
    assert!(!xml.contains(r#"id="x""#));
    assert!(
        xml.contains(r#"<nvpair id="g1.meta.target-role" name="target-role" value="Stopped"/>"#)
    );
    assert_eq!(
        set_param(&mut t, "g1", "vmmgr-domain-g1", "force_stop", "true").unwrap(),
        Some("false".into())
    );
    assert!(matches!(
        set_target_role(&mut t, "nosuch", "Stopped"),
        Err(FragmentError::NotInCib { .. })
    ));
}

#[test]
fn stored_fragment_is_checked() {
    let f = build(
        &VmIds::new("g1"),
        &Settings::default(),
        &CephAccess::default(),
        "Started",
    );
    assert!(Fragment::parse(&f.to_xml(), "other").is_err());
    assert!(Fragment::parse("<x/>", "g1").is_err());
    assert!(Fragment::parse("not xml", "g1").is_err());
}

/// `<nvpair>` of parameter `name` of primitive `prim`, as in the fragment's XML.
fn nv(prim: &str, name: &str, value: &str) -> String {
    format!(r#"<nvpair id="{prim}.params.{name}" name="{name}" value="{value}"/>"#)
}

fn libvirt_user() -> CephAccess {
    CephAccess {
        pool: "vms".into(),
        user: "libvirt".into(),
        conf: Some("/etc/ceph/prod.conf".into()),
    }
}

#[test]
fn the_agents_get_vm_mgrs_ceph_settings() {
    let xml = build(&VmIds::new("g1"), &pinned(), &libvirt_user(), "Started").to_xml();
    for needle in [
        nv("vmmgr-disk-g1", "pool", "vms"),
        nv("vmmgr-disk-g1", "user", "libvirt"),
        nv("vmmgr-disk-g1", "cephconf", "/etc/ceph/prod.conf"),
        nv("vmmgr-domain-g1", "rbd_xml_source", "vms/system_g1"),
        nv("vmmgr-domain-g1", "rbd_xml_user", "libvirt"),
        nv("vmmgr-domain-g1", "rbd_xml_cephconf", "/etc/ceph/prod.conf"),
    ] {
        assert!(xml.contains(&needle), "missing {needle} in\n{xml}");
    }
    // The defaults: the user is written all the same, the configuration file is not (the
    // agents then use Ceph's default, as vm-mgr does).
    let xml = build(
        &VmIds::new("g1"),
        &pinned(),
        &CephAccess::default(),
        "Started",
    )
    .to_xml();
    assert!(xml.contains(&nv("vmmgr-disk-g1", "user", "admin")), "{xml}");
    assert!(
        xml.contains(&nv("vmmgr-domain-g1", "rbd_xml_user", "admin")),
        "{xml}"
    );
    assert!(!xml.contains("cephconf"), "{xml}");
}

#[test]
fn pacemaker_params_override_the_domains_ceph_user() {
    let mut s = Settings::default();
    s.pacemaker_params
        .insert("rbd_xml_user".into(), "reader".into());
    let f = build(&VmIds::new("g1"), &s, &libvirt_user(), "Started");
    let xml = f.to_xml();
    assert!(
        xml.contains(&nv("vmmgr-domain-g1", "rbd_xml_user", "reader")),
        "{xml}"
    );
    assert_eq!(xml.matches(r#"name="rbd_xml_user""#).count(), 1, "{xml}");
    // And what the fragment says is kept.
    let mut again = f.clone();
    assert!(again.fill_ceph(&libvirt_user()).is_empty());
    assert_eq!(again, f);
}

/// The fragment an older vm-mgr stored: VM t1's group and ban as `vm-mgr create` wrote them
/// into the recorded CIB (no Ceph user or configuration file for the agents).
fn old_fragment() -> Fragment {
    let cib = Element::parse(
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/vm-mgr/cib-vm-t1-started.xml"
        )),
        "t",
    )
    .unwrap();
    let xml = extract(&cib, "t1").unwrap().to_xml();
    assert!(!xml.contains("user") && !xml.contains("cephconf"), "{xml}");
    Fragment::parse(&xml, "t1").unwrap()
}

#[test]
fn an_old_stored_fragment_gets_the_ceph_settings_it_lacks() {
    let mut f = old_fragment();
    let added = f.fill_ceph(&libvirt_user());
    assert_eq!(
        added,
        [
            "vmmgr-disk-t1.user",
            "vmmgr-disk-t1.cephconf",
            "vmmgr-domain-t1.rbd_xml_user",
            "vmmgr-domain-t1.rbd_xml_cephconf"
        ]
    );
    let xml = f.to_xml();
    for needle in [
        nv("vmmgr-disk-t1", "user", "libvirt"),
        nv("vmmgr-disk-t1", "cephconf", "/etc/ceph/prod.conf"),
        nv("vmmgr-domain-t1", "rbd_xml_user", "libvirt"),
        nv("vmmgr-domain-t1", "rbd_xml_cephconf", "/etc/ceph/prod.conf"),
        // Its pool is its own, whatever the configuration says now.
        nv("vmmgr-disk-t1", "pool", "rbd"),
        nv("vmmgr-domain-t1", "rbd_xml_source", "rbd/system_t1"),
    ] {
        assert!(xml.contains(&needle), "missing {needle} in\n{xml}");
    }
    // Idempotent; still a valid stored fragment; the constraints untouched.
    let before = f.clone();
    assert!(f.fill_ceph(&libvirt_user()).is_empty());
    assert_eq!(f, before);
    assert_eq!(Fragment::parse(&xml, "t1").unwrap(), f);
    assert_eq!(f.constraints, old_fragment().constraints);
    // With the defaults: user admin, which is what the old fragment's agents used.
    let mut f = old_fragment();
    assert_eq!(
        f.fill_ceph(&CephAccess::default()),
        ["vmmgr-disk-t1.user", "vmmgr-domain-t1.rbd_xml_user"]
    );
    // A fragment built now needs nothing.
    let mut new = build(&VmIds::new("g1"), &pinned(), &libvirt_user(), "Started");
    assert!(new.fill_ceph(&libvirt_user()).is_empty());
}

#[test]
fn fill_ceph_keeps_what_the_fragment_says() {
    let mut f = old_fragment();
    // A guard someone pointed at another user by hand keeps it; a domain without
    // rbd_xml_source gets no rbd_xml_* parameter.
    let group = &mut f.resources[0];
    let guard = group.find_id_mut("vmmgr-disk-t1.params").unwrap();
    guard.children.push(
        Element::parse(
            r#"<nvpair id="vmmgr-disk-t1.params.user" name="user" value="other"/>"#,
            "t",
        )
        .unwrap(),
    );
    let dom = group.find_id_mut("vmmgr-domain-t1.params").unwrap();
    dom.children
        .retain(|nv| nv.attr("name") != Some("rbd_xml_source"));
    assert_eq!(f.fill_ceph(&libvirt_user()), ["vmmgr-disk-t1.cephconf"]);
    let xml = f.to_xml();
    assert!(xml.contains(&nv("vmmgr-disk-t1", "user", "other")), "{xml}");
    assert!(!xml.contains("rbd_xml_user"), "{xml}");
}

#[test]
fn a_scratch_cib_holds_the_fragment_with_all_its_constraints() {
    let mut f = build(
        &VmIds::new("s1"),
        &pinned(),
        &CephAccess::default(),
        "Stopped",
    );
    // A colocation with a VM that is not there: insert would drop it, the scratch CIB keeps it.
    let mut colo = Element::new("rsc_colocation");
    for (k, v) in [
        ("id", "vmmgr-colo-s1.other"),
        ("rsc", "s1"),
        ("with-rsc", "other"),
    ] {
        colo.set_attr(k, v);
    }
    f.constraints.push(colo);
    let scratch = f.scratch_cib();
    assert!(in_cib(&scratch, "s1"));
    assert_eq!(extract(&scratch, "s1").unwrap(), f);
    let mut into = tree();
    assert_eq!(
        insert(&mut into, &f, "Stopped").unwrap(),
        ["vmmgr-colo-s1.other"]
    );
}
