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
    parse_names("rbd group list", text)
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

/// Parses a JSON array of names (`rbd ls`, `rbd group ls --format json`); an empty output is
/// an empty list.
pub fn parse_names(what: &str, text: &str) -> Result<Vec<String>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    json(what, text)
}

/// A Ceph monitor address for QEMU (the msgr v1 address: QEMU's librbd is given host and port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonHost {
    /// Host or IP address.
    pub host: String,
    /// Port (6789 by default).
    pub port: u16,
}

/// Parses `ceph mon dump --format json`: each monitor's msgr v1 address (what QEMU uses).
pub fn parse_mon_dump(text: &str) -> Result<Vec<MonHost>, String> {
    let v: serde_json::Value = json("ceph mon dump", text)?;
    let mons = v["mons"]
        .as_array()
        .ok_or("ceph mon dump: no \"mons\" array")?;
    let mut hosts = Vec::new();
    for mon in mons {
        let v1 = mon["public_addrs"]["addrvec"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["type"] == "v1"))
            .and_then(|x| x["addr"].as_str())
            .map(str::to_owned)
            .or_else(|| {
                // Old format: "addr": "IP:PORT/NONCE".
                mon["addr"]
                    .as_str()
                    .map(|a| a.split('/').next().unwrap_or(a).to_owned())
            });
        if let Some(addr) = v1 {
            hosts.push(
                parse_host_port(&addr)
                    .ok_or_else(|| format!("ceph mon dump: bad address {addr:?}"))?,
            );
        }
    }
    if hosts.is_empty() {
        return Err("ceph mon dump: no monitor has a v1 address".into());
    }
    Ok(hosts)
}

/// Parses `HOST:PORT` (or `[V6]:PORT`, or `HOST` alone for port 6789).
pub fn parse_host_port(s: &str) -> Option<MonHost> {
    let s = s.trim();
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest.split_once(']')?;
        (h, p.strip_prefix(':').unwrap_or(""))
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, p),
            None => (s, ""),
        }
    };
    let port = if port.is_empty() {
        6789
    } else {
        port.parse().ok()?
    };
    let ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    ok.then(|| MonHost {
        host: host.to_owned(),
        port,
    })
}

/// One group snapshot (`rbd group snap ls --format json`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GroupSnap {
    /// Its name.
    #[serde(rename = "snapshot")]
    pub name: String,
    /// `ok`, or `incomplete` when its creation was interrupted.
    pub state: String,
}

/// Parses `rbd group snap ls --format json` (`[]` also for a missing group).
pub fn parse_group_snaps(text: &str) -> Result<Vec<GroupSnap>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    json("rbd group snap ls", text)
}

/// The namespace of an image snapshot (`rbd snap ls --all`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapNamespace {
    /// A snapshot taken by name (`rbd snap create`).
    User,
    /// The image's part of group snapshot `group_snap` of `group`.
    Group {
        /// The group.
        group: String,
        /// The group snapshot.
        group_snap: String,
    },
    /// Removed while clones still depend on it (clone v2).
    Trash {
        /// Its name before it was removed.
        original_name: String,
    },
    /// Anything newer Ceph releases add (mirror ...).
    Other(String),
}

/// One snapshot of an image (`rbd snap ls --all --format json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSnap {
    /// Snapshot id.
    pub id: u64,
    /// Name (`.group.*` for group snapshots).
    pub name: String,
    /// `rbd snap protect`ed.
    pub protected: bool,
    /// Ceph's creation time, as printed (`Sun Nov 22 02:50:36 2026`).
    pub timestamp: String,
    /// Namespace.
    pub namespace: SnapNamespace,
}

impl ImageSnap {
    /// Whether this is the image's part of group snapshot `snap`.
    pub fn is_group_snap(&self, snap: &str) -> bool {
        matches!(&self.namespace, SnapNamespace::Group { group_snap, .. } if group_snap == snap)
    }

    /// Whether this is the user snapshot `snap`.
    pub fn is_user_snap(&self, snap: &str) -> bool {
        self.namespace == SnapNamespace::User && self.name == snap
    }
}

#[derive(Deserialize)]
struct RawSnap {
    id: u64,
    name: String,
    #[serde(default)]
    protected: String,
    #[serde(default)]
    timestamp: String,
    #[serde(default)]
    namespace: Option<serde_json::Value>,
}

/// Parses `rbd snap ls --all --format json`.
pub fn parse_image_snaps(text: &str) -> Result<Vec<ImageSnap>, String> {
    const WHAT: &str = "rbd snap ls";
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let raw: Vec<RawSnap> = json(WHAT, text)?;
    raw.into_iter()
        .map(|r| {
            let ns = r
                .namespace
                .unwrap_or_else(|| serde_json::json!({"type": "user"}));
            let field = |k: &str| ns[k].as_str().unwrap_or_default().to_owned();
            let namespace = match ns["type"].as_str() {
                Some("user") => SnapNamespace::User,
                Some("group") => SnapNamespace::Group {
                    group: field("group"),
                    group_snap: field("group snap"),
                },
                Some("trash") => SnapNamespace::Trash {
                    original_name: field("original_name"),
                },
                Some(other) => SnapNamespace::Other(other.to_owned()),
                None => return Err(format!("{WHAT}: snapshot {} has no type", r.name)),
            };
            Ok(ImageSnap {
                id: r.id,
                name: r.name,
                protected: r.protected == "true",
                timestamp: r.timestamp,
                namespace,
            })
        })
        .collect()
}
