//! Reading a libvirt domain XML: the few facts the agents need, by pure functions.
//!
//! Only these paths are looked at (the rest of the document is skipped, so newer libvirt
//! elements do no harm): `/domain/@type`, `/domain/name`, `/domain/uuid`, `/domain/vcpu`,
//! `/domain/memory` (with its `unit`), `/domain/devices/emulator`,
//! `/domain/devices/disk/source/@pool` and `/domain/devices/interface/source/@network`.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// Why a domain XML or name cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DomainXmlError {
    /// The domain XML is not well-formed.
    #[error("The domain XML is malformed at byte {at}: {message}")]
    XmlMalformed {
        /// Byte offset of the problem.
        at: u64,
        /// The parser's description.
        message: String,
    },
    /// The root element is not `<domain>`.
    #[error("The XML is not a libvirt domain (root element <{root}>)")]
    NotDomain {
        /// The root element found.
        root: String,
    },
    /// `<name>` is missing or empty.
    #[error("The domain XML has no <name>")]
    NoName,
    /// `<name>` holds something that cannot be a domain name.
    #[error("The domain name {name:?} is not usable (it must not contain '/' or control characters, nor be '.' or '..')")]
    BadName {
        /// The name found.
        name: String,
    },
    /// `<memory>` has a value or unit that cannot be read.
    #[error("The domain memory {value:?} (unit {unit:?}) cannot be read")]
    BadMemory {
        /// The text.
        value: String,
        /// The unit.
        unit: String,
    },
}

/// The facts of a domain XML the agents use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainXml {
    /// `<domain type>`, e.g. `kvm` or `qemu`.
    pub domain_type: Option<String>,
    /// `<name>`, validated by [`check_domain_name`].
    pub name: String,
    /// `<uuid>`, if present.
    pub uuid: Option<String>,
    /// `<vcpu>` (maximum vCPUs), if present and numeric.
    pub vcpus: Option<u32>,
    /// `<memory>` converted to KiB, if present.
    pub memory_kib: Option<u64>,
    /// `<devices><emulator>`, if present.
    pub emulator: Option<String>,
    /// Storage pools named by disks (`<source pool=…>`), sorted, without duplicates.
    pub pools: Vec<String>,
    /// Networks named by interfaces (`<source network=…>`), sorted, without duplicates.
    pub networks: Vec<String>,
}

/// Checks that `name` can be a domain name and be used as a file name component: not empty,
/// not `.` or `..`, no `/`, no control characters.
pub fn check_domain_name(name: &str) -> Result<(), DomainXmlError> {
    if name.is_empty() {
        return Err(DomainXmlError::NoName);
    }
    if name == "." || name == ".." || name.contains('/') || name.chars().any(char::is_control) {
        return Err(DomainXmlError::BadName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Converts a libvirt memory value with its `unit` (libvirt `virScaleInteger`; default KiB)
/// to KiB, rounding bytes up.
pub fn memory_to_kib(value: &str, unit: Option<&str>) -> Option<u64> {
    let v: u64 = value.trim().parse().ok()?;
    let unit = unit.unwrap_or("KiB");
    let bytes_per: u64 = match unit {
        "b" | "bytes" => 1,
        "KB" => 1_000,
        "k" | "K" | "KiB" => 1 << 10,
        "MB" => 1_000_000,
        "M" | "MiB" => 1 << 20,
        "GB" => 1_000_000_000,
        "G" | "GiB" => 1 << 30,
        "TB" => 1_000_000_000_000,
        "T" | "TiB" => 1 << 40,
        "PB" => 1_000_000_000_000_000,
        "P" | "PiB" => 1 << 50,
        _ => return None,
    };
    let bytes = v.checked_mul(bytes_per)?;
    Some(bytes.div_ceil(1024))
}

fn attr(start: &BytesStart<'_>, name: &str) -> Option<String> {
    start
        .attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name)
        .and_then(|a| {
            a.normalized_value(XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

fn local_name(start: &BytesStart<'_>) -> String {
    start.name().as_ref().to_owned()
}

/// Parses a domain XML document (pure; see the [module docs](self) for what is read).
pub fn parse_domain_xml(xml: &str) -> Result<DomainXml, DomainXmlError> {
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut out = DomainXml::default();
    let mut name = String::new();
    let mut uuid = String::new();
    let mut vcpu = String::new();
    let mut memory = String::new();
    let mut memory_unit: Option<String> = None;
    let mut emulator = String::new();
    let mut seen_root = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| DomainXmlError::XmlMalformed {
                at: reader.error_position(),
                message: e.to_string(),
            })?;
        let (start, empty) = match &event {
            Event::Start(s) => (Some(s), false),
            Event::Empty(s) => (Some(s), true),
            _ => (None, false),
        };
        if let Some(s) = start {
            let tag = local_name(s);
            if !seen_root {
                seen_root = true;
                if tag != "domain" {
                    return Err(DomainXmlError::NotDomain { root: tag });
                }
                out.domain_type = attr(s, "type");
            }
            let p: Vec<&str> = path.iter().map(String::as_str).collect();
            match (p.as_slice(), tag.as_str()) {
                (["domain"], "memory") => memory_unit = attr(s, "unit"),
                (["domain", "devices", "disk"], "source") => {
                    out.pools.extend(attr(s, "pool"));
                }
                (["domain", "devices", "interface"], "source") => {
                    out.networks.extend(attr(s, "network"));
                }
                _ => {}
            }
            if !empty {
                path.push(tag);
            }
            continue;
        }
        let text: Option<String> = match &event {
            Event::Text(t) => Some(t.xml_content(XmlVersion::Implicit1_0).into_owned()),
            Event::CData(t) => Some(t.xml_content(XmlVersion::Implicit1_0).into_owned()),
            Event::GeneralRef(r) => match r.resolve_char_ref() {
                Ok(Some(c)) => Some(c.to_string()),
                _ => resolve_predefined_entity(r).map(str::to_owned),
            },
            _ => None,
        };
        if let Some(text) = text {
            let p: Vec<&str> = path.iter().map(String::as_str).collect();
            let slot = match p.as_slice() {
                ["domain", "name"] => Some(&mut name),
                ["domain", "uuid"] => Some(&mut uuid),
                ["domain", "vcpu"] => Some(&mut vcpu),
                ["domain", "memory"] => Some(&mut memory),
                ["domain", "devices", "emulator"] => Some(&mut emulator),
                _ => None,
            };
            if let Some(slot) = slot {
                slot.push_str(&text);
            }
            continue;
        }
        match event {
            Event::End(_) => {
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root {
        return Err(DomainXmlError::XmlMalformed {
            at: 0,
            message: "no root element".into(),
        });
    }
    let name = name.trim().to_owned();
    check_domain_name(&name)?;
    out.name = name;
    out.uuid = Some(uuid.trim().to_owned()).filter(|u| !u.is_empty());
    out.vcpus = vcpu.trim().parse().ok();
    let memory = memory.trim();
    if !memory.is_empty() {
        out.memory_kib = Some(
            memory_to_kib(memory, memory_unit.as_deref()).ok_or_else(|| {
                DomainXmlError::BadMemory {
                    value: memory.to_owned(),
                    unit: memory_unit.clone().unwrap_or_else(|| "KiB".into()),
                }
            })?,
        );
    }
    out.emulator = Some(emulator.trim().to_owned()).filter(|e| !e.is_empty());
    out.pools.sort();
    out.pools.dedup();
    out.networks.sort();
    out.networks.dedup();
    Ok(out)
}

impl DomainXml {
    /// Parses a domain XML document; see [`parse_domain_xml`].
    pub fn parse(xml: &str) -> Result<DomainXml, DomainXmlError> {
        parse_domain_xml(xml)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUNNING: &str = include_str!("../../../tests/fixtures/libvirt/dumpxml-running.xml");
    const GUEST: &str = include_str!("../../../tests/fixtures/libvirt/guest-xml.xml");

    #[test]
    fn reads_a_recorded_running_domain() {
        let d = parse_domain_xml(RUNNING).unwrap();
        assert_eq!(d.name, "fixture-vm");
        assert!(d.uuid.as_deref().is_some_and(|u| u.len() == 36), "{d:?}");
        assert_eq!(d.vcpus, Some(1));
        assert!(d.memory_kib.is_some_and(|m| m > 0), "{d:?}");
        assert!(
            d.emulator.as_deref().is_some_and(|e| e.contains("qemu")),
            "{d:?}"
        );
    }

    #[test]
    fn reads_the_sandbox_guest() {
        let d = parse_domain_xml(GUEST).unwrap();
        assert_eq!(d.name, "fixture-vm");
        assert!(d.domain_type.is_some());
        assert!(d.memory_kib.is_some());
    }

    #[test]
    fn pools_networks_units_and_entities() {
        let xml = r#"<?xml version="1.0"?>
<!-- comment -->
<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>a&amp;b</name>
  <uuid>0e3f3e0a-5d8e-4a45-9c55-1c4b5c0c1a2b</uuid>
  <memory unit='MiB'>256</memory>
  <vcpu placement='static'>2</vcpu>
  <metadata><name>not-this</name></metadata>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='volume'><source pool='p2' volume='v'/></disk>
    <disk type='volume'><source pool='p1' volume='w'/></disk>
    <disk type='volume'><source pool='p1' volume='x'/></disk>
    <interface type='network'><source network='default'/></interface>
  </devices>
</domain>"#;
        let d = parse_domain_xml(xml).unwrap();
        assert_eq!(d.name, "a&b");
        assert_eq!(d.memory_kib, Some(256 * 1024));
        assert_eq!(d.vcpus, Some(2));
        assert_eq!(d.pools, ["p1", "p2"]);
        assert_eq!(d.networks, ["default"]);
        assert_eq!(d.domain_type.as_deref(), Some("kvm"));
    }

    #[test]
    fn memory_units() {
        assert_eq!(memory_to_kib("1024", None), Some(1024));
        assert_eq!(memory_to_kib("1", Some("GiB")), Some(1 << 20));
        assert_eq!(memory_to_kib("1000", Some("b")), Some(1));
        assert_eq!(memory_to_kib("1", Some("MB")), Some(977));
        assert_eq!(memory_to_kib("x", None), None);
        assert_eq!(memory_to_kib("1", Some("parsec")), None);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            parse_domain_xml("<network><name>x</name></network>"),
            Err(DomainXmlError::NotDomain { root }) if root == "network"
        ));
        assert!(matches!(
            parse_domain_xml("<domain><uuid>x</uuid></domain>"),
            Err(DomainXmlError::NoName)
        ));
        assert!(matches!(
            parse_domain_xml("<domain><name>../etc</name></domain>"),
            Err(DomainXmlError::BadName { .. })
        ));
        assert!(matches!(
            parse_domain_xml("<domain><name>x</name>"),
            Ok(_) | Err(DomainXmlError::XmlMalformed { .. })
        ));
        assert!(matches!(
            parse_domain_xml("<domain><name>x</nam></domain>"),
            Err(DomainXmlError::XmlMalformed { .. })
        ));
        assert!(matches!(
            parse_domain_xml(""),
            Err(DomainXmlError::XmlMalformed { .. })
        ));
        assert!(matches!(
            parse_domain_xml("<domain><name>x</name><memory unit='zz'>1</memory></domain>"),
            Err(DomainXmlError::BadMemory { .. })
        ));
    }
}
