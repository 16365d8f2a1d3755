//! Where a VM's disks, XML and settings live, behind one seam: the [`Storage`] trait (with its
//! [`snapshots::SnapshotStore`] part). Verbs see storage only through it, so every verb can be
//! unit-tested on a recorded CIB without Ceph, and another backend (VMs on a shared directory)
//! slots in without touching them.
//!
//! - [`rbd::Rbd`]: Ceph RBD, a thin adapter over [`shared::ceph::Ceph`], the one Ceph layer
//!   (command lines, names, error classification, parsers, per-call and connect timeouts all
//!   live there; nothing here runs `rbd`, `ceph` or `qemu-img`).
//! - [`dir::Dir`]: VMs on a directory every node sees (a cluster filesystem, NFS), one
//!   directory per VM (copy-on-write clones share a read-only base in `.bases/`); `qemu-img`
//!   through [`shared::qcow2`].
//! - [`mem::Memory`]: an in-memory stand-in for unit tests; [`NoStorage`]: `--no-storage`.
//!
//! Errors of the Ceph layer come through as [`StorageError::Ceph`], classified once in
//! `shared::ceph`; the adapter only names what is missing or exists.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use shared::ceph::CephError;
use shared::cmd::CmdError;

pub use shared::ceph::{MonHost, TrashEntry};

pub mod dir;
mod dir_bases;
mod dir_io;
mod dir_snapshots;
pub mod mem;
pub mod rbd;
pub mod snapshots;
#[cfg(test)]
pub(crate) mod testing;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The image, group or metadata key does not exist.
    #[error("{what} does not exist.")]
    NotFound { what: String },
    /// The image, snapshot or group to be made already exists.
    #[error("{what} already exists.")]
    Exists { what: String },
    /// The Ceph layer failed (unreachable, refused name, tool error ...).
    #[error(transparent)]
    Ceph(#[from] CephError),
    /// A local tool that is not Ceph's failed or could not be run (`virt-xml-validate`).
    #[error(transparent)]
    Command(#[from] CmdError),
    /// A tool's output was not what it is documented to print.
    #[error("Could not parse the output of {what}: {detail}.")]
    Parse { what: String, detail: String },
    /// `--no-storage` was given but the verb needs storage.
    #[error("This needs the VM storage (Ceph), but --no-storage was given.")]
    Disabled,
    /// An image file given by the user that cannot be read.
    #[error("Cannot use image {}: {detail}.", .path.display())]
    ImageUnreadable { path: PathBuf, detail: String },
    /// An image format vm-mgr does not import.
    #[error("Image {} has format {format}; only qcow2 and raw are supported.", .path.display())]
    UnsupportedFormat { path: PathBuf, format: String },
    /// A file of the dir backend that cannot be read or written.
    #[error("{what}: {source}.")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// What the backend cannot do yet (exit code 6).
    #[error("{what} are not supported on the dir backend yet")]
    NotOnBackend { what: &'static str },
    /// A setting that cannot be passed to Ceph safely.
    #[error("Invalid {what} {value:?}: {reason}.")]
    InvalidSetting {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
}

impl StorageError {
    /// The user gave something unusable, or asked for storage work with `--no-storage`
    /// (exit code 2).
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            StorageError::Disabled
                | StorageError::ImageUnreadable { .. }
                | StorageError::UnsupportedFormat { .. }
                | StorageError::InvalidSetting { .. }
                | StorageError::Ceph(CephError::InvalidName { .. })
                | StorageError::Ceph(CephError::InvalidValue { .. })
        )
    }

    /// Ceph could not be asked (monitors unreachable, or no answer in time).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, StorageError::Ceph(e) if e.is_unreachable())
    }

    /// The thing asked for does not exist.
    pub fn is_not_found(&self) -> bool {
        match self {
            StorageError::NotFound { .. } => true,
            StorageError::Ceph(e) => e.is_not_found(),
            _ => false,
        }
    }
}

pub use crate::vm::Backend;

/// `format`, the one `qemu-img` detected in `path`, if vm-mgr imports it (qcow2 or raw).
pub(crate) fn importable(path: &Path, format: String) -> Result<String> {
    if format != "qcow2" && format != "raw" {
        return Err(StorageError::UnsupportedFormat {
            path: path.to_owned(),
            format,
        });
    }
    Ok(format)
}

/// Result with [`StorageError`].
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Storage of VM images and metadata. Image names are within [`Storage::pool`].
pub trait Storage: snapshots::SnapshotStore {
    /// Whether storage is available at all (false with `--no-storage`).
    fn available(&self) -> bool {
        true
    }
    /// Which backend this is (RBD unless said otherwise).
    fn backend(&self) -> Backend {
        Backend::Rbd
    }
    /// The directory layout, on the dir backend.
    fn dir(&self) -> Option<&dir::Dir> {
        None
    }
    /// The pool (the directory, on the dir backend).
    fn pool(&self) -> &str;
    /// How messages name `image`: `POOL/IMAGE`, or the file on the dir backend.
    fn image_label(&self, image: &str) -> String {
        format!("{}/{image}", self.pool())
    }
    /// Ceph client id (for the disks' `<auth username>`).
    fn client_id(&self) -> &str;
    /// All image names in the pool.
    fn list_images(&self) -> Result<Vec<String>>;
    /// Whether `image` exists.
    fn image_exists(&self, image: &str) -> Result<bool>;
    /// All group names in the pool.
    fn list_groups(&self) -> Result<Vec<String>>;
    /// Creates group `group`.
    fn create_group(&self, group: &str) -> Result<()>;
    /// Removes group `group` (no error if it does not exist).
    fn remove_group(&self, group: &str) -> Result<()>;
    /// Images in group `group` (empty if it does not exist).
    fn group_images(&self, group: &str) -> Result<Vec<String>>;
    /// Adds `image` to `group`.
    fn group_add(&self, group: &str, image: &str) -> Result<()>;
    /// Removes `image` from `group`.
    fn group_remove(&self, group: &str, image: &str) -> Result<()>;
    /// The format of a local image file (`qcow2`, `raw`, ...).
    fn probe_format(&self, path: &Path) -> Result<String>;
    /// Imports a local image file into a new raw `image`; `progress` is called with the fraction
    /// done (when known) as it changes and at least every 200 ms.
    fn import(
        &self,
        path: &Path,
        format: &str,
        image: &str,
        progress: &mut dyn FnMut(Option<f64>),
    ) -> Result<()>;
    /// Removes `image` and its snapshots.
    fn remove_image(&self, image: &str) -> Result<()>;
    /// All metadata of `image`.
    fn meta_list(&self, image: &str) -> Result<BTreeMap<String, String>>;
    /// One metadata value; `None` if the key is not set.
    fn meta_get(&self, image: &str, key: &str) -> Result<Option<String>>;
    /// Sets one metadata value ([`Storage::check_meta`] refuses what it cannot store).
    fn meta_set(&self, image: &str, key: &str, value: &str) -> Result<()>;
    /// Whether [`Storage::meta_set`] can store `value` under `key`, asked before any storage
    /// work (in a dry run too). RBD's rule, [`shared::ceph::check_meta_value`] (at most
    /// 128 KiB, no NUL), for every backend: a VM must be storable in RBD.
    fn check_meta(&self, key: &str, value: &str) -> Result<()> {
        Ok(shared::ceph::check_meta_value(key, value)?)
    }
    /// Removes one metadata key (no error if it is not set).
    fn meta_remove(&self, image: &str, key: &str) -> Result<()>;
    /// The monitors, for the disks' `<host>` elements.
    fn mon_hosts(&self) -> Result<Vec<MonHost>>;
    /// Moves `image` to the trash until `expires_at` (seconds since the epoch): it leaves
    /// [`Storage::list_images`], keeping its data, snapshots and metadata.
    fn trash_move(&self, _image: &str, _expires_at: i64) -> Result<()> {
        Err(StorageError::NotOnBackend {
            what: "The trash and restore",
        })
    }
    /// The images in the trash.
    fn trash_list(&self) -> Result<Vec<TrashEntry>> {
        Err(StorageError::NotOnBackend {
            what: "The trash and restore",
        })
    }
    /// Brings the trashed image `id` back under its name.
    fn trash_restore(&self, _id: &str) -> Result<()> {
        Err(StorageError::NotOnBackend {
            what: "The trash and restore",
        })
    }
    /// Deletes the trashed image `id` now.
    fn trash_remove(&self, _id: &str) -> Result<()> {
        Err(StorageError::NotOnBackend {
            what: "The trash and restore",
        })
    }
}

/// The storage of `--no-storage`: empty for reads that list, refusing everything else.
#[derive(Debug, Default)]
pub struct NoStorage;

impl Storage for NoStorage {
    fn available(&self) -> bool {
        false
    }
    fn pool(&self) -> &str {
        "-"
    }
    fn client_id(&self) -> &str {
        "-"
    }
    fn list_images(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
    fn image_exists(&self, _: &str) -> Result<bool> {
        Err(StorageError::Disabled)
    }
    fn list_groups(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
    fn create_group(&self, _: &str) -> Result<()> {
        Err(StorageError::Disabled)
    }
    fn remove_group(&self, _: &str) -> Result<()> {
        Err(StorageError::Disabled)
    }
    fn group_images(&self, _: &str) -> Result<Vec<String>> {
        Err(StorageError::Disabled)
    }
    fn group_add(&self, _: &str, _: &str) -> Result<()> {
        Err(StorageError::Disabled)
    }
    fn group_remove(&self, _: &str, _: &str) -> Result<()> {
        Err(StorageError::Disabled)
    }
    fn probe_format(&self, _: &Path) -> Result<String> {
        Err(StorageError::Disabled)
    }
    fn import(&self, _: &Path, _: &str, _: &str, _: &mut dyn FnMut(Option<f64>)) -> Result<()> {
        Err(StorageError::Disabled)
    }
    fn remove_image(&self, _: &str) -> Result<()> {
        Err(StorageError::Disabled)
    }
    fn meta_list(&self, _: &str) -> Result<BTreeMap<String, String>> {
        Err(StorageError::Disabled)
    }
    fn meta_get(&self, _: &str, _: &str) -> Result<Option<String>> {
        Err(StorageError::Disabled)
    }
    fn meta_set(&self, _: &str, _: &str, _: &str) -> Result<()> {
        Err(StorageError::Disabled)
    }
    fn meta_remove(&self, _: &str, _: &str) -> Result<()> {
        Err(StorageError::Disabled)
    }
    fn mon_hosts(&self) -> Result<Vec<MonHost>> {
        Err(StorageError::Disabled)
    }
    fn trash_move(&self, _: &str, _: i64) -> Result<()> {
        Err(StorageError::Disabled)
    }
    fn trash_list(&self) -> Result<Vec<TrashEntry>> {
        Err(StorageError::Disabled)
    }
    fn trash_restore(&self, _: &str) -> Result<()> {
        Err(StorageError::Disabled)
    }
    fn trash_remove(&self, _: &str) -> Result<()> {
        Err(StorageError::Disabled)
    }
}
