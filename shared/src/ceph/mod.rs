//! Ceph RBD through the `rbd`, `rados`, `ceph` and `qemu-img` command-line tools: the one Ceph
//! layer of the workspace (agents and vm-mgr alike; nothing else runs these tools).
//!
//! - [`names`]: validated names ([`ImageSpec`], [`GroupSpec`], [`ObjectSpec`]), cephx users,
//!   configuration paths and Ceph client addresses ([`ClientAddr`]); nothing reaches an argv
//!   before it passed these checks.
//! - [`types`]: pure parsers of the tools' JSON output, tested on recorded Ceph 16.2.15 outputs
//!   in `tests/fixtures/ceph/` (one format: `.out`/`.err`/`.rc`; see its README).
//! - [`bound`], [`client`]: [`Ceph`], connection options ([`Conn`]: `-c`, `-m`, `--id`,
//!   `--keyfile`/`--keyring`; the key itself never appears on an argv), the bound of every call
//!   ([`Bound`]: one absolute deadline for an agent action, or per-call [`Timeouts`] for a
//!   command-line tool), and the agents' calls (info, watchers, locks, devices, blocklist).
//!   Every call also carries a connect timeout (`--client-mount-timeout`, `--connect-timeout`),
//!   so dead monitors give [`CephError::Unreachable`] ("Ceph does not answer") in seconds.
//! - [`native`]: the agents' failover path (group members, image ids, guard and `rbd_lock`
//!   locks, watchers, blocklist, metadata) through librados/librbd (crate `ceph-ffi`, loaded
//!   at run time) over one connection per process ([`Ceph::agent`]), bounded by the action's
//!   deadline; the tools when the libraries cannot be loaded.
//! - [`pool`], [`snaps`], [`import`], [`trash`]: vm-mgr's calls: images, groups, metadata, mon
//!   dump; snapshots, group snapshots, clone/copy/export; the `qemu-img` probe and import; the
//!   RBD trash (deferred deletion and restore).
//! - [`error`]: [`CephError`] and the one classifier of exit codes and stderr
//!   ([`error::classify`]: ENOENT, EEXIST, EBUSY, unreachable).
//!
//! # Facts this module relies on (measured on Ceph 16.2.15, see the fixtures' README)
//!
//! - `rbd` exits with the errno: 2 for a missing pool/image, 16 for a busy lock, 22 for bad
//!   arguments, 110 when the monitors cannot be reached within `--client-mount-timeout`.
//!   `rados` exits 1 for every error and says `error N: (N) …` on stderr. `ceph` exits with the
//!   errno, or 1 with `timed out`.
//! - `rbd lock add` takes the lock librbd's `exclusive-lock` feature uses (`rbd_lock` on the
//!   header object): while it is held, every librbd writer (QEMU) blocks. A guard therefore
//!   uses its own cls_lock lock on the header object ([`GUARD_LOCK_NAME`]) through `rados lock`.
//! - `rbd lock rm` blocklists the lock holder's address (`rbd_blocklist_on_break_lock`);
//!   `rados lock break` does not.
//! - `rbd group image list` of a missing group prints `[]` and exits 0.
//! - `rbd image-meta list --format json` prints nothing at all when there is no metadata.

#[cfg(test)]
macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/ceph/",
            $name
        ))
    };
}

pub mod bound;
pub mod client;
pub mod error;
pub mod import;
pub mod names;
pub mod native;
pub mod notify;
pub mod pool;
pub mod snaps;
pub mod trash;
pub mod types;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_pool;

pub use bound::{Bound, Timeouts};
pub use client::{check_meta_value, Ceph, Conn, DeviceType, LockType, META_VALUE_MAX};
pub use error::CephError;
pub use names::{
    validate_conf_path, validate_name, validate_user, ClientAddr, GroupSpec, ImageSpec, ObjectSpec,
};
pub use native::RBD_LOCK_NAME;
pub use trash::TrashEntry;
pub use types::{
    BlocklistEntry, GroupImage, GroupSnap, ImageInfo, ImageSnap, LockHolder, MappedDevice, MonHost,
    ObjectLock, RbdLock, SnapNamespace, Watcher,
};

/// The name of the cls_lock lock the `ocf:vmmgr:rbd` guard takes on an image's header object.
pub const GUARD_LOCK_NAME: &str = "vmmgr_guard";
