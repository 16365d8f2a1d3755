//! Typed outputs of the Ceph tools and their pure parsers (no I/O).
//!
//! Each parser takes the tool's stdout and returns the typed value or a reason. Unknown JSON
//! keys are ignored, so a newer Ceph adding some does not break them.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

use super::names::ClientAddr;

fn addr<'de, D: Deserializer<'de>>(d: D) -> Result<ClientAddr, D::Error> {
    let s = String::deserialize(d)?;
    ClientAddr::from_str(&s).map_err(serde::de::Error::custom)
}

fn json<'a, T: Deserialize<'a>>(what: &str, text: &'a str) -> Result<T, String> {
    serde_json::from_str(text.trim()).map_err(|e| format!("{what}: {e}"))
}

/// `rbd info --format json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ImageInfo {
    /// Image name.
    pub name: String,
    /// Image id (format-2 images; the header object is `rbd_header.<id>`).
    #[serde(default)]
    pub id: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// Image format (1 or 2).
    pub format: u32,
    /// Enabled features ("layering", "exclusive-lock", ...).
    #[serde(default)]
    pub features: Vec<String>,
    /// The group the image belongs to (`pool/group`), if any.
    #[serde(default)]
    pub group: Option<String>,
}

impl ImageInfo {
    /// Whether librbd's `exclusive-lock` feature is on (librbd writers then take `rbd_lock`).
    pub fn has_exclusive_lock(&self) -> bool {
        self.features.iter().any(|f| f == "exclusive-lock")
    }
}

/// Parses `rbd info --format json`.
pub fn parse_image_info(text: &str) -> Result<ImageInfo, String> {
    json("rbd info", text)
}

/// One watcher of `rbd status --format json`: a client that has the image open (QEMU, `rbd
/// watch`, a mapped device ...).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Watcher {
    /// The client instance address.
    #[serde(deserialize_with = "addr")]
    pub address: ClientAddr,
    /// The client id (`client.<id>`).
    pub client: u64,
    /// The watch cookie.
    pub cookie: u64,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    watchers: Vec<Watcher>,
}

/// Parses `rbd status --format json` into its watchers.
pub fn parse_status(text: &str) -> Result<Vec<Watcher>, String> {
    json::<Status>("rbd status", text).map(|s| s.watchers)
}

/// One entry of `rbd lock ls --format json`: a holder of the image's `rbd_lock`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RbdLock {
    /// The lock cookie (`auto <n>` for librbd's exclusive-lock feature).
    pub id: String,
    /// The holder (`client.<id>`).
    pub locker: String,
    /// The holder's address.
    #[serde(deserialize_with = "addr")]
    pub address: ClientAddr,
}

impl RbdLock {
    /// Whether librbd took this lock for its exclusive-lock feature (a writer such as QEMU).
    pub fn is_librbd(&self) -> bool {
        self.id.starts_with("auto ")
    }
}

/// Parses `rbd lock ls --format json`.
pub fn parse_lock_ls(text: &str) -> Result<Vec<RbdLock>, String> {
    json("rbd lock ls", text)
}

/// One holder of a cls_lock lock (`rados lock info`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LockHolder {
    /// The holder (`client.<id>`).
    pub name: String,
    /// The cookie the holder chose.
    pub cookie: String,
    /// Free text set at lock time.
    #[serde(default)]
    pub description: String,
    /// Expiration ("0.000000" for never).
    #[serde(default)]
    pub expiration: String,
    /// The holder's address.
    #[serde(deserialize_with = "addr")]
    pub addr: ClientAddr,
}

/// `rados lock info OBJ NAME --format json`: a cls_lock lock on an object.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ObjectLock {
    /// The lock name.
    pub name: String,
    /// "none" (never taken), "exclusive" or "shared".
    #[serde(rename = "type")]
    pub lock_type: String,
    /// The tag (shared lockers must agree on it).
    #[serde(default)]
    pub tag: String,
    /// The holders (empty when free).
    #[serde(default)]
    pub lockers: Vec<LockHolder>,
}

/// Parses `rados lock info --format json`.
pub fn parse_object_lock(text: &str) -> Result<ObjectLock, String> {
    json("rados lock info", text)
}

/// One mapped device of `rbd device list --format json` (krbd or nbd).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedDevice {
    /// krbd: the device id ("0"); nbd: the pid of `rbd-nbd`.
    pub id: String,
    /// The pool.
    pub pool: String,
    /// The namespace ("" for the default one).
    pub namespace: String,
    /// The image.
    pub image: String,
    /// The snapshot, `None` for the image head (krbd prints "-", nbd "").
    pub snap: Option<String>,
    /// The block device ("/dev/rbd0", "/dev/nbd0").
    pub device: String,
}

#[derive(Deserialize)]
struct RawDevice {
    id: serde_json::Value,
    pool: String,
    #[serde(default)]
    namespace: String,
    // krbd says "name", rbd-nbd says "image" (src/krbd.cc, src/tools/rbd/action/Nbd.cc)
    #[serde(alias = "image")]
    name: String,
    #[serde(default)]
    snap: String,
    device: String,
}

/// Parses `rbd device list --format json` (both the krbd and the nbd shape).
pub fn parse_device_list(text: &str) -> Result<Vec<MappedDevice>, String> {
    let raw: Vec<RawDevice> = json("rbd device list", text)?;
    Ok(raw
        .into_iter()
        .map(|d| MappedDevice {
            id: match d.id {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            },
            pool: d.pool,
            namespace: d.namespace,
            image: d.name,
            snap: (!d.snap.is_empty() && d.snap != "-").then_some(d.snap),
            device: d.device,
        })
        .collect())
}

/// One image of `rbd group image list --format json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GroupImage {
    /// The image name.
    pub image: String,
    /// Its pool.
    pub pool: String,
    /// Its namespace.
    #[serde(default)]
    pub namespace: String,
    /// Membership state (0 = attached).
    #[serde(default)]
    pub state: i64,
}

/// Parses `rbd group image list --format json`. Note: a missing group gives `[]` and exit 0.
pub fn parse_group_images(text: &str) -> Result<Vec<GroupImage>, String> {
    json("rbd group image list", text)
}

/// Parses `rbd group list --format json` (group names).
pub fn parse_group_list(text: &str) -> Result<Vec<String>, String> {
    json("rbd group list", text)
}

/// Parses `rbd image-meta list --format json`; an empty output (no metadata) is an empty map.
pub fn parse_image_meta(text: &str) -> Result<BTreeMap<String, String>, String> {
    if text.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    json("rbd image-meta list", text)
}

/// One entry of `ceph osd blocklist ls --format json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BlocklistEntry {
    /// The blocklisted address (as text: ranges may not be instance addresses).
    pub addr: String,
    /// Until when.
    #[serde(default)]
    pub until: String,
}

/// Parses `ceph osd blocklist ls --format json`. Ceph 16.2.15 prints an empty line, the
/// address list, then a second (range) list with no separator: `\n[…][]`; both are read.
pub fn parse_blocklist(text: &str) -> Result<Vec<BlocklistEntry>, String> {
    let mut out = Vec::new();
    for value in serde_json::Deserializer::from_str(text).into_iter::<Vec<BlocklistEntry>>() {
        out.extend(value.map_err(|e| format!("ceph osd blocklist ls: {e}"))?);
    }
    Ok(out)
}

/// Parses the device path `rbd device map` prints (its last non-empty line).
pub fn parse_map_output(text: &str) -> Result<String, String> {
    text.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .filter(|l| l.starts_with("/dev/"))
        .map(str::to_string)
        .ok_or_else(|| format!("rbd device map: no device path in output {text:?}"))
}
