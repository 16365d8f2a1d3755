//! `Native`: the agents' hot calls through librados/librbd (crate `ceph-ffi`, loaded at run
//! time) over ONE cluster connection per process, instead of one `rbd`/`rados`/`ceph` run per
//! call, each loading the libraries and connecting to the monitors anew.
//!
//! - The connection is made on the first call (so an action that never touches Ceph never
//!   loads librados) and shared by every clone of the [`Ceph`](super::Ceph) value.
//! - Every call is bounded by the action's deadline: the client's own timeouts
//!   (`client_mount_timeout`, `rados_mon_op_timeout`, `rados_osd_op_timeout`) are set from the
//!   time left when connecting, and each call runs on a worker thread the caller stops waiting
//!   for at the deadline ([`CephError::TimedOut`]); a hung worker cannot outlive the agent
//!   process, which ends with the action's error.
//! - Errors keep the tools' classification ([`error::classify`]: ENOENT, EBUSY, EEXIST,
//!   ETIMEDOUT as unreachable), naming the C call, its arguments and its return code.
//! - When the libraries cannot be loaded, `Native::load` says so and the caller uses the
//!   command-line tools (the same calls, the same results).
//!
//! One difference from the tools: `rados_lock_exclusive` takes no tag, so a guard lock taken
//! here carries the empty tag (`rados lock get --lock-tag` set one); an exclusive lock ignores
//! tags, so both kinds exclude each other exactly as before.

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use ceph_ffi::{Api, Cluster, FfiError, IoCtx};

use super::client::Conn;
use super::error::{self, CephError};
use super::names::{ClientAddr, GroupSpec, ImageSpec, ObjectSpec};
use super::types::{GroupImage, LockHolder, ObjectLock, RbdLock, Watcher};

/// The lock librbd's exclusive-lock feature and `rbd lock add` take on the header object.
pub const RBD_LOCK_NAME: &str = "rbd_lock";

/// Upper bound of `client_mount_timeout` (seconds), as for the tools.
const MAX_MOUNT_TIMEOUT: u64 = 30;

/// The shared connection of one process.
pub(super) struct Native {
    api: &'static Api,
    conn: Conn,
    cluster: Mutex<Option<Arc<Cluster>>>,
}

impl std::fmt::Debug for Native {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Native")
            .field("conn", &self.conn)
            .finish_non_exhaustive()
    }
}

/// The client options of a connection made with `left` before the deadline (pure): connect
/// for at most one second less than what is left (1..30 s), and let no monitor or OSD
/// operation run past the deadline.
pub fn client_options(conn: &Conn, left: Duration) -> Vec<(&'static str, String)> {
    let mount = left.as_secs().saturating_sub(1).clamp(1, MAX_MOUNT_TIMEOUT);
    let op = left.as_secs().saturating_add(1).max(1);
    let mut o = vec![
        ("client_mount_timeout", mount.to_string()),
        ("rados_mon_op_timeout", op.to_string()),
        ("rados_osd_op_timeout", op.to_string()),
        ("log_to_stderr", "false".to_owned()),
        ("err_to_stderr", "false".to_owned()),
    ];
    if let Some(m) = &conn.mon {
        o.push(("mon_host", m.clone()));
    }
    if let Some(k) = &conn.keyfile {
        o.push(("keyfile", k.display().to_string()));
    }
    if let Some(k) = &conn.keyring {
        o.push(("keyring", k.display().to_string()));
    }
    o
}

/// The JSON of `ceph osd blocklist add ADDR [EXPIRE]` for `rados_mon_command` (pure).
pub fn blocklist_command(addr: &ClientAddr, expire: Option<Duration>) -> String {
    let mut cmd = serde_json::json!({
        "prefix": "osd blocklist",
        "blocklistop": "add",
        "addr": addr.to_string(),
    });
    if let Some(e) = expire {
        cmd["expire"] = serde_json::json!(e.as_secs().max(1) as f64);
    }
    cmd.to_string()
}

/// A library error as the tools' errors are classified; `call` names the call and its
/// arguments.
fn ffi_error(call: &str, e: &FfiError) -> CephError {
    error::classify(call.to_owned(), Some(e.errno()), format!("{e}"), e.call)
}

fn addr(call: &str, s: &str) -> Result<ClientAddr, CephError> {
    ClientAddr::from_str(s).map_err(|reason| CephError::Parse {
        cmdline: call.to_owned(),
        reason,
    })
}

impl Native {
    /// The native layer for `conn`, or `None` when librados/librbd cannot be loaded (the
    /// caller then uses the tools).
    pub(super) fn load(conn: &Conn) -> Option<Native> {
        let api = Api::get().ok()?;
        Some(Native {
            api,
            conn: conn.clone(),
            cluster: Mutex::new(None),
        })
    }

    /// The connection, made on the first call.
    fn cluster(&self, deadline: Instant) -> Result<Arc<Cluster>, CephError> {
        let mut slot = self.cluster.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = slot.as_ref() {
            return Ok(Arc::clone(c));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let options = client_options(&self.conn, left);
        let conf = self.conn.conf.as_ref().map(|p| p.display().to_string());
        let call = format!(
            "rados_connect(conf={}, user={})",
            conf.as_deref().unwrap_or("default"),
            self.conn.user.as_deref().unwrap_or("admin")
        );
        let c = Cluster::connect(
            self.api,
            self.conn.user.as_deref(),
            conf.as_deref(),
            &options,
        )
        .map_err(|e| {
            if e.call == "rados_connect" && e.errno() == 110 {
                CephError::Unreachable {
                    cmdline: call.clone(),
                    stderr: e.to_string(),
                }
            } else {
                ffi_error(&call, &e)
            }
        })?;
        let c = Arc::new(c);
        *slot = Some(Arc::clone(&c));
        Ok(c)
    }

    /// Runs `f` on the connection in a worker thread, waiting no longer than `deadline`.
    pub(super) fn bounded<T: Send + 'static>(
        self: &Arc<Self>,
        deadline: Instant,
        call: String,
        f: impl FnOnce(&Arc<Cluster>) -> Result<T, FfiError> + Send + 'static,
    ) -> Result<T, CephError> {
        let me = Arc::clone(self);
        let name = call.clone();
        run_bounded(deadline, call, move || {
            let r = me
                .cluster(deadline)
                .and_then(|c| f(&c).map_err(|e| ffi_error(&name, &e)));
            // The caller must hold the last reference: the connection is shut down where the
            // caller drops it, never in this thread while the process may be exiting
            // (librados' static destructors then race its threads: SIGABRT).
            drop(me);
            r
        })
    }

    /// `rados_list_lockers` of lock `name` on `obj`.
    pub(super) fn object_lock_info(
        self: &Arc<Self>,
        deadline: Instant,
        obj: &ObjectSpec,
        name: &str,
    ) -> Result<ObjectLock, CephError> {
        let call = format!(
            "rados_list_lockers({}/{} {name})",
            pool_ns(&obj.pool, &obj.namespace),
            obj.object
        );
        let (o, n) = (obj.clone(), name.to_owned());
        let l = self.bounded(deadline, call.clone(), move |c| {
            IoCtx::new(c, &o.pool, &o.namespace)?.list_lockers(&o.object, &n)
        })?;
        let lockers = l
            .holders
            .iter()
            .map(|(client, cookie, a)| {
                Ok(LockHolder {
                    name: client.clone(),
                    cookie: cookie.clone(),
                    description: String::new(),
                    expiration: String::new(),
                    addr: addr(&call, a)?,
                })
            })
            .collect::<Result<Vec<_>, CephError>>()?;
        let lock_type = match (lockers.is_empty(), l.exclusive) {
            (true, _) => "none",
            (false, true) => "exclusive",
            (false, false) => "shared",
        };
        Ok(ObjectLock {
            name: name.to_owned(),
            lock_type: lock_type.to_owned(),
            tag: l.tag,
            lockers,
        })
    }

    /// The holders of `rbd_lock` on an image's header object (what `rbd lock ls` lists).
    pub(super) fn rbd_locks(
        self: &Arc<Self>,
        deadline: Instant,
        header: &ObjectSpec,
    ) -> Result<Vec<RbdLock>, CephError> {
        let lock = self.object_lock_info(deadline, header, RBD_LOCK_NAME)?;
        Ok(lock
            .lockers
            .into_iter()
            .map(|h| RbdLock {
                id: h.cookie,
                locker: h.name,
                address: h.addr,
            })
            .collect())
    }

    /// `rados_lock_exclusive` (no tag: see the module docs).
    pub(super) fn object_lock_exclusive(
        self: &Arc<Self>,
        deadline: Instant,
        obj: &ObjectSpec,
        name: &str,
        cookie: &str,
        description: &str,
    ) -> Result<(), CephError> {
        let call = format!(
            "rados_lock_exclusive({}/{} {name} cookie={cookie})",
            pool_ns(&obj.pool, &obj.namespace),
            obj.object
        );
        let (o, n, c, d) = (
            obj.clone(),
            name.to_owned(),
            cookie.to_owned(),
            description.to_owned(),
        );
        self.bounded(deadline, call, move |cl| {
            IoCtx::new(cl, &o.pool, &o.namespace)?.lock_exclusive(&o.object, &n, &c, &d)
        })
    }

    /// `rados_break_lock`.
    pub(super) fn object_lock_break(
        self: &Arc<Self>,
        deadline: Instant,
        obj: &ObjectSpec,
        name: &str,
        locker: &str,
        cookie: &str,
    ) -> Result<(), CephError> {
        let call = format!(
            "rados_break_lock({}/{} {name} {locker} cookie={cookie})",
            pool_ns(&obj.pool, &obj.namespace),
            obj.object
        );
        let (o, n, l, c) = (
            obj.clone(),
            name.to_owned(),
            locker.to_owned(),
            cookie.to_owned(),
        );
        self.bounded(deadline, call, move |cl| {
            IoCtx::new(cl, &o.pool, &o.namespace)?.break_lock(&o.object, &n, &l, &c)
        })
    }

    /// The image's id (`rbd_get_id` of a read-only open).
    pub(super) fn image_id(
        self: &Arc<Self>,
        deadline: Instant,
        image: &ImageSpec,
    ) -> Result<String, CephError> {
        let call = format!("rbd_get_id({})", image.image_path());
        let i = image.clone();
        self.bounded(deadline, call, move |c| {
            IoCtx::new(c, &i.pool, &i.namespace)?
                .open_read_only(&i.image)?
                .id()
        })
    }

    /// The image's watchers (`rbd_watchers_list`; the read-only open itself watches nothing).
    pub(super) fn watchers(
        self: &Arc<Self>,
        deadline: Instant,
        image: &ImageSpec,
    ) -> Result<Vec<Watcher>, CephError> {
        let call = format!("rbd_watchers_list({})", image.image_path());
        let i = image.clone();
        let list = self.bounded(deadline, call.clone(), move |c| {
            IoCtx::new(c, &i.pool, &i.namespace)?
                .open_read_only(&i.image)?
                .watchers()
        })?;
        list.iter()
            .map(|w| {
                Ok(Watcher {
                    address: addr(&call, &w.addr)?,
                    client: u64::try_from(w.id).unwrap_or_default(),
                    cookie: w.cookie,
                })
            })
            .collect()
    }

    /// `rbd_metadata_get`; `None` when the key is not set (a missing image is an error).
    pub(super) fn meta_get(
        self: &Arc<Self>,
        deadline: Instant,
        image: &ImageSpec,
        key: &str,
    ) -> Result<Option<String>, CephError> {
        let call = format!("rbd_metadata_get({} {key})", image.image_path());
        let (i, k) = (image.clone(), key.to_owned());
        let r = self.bounded(deadline, call, move |c| {
            let img = IoCtx::new(c, &i.pool, &i.namespace)?.open_read_only(&i.image)?;
            match img.metadata_get(&k) {
                Ok(v) => Ok(Some(v)),
                Err(e) if e.errno() == 2 => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        Ok(r)
    }

    /// `rbd_group_image_list` (members in the group's namespace; pool ids named through
    /// `rados_pool_reverse_lookup`). A missing group is [`CephError::NotFound`].
    pub(super) fn group_images(
        self: &Arc<Self>,
        deadline: Instant,
        group: &GroupSpec,
    ) -> Result<Vec<GroupImage>, CephError> {
        let call = format!("rbd_group_image_list({group})");
        let g = group.clone();
        self.bounded(deadline, call, move |c| {
            let members = IoCtx::new(c, &g.pool, &g.namespace)?.group_images(&g.group)?;
            members
                .into_iter()
                .map(|m| {
                    Ok(GroupImage {
                        image: m.name,
                        pool: c.pool_name(m.pool)?,
                        namespace: g.namespace.clone(),
                        state: i64::from(m.state),
                    })
                })
                .collect()
        })
    }

    /// `osd blocklist add` through `rados_mon_command`.
    pub(super) fn blocklist_add(
        self: &Arc<Self>,
        deadline: Instant,
        a: &ClientAddr,
        expire: Option<Duration>,
    ) -> Result<(), CephError> {
        let json = blocklist_command(a, expire);
        let call = format!("rados_mon_command({json})");
        let (rc, _, status) =
            self.bounded(deadline, call.clone(), move |c| c.mon_command(&json))?;
        if rc < 0 {
            let e = FfiError {
                call: "rados_mon_command",
                rc,
            };
            let mut err = ffi_error(&call, &e);
            if let CephError::Failed { stderr, .. } = &mut err {
                stderr.push_str(&format!(" ({status})"));
            }
            return Err(err);
        }
        Ok(())
    }
}

/// Set when a call was abandoned at its deadline while still running.
static ABANDONED: AtomicBool = AtomicBool::new(false);

/// Whether this process abandoned a call still running in librados (`run_bounded`).
pub fn abandoned() -> bool {
    ABANDONED.load(Ordering::SeqCst)
}

/// Ends the process with `code` now when it abandoned a librados call ([`abandoned`]):
/// librados' static destructors would otherwise run at exit beside that call's threads and
/// could abort the process instead of letting it exit with its code. Flushes stdout and
/// stderr first. Returns when nothing was abandoned.
pub fn exit_if_abandoned(code: u8) {
    if abandoned() {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        ceph_ffi::exit_now(code);
    }
}

/// Runs `f` in a worker thread and waits for its answer until `deadline`: a call that hangs
/// (monitors or OSDs gone mid-call) gives [`CephError::TimedOut`] at the deadline, its thread
/// left behind (the agent process ends with the action's error); a deadline already passed
/// gives it without running `f`.
pub(super) fn run_bounded<T: Send + 'static>(
    deadline: Instant,
    call: String,
    f: impl FnOnce() -> Result<T, CephError> + Send + 'static,
) -> Result<T, CephError> {
    let start = Instant::now();
    let Some(left) = deadline.checked_duration_since(start) else {
        return Err(CephError::TimedOut {
            cmdline: call,
            after: Duration::ZERO,
        });
    };
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("ceph-call".into())
        .spawn(move || {
            let _ = tx.send(f());
        });
    if let Err(e) = spawned {
        return Err(CephError::Failed {
            cmdline: call,
            code: None,
            errno: e.raw_os_error(),
            stderr: format!("cannot start a thread: {e}"),
        });
    }
    match rx.recv_timeout(left) {
        Ok(r) => r,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            ABANDONED.store(true, Ordering::SeqCst);
            Err(CephError::TimedOut {
                cmdline: call,
                after: start.elapsed(),
            })
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(CephError::Failed {
            cmdline: call,
            code: None,
            errno: None,
            stderr: "the worker thread of the call ended without an answer".into(),
        }),
    }
}

fn pool_ns(pool: &str, ns: &str) -> String {
    if ns.is_empty() {
        pool.to_owned()
    } else {
        format!("{pool}/{ns}")
    }
}

#[cfg(test)]
#[path = "native_tests.rs"]
mod tests;
