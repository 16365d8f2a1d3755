//! Ceph RBD through the `rbd`, `rados` and `ceph` command-line tools, with JSON output and a
//! deadline on every call.
//!
//! - [`names`]: validated names ([`ImageSpec`], [`GroupSpec`], [`ObjectSpec`]) and Ceph client
//!   addresses ([`ClientAddr`]); nothing reaches an argv before it passed these checks.
//! - [`types`]: pure parsers of `rbd … --format json`, `rados lock info --format json` and
//!   `ceph osd blocklist ls --format json`, tested on recorded Ceph 16.2.15 outputs in
//!   `tests/fixtures/ceph/` (see its README for the commands and exit codes).
//! - [`client`]: [`Ceph`], the calls themselves: connection options ([`Conn`]: `-c`, `-m`,
//!   `--id`, `--keyfile`/`--keyring`; the key itself never appears on an argv), the deadline,
//!   and the mapping of exit codes and stderr to [`CephError`].
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

pub mod client;
pub mod error;
pub mod names;
pub mod types;

#[cfg(test)]
mod tests;

pub use client::{Ceph, Conn, DeviceType, LockType};
pub use error::CephError;
pub use names::{validate_name, ClientAddr, GroupSpec, ImageSpec, ObjectSpec};
pub use types::{
    BlocklistEntry, GroupImage, ImageInfo, LockHolder, MappedDevice, ObjectLock, RbdLock, Watcher,
};

/// The name of the cls_lock lock the `ocf:vmmgr:rbd` guard takes on an image's header object.
pub const GUARD_LOCK_NAME: &str = "vmmgr_guard";
