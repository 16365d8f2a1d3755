//! Guard mode: one node at a time may use the image(s).
//!
//! # Lock scheme
//!
//! Each guarded image carries an exclusive cls_lock lock named `vmmgr_guard`
//! ([`GUARD_LOCK_NAME`]) on its header object `rbd_header.<id>`, taken with `rados lock get`,
//! tag [`GUARD_TAG`], **cookie = the holder's node name**, description naming the node and the
//! resource. The holder's node is therefore read back from the lock itself, and the lock entry
//! also records the holder's Ceph client address (`addr`), i.e. the IP this node uses to talk
//! to Ceph: that is how the clients (QEMU watchers, librbd's exclusive lock) of a departed
//! node are recognised, without any configured node↔address table.
//!
//! Not `rbd lock add`: that lock is the very `rbd_lock` librbd's exclusive-lock feature uses,
//! and while it is held every librbd writer (QEMU) blocks (measured on Ceph 16.2.15).
//!
//! # Actions
//!
//! - **start**: every image must exist (else `OCF_ERR_CONFIGURED`). A guard lock of another
//!   node is judged by the cluster status ([`node::classify`]): online → refuse
//!   (`OCF_ERR_GENERIC`; Pacemaker's default `start-failure-is-fatal` then bans this node and
//!   tries another); unclean/pending or no quorum → refuse for now; not a node of this cluster
//!   → refuse (never broken automatically); offline and clean (fenced) → **takeover**: every
//!   watcher and `rbd_lock` holder at that node's address is blocklisted (`ceph osd blocklist
//!   add ADDR`, per client instance, for `blocklist_expire` s, so the node's *new* clients after
//!   a reboot are not affected), then its lock is broken. Then our lock is taken (exclusive:
//!   two nodes starting at once cannot both win). Finally any remaining watcher or `rbd_lock`
//!   holder that is neither at our address nor at a departed node's is a user elsewhere: if
//!   every such user is a watcher that answers no notify (a client that is gone, whose watch
//!   the OSD keeps until `osd_client_watch_timeout`), the start waits for it to go, within its
//!   own timeout ([`wait`], where the exact rule is); any live one, or a wait that runs out,
//!   releases our locks and fails the start.
//! - **monitor**: 0 when all images carry our lock; 7 when none does and nobody else holds
//!   one (probe), error when another node holds it or only some are ours. Ceph unreachable →
//!   `OCF_ERR_GENERIC`, never a guess of 7.
//! - **stop**: break our own lock on each image (gone already → fine); Ceph unreachable →
//!   `OCF_ERR_GENERIC` (a stop that cannot decide must not claim success).
//! - **migrate_to** (source): checks we hold every lock. **migrate_from** (target): each lock
//!   must be ours already, free, or held by the migration's own source
//!   (`CRM_meta_migrate_source`), which is then handed over (break + take).

use std::collections::BTreeSet;
use std::net::IpAddr;

use shared::ceph::{
    Ceph, CephError, ClientAddr, ImageSpec, LockHolder, LockType, ObjectLock, ObjectSpec,
    GUARD_LOCK_NAME,
};
use shared::ocf::{Context, OcfError, OcfRc};
use shared::pacemaker::ClusterStatus;

use crate::node::{self, NodeState};
use crate::params::{Config, Target};

/// The tag of every guard lock.
pub const GUARD_TAG: &str = "vmmgr-guard";

/// Maps a Ceph error to the OCF error of an action (`what` says what was being done).
pub fn ceph_error(what: &str, e: &CephError) -> OcfError {
    let rc = match e {
        CephError::NotInstalled { .. } => OcfRc::ErrInstalled,
        CephError::InvalidName { .. } => OcfRc::ErrConfigured,
        _ => OcfRc::ErrGeneric,
    };
    OcfError::from_error(rc, e).context(what)
}

/// One guarded image and its header object.
#[derive(Debug, Clone)]
struct Image {
    spec: ImageSpec,
    header: ObjectSpec,
}

/// The guard locks of a start's images, as found: the departed nodes' (to break, after their
/// clients at `dead_ips` are blocklisted) and our Ceph address if we hold one.
#[derive(Debug, Default)]
struct Holders<'i> {
    dead_ips: BTreeSet<IpAddr>,
    to_break: Vec<(&'i Image, LockHolder)>,
    ours: Option<IpAddr>,
    /// The indices of the images whose lock we hold already.
    mine: BTreeSet<usize>,
}

/// The state of one image's guard lock, seen from this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// Nobody holds it.
    Free,
    /// We hold it.
    Ours(LockHolder),
    /// Another node (named by the cookie) holds it.
    Other(LockHolder),
}

/// Whether a recurring monitor takes the guard lock of the free images (pure): an image added
/// to the guarded group while the guard runs (`vm-mgr add-disk` on a running VM) is free, and
/// when this node holds the lock of every other image, nobody else holds one and none is gone,
/// the guard covers the new one at once instead of reporting the guard lost (which made
/// Pacemaker restart the VM). A probe never takes anything; an exclusive take that another
/// node beat fails the monitor.
pub fn adopts_new_images(
    probe: bool,
    mine: usize,
    others: usize,
    gone: usize,
    free: usize,
) -> bool {
    !probe && mine > 0 && others == 0 && gone == 0 && free > 0
}

/// Reads a lock from this node's point of view (pure).
pub fn held(lock: &ObjectLock, local: &str) -> Held {
    if let Some(h) = lock.lockers.iter().find(|h| h.cookie == local) {
        return Held::Ours(h.clone());
    }
    match lock.lockers.first() {
        Some(h) => Held::Other(h.clone()),
        None => Held::Free,
    }
}

/// The guard of one invocation.
pub struct Guard<'a> {
    ctx: &'a Context,
    cfg: &'a Config,
    ceph: Ceph,
    node: String,
}

impl<'a> Guard<'a> {
    /// Builds the guard (finds the local node name).
    pub fn new(ctx: &'a Context, cfg: &'a Config) -> Result<Self, OcfError> {
        Ok(Guard {
            ctx,
            cfg,
            ceph: Ceph::agent(cfg.conn.clone(), ctx.deadline),
            node: node::local_node(ctx)?,
        })
    }

    fn specs(&self) -> Result<Vec<ImageSpec>, CephError> {
        match &self.cfg.target {
            Target::Image(i) => Ok(vec![i.clone()]),
            Target::Group(g) => self
                .ceph
                .group_images(g)?
                .into_iter()
                .map(|i| ImageSpec::new(&i.pool, &i.namespace, &i.image, ""))
                .collect(),
        }
    }

    /// The images, `None` for those that do not exist.
    fn images(&self) -> Result<Vec<(ImageSpec, Option<Image>)>, CephError> {
        let mut out = Vec::new();
        for spec in self.specs()? {
            match self.ceph.image_header(&spec) {
                Ok(header) => out.push((spec.clone(), Some(Image { spec, header }))),
                Err(e) if e.is_not_found() => out.push((spec, None)),
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    fn lock(&self, img: &Image) -> Result<ObjectLock, CephError> {
        self.ceph.object_lock_info(&img.header, GUARD_LOCK_NAME)
    }

    fn take(&self, img: &Image) -> Result<(), CephError> {
        let desc = format!(
            "vmmgr guard: node={} resource={}",
            self.node,
            self.ctx.instance()
        );
        self.ceph.object_lock_get(
            &img.header,
            GUARD_LOCK_NAME,
            LockType::Exclusive,
            GUARD_TAG,
            &self.node,
            &desc,
        )
    }

    fn break_lock(&self, img: &Image, h: &LockHolder) -> Result<(), CephError> {
        match self
            .ceph
            .object_lock_break(&img.header, GUARD_LOCK_NAME, &h.name, &h.cookie)
        {
            Err(e) if e.is_not_found() => Ok(()),
            other => other,
        }
    }

    fn release_ours(&self, img: &Image) -> Result<bool, CephError> {
        match held(&self.lock(img)?, &self.node) {
            Held::Ours(h) => self.break_lock(img, &h).map(|()| true),
            _ => Ok(false),
        }
    }

    fn existing(&self, what: &str) -> Result<Vec<Image>, OcfError> {
        let images = self.images().map_err(|e| {
            if e.is_not_found() {
                OcfError::configured(format!("{what}: {}", shared::ocf::error_chain(&e)))
            } else {
                ceph_error(what, &e)
            }
        })?;
        if images.is_empty() {
            return Err(OcfError::configured(format!(
                "{what}: the group has no images"
            )));
        }
        images
            .into_iter()
            .map(|(spec, img)| {
                img.ok_or_else(|| {
                    OcfError::configured(format!("{what}: image {spec} does not exist"))
                })
            })
            .collect()
    }

    /// start: see the [module docs](self).
    pub fn start(&self) -> Result<OcfRc, OcfError> {
        let images = self.existing("start")?;
        let err = |e: CephError| ceph_error("start", &e);
        // The users (two `rbd` runs per image) are read while the locks are: neither depends
        // on the other, and each run spends most of its time connecting to Ceph.
        let (holders, users) = std::thread::scope(|scope| {
            let ceph = &self.ceph;
            let users = scope.spawn(|| {
                images
                    .iter()
                    .map(|img| Guard::users(ceph, img))
                    .collect::<Result<Vec<_>, CephError>>()
            });
            let holders = self.holders(&images);
            let users = users
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (holders, users)
        });
        let mut h = holders?;
        let users = users.map_err(err)?;
        // fence the departed node's clients, then break its locks
        let addrs: Vec<Vec<ClientAddr>> = users.iter().map(Users::addrs).collect();
        self.fence_departed(&addrs, &h)?;
        for (img, holder) in &h.to_break {
            self.break_lock(img, holder).map_err(err)?;
            self.ctx.logger.info(format!(
                "broke the guard lock of departed node '{}' on {}",
                holder.cookie, img.spec
            ));
        }
        let taken = self.take_all(&images, &h.mine)?;
        // any other user: wait while they are only clients that are gone, else refuse
        if let Err(e) = self.wait_for_users(&images, users, &mut h) {
            self.rollback(&taken);
            return Err(e);
        }
        Ok(OcfRc::Success)
    }

    /// Who holds the guard locks of `images`: free, ours, or another node's, which is refused
    /// unless that node is gone (offline and fenced): then its locks are to be broken.
    fn holders<'i>(&self, images: &'i [Image]) -> Result<Holders<'i>, OcfError> {
        let err = |e: CephError| ceph_error("start", &e);
        let mut status: Option<ClusterStatus> = None;
        let mut h = Holders::default();
        for (i, img) in images.iter().enumerate() {
            let other = match held(&self.lock(img).map_err(err)?, &self.node) {
                Held::Free => continue,
                Held::Ours(o) => {
                    h.ours = Some(o.addr.ip);
                    h.mine.insert(i);
                    continue;
                }
                Held::Other(other) => other,
            };
            let st = match &status {
                Some(st) => st,
                None => status.insert(node::cluster_status(self.ctx)?),
            };
            let who = format!(
                "node '{}' (client {} at {})",
                other.cookie, other.name, other.addr
            );
            let why = match node::classify(&other.cookie, &self.node, st) {
                NodeState::Gone => {
                    h.dead_ips.insert(other.addr.ip);
                    h.to_break.push((img, other));
                    continue;
                }
                NodeState::Local | NodeState::Alive => {
                    "which is online: refusing a second start".to_owned()
                }
                NodeState::Unsettled => "which is offline but not known to be fenced yet (or \
                                         this partition has no quorum)"
                    .to_owned(),
                NodeState::Unknown => format!(
                    "which is not a node of this cluster; if that lock is stale, remove it with \
                     `rados -p {} lock break {} {GUARD_LOCK_NAME} {} --lock-cookie {}`",
                    img.header.pool, img.header.object, other.name, other.cookie
                ),
            };
            return Err(OcfError::generic(format!(
                "image {} is guarded by {who}, {why}",
                img.spec
            )));
        }
        Ok(h)
    }

    /// Takes our lock on every image not ours yet (`mine`: the indices of those that are, as
    /// [`Guard::holders`] found them; the others were free or their departed holder's lock is
    /// broken, and a node taking one meanwhile makes our exclusive take fail); on a failure
    /// releases those taken.
    fn take_all<'i>(
        &self,
        images: &'i [Image],
        mine: &BTreeSet<usize>,
    ) -> Result<Vec<&'i Image>, OcfError> {
        let mut taken = Vec::new();
        for (i, img) in images.iter().enumerate() {
            if mine.contains(&i) {
                continue;
            }
            if let Err(e) = self.take(img) {
                self.rollback(&taken);
                let reason = if e.is_busy() {
                    format!(
                        "image {} was locked by another node meanwhile: {}",
                        img.spec,
                        shared::ocf::error_chain(&e)
                    )
                } else {
                    shared::ocf::error_chain(&e)
                };
                return Err(OcfError::generic(reason).context("start"));
            }
            taken.push(img);
        }
        Ok(taken)
    }

    fn rollback(&self, taken: &[&Image]) {
        for img in taken {
            if let Err(e) = self.release_ours(img) {
                self.ctx.logger.warn(format!(
                    "cannot release the guard lock on {} after a failed start: {}",
                    img.spec,
                    shared::ocf::error_chain(&e)
                ));
            }
        }
    }

    /// stop: release our locks.
    pub fn stop(&self) -> Result<OcfRc, OcfError> {
        let images = match self.images() {
            Ok(i) => i,
            Err(e) if e.is_not_found() => return Ok(OcfRc::Success),
            Err(e) => return Err(ceph_error("stop", &e)),
        };
        for img in images.iter().filter_map(|(_, i)| i.as_ref()) {
            if self.release_ours(img).map_err(|e| ceph_error("stop", &e))? {
                self.ctx
                    .logger
                    .info(format!("released the guard lock on {}", img.spec));
            }
        }
        Ok(OcfRc::Success)
    }

    /// monitor: see the [module docs](self).
    pub fn monitor(&self) -> Result<OcfRc, OcfError> {
        let probe = self.ctx.is_probe();
        let images = match self.images() {
            Ok(i) => i,
            Err(e) if e.is_not_found() && probe => return Ok(OcfRc::NotRunning),
            Err(e) => return Err(ceph_error("monitor", &e)),
        };
        let (mut mine, mut missing, mut free) = (Vec::new(), Vec::new(), Vec::new());
        let mut others = Vec::new();
        for (spec, img) in &images {
            let Some(img) = img else {
                missing.push(spec.to_string());
                continue;
            };
            match held(
                &self.lock(img).map_err(|e| ceph_error("monitor", &e))?,
                &self.node,
            ) {
                Held::Ours(_) => mine.push(spec.to_string()),
                Held::Free => free.push(img),
                Held::Other(h) => others.push(format!("{spec} (held by node '{}')", h.cookie)),
            }
        }
        if !images.is_empty() && mine.len() == images.len() {
            return Ok(OcfRc::Success);
        }
        if adopts_new_images(probe, mine.len(), others.len(), missing.len(), free.len()) {
            for img in &free {
                self.take(img).map_err(|e| ceph_error("monitor", &e))?;
                self.ctx.logger.notice(format!(
                    "took the guard lock on {}, new in the guarded group",
                    img.spec
                ));
            }
            return Ok(OcfRc::Success);
        }
        missing.extend(free.iter().map(|img| img.spec.to_string()));
        if mine.is_empty() && (probe || others.is_empty()) {
            return Err(OcfError::not_running(if others.is_empty() {
                format!("no guard lock of this node on {}", missing.join(", "))
            } else {
                format!("guarded by another node: {}", others.join(", "))
            }));
        }
        let mut lost = missing;
        lost.extend(others);
        Err(OcfError::generic(format!(
            "guard lost: not held by this node on {}",
            lost.join(", ")
        )))
    }

    /// migrate_to (on the source): we must hold every lock; the target takes them over in
    /// migrate_from.
    pub fn migrate_to(&self) -> Result<OcfRc, OcfError> {
        let target = self.ctx.env.meta().migrate_target().unwrap_or("");
        match self.monitor() {
            Ok(_) => {
                self.ctx
                    .logger
                    .info(format!("guard lock(s) ready to hand over to '{target}'"));
                Ok(OcfRc::Success)
            }
            Err(e) => Err(OcfError::generic(format!(
                "cannot hand the guard over to '{target}': {}",
                e.reason
            ))),
        }
    }

    /// migrate_from (on the target): take each lock over from the migration's source.
    pub fn migrate_from(&self) -> Result<OcfRc, OcfError> {
        let Some(source) = self.ctx.env.meta().migrate_source().map(str::to_string) else {
            return Err(OcfError::generic(
                "migrate_from without CRM_meta_migrate_source",
            ));
        };
        let images = self.existing("migrate_from")?;
        let err = |e: CephError| ceph_error("migrate_from", &e);
        for img in &images {
            match held(&self.lock(img).map_err(err)?, &self.node) {
                Held::Ours(_) => continue,
                Held::Free => {}
                Held::Other(h) if h.cookie == source => self.break_lock(img, &h).map_err(err)?,
                Held::Other(h) => {
                    return Err(OcfError::generic(format!(
                        "image {} is guarded by node '{}', not by the migration source '{source}'",
                        img.spec, h.cookie
                    )))
                }
            }
            self.take(img).map_err(err)?;
            self.ctx.logger.info(format!(
                "took the guard lock on {} over from '{source}'",
                img.spec
            ));
        }
        Ok(OcfRc::Success)
    }
}

#[path = "guard_wait.rs"]
pub mod wait;
pub use wait::sort_users;
use wait::Users;

#[cfg(test)]
#[path = "guard_tests.rs"]
mod tests;
