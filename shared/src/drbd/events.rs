//! `drbdsetup events2` output: the DRBD 9 state vocabulary as enums, and a pure parser of the
//! `--now` snapshot of one resource into a [`ResourceStatus`].
//!
//! The vocabularies mirror drbd-utils `user/shared/drbd_strings.c` (role, disk, connection
//! and replication state names). Values a newer DRBD may add are kept as `Other(text)` rather
//! than rejected: the parser never fails on an unknown state, key or object type, and never
//! panics. Only lines it cannot make sense of at all (an `exists` line without `name:`, a
//! number that is not a number) are errors.
//!
//! Line format (drbd-utils `user/v9/drbdsetup_events2.c`): an optional timestamp (with
//! `--timestamps`), the event type (`exists`, `create`, `change`, `destroy`, `call`,
//! `response`), the object (`resource`, `connection`, `device`, `peer-device`, `path`,
//! `helper`), then `key:value` fields. `--now` prints the `exists` lines of the current state and
//! ends with `exists -`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use super::error::DrbdError;

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// The name as DRBD writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Other(s) => s,
                }
            }

            /// Parses a name (exact, case-sensitive, like DRBD writes it); never fails.
            pub fn parse(s: &str) -> $name {
                match s {
                    $($text => $name::$variant,)+
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<$name, Self::Err> {
                Ok($name::parse(s))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary! {
    /// A node's role in a resource (`drbd_role` in drbd_strings.c).
    Role {
        /// `Primary`: may be written to.
        Primary = "Primary",
        /// `Secondary`.
        Secondary = "Secondary",
        /// `Unknown`: a peer whose role is not known (not connected).
        Unknown = "Unknown",
    }
}

vocabulary! {
    /// A disk state (`drbd_disk_state` in drbd_strings.c).
    DiskState {
        /// No local disk (intentional with `client:yes`).
        Diskless = "Diskless",
        /// Being attached.
        Attaching = "Attaching",
        /// Being detached.
        Detaching = "Detaching",
        /// I/O error on the backing device.
        Failed = "Failed",
        /// Attached, negotiating with peers.
        Negotiating = "Negotiating",
        /// Data not consistent (initial sync, SyncTarget).
        Inconsistent = "Inconsistent",
        /// Consistent but known to be older than a peer's.
        Outdated = "Outdated",
        /// A peer's disk whose state is not known (no connection).
        DUnknown = "DUnknown",
        /// Consistent, but whether it is the newest is not known.
        Consistent = "Consistent",
        /// Consistent and current.
        UpToDate = "UpToDate",
    }
}

vocabulary! {
    /// A connection state (`drbd_conn_state` in drbd_strings.c, DRBD 9).
    ConnectionState {
        /// Not trying to connect (configured so, or after a split brain).
        StandAlone = "StandAlone",
        /// Being disconnected.
        Disconnecting = "Disconnecting",
        /// Transient state before Connecting.
        Unconnected = "Unconnected",
        /// Transient: the peer did not answer in time.
        Timeout = "Timeout",
        /// Transient: the connection broke.
        BrokenPipe = "BrokenPipe",
        /// Transient: network failure.
        NetworkFailure = "NetworkFailure",
        /// Transient: protocol error.
        ProtocolError = "ProtocolError",
        /// Transient: being torn down.
        TearDown = "TearDown",
        /// Waiting for the peer to show up.
        Connecting = "Connecting",
        /// Connected.
        Connected = "Connected",
    }
}

vocabulary! {
    /// A replication state of a peer device (`drbd_repl_state` in drbd_strings.c).
    ReplicationState {
        /// No replication (not connected).
        Off = "Off",
        /// Connected and in sync.
        Established = "Established",
        /// Starting a full sync as source.
        StartingSyncS = "StartingSyncS",
        /// Starting a full sync as target.
        StartingSyncT = "StartingSyncT",
        /// Exchanging bitmaps (source side).
        WFBitMapS = "WFBitMapS",
        /// Exchanging bitmaps (target side).
        WFBitMapT = "WFBitMapT",
        /// Waiting for the sync UUID.
        WFSyncUUID = "WFSyncUUID",
        /// Resync: we are the source.
        SyncSource = "SyncSource",
        /// Resync: we are the target.
        SyncTarget = "SyncTarget",
        /// Online verify: source.
        VerifyS = "VerifyS",
        /// Online verify: target.
        VerifyT = "VerifyT",
        /// Resync paused: source.
        PausedSyncS = "PausedSyncS",
        /// Resync paused: target.
        PausedSyncT = "PausedSyncT",
        /// Congestion: running ahead of the peer.
        Ahead = "Ahead",
        /// Congestion: behind the peer.
        Behind = "Behind",
    }
}

/// One `connection` line: this node's view of a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// `peer-node-id`.
    pub peer_node_id: Option<u32>,
    /// `conn-name` (the peer's host name in the configuration).
    pub conn_name: Option<String>,
    /// `connection`.
    pub state: ConnectionState,
    /// `role`: the peer's role.
    pub peer_role: Role,
}

/// One `device` line: a local volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// `volume`.
    pub volume: u32,
    /// `minor`.
    pub minor: Option<u32>,
    /// `disk`.
    pub disk: DiskState,
    /// `client:yes`: intentionally diskless.
    pub client: bool,
    /// `quorum`; `None` when not reported (older DRBD, or quorum not configured).
    pub quorum: Option<bool>,
}

/// One `peer-device` line: a peer's volume as seen from here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerDevice {
    /// `peer-node-id`.
    pub peer_node_id: Option<u32>,
    /// `conn-name`.
    pub conn_name: Option<String>,
    /// `volume`.
    pub volume: u32,
    /// `replication`.
    pub replication: ReplicationState,
    /// `peer-disk`.
    pub peer_disk: DiskState,
    /// `peer-client:yes`: the peer is intentionally diskless.
    pub peer_client: bool,
}

/// The state of one resource on this node, from `drbdsetup events2 --now <res>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceStatus {
    /// `name`.
    pub name: String,
    /// `role` of this node.
    pub role: Role,
    /// `suspended` (`no`, or the reasons such as `user`, `quorum`).
    pub suspended: Option<String>,
    /// `may_promote` (DRBD ≥ 9.0.20 with auto-promote information).
    pub may_promote: Option<bool>,
    /// `promotion_score` (idem).
    pub promotion_score: Option<i64>,
    /// The peers, in output order.
    pub connections: Vec<Connection>,
    /// The local volumes, in output order.
    pub devices: Vec<Device>,
    /// The peers' volumes, in output order.
    pub peer_devices: Vec<PeerDevice>,
}

impl ResourceStatus {
    fn new(name: &str) -> ResourceStatus {
        ResourceStatus {
            name: name.to_owned(),
            role: Role::Unknown,
            suspended: None,
            may_promote: None,
            promotion_score: None,
            connections: Vec::new(),
            devices: Vec::new(),
            peer_devices: Vec::new(),
        }
    }
}

/// The event types of events2 lines.
const EVENT_TYPES: [&str; 6] = ["exists", "create", "change", "destroy", "call", "response"];

/// One parsed line: its event type, object type and fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line<'a> {
    /// `exists`, `change`, ...
    pub event: &'a str,
    /// `resource`, `device`, ... or `-` for the end-of-snapshot marker.
    pub object: &'a str,
    /// The `key:value` fields, in order (the value is everything after the first `:`).
    pub fields: Vec<(&'a str, &'a str)>,
}

impl<'a> Line<'a> {
    /// The value of field `key`, if present.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.fields.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

/// Splits one events2 line into event, object and fields; `None` for blank lines and lines
/// that are not events2 lines at all. A leading timestamp (`--timestamps`) is skipped.
pub fn split_line(line: &str) -> Option<Line<'_>> {
    let mut words = line.split_whitespace().peekable();
    let first = *words.peek()?;
    if !EVENT_TYPES.contains(&first) {
        // `2017-02-15T14:43:16.688437+00:00 exists ...`
        words.next();
    }
    let event = words.next()?;
    if !EVENT_TYPES.contains(&event) {
        return None;
    }
    let object = words.next()?;
    let fields = words.filter_map(|w| w.split_once(':')).collect();
    Some(Line {
        event,
        object,
        fields,
    })
}

/// Parses `yes`/`no` (events2 booleans); anything else but `no`/`false` counts as true, as
/// drbd-reactor does (`suspended:user` is "yes").
fn flag(v: &str) -> bool {
    !matches!(v, "no" | "false")
}

struct LineCtx<'a> {
    no: usize,
    text: &'a str,
}

impl LineCtx<'_> {
    fn err(&self, reason: impl Into<String>) -> DrbdError {
        let mut line: String = self.text.chars().take(200).collect();
        if self.text.chars().count() > 200 {
            line.push('…');
        }
        DrbdError::Events2 {
            line_no: self.no,
            line,
            reason: reason.into(),
        }
    }

    fn number<T: FromStr>(&self, key: &str, v: &str) -> Result<T, DrbdError> {
        v.parse()
            .map_err(|_| self.err(format!("{key}:{v} is not a number")))
    }
}

/// Parses the output of `drbdsetup events2 --now [--statistics] [--timestamps] <resource>`
/// and returns the state of `resource`, or `None` when the output has no `resource` line for
/// it (the resource is not configured in the kernel: `drbdsetup` prints just `exists -`).
///
/// Only `exists` lines are read (a `--now` snapshot has no others); lines about other
/// resources, unknown objects (`path`, `helper`) and unknown fields are ignored.
pub fn parse_events2_now(text: &str, resource: &str) -> Result<Option<ResourceStatus>, DrbdError> {
    let mut status: Option<ResourceStatus> = None;
    for (i, raw) in text.lines().enumerate() {
        let ctx = LineCtx {
            no: i + 1,
            text: raw,
        };
        let Some(line) = split_line(raw) else {
            continue;
        };
        if line.event != "exists" || line.object == "-" {
            continue;
        }
        let Some(name) = line.get("name") else {
            return Err(ctx.err("no name: field"));
        };
        if name != resource {
            continue;
        }
        if !matches!(
            line.object,
            "resource" | "connection" | "device" | "peer-device"
        ) {
            continue;
        }
        let entry = status.get_or_insert_with(|| ResourceStatus::new(name));
        match line.object {
            "resource" => {
                let mut r = resource_line(&ctx, &line, name)?;
                // Keep anything seen before the resource line (unusual order).
                r.connections = std::mem::take(&mut entry.connections);
                r.devices = std::mem::take(&mut entry.devices);
                r.peer_devices = std::mem::take(&mut entry.peer_devices);
                *entry = r;
            }
            "connection" => entry.connections.push(connection_line(&ctx, &line)?),
            "device" => entry.devices.push(device_line(&ctx, &line)?),
            "peer-device" => entry.peer_devices.push(peer_device_line(&ctx, &line)?),
            _ => {}
        }
    }
    Ok(status)
}

fn resource_line(
    ctx: &LineCtx<'_>,
    line: &Line<'_>,
    name: &str,
) -> Result<ResourceStatus, DrbdError> {
    let mut r = ResourceStatus::new(name);
    for (k, v) in &line.fields {
        match *k {
            "role" => r.role = Role::parse(v),
            "suspended" => r.suspended = Some((*v).to_owned()),
            "may_promote" => r.may_promote = Some(flag(v)),
            "promotion_score" => r.promotion_score = Some(ctx.number(k, v)?),
            _ => {}
        }
    }
    Ok(r)
}

fn connection_line(ctx: &LineCtx<'_>, line: &Line<'_>) -> Result<Connection, DrbdError> {
    let mut c = Connection {
        peer_node_id: None,
        conn_name: None,
        state: ConnectionState::Other(String::new()),
        peer_role: Role::Unknown,
    };
    let mut has_state = false;
    for (k, v) in &line.fields {
        match *k {
            "peer-node-id" => c.peer_node_id = Some(ctx.number(k, v)?),
            "conn-name" => c.conn_name = Some((*v).to_owned()),
            "connection" => {
                c.state = ConnectionState::parse(v);
                has_state = true;
            }
            "role" => c.peer_role = Role::parse(v),
            _ => {}
        }
    }
    if !has_state {
        return Err(ctx.err("connection line without connection: field"));
    }
    Ok(c)
}

fn device_line(ctx: &LineCtx<'_>, line: &Line<'_>) -> Result<Device, DrbdError> {
    let mut d = Device {
        volume: 0,
        minor: None,
        disk: DiskState::Other(String::new()),
        client: false,
        quorum: None,
    };
    let mut has_disk = false;
    for (k, v) in &line.fields {
        match *k {
            "volume" => d.volume = ctx.number(k, v)?,
            "minor" => d.minor = Some(ctx.number(k, v)?),
            "disk" => {
                d.disk = DiskState::parse(v);
                has_disk = true;
            }
            "client" => d.client = flag(v),
            "quorum" => d.quorum = Some(flag(v)),
            _ => {}
        }
    }
    if !has_disk {
        return Err(ctx.err("device line without disk: field"));
    }
    Ok(d)
}

fn peer_device_line(ctx: &LineCtx<'_>, line: &Line<'_>) -> Result<PeerDevice, DrbdError> {
    let mut p = PeerDevice {
        peer_node_id: None,
        conn_name: None,
        volume: 0,
        replication: ReplicationState::Off,
        peer_disk: DiskState::DUnknown,
        peer_client: false,
    };
    for (k, v) in &line.fields {
        match *k {
            "peer-node-id" => p.peer_node_id = Some(ctx.number(k, v)?),
            "conn-name" => p.conn_name = Some((*v).to_owned()),
            "volume" => p.volume = ctx.number(k, v)?,
            "replication" => p.replication = ReplicationState::parse(v),
            "peer-disk" => p.peer_disk = DiskState::parse(v),
            "peer-client" => p.peer_client = flag(v),
            _ => {}
        }
    }
    Ok(p)
}

/// All resource names that have an `exists resource` line in `text`, in order.
pub fn resource_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for line in text.lines().filter_map(split_line) {
        if line.event == "exists" && line.object == "resource" {
            if let Some(n) = line.get("name") {
                if !names.iter().any(|x| x == n) {
                    names.push(n.to_owned());
                }
            }
        }
    }
    names
}

/// Groups the fields of a line by key, for callers that want everything (debugging, tests).
pub fn fields_map<'a>(line: &Line<'a>) -> BTreeMap<&'a str, &'a str> {
    line.fields.iter().copied().collect()
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
