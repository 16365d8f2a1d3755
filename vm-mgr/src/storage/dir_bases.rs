//! Copy-on-write clones on the dir backend. A qcow2 backing file cannot point at an internal
//! snapshot, so the clones of snapshot `S` of VM `SRC` share a **base**: the snapshot's content
//! written out once, read-only, as `ROOT/.bases/SRC@S@STAMP/FILE` (`FILE` the disk's file name,
//! `STAMP` the `date-sec.date-nsec` of `S` on `SRC`'s system disk, so that a snapshot removed
//! and taken again under the same name, or one of a new VM of the same name, never reuses an
//! older base). Each clone disk is a qcow2 overlay naming its base by absolute path, with its
//! format (`qemu-img create -F qcow2 -b`).
//!
//! The base is independent of `SRC`: `SRC` can be rolled back, snapshotted or removed without
//! touching its clones. The clone's own snapshots are internal snapshots of its overlay, and
//! its copies and exports read through the base (they are self-contained).
//!
//! Removing a disk that is an overlay of a base under `.bases` deletes that base once no disk
//! of any VM directory names it (each disk's backing file read with `qemu-img info`, at most
//! [`MAX_SCANNED`] disks; past that, or when a disk cannot be read, the base is kept). Making a
//! base with its overlay and deleting an unused one hold an exclusive lock on
//! `.bases/.lock` (`flock`, cluster-wide on OCFS2, GFS2 and NFSv4), so that a base is never
//! deleted between a clone's check and its overlay.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shared::qcow2::{self, snapshots as qsnap};

use super::dir::Dir;
use super::dir_io::{from_qcow2, io_error};
use super::{Result, Storage, StorageError};
use crate::vm::{self, VmIds};

/// The directory of the bases, in the VM directory's root (not a VM name: never listed as one).
pub const BASES: &str = ".bases";
/// The lock file in it.
const LOCK_FILE: &str = ".lock";
/// How long a clone waits for another one's base to be written.
const CLONE_LOCK_WAIT: Duration = Duration::from_secs(600);
/// How long a removal waits to delete a base it freed (else the base is kept).
const RELEASE_LOCK_WAIT: Duration = Duration::from_secs(30);
/// How often a held lock is tried again.
const LOCK_POLL: Duration = Duration::from_millis(100);
/// The most disk files read to count a base's users.
pub const MAX_SCANNED: usize = 10_000;

impl Dir {
    /// The directory of the bases.
    pub fn bases_dir(&self) -> PathBuf {
        self.root().join(BASES)
    }

    /// The exclusive lock of `.bases` (made if absent), held until the file is dropped;
    /// `None` if another process held it for `wait`, or an interrupt ended the wait.
    fn lock_bases(&self, wait: Duration) -> Result<Option<File>> {
        let dir = self.bases_dir();
        std::fs::create_dir_all(&dir).map_err(|e| io_error(dir.display(), e))?;
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| io_error(path.display(), e))?;
        let end = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Some(file)),
                Err(TryLockError::WouldBlock)
                    if Instant::now() < end && !shared::cmd::cancel::GLOBAL.stops_work() =>
                {
                    std::thread::sleep(LOCK_POLL)
                }
                Err(TryLockError::WouldBlock) => return Ok(None),
                Err(TryLockError::Error(e)) => return Err(io_error(path.display(), e)),
            }
        }
    }

    /// The base of disk `image` at its snapshot `snap` (which must exist on it and on its VM's
    /// system disk).
    pub fn base_path(&self, image: &str, snap: &str) -> Result<PathBuf> {
        let disk = self.disk_path(image)?;
        let src = vm::image_vm(image).unwrap_or_default();
        let system = VmIds::new(src).system_image();
        let at = self
            .qcow2_snaps(&system)?
            .into_iter()
            .find(|s| s.name == snap)
            .ok_or_else(|| StorageError::NotFound {
                what: format!("Snapshot {snap} of {}", self.image_label(&system)),
            })?;
        let file = disk.file_name().unwrap_or_default();
        Ok(self
            .bases_dir()
            .join(format!("{src}@{snap}@{}.{:09}", at.date_sec, at.date_nsec))
            .join(file))
    }

    /// Copy-on-write clone of `image@snap` into the new disk `dst`: its base is written unless
    /// it exists, then `dst` is made an overlay of it; a base written here is deleted again
    /// if the overlay fails.
    pub(super) fn cow_clone(&self, image: &str, snap: &str, dst: &str) -> Result<()> {
        let src = self.disk_path(image)?;
        if !self.has_snap(image, snap)? {
            return Err(StorageError::NotFound {
                what: format!("Snapshot {snap} of {}", src.display()),
            });
        }
        let base = self.base_path(image, snap)?;
        let _lock = self
            .lock_bases(CLONE_LOCK_WAIT)?
            .ok_or_else(|| StorageError::Io {
                what: format!(
                    "Locking {} (another clone held it, or an interrupt came)",
                    self.bases_dir().join(LOCK_FILE).display()
                ),
                source: std::io::Error::from(std::io::ErrorKind::TimedOut),
            })?;
        let written = !base.is_file();
        if written {
            write_base(&src, snap, &base)?;
        }
        let made = self.write_new_disk(dst, &mut |part| qcow2::create_overlay(&base, part));
        if made.is_err() && written {
            remove_base(&base);
        }
        made
    }

    /// The base under `.bases` that disk file `path` is an overlay of (`None` when it is not
    /// one, or cannot be read).
    pub(super) fn base_of(&self, path: &Path) -> Option<PathBuf> {
        qcow2::backing_file(path)
            .ok()
            .flatten()
            .filter(|b| b.starts_with(self.bases_dir()))
    }

    /// The bases VM `name`'s disks are overlays of (none for a VM that is no copy-on-write
    /// clone, or has no directory here).
    pub fn bases_of_vm(&self, name: &str) -> Result<Vec<PathBuf>> {
        if !self.vm_dir(name).is_dir() {
            return Ok(Vec::new());
        }
        let mut bases = Vec::new();
        for image in self.images_in(name)? {
            bases.extend(self.base_of(&self.disk_path(&image)?));
        }
        Ok(bases)
    }

    /// Deletes `base` (and its directory when empty) unless a disk still names it; keeps it
    /// when that cannot be told (see the module's documentation).
    pub(super) fn release_base(&self, base: &Path) -> Result<()> {
        let Some(_lock) = self.lock_bases(RELEASE_LOCK_WAIT)? else {
            return Ok(());
        };
        if self.base_users(base)? == 0 {
            remove_base(base);
        }
        Ok(())
    }

    /// How many disks name `base` as their backing file (at least 1 when that cannot be told).
    pub fn base_users(&self, base: &Path) -> Result<usize> {
        let mut scanned = 0usize;
        let mut users = 0usize;
        for name in self.vm_dirs()? {
            for image in self.images_in(&name)? {
                scanned = scanned.saturating_add(1);
                if scanned > MAX_SCANNED {
                    return Ok(users.max(1));
                }
                match qcow2::backing_file(&self.disk_path(&image)?) {
                    Ok(Some(b)) if b == base => users = users.saturating_add(1),
                    Ok(_) => {}
                    Err(_) => return Ok(users.max(1)),
                }
            }
        }
        Ok(users)
    }
}

/// Writes snapshot `snap` of `src` as the new read-only qcow2 file `base` (through a part file
/// beside it, removed on failure).
fn write_base(src: &Path, snap: &str, base: &Path) -> Result<()> {
    let dir = base.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir.display(), e))?;
    let file = base.file_name().unwrap_or_default().to_string_lossy();
    let part = dir.join(format!(".{file}.part-{}", std::process::id()));
    let written = qsnap::copy_qcow2(src, snap, &part, &mut |_| {})
        .map_err(from_qcow2)
        .and_then(|()| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&part, std::fs::Permissions::from_mode(0o444))
                .and_then(|()| std::fs::rename(&part, base))
                .map_err(|e| io_error(base.display(), e))
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&part);
        let _ = std::fs::remove_dir(dir);
    }
    written
}

/// Deletes `base`, the part files left in its directory by a base writer that was killed
/// (under the lock no writer runs), and the directory if that is then empty (a clean-up:
/// errors are ignored).
fn remove_base(base: &Path) {
    let _ = std::fs::remove_file(base);
    let Some(dir) = base.parent() else {
        return;
    };
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.contains(".part-") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}
