//! The users of an image (watchers, `rbd_lock` holders: [`sort_users`], the fencing of a
//! departed node's clients) and the start's wait for users that are going away by themselves.
//!
//! # The rule
//!
//! After the start took the guard lock, a *foreign user* is a watcher or `rbd_lock` holder of
//! an image at neither this node's Ceph address nor a departed node's ([`sort_users`]). The
//! start waits for the foreign users of all its images to go, instead of failing at once, only
//! while **every** one of them is *stale*:
//!
//! - it is a watcher of the image (an `rbd_lock` holder that watches nothing never goes by
//!   itself: it is refused at once, as before), and
//! - **none of its watches answered a notify** on the image's header ([`NOTIFY_TIMEOUT`]):
//!   a live client (a running QEMU, `rbd watch`, an `rbd` command at work) answers at once,
//!   since librbd's image watcher acks every notification; a client that is gone (killed, its
//!   node rebooted) cannot, and the OSD drops its watch by itself after
//!   `osd_client_watch_timeout` (30 s by default).
//!
//! A client that holds the image's `rbd_lock` (librbd's exclusive lock: a writer) keeps that
//! lock after it died, also once its watch is gone. So when such a holder was seen stale
//! during this start and its watch is gone now, it is fenced as librbd itself would before
//! taking the lock over (`ceph osd blocklist add` of that client instance, for
//! `blocklist_expire`; a client that was only frozen can then never write again), and its
//! `rbd_lock` entry is broken. A holder that watches nothing and was never seen stale here
//! (an advisory `rbd lock add`, or one that died before the start began) is refused at once,
//! as before.
//!
//! Any foreign user that answers, or that appeared since the notify, is a live user: the start
//! fails at once as before (rc 1, "in use by client(s) … refusing a second user"). Without
//! librados (the tools' fallback) liveness cannot be told within a useful time: no wait.
//!
//! Why waiting is safe against two writers: the start proceeds only once the foreign users are
//! **gone** from Ceph's own lists, which is the state a start a few seconds later would have
//! found anyway; a guarded VM running elsewhere is refused before any of this (its node holds
//! the guard lock and is online). Meanwhile this node holds the guard lock, so no other node
//! starts the VM. A client that is merely frozen (SIGSTOP) loses its watch after the same
//! timeout whether or not anyone waits.
//!
//! The wait is bounded by the start's own timeout (`OCF_RESKEY_CRM_meta_timeout`): it ends
//! [`wait_margin`] before the action's deadline, leaving time to release the locks and report.
//! Each look is [`POLL`] apart. It is logged (`info`) when it begins and when it ends; when the
//! time runs out the start fails exactly as before, its reason naming the clients and saying
//! how long it waited. Only start waits; monitors and probes never do.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use shared::ceph::notify::Watch;
use shared::ceph::{Ceph, CephError, ClientAddr, RbdLock, Watcher, RBD_LOCK_NAME};
use shared::ocf::OcfError;

use super::{ceph_error, held, Guard, Held, Holders, Image};

/// How long a watcher has to answer the notify.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_millis(1500);

/// The pause between two looks at the users.
pub const POLL: Duration = Duration::from_secs(1);

/// The time kept free after the wait, before the action's deadline: a tenth of the operation
/// timeout, at least 3 s.
pub fn wait_margin(timeout: Duration) -> Duration {
    Duration::from_secs(3).max(timeout / 10)
}

/// When the wait must end, for an action with this `deadline` and operation `timeout`.
pub fn wait_until(deadline: Instant, timeout: Duration) -> Instant {
    deadline
        .checked_sub(wait_margin(timeout))
        .unwrap_or(deadline)
}

/// What one image's foreign users mean for the start (pure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No foreign user.
    Free,
    /// Only stale watchers: worth waiting for.
    Stale(Vec<ClientAddr>),
    /// A live user (or one not known to be gone): refuse now.
    Live(Vec<ClientAddr>),
}

/// Judges one image's `foreign` users (pure), from its `watchers` and the watches that did
/// not answer a notify (`missed`; `None`: not known). See the [module docs](self).
pub fn judge(foreign: &[ClientAddr], watchers: &[Watcher], missed: Option<&[Watch]>) -> Verdict {
    if foreign.is_empty() {
        return Verdict::Free;
    }
    let Some(missed) = missed else {
        return Verdict::Live(foreign.to_vec());
    };
    let missed: BTreeSet<Watch> = missed.iter().copied().collect();
    let stale = |a: &ClientAddr| {
        let mut watches = watchers.iter().filter(|w| w.address == *a).peekable();
        watches.peek().is_some() && watches.all(|w| missed.contains(&(w.client, w.cookie)))
    };
    if foreign.iter().all(stale) {
        Verdict::Stale(foreign.to_vec())
    } else {
        Verdict::Live(foreign.to_vec())
    }
}

/// The `rbd_lock` holders among one image's `foreign` users that are dead for sure (pure):
/// seen `stale` (no answer to a notify) earlier in this start, and watching nothing now.
pub fn dead_lockers<'l>(
    foreign: &[ClientAddr],
    watchers: &[Watcher],
    lockers: &'l [RbdLock],
    stale: &BTreeSet<ClientAddr>,
) -> Vec<&'l RbdLock> {
    lockers
        .iter()
        .filter(|l| {
            foreign.contains(&l.address)
                && stale.contains(&l.address)
                && !watchers.iter().any(|w| w.address == l.address)
        })
        .collect()
}

/// The start's verdict over all its images (pure): the first image with a live user decides;
/// otherwise any stale one makes the start wait.
pub fn overall(verdicts: &[Verdict]) -> Verdict {
    if let Some(live) = verdicts.iter().find(|v| matches!(v, Verdict::Live(_))) {
        return live.clone();
    }
    let mut stale = Vec::new();
    for v in verdicts {
        if let Verdict::Stale(a) = v {
            stale.extend(a.iter().copied());
        }
    }
    if stale.is_empty() {
        Verdict::Free
    } else {
        Verdict::Stale(stale)
    }
}

/// The users of one image: its watchers and its `rbd_lock` holders.
#[derive(Debug, Clone, Default)]
pub(super) struct Users {
    pub(super) watchers: Vec<Watcher>,
    pub(super) lockers: Vec<RbdLock>,
}

impl Users {
    /// Every user's address, watchers first.
    pub(super) fn addrs(&self) -> Vec<ClientAddr> {
        let mut a: Vec<ClientAddr> = self.watchers.iter().map(|w| w.address).collect();
        a.extend(self.lockers.iter().map(|l| l.address));
        a
    }
}

/// Splits users of an image (watchers, `rbd_lock` holders) into those of departed nodes (to
/// blocklist) and foreign live ones (pure). `ours` is this node's Ceph address, when known.
pub fn sort_users(
    users: &[ClientAddr],
    dead: &BTreeSet<IpAddr>,
    ours: Option<IpAddr>,
) -> (Vec<ClientAddr>, Vec<ClientAddr>) {
    let mut fence = Vec::new();
    let mut foreign = Vec::new();
    for a in users {
        if Some(a.ip) == ours {
            continue;
        }
        let list = if dead.contains(&a.ip) {
            &mut fence
        } else {
            &mut foreign
        };
        if !list.contains(a) {
            list.push(*a);
        }
    }
    (fence, foreign)
}

/// The reason of a refusal (`waited`: how long the start waited first, if it did).
fn refusal(img: &Image, foreign: &[ClientAddr], waited: Option<Duration>) -> OcfError {
    let list: Vec<String> = foreign.iter().map(ToString::to_string).collect();
    let after = waited.map_or(String::new(), |w| {
        format!(" after waiting {} s for them to go", w.as_secs())
    });
    OcfError::generic(format!(
        "image {} is in use by client(s) {}{after} (neither this node nor a node that left the \
         cluster): refusing a second user",
        img.spec,
        list.join(", ")
    ))
}

impl Guard<'_> {
    /// Users of an image: watchers and `rbd_lock` holders (the two reads side by side).
    pub(super) fn users(ceph: &Ceph, img: &Image) -> Result<Users, CephError> {
        let (watchers, locks) = std::thread::scope(|scope| {
            let locks = scope.spawn(|| ceph.image_lockers(&img.spec, &img.header));
            let watchers = ceph.watchers(&img.spec);
            let locks = locks
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (watchers, locks)
        });
        Ok(Users {
            watchers: watchers?,
            lockers: locks?,
        })
    }

    /// Blocklists every client of a departed node found among `users`, once each.
    pub(super) fn fence_departed(
        &self,
        users: &[Vec<ClientAddr>],
        h: &Holders<'_>,
    ) -> Result<(), OcfError> {
        let mut fenced = Vec::new();
        for u in users {
            let (fence, _) = sort_users(u, &h.dead_ips, h.ours);
            for a in fence {
                if !fenced.contains(&a) {
                    self.ceph
                        .blocklist_add(&a, Some(self.cfg.blocklist_expire))
                        .map_err(|e| ceph_error("start", &e))?;
                    self.ctx.logger.info(format!(
                        "blocklisted {a}, a client of a node that left the cluster"
                    ));
                    fenced.push(a);
                }
            }
        }
        Ok(())
    }

    /// After the locks are taken: returns once no image has a foreign user, waiting while they
    /// are all stale (see the [module docs](self)); otherwise the start's refusal.
    pub(super) fn wait_for_users(
        &self,
        images: &[Image],
        mut users: Vec<Users>,
        h: &mut Holders<'_>,
    ) -> Result<(), OcfError> {
        let err = |e: CephError| ceph_error("start", &e);
        let began = Instant::now();
        let until = wait_until(self.ctx.deadline, self.ctx.timeout);
        // clients found stale once stay so (an address with its nonce is one client instance)
        let mut stale: BTreeSet<ClientAddr> = BTreeSet::new();
        let mut waiting = false;
        // dead lock holders fenced once (one still listed afterwards watches nothing, so it is
        // judged live and refused: never fenced twice, never looped)
        let mut fenced: BTreeSet<ClientAddr> = BTreeSet::new();
        loop {
            let mut foreign: Vec<Vec<ClientAddr>> = users
                .iter()
                .map(|u| sort_users(&u.addrs(), &h.dead_ips, h.ours).1)
                .collect();
            if foreign.iter().any(|f| !f.is_empty()) && h.ours.is_none() {
                if let Held::Ours(o) = held(&self.lock(&images[0]).map_err(err)?, &self.node) {
                    h.ours = Some(o.addr.ip);
                    foreign = users
                        .iter()
                        .map(|u| sort_users(&u.addrs(), &h.dead_ips, h.ours).1)
                        .collect();
                }
            }
            if self.fence_dead_lockers(images, &users, &foreign, &stale, &mut fenced)? {
                users = self.all_users(images)?;
                continue;
            }
            let waited = waiting.then(|| began.elapsed());
            let mut verdicts = Vec::new();
            for ((img, u), f) in images.iter().zip(&users).zip(&foreign) {
                let known = |a: &ClientAddr| {
                    stale.contains(a) && u.watchers.iter().any(|w| w.address == *a)
                };
                // clients already found stale and still watching need no new notify
                let v = if !f.is_empty() && f.iter().all(known) {
                    Verdict::Stale(f.clone())
                } else if f.is_empty() {
                    Verdict::Free
                } else {
                    let missed = self
                        .ceph
                        .unanswered_watches(&img.header, NOTIFY_TIMEOUT)
                        .map_err(err)?;
                    judge(f, &u.watchers, missed.as_deref())
                };
                if let Verdict::Live(live) = &v {
                    return Err(refusal(img, live, waited));
                }
                verdicts.push(v);
            }
            let Verdict::Stale(now) = overall(&verdicts) else {
                if let Some(w) = waited {
                    self.ctx.logger.info(format!(
                        "start: the stale client(s) of the image(s) went after {:.1} s",
                        w.as_secs_f64()
                    ));
                }
                return Ok(());
            };
            stale.extend(now.iter().copied());
            if Instant::now() + POLL >= until {
                let i = foreign.iter().position(|f| !f.is_empty()).unwrap_or(0);
                let w = began.elapsed();
                self.ctx.logger.info(format!(
                    "start: gave up waiting after {:.1} s: the OSD still keeps the watch(es)",
                    w.as_secs_f64()
                ));
                return Err(refusal(&images[i], &foreign[i], Some(w)));
            }
            if !waiting {
                let list: Vec<String> = now.iter().map(ToString::to_string).collect();
                self.ctx.logger.info(format!(
                    "start: client(s) {} still watch the image(s) but answer no notify (gone; the \
                     OSD drops a dead client's watch after osd_client_watch_timeout): waiting up \
                     to {} s for them to go",
                    list.join(", "),
                    until.saturating_duration_since(began).as_secs()
                ));
                waiting = true;
            }
            std::thread::sleep(POLL);
            users = self.all_users(images)?;
        }
    }

    fn all_users(&self, images: &[Image]) -> Result<Vec<Users>, OcfError> {
        images
            .iter()
            .map(|img| Guard::users(&self.ceph, img))
            .collect::<Result<Vec<_>, CephError>>()
            .map_err(|e| ceph_error("start", &e))
    }

    /// Fences and breaks the `rbd_lock` of the [`dead_lockers`]; true when there were any.
    fn fence_dead_lockers(
        &self,
        images: &[Image],
        users: &[Users],
        foreign: &[Vec<ClientAddr>],
        stale: &BTreeSet<ClientAddr>,
        fenced: &mut BTreeSet<ClientAddr>,
    ) -> Result<bool, OcfError> {
        let err = |e: CephError| ceph_error("start", &e);
        let mut any = false;
        for ((img, u), f) in images.iter().zip(users).zip(foreign) {
            for l in dead_lockers(f, &u.watchers, &u.lockers, stale) {
                if !fenced.insert(l.address) {
                    continue;
                }
                self.ceph
                    .blocklist_add(&l.address, Some(self.cfg.blocklist_expire))
                    .map_err(err)?;
                match self
                    .ceph
                    .object_lock_break(&img.header, RBD_LOCK_NAME, &l.locker, &l.id)
                {
                    Err(e) if !e.is_not_found() => return Err(err(e)),
                    _ => {}
                }
                self.ctx.logger.info(format!(
                    "start: blocklisted {} ({}), which held the exclusive lock of {} and is \
                     gone (no answer, then no watch), and broke that lock",
                    l.address, l.locker, img.spec
                ));
                any = true;
            }
        }
        Ok(any)
    }
}

#[cfg(test)]
#[path = "guard_wait_tests.rs"]
mod tests;
