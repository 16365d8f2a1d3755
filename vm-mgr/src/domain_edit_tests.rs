use super::*;

/// The domain XML vm-mgr stored for VM `web1` (create on the sandbox, `rbd image-meta get
/// system_web1 xml`), with one data disk. `rbd` adds a newline to the value it prints.
const RECORDED: &str = include_str!("../../tests/fixtures/vm-mgr/stored-domain-xml.xml");

fn stored() -> &'static str {
    RECORDED.strip_suffix('\n').unwrap()
}

fn disks() -> Vec<String> {
    vec!["rbd/system_web1".into(), "rbd/data_web1_0".into()]
}

fn vm(disks: &[String]) -> StoredVm<'_> {
    StoredVm {
        name: "web1",
        xml: stored(),
        disks,
    }
}

fn uuid() -> String {
    let root = Element::parse(stored(), "x").unwrap();
    root.child("uuid").unwrap().text_trimmed().to_owned()
}

#[test]
fn the_stored_xml_with_a_description_is_kept_as_written() {
    let d = disks();
    let new = stored().replacen(
        "<name>web1</name>",
        "<name>web1</name><description>db</description>",
        1,
    );
    let c = check(&new, "web1.xml", &vm(&d)).unwrap();
    assert!(!c.disks_from_stored);
    assert!(c.xml.contains("<description>db</description>"), "{}", c.xml);
    let dom = shared::libvirt::DomainXml::parse(&c.xml).unwrap();
    assert_eq!(dom.name, "web1");
    // Unchanged XML checks to itself (the stored XML is what to_xml writes).
    let same = check(stored(), "web1.xml", &vm(&d)).unwrap();
    assert_eq!(crate::diff::unified(stored(), &same.xml, "a", "b"), "");
}

#[test]
fn name_and_uuid_are_filled_in_and_must_not_change() {
    let d = disks();
    let u = uuid();
    let without =
        stored()
            .replacen("<name>web1</name>", "", 1)
            .replacen(&format!("<uuid>{u}</uuid>"), "", 1);
    assert!(!without.contains(&u) && !without.contains("<name>"));
    let c = check(&without, "x.xml", &vm(&d)).unwrap();
    assert!(c.xml.contains("<name>web1</name>"), "{}", c.xml);
    assert!(c.xml.contains(&format!("<uuid>{u}</uuid>")), "{}", c.xml);
    // Upper case is the same UUID.
    let upper = stored().replacen(&u, &u.to_uppercase(), 1);
    assert!(check(&upper, "x.xml", &vm(&d)).is_ok());
    for (new, needle) in [
        (
            stored().replacen("<name>web1</name>", "<name>web2</name>", 1),
            "cannot be renamed",
        ),
        (
            stored().replacen(&u, "00000000-0000-4000-8000-000000000000", 1),
            "not the VM's",
        ),
        ("<domain><name>web1</name></domain>".to_owned(), "no type"),
        ("<network/>".to_owned(), "not <domain>"),
        ("<domain type='kvm'>".to_owned(), "not usable"),
    ] {
        let e = check(&new, "x.xml", &vm(&d)).unwrap_err();
        assert!(e.to_string().contains(needle), "{needle}: {e}");
        assert_eq!(e.exit_code(), crate::error::EXIT_USAGE, "{e}");
    }
}

#[test]
fn a_template_without_the_vms_disks_gets_the_stored_ones() {
    let d = disks();
    let template = "<domain type='kvm'><name>web1</name><memory unit='MiB'>128</memory>\
        <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>\
        <disk type='file' device='disk'><source file='/var/lib/x.qcow2'/><target dev='vda' bus='virtio'/></disk>\
        <disk type='file' device='cdrom'><target dev='sda' bus='sata'/></disk></devices></domain>";
    let c = check(template, "t.xml", &vm(&d)).unwrap();
    assert!(c.disks_from_stored);
    assert!(!c.xml.contains("/var/lib/x.qcow2"), "{}", c.xml);
    assert!(c.xml.contains(r#"name="rbd/system_web1""#), "{}", c.xml);
    assert!(c.xml.contains(r#"name="rbd/data_web1_0""#), "{}", c.xml);
    assert!(c.xml.contains(r#"device="cdrom""#), "{}", c.xml);
    assert!(
        c.xml.contains(&format!("<uuid>{}</uuid>", uuid())),
        "{}",
        c.xml
    );
    // The system disk right after the emulator, as create puts it.
    assert!(c.xml.find("emulator").unwrap() < c.xml.find("system_web1").unwrap());
    // A stored XML that lacks a disk of the VM cannot give them.
    let more = vec![d[0].clone(), d[1].clone(), "rbd/data_web1_1".into()];
    let e = check(template, "t.xml", &vm(&more)).unwrap_err();
    assert!(e.to_string().contains("lacks rbd/data_web1_1"), "{e}");
}

#[test]
fn disks_other_than_the_vms_or_missing_ones_are_refused() {
    let d = disks();
    let foreign = stored().replacen("rbd/data_web1_0", "rbd/data_other_0", 1);
    let e = check(&foreign, "x.xml", &vm(&d)).unwrap_err();
    assert!(
        e.to_string()
            .contains("disk rbd/data_other_0 is not one of"),
        "{e}"
    );
    // Only the system disk left: the data disk is missing.
    let root = Element::parse(stored(), "x").unwrap();
    let mut one = root.clone();
    let devs = one.child_mut("devices").unwrap();
    devs.children
        .retain(|c| !(c.name == "disk" && disk_source(c).as_deref() == Some("rbd/data_web1_0")));
    let e = check(&one.to_xml(), "x.xml", &vm(&d)).unwrap_err();
    assert!(e.to_string().contains("rbd/data_web1_0 is missing"), "{e}");
    // The same disk twice.
    let mut twice = root.clone();
    let devs = twice.child_mut("devices").unwrap();
    let sys = devs
        .children
        .iter()
        .find(|c| disk_source(c).as_deref() == Some("rbd/system_web1"))
        .unwrap()
        .clone();
    let mut copy = sys;
    copy.child_mut("target").unwrap().set_attr("dev", "vdz");
    devs.children.push(copy);
    let e = check(&twice.to_xml(), "x.xml", &vm(&d)).unwrap_err();
    assert!(e.to_string().contains("more than once"), "{e}");
    // Two disks on one target.
    let clash = stored().replacen("dev=\"vdb\"", "dev=\"vda\"", 1);
    assert_ne!(clash, stored());
    let e = check(&clash, "x.xml", &vm(&d)).unwrap_err();
    assert!(e.to_string().contains("target dev vda"), "{e}");
    // The order of the VM's disks is the user's.
    let swapped = stored()
        .replacen("rbd/system_web1", "@@", 1)
        .replacen("rbd/data_web1_0", "rbd/system_web1", 1)
        .replacen("@@", "rbd/data_web1_0", 1);
    assert!(check(&swapped, "x.xml", &vm(&d)).is_ok());
}
