//! The invariants the chaos run checks the whole time, from the host (which sees every node's
//! processes): never two running QEMU processes for one VM, and never a disk guard held twice
//! or by another node than the one running the VM. The scan reads `/proc` directly (a
//! sample takes milliseconds, whatever state the nodes are in); the judgements are pure.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use shared::ceph::types::ObjectLock;

/// The longest a live migration may keep a QEMU on both nodes (source and paused target).
pub const MIGRATION_MAX: Duration = Duration::from_secs(120);

/// How long a lone QEMU may run while its node does not hold the disk guard. The guard starts
/// before the domain and stops after it, but in a live migration of the VM's group the guard
/// is handed to the target (migrate_to/migrate_from) before the domain moves: when the
/// domain's migration then fails, the source QEMU runs on with the guard on the target until
/// Pacemaker's recovery stops it (a graceful shutdown attempt, then destroy: seen 8 s in the
/// sandbox), and only then starts the domain on the target. A guard on the wrong node for
/// longer than a stop can take is a broken guard.
pub const GUARD_SKEW_MAX: Duration = Duration::from_secs(60);

/// One QEMU process of a VM, as the host sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qemu {
    /// The domain name (`-name guest=NAME`).
    pub vm: String,
    /// The sandbox node whose network namespace the process is in.
    pub node: String,
    /// The host pid.
    pub pid: i32,
    /// Started as a migration target (`-incoming`).
    pub incoming: bool,
    /// Start time (clock ticks since boot): orders two processes.
    pub start_ticks: u64,
}

/// The domain name and whether it is an incoming migration target, for a QEMU command line
/// written by libvirt; `None` for anything else.
pub fn qemu_of(args: &[String]) -> Option<(String, bool)> {
    let prog = args.first()?.rsplit('/').next()?;
    if !prog.starts_with("qemu-system") {
        return None;
    }
    let i = args.iter().position(|a| a == "-name")?;
    let v = args.get(i.checked_add(1)?)?;
    let name = v
        .split(',')
        .find_map(|p| p.strip_prefix("guest="))
        .or_else(|| v.split(',').next())?;
    let incoming = args.iter().any(|a| a == "-incoming");
    Some((name.to_string(), incoming))
}

/// State letter and start time (ticks) from the text of `/proc/PID/stat`.
pub fn stat_fields(stat: &str) -> Option<(char, u64)> {
    let rest = stat.get(stat.rfind(')')?.checked_add(2)?..)?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let state = f.first()?.chars().next()?;
    let start = f.get(19)?.parse().ok()?;
    Some((state, start))
}

/// The network namespace inode of each node (`/run/netns/PFX-NODE`).
pub fn node_namespaces(prefix: &str, nodes: &[String]) -> Vec<(String, u64)> {
    nodes
        .iter()
        .filter_map(|n| {
            let m = std::fs::metadata(format!("/run/netns/{prefix}-{n}")).ok()?;
            Some((n.clone(), m.ino()))
        })
        .collect()
}

/// Every live QEMU process of a libvirt domain on the machine, with its node.
pub fn scan(namespaces: &[(String, u64)]) -> Vec<Qemu> {
    let mut found = Vec::new();
    for pid in shared::procfs::pids() {
        // the short comm first: reading every process's command line is slow under load
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if !comm.starts_with("qemu-system") {
            continue;
        }
        let Some(args) = shared::procfs::cmdline(pid) else {
            continue;
        };
        let Some((vm, incoming)) = qemu_of(&args) else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let Some((state, start_ticks)) = stat_fields(&stat) else {
            continue;
        };
        if matches!(state, 'Z' | 'X') {
            continue;
        }
        let ns = std::fs::read_link(format!("/proc/{pid}/ns/net"))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        // not in a node's namespace: another sandbox's QEMU, or one exiting (its namespace
        // already gone)
        let Some(node) = namespaces
            .iter()
            .find(|(_, ino)| ns == format!("net:[{ino}]"))
            .map(|(n, _)| n.clone())
        else {
            continue;
        };
        found.push(Qemu {
            vm,
            node,
            pid,
            incoming,
            start_ticks,
        });
    }
    found
}

/// What one sample says about one VM's QEMU processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// None: the VM is not running.
    Stopped,
    /// One, on this node.
    On(String),
    /// Two on two nodes, the younger started with `-incoming`: a live migration.
    Migrating {
        /// The source node.
        from: String,
        /// The target node.
        to: String,
    },
    /// Two running copies (or more): the broken invariant, described.
    Double(String),
}

/// Judges the processes of one VM (pure).
pub fn judge(procs: &[&Qemu]) -> Seen {
    match procs {
        [] => Seen::Stopped,
        [one] => Seen::On(one.node.clone()),
        [a, b] if a.node != b.node => {
            let (old, young) = if a.start_ticks <= b.start_ticks {
                (a, b)
            } else {
                (b, a)
            };
            if young.incoming {
                Seen::Migrating {
                    from: old.node.clone(),
                    to: young.node.clone(),
                }
            } else {
                Seen::Double(describe(procs))
            }
        }
        _ => Seen::Double(describe(procs)),
    }
}

fn describe(procs: &[&Qemu]) -> String {
    let each: Vec<String> = procs
        .iter()
        .map(|q| {
            let how = if q.incoming { " (-incoming)" } else { "" };
            format!("pid {} on {}{how}", q.pid, q.node)
        })
        .collect();
    format!("{} QEMU processes: {}", procs.len(), each.join(", "))
}

/// The per-VM verdicts of one scan, for the VMs in `vms` (pure).
pub fn judge_all(vms: &[String], found: &[Qemu]) -> BTreeMap<String, Seen> {
    vms.iter()
        .map(|vm| {
            let mine: Vec<&Qemu> = found.iter().filter(|q| &q.vm == vm).collect();
            (vm.clone(), judge(&mine))
        })
        .collect()
}

/// Remembers since when each VM has been migrating, so that an overlap longer than
/// [`MIGRATION_MAX`] is caught as a double run.
#[derive(Debug, Default)]
pub struct Overlaps {
    since: BTreeMap<String, Instant>,
}

impl Overlaps {
    /// The broken invariants of one sample taken at `now`: (VM, what).
    pub fn observe(
        &mut self,
        now: Instant,
        seen: &BTreeMap<String, Seen>,
    ) -> Vec<(String, String)> {
        let mut broken = Vec::new();
        for (vm, s) in seen {
            match s {
                Seen::Migrating { from, to } => {
                    let t0 = *self.since.entry(vm.clone()).or_insert(now);
                    if now.saturating_duration_since(t0) > MIGRATION_MAX {
                        broken.push((
                            vm.clone(),
                            format!("QEMU on both {from} and {to} for over {MIGRATION_MAX:?}"),
                        ));
                    }
                }
                Seen::Double(what) => {
                    self.since.remove(vm);
                    broken.push((vm.clone(), format!("two running copies: {what}")));
                }
                _ => {
                    self.since.remove(vm);
                }
            }
        }
        broken
    }
}

/// What a guard lock says against where the VM runs (pure): two holders, or a holder other
/// than the node running the VM (`None` when the VM is not running on exactly one node).
pub fn guard_conflict(lock: &ObjectLock, running_on: Option<&str>) -> Option<String> {
    let holders: Vec<&str> = lock.lockers.iter().map(|h| h.cookie.as_str()).collect();
    if holders.len() > 1 {
        return Some(format!(
            "the disk guard has {} holders: {holders:?}",
            holders.len()
        ));
    }
    let node = running_on?;
    match holders.first() {
        Some(h) if *h == node => None,
        Some(h) => Some(format!(
            "QEMU runs on {node} but the disk guard is held by {h}"
        )),
        None => Some(format!("QEMU runs on {node} but the disk guard is free")),
    }
}

#[cfg(test)]
#[path = "watch_tests.rs"]
mod tests;
