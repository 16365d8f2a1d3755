//! Pure rewriting of a domain XML for a copy of a VM (clone, import under a new name): new
//! `<name>`, new `<uuid>`, new MAC address on every interface that has one, and the RBD disk
//! sources renamed to the copy's images. Random values come from `/dev/urandom`.

use std::collections::BTreeMap;
use std::io::Read as _;

use shared::pacemaker::xml::Element;

use crate::error::{Error, Result};

/// `n` random bytes.
pub fn random_bytes(n: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|source| Error::ReadFile {
            path: "/dev/urandom".into(),
            source,
        })?;
    Ok(buf)
}

/// A random (version 4) UUID.
pub fn new_uuid() -> Result<String> {
    let mut b = random_bytes(16)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

/// A random MAC address in QEMU's locally administered range 52:54:00.
pub fn new_mac() -> Result<String> {
    let b = random_bytes(3)?;
    Ok(format!("52:54:00:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2]))
}

/// What a copy changes in the XML.
pub struct Renaming<'a> {
    /// The copy's name.
    pub name: &'a str,
    /// Its UUID.
    pub uuid: &'a str,
    /// RBD `POOL/IMAGE` of the source → of the copy.
    pub disks: &'a BTreeMap<String, String>,
}

/// Rewrites `xml` (`what` for messages) for a copy; `mac` gives each new MAC address.
pub fn rewrite(
    xml: &str,
    what: &str,
    r: &Renaming<'_>,
    mac: &mut dyn FnMut() -> Result<String>,
) -> Result<String> {
    let bad = |detail: String| Error::DomainXml {
        what: what.to_owned(),
        detail,
    };
    let mut root = Element::parse(xml, what).map_err(|e| bad(e.to_string()))?;
    if root.name != "domain" {
        return Err(bad(format!("the root element is <{}>", root.name)));
    }
    let set_text = |root: &mut Element, tag: &str, value: &str, at: usize| match root.child_mut(tag)
    {
        Some(n) => n.text = value.to_owned(),
        None => {
            let mut n = Element::new(tag);
            n.text = value.to_owned();
            let at = at.min(root.children.len());
            root.children.insert(at, n);
        }
    };
    set_text(&mut root, "name", r.name, 0);
    let after_name = root
        .children
        .iter()
        .position(|c| c.name == "name")
        .map_or(0, |p| p + 1);
    set_text(&mut root, "uuid", r.uuid, after_name);
    if let Some(devices) = root.child_mut("devices") {
        for dev in devices.children.iter_mut() {
            match dev.name.as_str() {
                "interface" => {
                    if let Some(m) = dev.child_mut("mac") {
                        m.set_attr("address", mac()?);
                    }
                }
                "disk" => {
                    if let Some(src) = dev.child_mut("source") {
                        if src.attr("protocol") == Some("rbd") {
                            let renamed = src.attr("name").and_then(|n| r.disks.get(n));
                            if let Some(new) = renamed.cloned() {
                                src.set_attr("name", new);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Ok(root.to_xml())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"<domain type="kvm">
  <name>golden</name>
  <uuid>b820ca08-d40c-4b5f-97e8-7f437bbf37a4</uuid>
  <memory unit="MiB">64</memory>
  <devices>
    <disk type="network" device="disk"><source protocol="rbd" name="rbd/system_golden"><host name="10.78.0.254" port="6789"/></source><target dev="vda" bus="virtio"/></disk>
    <disk type="network" device="disk"><source protocol="rbd" name="rbd/data_golden_0"/><target dev="vdb" bus="virtio"/></disk>
    <interface type="user"><mac address="52:54:00:aa:bb:cc"/><model type="virtio"/></interface>
    <interface type="user"><mac address="52:54:00:aa:bb:cd"/></interface>
    <interface type="user"/>
  </devices>
</domain>"#;

    #[test]
    fn a_clone_gets_its_name_uuid_macs_and_disks() {
        let disks: BTreeMap<String, String> = [
            ("rbd/system_golden", "rbd/system_web7"),
            ("rbd/data_golden_0", "rbd/data_web7_0"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let uuid = new_uuid().unwrap();
        let mut n = 0;
        let out = rewrite(
            SOURCE,
            "golden's XML",
            &Renaming {
                name: "web7",
                uuid: &uuid,
                disks: &disks,
            },
            &mut || {
                n += 1;
                Ok(format!("52:54:00:00:00:0{n}"))
            },
        )
        .unwrap();
        let dom = shared::libvirt::DomainXml::parse(&out).unwrap();
        assert_eq!(dom.name, "web7");
        assert!(out.contains(&format!("<uuid>{uuid}</uuid>")), "{out}");
        for needle in [
            r#"name="rbd/system_web7""#,
            r#"name="rbd/data_web7_0""#,
            r#"<mac address="52:54:00:00:00:01"/>"#,
            r#"<mac address="52:54:00:00:00:02"/>"#,
            r#"<host name="10.78.0.254" port="6789"/>"#,
        ] {
            assert!(out.contains(needle), "{needle}:\n{out}");
        }
        for gone in ["golden", "b820ca08", "aa:bb:c"] {
            assert!(!out.contains(gone), "{gone}:\n{out}");
        }
        // An XML without <uuid> gets one right after <name>.
        let out = rewrite(
            "<domain type='kvm'><name>a</name><memory>1</memory></domain>",
            "x",
            &Renaming {
                name: "b",
                uuid: &uuid,
                disks: &disks,
            },
            &mut || unreachable!(),
        )
        .unwrap();
        let (n, u) = (
            out.find("<name>b</name>"),
            out.find(&format!("<uuid>{uuid}</uuid>")),
        );
        assert!(n.is_some() && u.is_some() && n < u, "{out}");
        assert!(rewrite(
            "<network/>",
            "x",
            &Renaming {
                name: "b",
                uuid: &uuid,
                disks: &disks
            },
            &mut || unreachable!()
        )
        .is_err());
    }

    #[test]
    fn random_ids_are_well_formed_and_differ() {
        let (a, b) = (new_uuid().unwrap(), new_uuid().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        let m = new_mac().unwrap();
        assert!(m.starts_with("52:54:00:") && m.len() == 17, "{m}");
    }
}
