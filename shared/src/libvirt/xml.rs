//! Reading a libvirt domain XML: the few facts the agents need, by pure functions.
//!
//! Only these paths are looked at (the rest of the document is skipped, so newer libvirt
//! elements do no harm): `/domain/@type`, `/domain/name`, `/domain/uuid`, `/domain/vcpu`,
//! `/domain/memory` (with its `unit`), `/domain/devices/emulator`,
//! `/domain/devices/disk/source/@pool` and `/domain/devices/interface/source/@network`.
//! Names are matched as written (a prefixed `<qemu:name>` is not `<name>`).
//!
//! The document is read into the generic tree of [`crate::xml`] first (like the CIB and
//! `drbdadm dump-xml`), which checks it is well-formed, resolves entities and bounds the
//! nesting depth; the facts are then read off the tree.

use crate::xml::Element;

/// Why a domain XML or name cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DomainXmlError {
    /// The domain XML is not well-formed, or nested deeper than
    /// [`MAX_DEPTH`](crate::xml::MAX_DEPTH).
    #[error("The domain XML is malformed: {message}")]
    XmlMalformed {
        /// The parser's description, with the byte offset where it has one
        /// ([`XmlError::detail`](crate::xml::XmlError::detail)).
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
    /// The files of its writable file disks (`<disk type="file" device="disk">`, not
    /// `<readonly/>` or `<shareable/>`), in document order.
    pub writable_files: Vec<String>,
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

/// What [`Element::parse`] calls the document in errors.
const WHAT: &str = "the domain XML";

/// The concatenated text of all children of `parent` called `name` (libvirt writes each once).
fn text_of(parent: &Element, name: &str) -> String {
    parent
        .children_named(name)
        .map(|c| c.text.as_str())
        .collect()
}

/// Parses a domain XML document (pure; see the [module docs](self) for what is read).
///
/// The document is read into a [`shared::xml`](crate::xml) tree first, so it is checked for
/// well-formedness as a whole and nesting deeper than [`MAX_DEPTH`](crate::xml::MAX_DEPTH)
/// is refused in linear time.
pub fn parse_domain_xml(xml: &str) -> Result<DomainXml, DomainXmlError> {
    let root = Element::parse(xml, WHAT)
        .map_err(|e| DomainXmlError::XmlMalformed { message: e.detail })?;
    if root.name != "domain" {
        return Err(DomainXmlError::NotDomain { root: root.name });
    }
    let name = text_of(&root, "name").trim().to_owned();
    check_domain_name(&name)?;
    let devices: Vec<&Element> = root.children_named("devices").collect();
    let sources = |device: &'static str| {
        devices
            .iter()
            .flat_map(move |d| d.children_named(device))
            .flat_map(|d| d.children_named("source"))
    };
    let mut pools: Vec<String> = sources("disk")
        .filter_map(|s| s.attr("pool").map(str::to_owned))
        .collect();
    pools.sort();
    pools.dedup();
    let mut networks: Vec<String> = sources("interface")
        .filter_map(|s| s.attr("network").map(str::to_owned))
        .collect();
    networks.sort();
    networks.dedup();
    let writable_files: Vec<String> = devices
        .iter()
        .flat_map(|d| d.children_named("disk"))
        .filter(|d| {
            d.attr("type") == Some("file") && matches!(d.attr("device"), None | Some("disk"))
        })
        .filter(|d| d.child("readonly").is_none() && d.child("shareable").is_none())
        .filter_map(|d| d.child("source")?.attr("file").map(str::to_owned))
        .collect();
    let emulator: String = devices.iter().map(|d| text_of(d, "emulator")).collect();
    let uuid = text_of(&root, "uuid");
    Ok(DomainXml {
        domain_type: root.attr("type").map(str::to_owned),
        name,
        uuid: Some(uuid.trim().to_owned()).filter(|u| !u.is_empty()),
        vcpus: text_of(&root, "vcpu").trim().parse().ok(),
        memory_kib: memory_kib(&root)?,
        emulator: Some(emulator.trim().to_owned()).filter(|e| !e.is_empty()),
        pools,
        networks,
        writable_files,
    })
}

/// `/domain/memory` in KiB: `None` if absent or empty; the unit is that of the last
/// `<memory>` (there is one).
fn memory_kib(root: &Element) -> Result<Option<u64>, DomainXmlError> {
    let text = text_of(root, "memory");
    let memory = text.trim();
    if memory.is_empty() {
        return Ok(None);
    }
    let unit = root
        .children_named("memory")
        .last()
        .and_then(|m| m.attr("unit"));
    memory_to_kib(memory, unit)
        .map(Some)
        .ok_or_else(|| DomainXmlError::BadMemory {
            value: memory.to_owned(),
            unit: unit.unwrap_or("KiB").to_owned(),
        })
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
    fn a_100000_deep_document_is_refused_quickly() {
        // The pull parser this replaced rebuilt the element path for every event: quadratic in
        // depth (minutes for this document). The tree stops at MAX_DEPTH.
        let depth = 100_000;
        let xml = format!(
            "<domain><name>x</name>{}{}</domain>",
            "<a>".repeat(depth),
            "</a>".repeat(depth)
        );
        let started = std::time::Instant::now();
        let err = parse_domain_xml(&xml).unwrap_err();
        let took = started.elapsed();
        assert!(
            took < std::time::Duration::from_secs(2),
            "took {took:?} to refuse it"
        );
        assert!(
            matches!(&err, DomainXmlError::XmlMalformed { message }
                if message.contains("nested deeper than 256 levels")),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.starts_with("The domain XML is malformed: "), "{msg}");
        // 256 levels in all (domain + 255) are still read
        let ok = format!(
            "<domain><name>x</name>{}{}</domain>",
            "<a>".repeat(255),
            "</a>".repeat(255)
        );
        assert_eq!(parse_domain_xml(&ok).unwrap().name, "x");
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
