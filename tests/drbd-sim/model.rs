//! The simulated DRBD state (DRBD SIMULATOR; see main.rs).

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// A heartbeat older than this means the node (its "kernel") is dead.
pub const HEARTBEAT_STALE: Duration = Duration::from_millis(1500);
/// How often the kernel process refreshes its heartbeat.
pub const HEARTBEAT_EVERY: Duration = Duration::from_millis(200);

/// The simulator's base directory.
pub fn base_dir() -> PathBuf {
    std::env::var_os("DRBD_SIM_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/vmmgr-drbd-sim"))
}

/// This simulated node's name.
pub fn node_name() -> String {
    if let Some(n) = std::env::var_os("DRBD_SIM_NODE").filter(|n| !n.is_empty()) {
        return n.to_string_lossy().into_owned();
    }
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned())
}

/// The directory of one resource.
pub fn res_dir(res: &str) -> PathBuf {
    base_dir().join(res)
}

/// One node's state of one resource. `disk` and `gen` are "on-disk metadata" (persistent);
/// the rest is "kernel" state, valid only while the node's heartbeat is fresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeState {
    /// Configured in the kernel.
    pub up: bool,
    /// Network configured (connections wanted).
    pub net: bool,
    /// Primary.
    pub primary: bool,
    /// Persistent disk state: UpToDate, Outdated, Inconsistent, Consistent.
    pub disk: String,
    /// Data generation (bumped by a promotion without a connected peer).
    pub gen: u64,
    /// Token of the current kernel process.
    pub kernel: String,
}

impl Default for NodeState {
    fn default() -> Self {
        NodeState {
            up: false,
            net: false,
            primary: false,
            disk: "UpToDate".to_owned(),
            gen: 1,
            kernel: String::new(),
        }
    }
}

impl NodeState {
    fn path(res: &str, node: &str) -> PathBuf {
        res_dir(res).join(format!("{node}.state"))
    }

    /// Reads a node's state (default when none).
    pub fn load(res: &str, node: &str) -> NodeState {
        let mut s = NodeState::default();
        let Ok(text) = fs::read_to_string(Self::path(res, node)) else {
            return s;
        };
        let kv: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
        s.up = kv.get("up") == Some(&"1");
        s.net = kv.get("net") == Some(&"1");
        s.primary = kv.get("role") == Some(&"Primary");
        if let Some(d) = kv.get("disk") {
            s.disk = (*d).to_owned();
        }
        s.gen = kv.get("gen").and_then(|g| g.parse().ok()).unwrap_or(1);
        s.kernel = kv
            .get("kernel")
            .map(|k| (*k).to_owned())
            .unwrap_or_default();
        s
    }

    /// Writes a node's state atomically.
    pub fn save(&self, res: &str, node: &str) {
        let path = Self::path(res, node);
        let _ = fs::create_dir_all(res_dir(res));
        let text = format!(
            "up={}\nnet={}\nrole={}\ndisk={}\ngen={}\nkernel={}\n",
            u8::from(self.up),
            u8::from(self.net),
            if self.primary { "Primary" } else { "Secondary" },
            self.disk,
            self.gen,
            self.kernel
        );
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if fs::write(&tmp, text).is_ok() {
            let _ = fs::rename(&tmp, &path);
        }
    }
}

/// The heartbeat file of a node's kernel.
pub fn heartbeat_path(res: &str, node: &str) -> PathBuf {
    res_dir(res).join(format!("{node}.alive"))
}

/// Whether a node's kernel is alive (heartbeat fresh).
pub fn alive(res: &str, node: &str) -> bool {
    fs::metadata(heartbeat_path(res, node))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age < HEARTBEAT_STALE)
}

/// Refreshes a node's heartbeat.
pub fn beat(res: &str, node: &str) {
    let _ = fs::create_dir_all(res_dir(res));
    let _ = fs::write(heartbeat_path(res, node), b"");
}

/// The state as the kernel has it: a node whose kernel died is down (like after a crash).
pub fn effective(res: &str, node: &str) -> NodeState {
    let mut s = NodeState::load(res, node);
    if s.up && !alive(res, node) {
        s.up = false;
        s.net = false;
        s.primary = false;
    }
    s
}

/// A lock on one resource's directory (mkdir-based; a lock older than 10 s is stale).
pub struct Lock(PathBuf);

impl Lock {
    /// Takes the lock, waiting up to 10 s.
    pub fn take(res: &str) -> Lock {
        let _ = fs::create_dir_all(res_dir(res));
        let path = res_dir(res).join(".lock");
        for _ in 0..2000 {
            if fs::create_dir(&path).is_ok() {
                return Lock(path);
            }
            let stale = fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > Duration::from_secs(10));
            if stale {
                let _ = fs::remove_dir(&path);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Lock(path)
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.0);
    }
}

/// What the simulator needs from the DRBD configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Host names; a host's node-id is its index.
    pub hosts: Vec<String>,
    /// Number of volumes.
    pub volumes: u32,
    /// allow-two-primaries.
    pub allow_two_primaries: bool,
}

/// Whether two nodes' kernels are connected (both up with networking, and not two Primaries
/// without allow-two-primaries, which DRBD refuses to connect).
pub fn connected(cfg: &Config, a: &NodeState, b: &NodeState) -> bool {
    a.up && a.net && b.up && b.net && !(a.primary && b.primary && !cfg.allow_two_primaries)
}

fn rank(disk: &str) -> u8 {
    match disk {
        "UpToDate" => 3,
        "Consistent" => 2,
        "Outdated" => 1,
        _ => 0,
    }
}

/// Instant resync: between every pair of connected nodes, the better data wins (UpToDate over
/// anything else, then the newer generation). Call with the lock held.
pub fn sync_all(res: &str, cfg: &Config) {
    let mut states: Vec<NodeState> = cfg.hosts.iter().map(|h| effective(res, h)).collect();
    let mut changed = vec![false; states.len()];
    for i in 0..states.len() {
        for j in 0..states.len() {
            if i == j || !connected(cfg, &states[i], &states[j]) {
                continue;
            }
            let (a, b) = (&states[i], &states[j]);
            let a_better = (rank(&a.disk), a.gen) > (rank(&b.disk), b.gen);
            if a_better && rank(&a.disk) == 3 {
                let gen = a.gen;
                states[j].disk = "UpToDate".to_owned();
                states[j].gen = gen;
                changed[j] = true;
            }
        }
    }
    for (i, h) in cfg.hosts.iter().enumerate() {
        if changed[i] {
            // Only the persistent part changes; keep the stored kernel fields as they are.
            let mut stored = NodeState::load(res, h);
            stored.disk.clone_from(&states[i].disk);
            stored.gen = states[i].gen;
            stored.save(res, h);
        }
    }
}
