//! A data disk added to a VM's domain XML (pure, for `add-disk`): the new `<disk>` is the VM's
//! system disk's (an RBD network disk, as create writes it: same driver, cephx auth and
//! monitors) with the new image as its source, the next free target device of its bus, and
//! without what libvirt gives each disk (`<address>`, `<alias>`, `<boot>`, `<serial>`, `<wwn>`).

use shared::xml::Element;

use crate::error::{Error, Result};

/// The data images of VM `name` among `images` (`data_NAME_N`), and the next index.
pub fn next_data_index(name: &str, images: &[String]) -> usize {
    let prefix = format!("data_{name}_");
    images
        .iter()
        .filter_map(|i| i.strip_prefix(&prefix)?.parse::<usize>().ok())
        .map(|n| n.saturating_add(1))
        .max()
        .unwrap_or(0)
}

/// What the errors call the XML these functions edit.
const WHAT: &str = "the VM's stored domain XML";

fn bad(detail: String) -> Error {
    Error::DomainXml {
        what: WHAT.to_owned(),
        detail,
    }
}

fn parse(xml: &str) -> Result<Element> {
    Element::parse(xml, WHAT).map_err(|e| bad(e.to_string()))
}

fn devices_mut(root: &mut Element) -> Result<&mut Element> {
    root.child_mut("devices")
        .ok_or_else(|| bad("it has no <devices>".into()))
}

/// A disk added to a domain XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    /// The whole domain XML with the disk.
    pub xml: String,
    /// The `<disk>` alone (for `virsh attach-device`).
    pub disk: String,
    /// Its target device (`vdb`, `sdb` ...).
    pub dev: String,
}

/// Adds RBD image `spec` (`POOL/IMAGE`) on `bus` to domain `xml`.
pub fn add_rbd_disk(xml: &str, spec: &str, bus: &str) -> Result<Added> {
    let mut root = parse(xml)?;
    let devices = devices_mut(&mut root)?;
    let model = devices
        .children_named("disk")
        .find(|d| {
            d.attr("type") == Some("network")
                && d.child("source").and_then(|s| s.attr("protocol")) == Some("rbd")
        })
        .ok_or_else(|| bad("it has no RBD disk to model the new one on".into()))?;
    if devices
        .children_named("disk")
        .any(|d| d.child("source").and_then(|s| s.attr("name")) == Some(spec))
    {
        return Err(bad(format!("it already has the disk {spec}")));
    }
    let used: Vec<&str> = devices
        .children_named("disk")
        .filter_map(|d| d.child("target").and_then(|t| t.attr("dev")))
        .collect();
    let prefix = crate::domain::dev_prefix(bus);
    let dev = (b'a'..=b'z')
        .map(|c| format!("{prefix}{}", c as char))
        .find(|d| !used.contains(&d.as_str()))
        .ok_or_else(|| bad(format!("no free {prefix}* device name is left")))?;
    let mut disk = model.clone();
    disk.children.retain(|c| {
        !matches!(
            c.name.as_str(),
            "address" | "alias" | "boot" | "serial" | "wwn"
        )
    });
    if let Some(s) = disk.child_mut("source") {
        s.set_attr("name", spec);
    }
    let mut target = Element::new("target");
    target.set_attr("dev", dev.as_str());
    target.set_attr("bus", bus);
    disk.children.retain(|c| c.name != "target");
    disk.children.push(target);
    let text = disk.to_xml();
    let at = devices
        .children
        .iter()
        .rposition(|c| c.name == "disk")
        .map_or(0, |p| p + 1);
    devices.children.insert(at, disk);
    Ok(Added {
        xml: root.to_xml(),
        disk: text,
        dev,
    })
}

/// A data disk taken out of a domain XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// The whole domain XML without the disk.
    pub xml: String,
    /// The `<disk>` alone (for `virsh detach-device`).
    pub disk: String,
    /// Its target device.
    pub dev: String,
    /// Its RBD image (without the pool).
    pub image: String,
}

/// Takes the RBD disk `wanted` (its image, `POOL/IMAGE`, or its target device) out of domain
/// `xml`; the system disk `system` is refused, as is a disk that is not there.
pub fn take_rbd_disk(xml: &str, wanted: &str, system: &str) -> Result<Taken> {
    let mut root = parse(xml)?;
    let devices = devices_mut(&mut root)?;
    let image_of = |d: &Element| -> Option<String> {
        let spec = d.child("source")?.attr("name")?;
        Some(spec.rsplit('/').next().unwrap_or(spec).to_owned())
    };
    let dev_of = |d: &Element| {
        d.child("target")
            .and_then(|t| t.attr("dev"))
            .map(str::to_owned)
    };
    let at = devices
        .children
        .iter()
        .position(|d| {
            d.name == "disk"
                && (image_of(d).as_deref() == Some(wanted.rsplit('/').next().unwrap_or(wanted))
                    || dev_of(d).as_deref() == Some(wanted))
        })
        .ok_or_else(|| {
            Error::invalid(format!("The VM has no disk {wanted}; nothing was changed."))
        })?;
    let disk = devices.children.remove(at);
    let image = image_of(&disk).ok_or_else(|| bad(format!("disk {wanted} is not an RBD disk")))?;
    if image == system {
        return Err(Error::invalid(format!(
            "{wanted} is the VM's system disk, which remove-disk does not take (remove the VM \
             instead); nothing was changed."
        )));
    }
    Ok(Taken {
        xml: root.to_xml(),
        disk: disk.to_xml(),
        dev: dev_of(&disk).unwrap_or_default(),
        image,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The XML create stores for the sandbox guest (recorded with `rbd image-meta get
    /// system_rs1 xml` on the sandbox), cut to what matters here.
    const STORED: &str = r#"<domain type="kvm">
  <name>rs1</name>
  <memory unit="MiB">64</memory>
  <vcpu>1</vcpu>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type="network" device="disk">
      <driver name="qemu" type="raw" cache="none"/>
      <auth username="admin">
        <secret type="ceph" uuid="a1f0c3e2-5b1d-4c3a-9e8f-5a4db0c0ffee"/>
      </auth>
      <source protocol="rbd" name="rbd/system_rs1">
        <host name="10.78.0.254" port="6789"/>
      </source>
      <target dev="vda" bus="virtio"/>
      <boot order="1"/>
    </disk>
    <serial type="pty"><target port="0"/></serial>
  </devices>
</domain>"#;

    #[test]
    fn the_new_disk_is_the_system_disks_twin_on_the_next_device() {
        let a = add_rbd_disk(STORED, "rbd/data_rs1_0", "virtio").unwrap();
        assert_eq!(a.dev, "vdb");
        assert!(a.disk.contains(r#"name="rbd/data_rs1_0""#), "{}", a.disk);
        assert!(
            a.disk.contains(r#"<target dev="vdb" bus="virtio"/>"#),
            "{}",
            a.disk
        );
        assert!(
            a.disk.contains("a1f0c3e2-5b1d-4c3a-9e8f-5a4db0c0ffee"),
            "{}",
            a.disk
        );
        assert!(a.disk.contains("10.78.0.254"), "{}", a.disk);
        assert!(!a.disk.contains("boot"), "{}", a.disk);
        assert!(a.xml.contains(r#"name="rbd/system_rs1""#));
        assert_eq!(a.xml.matches("<disk ").count(), 2);
        // a second one, on another bus
        let b = add_rbd_disk(&a.xml, "rbd/data_rs1_1", "scsi").unwrap();
        assert_eq!(b.dev, "sda");
        let c = add_rbd_disk(&b.xml, "rbd/data_rs1_2", "virtio").unwrap();
        assert_eq!(c.dev, "vdc");
    }

    #[test]
    fn refusals() {
        assert!(add_rbd_disk(STORED, "rbd/system_rs1", "virtio").is_err());
        let no_rbd = STORED.replace(r#"protocol="rbd""#, r#"protocol="nbd""#);
        assert!(add_rbd_disk(&no_rbd, "rbd/data_rs1_0", "virtio").is_err());
        assert!(add_rbd_disk("<domain/>", "rbd/x", "virtio").is_err());
    }

    #[test]
    fn next_index_follows_the_data_images() {
        let imgs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(next_data_index("a", &imgs(&["system_a"])), 0);
        assert_eq!(
            next_data_index("a", &imgs(&["system_a", "data_a_0", "data_a_3"])),
            4
        );
        assert_eq!(next_data_index("a", &imgs(&["data_ab_7", "data_a_x"])), 0);
    }

    #[test]
    fn a_data_disk_is_taken_by_image_or_device_and_the_system_disk_is_refused() {
        let two = add_rbd_disk(STORED, "rbd/data_rs1_0", "virtio")
            .unwrap()
            .xml;
        for wanted in ["data_rs1_0", "rbd/data_rs1_0", "vdb"] {
            let t = take_rbd_disk(&two, wanted, "system_rs1").unwrap();
            assert_eq!(
                (t.image.as_str(), t.dev.as_str()),
                ("data_rs1_0", "vdb"),
                "{wanted}"
            );
            assert!(!t.xml.contains("data_rs1_0") && t.xml.contains("system_rs1"));
            assert!(t.disk.contains(r#"name="rbd/data_rs1_0""#), "{}", t.disk);
        }
        for wanted in ["vda", "system_rs1", "vdz"] {
            let e = take_rbd_disk(&two, wanted, "system_rs1").unwrap_err();
            assert_eq!(e.exit_code(), 2, "{wanted}: {e}");
        }
    }
}
