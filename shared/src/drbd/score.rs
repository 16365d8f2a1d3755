//! The promotion score of a DRBD resource, as a pure function of its state
//! ([`ResourceStatus`]) and the agent's settings: the rules of LINBIT's `ocf:linbit:drbd`
//! (drbd-utils 9.22 `scripts/drbd.ocf`, `drbd_update_master_score`, and
//! `scripts/drbd.shellfuncs.sh`, `_drbd_set_status_variables_from_events2`).
//!
//! # Rules (first match wins)
//!
//! With `adjust_master_score = "C R L B"` (default `0 10 1000 10000`):
//!
//! | State | Score |
//! |---|---|
//! | any volume reports `quorum:no` | removed |
//! | `remove_master_score_if_peer_primary` applies (see [`PeerPrimaryPolicy`]) | removed |
//! | diskless client, Primary and some peer has all disks UpToDate | B − 1 |
//! | diskless client, all peers' disks UpToDate | B − 1 |
//! | diskless client, some peer has all disks UpToDate | L − 1 |
//! | diskless client otherwise | removed |
//! | all local disks UpToDate, Primary | B (and unfence if asked and all peer disks UpToDate) |
//! | all local disks UpToDate, Secondary, some peer disk state unknown | L |
//! | all local disks UpToDate, Secondary, all peer disk states known (or no peer) | B |
//! | some peer has all disks UpToDate | R |
//! | a local disk is Attaching/Negotiating | unchanged |
//! | all local disks at least Consistent | C |
//! | otherwise | removed |
//!
//! A score ≤ 0 means "remove" (as `set_master_score` does).
//!
//! # Deliberate differences from drbd.ocf 9.22
//!
//! - `quorum:no` on an intentionally diskless volume also removes the score (drbd.ocf only
//!   looks at diskful volumes, so a diskless client without quorum kept B − 1).
//! - A resource with no volume at all is not a "diskless client" (drbd.ocf: 0 == 0).
//! - Every local disk state other than UpToDate clears "all UpToDate" (drbd.ocf's events2 path
//!   forgot Attaching/Negotiating and unknown names); unknown names also clear "all
//!   Consistent", so an unknown state removes the score instead of granting C.

use super::events::{DiskState, ResourceStatus, Role};

/// The default of `adjust_master_score`.
pub const DEFAULT_ADJUST: [i64; 4] = [0, 10, 1000, 10000];

/// What to do with the promotion score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreAction {
    /// Set it to this (positive) value.
    Set(i64),
    /// Remove it (no promotion here).
    Remove,
    /// Leave it as it is (transitional state).
    Keep,
}

/// `remove_master_score_if_peer_primary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeerPrimaryPolicy {
    /// `false` (default): ignore the peer's role.
    #[default]
    Ignore,
    /// `true`: remove the score while connected to a healthy Primary peer.
    Remove,
    /// `unexpected`: remove it only when Pacemaker does not know about that Primary.
    RemoveIfUnexpected,
}

/// The state summary drbd.ocf derives from events2 (its `status_*` variables).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// This node is Primary.
    pub primary: bool,
    /// Some connected peer is Primary.
    pub some_peer_primary: bool,
    /// Every volume is intentionally diskless (`disk:Diskless client:yes`).
    pub diskless_client: bool,
    /// No volume reports `quorum:no`.
    pub have_quorum: bool,
    /// Every (diskful) local disk is UpToDate.
    pub disk_all_up_to_date: bool,
    /// Every (diskful) local disk is at least Consistent.
    pub disk_all_consistent: bool,
    /// Some local disk is Attaching or Negotiating.
    pub disk_transitional: bool,
    /// Some (diskful) peer has all its volumes UpToDate.
    pub some_peer_all_up_to_date: bool,
    /// Some (diskful) peer has a volume that is not UpToDate.
    pub some_peer_not_all_up_to_date: bool,
    /// Some (diskful) peer volume's disk state is unknown (DUnknown).
    pub pdsk_any_unknown: bool,
    /// Every (diskful) peer has all volumes UpToDate (and there is at least one).
    pub pdsk_all_up_to_date: bool,
}

impl Summary {
    /// Derives the summary from a resource's state.
    pub fn of(status: &ResourceStatus) -> Summary {
        let mut s = Summary {
            primary: status.role == Role::Primary,
            some_peer_primary: status
                .connections
                .iter()
                .any(|c| c.peer_role == Role::Primary),
            have_quorum: !status.devices.iter().any(|d| d.quorum == Some(false)),
            disk_all_up_to_date: true,
            disk_all_consistent: true,
            ..Summary::default()
        };
        s.local_disks(status);
        s.peer_disks(status);
        s.pdsk_all_up_to_date = s.some_peer_all_up_to_date && !s.some_peer_not_all_up_to_date;
        s
    }

    /// This node's volumes: all UpToDate, all Consistent, attaching, a diskless client.
    fn local_disks(&mut self, status: &ResourceStatus) {
        let s = self;
        let volumes = status.devices.len();
        let mut diskless = 0;
        for d in &status.devices {
            if d.disk == DiskState::Diskless && d.client {
                diskless += 1;
                continue;
            }
            match &d.disk {
                DiskState::UpToDate => {}
                DiskState::Consistent => s.disk_all_up_to_date = false,
                DiskState::Attaching | DiskState::Negotiating => {
                    s.disk_transitional = true;
                    s.disk_all_up_to_date = false;
                }
                _ => {
                    s.disk_all_up_to_date = false;
                    s.disk_all_consistent = false;
                }
            }
        }
        s.diskless_client = volumes > 0 && diskless == volumes;
        if volumes == 0 {
            s.disk_all_up_to_date = false;
            s.disk_all_consistent = false;
        }
    }

    /// The peers' volumes, per peer: all UpToDate, not all, unknown (diskless clients skipped).
    fn peer_disks(&mut self, status: &ResourceStatus) {
        let s = self;
        let volumes = status.devices.len();
        // Peers are the connections' peer-node-ids (conn-name when the id is missing).
        let mut peers: Vec<(Option<u32>, Option<&str>)> = Vec::new();
        for c in &status.connections {
            let key = (c.peer_node_id, c.conn_name.as_deref());
            if !peers.contains(&key) {
                peers.push(key);
            }
        }
        for (id, name) in peers {
            let pds = status.peer_devices.iter().filter(|p| {
                if id.is_some() {
                    p.peer_node_id == id
                } else {
                    p.conn_name.as_deref() == name
                }
            });
            let (mut up, mut known, mut client) = (0, 0, 0);
            for p in pds {
                if p.peer_client {
                    client += 1;
                }
                match p.peer_disk {
                    DiskState::UpToDate => {
                        up += 1;
                        known += 1;
                    }
                    DiskState::DUnknown => {}
                    _ => known += 1,
                }
            }
            if volumes > 0 && client == volumes {
                continue; // a diskless client peer says nothing about the data
            }
            if volumes > 0 && up == volumes {
                s.some_peer_all_up_to_date = true;
            } else {
                s.some_peer_not_all_up_to_date = true;
            }
            if known != volumes {
                s.pdsk_any_unknown = true;
            }
        }
    }
}

/// The agent settings the score depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScoreSettings {
    /// `adjust_master_score` (already validated: four non-decreasing numbers).
    pub adjust: [i64; 4],
    /// `remove_master_score_if_peer_primary`.
    pub peer_primary: PeerPrimaryPolicy,
    /// `unfence_if_all_uptodate`.
    pub unfence_if_all_uptodate: bool,
}

impl Default for ScoreSettings {
    fn default() -> Self {
        ScoreSettings {
            adjust: DEFAULT_ADJUST,
            peer_primary: PeerPrimaryPolicy::Ignore,
            unfence_if_all_uptodate: false,
        }
    }
}

/// The outcome of [`decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// What to do with the score.
    pub action: ScoreAction,
    /// Whether to run `drbdadm unfence-peer` (Primary, everything UpToDate, asked for).
    pub unfence: bool,
    /// Which rule decided (for logs).
    pub reason: &'static str,
}

fn set(value: i64, reason: &'static str) -> Decision {
    Decision {
        action: if value > 0 {
            ScoreAction::Set(value)
        } else {
            ScoreAction::Remove
        },
        unfence: false,
        reason,
    }
}

fn remove(reason: &'static str) -> Decision {
    Decision {
        action: ScoreAction::Remove,
        unfence: false,
        reason,
    }
}

/// Decides the promotion score (see the [module docs](self) for the table).
///
/// `pacemaker_knows_primary` answers "does Pacemaker know about a promoted instance on another
/// node?"; it is only called for [`PeerPrimaryPolicy::RemoveIfUnexpected`] when this node is
/// a Secondary connected to a healthy Primary, since answering costs a cluster query.
pub fn decide(
    s: &Summary,
    settings: &ScoreSettings,
    pacemaker_knows_primary: impl FnOnce() -> bool,
) -> Decision {
    let [only_consistent, only_remote, local_ok, best] = settings.adjust;
    if !s.have_quorum {
        return remove("no quorum");
    }
    if settings.peer_primary != PeerPrimaryPolicy::Ignore
        && !s.primary
        && s.some_peer_primary
        && s.some_peer_all_up_to_date
    {
        let applies = match settings.peer_primary {
            PeerPrimaryPolicy::RemoveIfUnexpected => !pacemaker_knows_primary(),
            _ => true,
        };
        if applies {
            return remove("connected to a healthy Primary peer");
        }
    }
    if s.diskless_client {
        return if s.primary && s.some_peer_all_up_to_date {
            set(
                best - 1,
                "diskless client, Primary with access to good data",
            )
        } else if s.pdsk_all_up_to_date {
            set(best - 1, "diskless client, all peer disks UpToDate")
        } else if s.some_peer_all_up_to_date {
            set(local_ok - 1, "diskless client, some peer UpToDate")
        } else {
            remove("diskless client without access to good data")
        };
    }
    if s.disk_all_up_to_date {
        if s.primary {
            let mut d = set(best, "Primary with all disks UpToDate");
            d.unfence = settings.unfence_if_all_uptodate && s.pdsk_all_up_to_date;
            return d;
        }
        return if s.pdsk_any_unknown {
            set(local_ok, "UpToDate, some peer disk state unknown")
        } else {
            set(best, "UpToDate, peer disk states known")
        };
    }
    if s.some_peer_all_up_to_date {
        return set(only_remote, "only a peer has UpToDate data");
    }
    if s.disk_transitional {
        return Decision {
            action: ScoreAction::Keep,
            unfence: false,
            reason: "transitional disk state",
        };
    }
    if s.disk_all_consistent {
        return set(only_consistent, "local data Consistent only");
    }
    remove("no access to good data")
}

/// Parses `adjust_master_score`: four non-negative integers, non-decreasing, separated by
/// whitespace. Returns the reason on failure (drbd.ocf then falls back to the default).
pub fn parse_adjust(text: &str) -> Result<[i64; 4], String> {
    let mut values = Vec::new();
    for word in text.split_whitespace() {
        if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("'{word}' is not a non-negative integer"));
        }
        let v: i64 = word
            .parse()
            .map_err(|_| format!("'{word}' is out of range"))?;
        values.push(v);
    }
    let values: [i64; 4] = values
        .try_into()
        .map_err(|v: Vec<i64>| format!("expected 4 values, got {}", v.len()))?;
    if values.windows(2).any(|w| w[1] < w[0]) {
        return Err("values must be non-decreasing".to_owned());
    }
    Ok(values)
}

#[cfg(test)]
#[path = "score_tests.rs"]
mod tests;
