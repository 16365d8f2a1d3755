//! A VM's vCPUs and memory in its domain XML (pure): the sizes `set-resources` takes, what the
//! XML says now, and the plan of a change: what libvirt can do to the running guest at once,
//! and the XML kept for its next start.
//!
//! Live changes, each within what the guest was defined with:
//! - vCPUs: more, up to `<vcpu>`'s maximum (`<vcpu current='1'>2</vcpu>`), by vCPU hotplug;
//!   fewer needs the guest's help, so it waits for the next start.
//! - memory up to `<memory>` (above `<currentMemory>`): through the balloon, when the domain
//!   has one (`<memballoon model='none'>` has not);
//! - memory above `<memory>` up to `<maxMemory>`: one DIMM (`<memory model='dimm'>`, on NUMA
//!   cell 0) of the difference, hotplugged; the kept XML gets the same DIMM.
//!
//! Anything else is written into the kept XML only ("applies at next start"): `<vcpu>` becomes
//! N, memory becomes the size (DIMMs dropped, the single NUMA cell resized). A size above
//! `<maxMemory>`, or a memory change of a domain with several NUMA cells, is refused: the
//! domain XML has to be edited instead.

use shared::xml::Element;

use crate::error::{Error, Result};

/// Most vCPUs vm-mgr sets (QEMU's own limit for x86 q35).
pub const MAX_VCPUS: u32 = 4096;
/// Most memory vm-mgr sets: 16 TiB, in KiB.
pub const MAX_MEMORY_KIB: u64 = 16 << 30;

/// Parses a size such as `128M`, `2G` or `131072K`: a whole number with an optional binary
/// suffix (K, M, G, T, with or without `i`/`iB`, or `B` for bytes; none means MiB). Returns
/// bytes.
pub fn parse_size(what: &str, s: &str) -> Result<u64> {
    let bad = |why: &str| Error::invalid(format!("{what} {s:?}: {why}"));
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, suffix) = t.split_at(split);
    if digits.is_empty() || digits.len() > 20 {
        return Err(bad("give a whole number with a unit, e.g. 512M or 2G"));
    }
    let n: u64 = digits.parse().map_err(|_| bad("number too large"))?;
    let shift = match suffix.to_ascii_uppercase().as_str() {
        "B" => 0,
        "K" | "KI" | "KIB" => 10,
        "" | "M" | "MI" | "MIB" => 20,
        "G" | "GI" | "GIB" => 30,
        "T" | "TI" | "TIB" => 40,
        _ => return Err(bad("the unit must be B, K, M, G or T (powers of 1024)")),
    };
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| bad("number too large"))
}

/// `--memory`: a size in KiB, at least 1 MiB, at most [`MAX_MEMORY_KIB`], whole KiB.
pub fn parse_memory(s: &str) -> Result<u64> {
    let bytes = parse_size("--memory", s)?;
    if bytes % 1024 != 0 || !(1 << 20..=MAX_MEMORY_KIB << 10).contains(&bytes) {
        return Err(Error::invalid(format!(
            "--memory {s:?}: it must be whole KiB, from 1 MiB to 16 TiB."
        )));
    }
    Ok(bytes >> 10)
}

/// A size in a libvirt XML element with its `unit` attribute (default KiB), in KiB.
fn kib_of(e: &Element) -> Result<u64> {
    let bad = || {
        Error::invalid(format!(
            "The domain XML's <{}> {:?} is not a size libvirt writes.",
            e.name,
            e.text_trimmed()
        ))
    };
    let n: u64 = e.text_trimmed().parse().map_err(|_| bad())?;
    let (mul, div) = match e.attr("unit").unwrap_or("KiB") {
        "b" | "bytes" => (1, 1024),
        "KB" => (1000, 1024),
        "k" | "KiB" => (1, 1),
        "MB" => (1_000_000, 1024),
        "M" | "MiB" => (1024, 1),
        "GB" => (1_000_000_000, 1024),
        "G" | "GiB" => (1 << 20, 1),
        "TB" => (1_000_000_000_000, 1024),
        "T" | "TiB" => (1 << 30, 1),
        _ => return Err(bad()),
    };
    n.checked_mul(mul).map(|v| v / div).ok_or_else(bad)
}

fn set_kib(e: &mut Element, kib: u64) {
    e.attrs.retain(|(k, _)| k != "unit");
    e.set_attr("unit", "KiB");
    e.text = kib.to_string();
}

/// What a domain XML defines: vCPUs and memory (KiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Sizes {
    /// vCPUs at start (`<vcpu current>`, else the maximum).
    pub vcpus: u32,
    /// `<vcpu>`: the most vCPUs the running guest can have.
    pub max_vcpus: u32,
    /// `<currentMemory>` (else `<memory>`), KiB.
    pub memory_kib: u64,
    /// `<memory>`: initial memory with DIMMs; the balloon's ceiling (KiB).
    pub total_kib: u64,
    /// `<maxMemory>`: the hotplug ceiling (KiB), if any.
    pub hotplug_kib: Option<u64>,
    /// `<maxMemory slots>` minus the DIMMs already there.
    pub free_slots: u32,
    /// Whether the domain has a memory balloon.
    pub balloon: bool,
    /// NUMA cells.
    pub cells: usize,
}

fn parse_domain(xml: &str) -> Result<Element> {
    let what = "the VM's stored domain XML";
    let root = Element::parse(xml, what).map_err(|e| Error::DomainXml {
        what: what.to_owned(),
        detail: e.to_string(),
    })?;
    if root.name != "domain" {
        return Err(Error::invalid("The VM's stored XML is not a <domain>."));
    }
    Ok(root)
}

fn cells(root: &Element) -> Vec<&Element> {
    root.child("cpu")
        .and_then(|c| c.child("numa"))
        .map(|n| n.children_named("cell").collect())
        .unwrap_or_default()
}

fn dimms(root: &Element) -> usize {
    root.child("devices")
        .map(|d| {
            d.children_named("memory")
                .filter(|m| m.attr("model") == Some("dimm"))
                .count()
        })
        .unwrap_or(0)
}

/// Reads the vCPUs and memory of a domain XML.
pub fn sizes(xml: &str) -> Result<Sizes> {
    sizes_of(&parse_domain(xml)?)
}

fn sizes_of(root: &Element) -> Result<Sizes> {
    let vcpu = root
        .child("vcpu")
        .ok_or_else(|| Error::invalid("The domain XML has no <vcpu>."))?;
    let bad_vcpu = || Error::invalid("The domain XML's <vcpu> is not a number of vCPUs.");
    let max_vcpus: u32 = vcpu.text_trimmed().parse().map_err(|_| bad_vcpu())?;
    let vcpus = match vcpu.attr("current") {
        Some(c) => c.parse().map_err(|_| bad_vcpu())?,
        None => max_vcpus,
    };
    let total_kib = kib_of(
        root.child("memory")
            .ok_or_else(|| Error::invalid("The domain XML has no <memory>."))?,
    )?;
    let memory_kib = match root.child("currentMemory") {
        Some(c) => kib_of(c)?,
        None => total_kib,
    };
    let max = root.child("maxMemory");
    let slots: u32 = max
        .and_then(|m| m.attr("slots"))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let used = u32::try_from(dimms(root)).unwrap_or(u32::MAX);
    let balloon = root
        .child("devices")
        .and_then(|d| d.child("memballoon"))
        .is_none_or(|b| b.attr("model") != Some("none"));
    Ok(Sizes {
        vcpus,
        max_vcpus,
        memory_kib,
        total_kib,
        hotplug_kib: max.map(kib_of).transpose()?,
        free_slots: slots.saturating_sub(used),
        balloon,
        cells: cells(root).len(),
    })
}

/// One change libvirt makes to the running guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Live {
    /// `virsh setvcpus N --live`.
    Vcpus(u32),
    /// `virsh setmem KiB --live` (the balloon).
    Balloon(u64),
    /// `virsh attach-device --live` of this `<memory model='dimm'>` XML.
    Dimm(String),
}

/// The plan of a `set-resources`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The XML kept for the next start.
    pub xml: String,
    /// What is done to the running guest now.
    pub live: Vec<Live>,
    /// What waits for the next start (one phrase each), for a running guest.
    pub next_start: Vec<String>,
    /// The sizes before and after.
    pub before: Sizes,
    /// The sizes of the kept XML.
    pub after: Sizes,
}

/// Plans setting `vcpus` and `memory_kib` (KiB) in `xml`; `running`: whether the guest runs
/// (live changes are planned only then).
pub fn plan(xml: &str, vcpus: Option<u32>, memory_kib: Option<u64>, running: bool) -> Result<Plan> {
    let mut root = parse_domain(xml)?;
    let before = sizes_of(&root)?;
    let mut live = Vec::new();
    let mut next_start = Vec::new();
    if let Some(n) = vcpus {
        if n == 0 || n > MAX_VCPUS {
            return Err(Error::invalid(format!(
                "--vcpus {n}: from 1 to {MAX_VCPUS}."
            )));
        }
        let hot = running && n > before.vcpus && n <= before.max_vcpus;
        if hot {
            live.push(Live::Vcpus(n));
        } else if running && n != before.vcpus {
            next_start.push(format!("{n} vCPUs"));
        }
        set_vcpus(&mut root, n, before.max_vcpus)?;
    }
    if let Some(kib) = memory_kib {
        let what = plan_memory(&mut root, &before, kib, running)?;
        match what {
            Some(l) => live.push(l),
            None if running && kib != before.memory_kib => {
                next_start.push(format!("{} MiB of memory", kib / 1024));
            }
            None => {}
        }
    }
    let after = sizes_of(&root)?;
    Ok(Plan {
        xml: root.to_xml(),
        live,
        next_start,
        before,
        after,
    })
}

fn set_vcpus(root: &mut Element, n: u32, max: u32) -> Result<()> {
    let vcpu = root
        .child_mut("vcpu")
        .ok_or_else(|| Error::invalid("The domain XML has no <vcpu>."))?;
    if n <= max {
        vcpu.set_attr("current", n.to_string());
    } else {
        vcpu.attrs.retain(|(k, _)| k != "current");
        vcpu.text = n.to_string();
        if root.child("vcpus").is_some() {
            return Err(Error::invalid(
                "The domain XML lists its vCPUs one by one (<vcpus>); more than its maximum \
                 cannot be set here: change the domain XML instead.",
            ));
        }
    }
    Ok(())
}

/// Edits the memory of `root` to `kib`; the live change, if one is possible.
fn plan_memory(root: &mut Element, s: &Sizes, kib: u64, running: bool) -> Result<Option<Live>> {
    if let Some(h) = s.hotplug_kib.filter(|h| kib > *h) {
        return Err(Error::invalid(format!(
            "--memory {} MiB is above the domain's <maxMemory> ({} MiB): change the domain \
             XML instead.",
            kib / 1024,
            h / 1024
        )));
    }
    if running && s.balloon && kib <= s.total_kib {
        set_child_kib(root, "currentMemory", kib);
        return Ok((kib != s.memory_kib).then_some(Live::Balloon(kib)));
    }
    let grow = kib.checked_sub(s.total_kib).filter(|d| *d > 0);
    if let (true, Some(delta), true) = (running, grow, s.hotplug_kib.is_some() && s.free_slots > 0)
    {
        let dimm = dimm(delta);
        let xml = dimm.to_xml();
        root.child_mut("devices")
            .ok_or_else(|| Error::invalid("The domain XML has no <devices>."))?
            .children
            .push(dimm);
        set_child_kib(root, "memory", kib);
        set_child_kib(root, "currentMemory", kib);
        return Ok(Some(Live::Dimm(xml)));
    }
    if kib == s.memory_kib && kib == s.total_kib {
        return Ok(None);
    }
    // At next start: the whole size as initial memory.
    match s.cells {
        0 => {}
        1 => {
            if let Some(devices) = root.child_mut("devices") {
                devices
                    .children
                    .retain(|d| !(d.name == "memory" && d.attr("model") == Some("dimm")));
            }
            if let Some(cell) = root
                .child_mut("cpu")
                .and_then(|c| c.child_mut("numa"))
                .and_then(|n| n.child_mut("cell"))
            {
                cell.set_attr("memory", kib.to_string());
                cell.attrs.retain(|(k, _)| k != "unit");
                cell.set_attr("unit", "KiB");
            }
        }
        n => {
            return Err(Error::invalid(format!(
                "The domain has {n} NUMA cells: how its memory is split cannot be chosen here; \
                 change the domain XML instead."
            )))
        }
    }
    set_child_kib(root, "memory", kib);
    set_child_kib(root, "currentMemory", kib);
    Ok(None)
}

fn set_child_kib(root: &mut Element, name: &str, kib: u64) {
    if root.child(name).is_none() {
        let at = root
            .children
            .iter()
            .position(|c| c.name == "memory")
            .map_or(root.children.len(), |p| p + 1);
        root.children.insert(at, Element::new(name));
    }
    if let Some(e) = root.child_mut(name) {
        set_kib(e, kib);
    }
}

/// A `<memory model='dimm'>` of `kib` on NUMA cell 0.
fn dimm(kib: u64) -> Element {
    let mut size = Element::new("size");
    size.set_attr("unit", "KiB");
    size.text = kib.to_string();
    let mut node = Element::new("node");
    node.text = "0".into();
    let mut target = Element::new("target");
    target.children = vec![size, node];
    let mut m = Element::new("memory");
    m.set_attr("model", "dimm");
    m.children.push(target);
    m
}

#[cfg(test)]
#[path = "resources_tests.rs"]
mod tests;
