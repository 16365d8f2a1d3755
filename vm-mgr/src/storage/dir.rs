//! [`Storage`] on a directory every node sees (a cluster filesystem such as OCFS2 or GFS2 on
//! DRBD, NFS, CephFS): VM `NAME` is the one self-contained directory `ROOT/NAME/`:
//!
//! | file | what | [`Storage`] name |
//! |---|---|---|
//! | `system.qcow2` | system disk | image `system_NAME` |
//! | `data_N.qcow2` (N from 1) | additional disk N | image `data_NAME_{N-1}` |
//! | `domain.xml` | the final domain XML, which `ocf:vmmgr:VirtualDomain` starts from (`config`) | metadata key `xml` |
//! | `cib.xml` | the CIB fragment (`<vmmgr-fragment>`) | metadata key `_vmmgr_fragment` |
//! | `metadata.json` | every other metadata key (settings, base XML, user keys): one JSON object of strings | other keys |
//!
//! The directory is the RBD group's counterpart: creating the group makes it, removing the group
//! removes vm-mgr's files and the directory (never a file vm-mgr did not write). Every file is
//! written atomically (a temporary file in the same directory, synced, then renamed over the
//! old one) and read with a size cap ([`shared::fsread`]). Disks are made with `qemu-img` through
//! [`shared::qcow2`] (no command line here): an import converts into `.NAME.part` and renames it.
//!
//! Snapshots are internal qcow2 snapshots in the disk files (`dir_snapshots`; a running VM's
//! through QEMU's monitor); `clone --full` converts a snapshot into new qcow2 files. A
//! copy-on-write clone's disks are qcow2 overlays of a read-only base shared by the clones of
//! one snapshot, `ROOT/.bases/SRC@SNAP@STAMP/FILE`, deleted with its last clone
//! (`dir_bases`): the one thing outside a VM's directory that a VM needs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use shared::fsread;
use shared::qcow2::{self, Qcow2Error};

pub use super::dir_io::write_atomic;
use super::dir_io::{from_qcow2, io_error};
use super::{Backend, MonHost, Result, Storage, StorageError};
use crate::vm::{self, META_FRAGMENT, META_XML};

/// The domain XML file of a VM directory.
pub const XML_FILE: &str = "domain.xml";
/// The CIB fragment file.
pub const FRAGMENT_FILE: &str = "cib.xml";
/// The other metadata.
pub const META_FILE: &str = "metadata.json";
/// The system disk.
pub const SYSTEM_DISK: &str = "system.qcow2";

/// VMs in the directory `root`.
#[derive(Debug, Clone)]
pub struct Dir {
    root: PathBuf,
    /// `root` as text (the [`Storage::pool`]).
    label: String,
}

/// Which disk of which VM an image name means.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Disk {
    vm: String,
    /// `None`: the system disk; `Some(i)`: additional disk `i` (from 0).
    data: Option<usize>,
}

impl Disk {
    fn parse(image: &str) -> Option<Disk> {
        if let Some(vm) = image.strip_prefix("system_") {
            return vm::validate_name(vm).is_ok().then(|| Disk {
                vm: vm.to_owned(),
                data: None,
            });
        }
        let (vm, i) = image.strip_prefix("data_")?.rsplit_once('_')?;
        let ok = vm::validate_name(vm).is_ok() && !i.is_empty() && i.len() <= 4;
        let i: usize = i
            .parse()
            .ok()
            .filter(|_| ok && i.bytes().all(|b| b.is_ascii_digit()))?;
        Some(Disk {
            vm: vm.to_owned(),
            data: Some(i),
        })
    }

    fn file_name(&self) -> String {
        match self.data {
            None => SYSTEM_DISK.to_owned(),
            Some(i) => format!("data_{}.qcow2", i.saturating_add(1)),
        }
    }

    /// The image name of disk file `file` of VM `vm`.
    fn image_of(vm: &str, file: &str) -> Option<String> {
        if file == SYSTEM_DISK {
            return Some(format!("system_{vm}"));
        }
        let n = file.strip_prefix("data_")?.strip_suffix(".qcow2")?;
        let ok = !n.is_empty() && n.len() <= 4 && n.bytes().all(|b| b.is_ascii_digit());
        let n: usize = n.parse().ok().filter(|n| ok && *n >= 1)?;
        Some(format!("data_{vm}_{}", n - 1))
    }
}

impl Dir {
    /// VMs in `root`, which must be an absolute path (the same on every node).
    pub fn new(root: &Path) -> Result<Dir> {
        let label = root.to_string_lossy().into_owned();
        let bad = |reason| StorageError::InvalidSetting {
            what: "VM directory",
            value: label.clone(),
            reason,
        };
        if !root.is_absolute() {
            return Err(bad("it must be an absolute path, the same on every node"));
        }
        if root.to_str().is_none() || label.contains(['\n', '\'', '"', '<', '>', '&']) {
            return Err(bad(
                "it must be UTF-8 without quotes, newlines, '<', '>' or '&'",
            ));
        }
        Ok(Dir {
            root: root.to_owned(),
            label,
        })
    }

    /// The directory holding the VM directories.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of VM `name`.
    pub fn vm_dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// The domain XML file of VM `name` (the agent's `config`).
    pub fn xml_path(&self, name: &str) -> PathBuf {
        self.vm_dir(name).join(XML_FILE)
    }

    /// The file of `image` (`system_NAME` or `data_NAME_I`).
    pub fn disk_path(&self, image: &str) -> Result<PathBuf> {
        let d = Disk::parse(image).ok_or_else(|| StorageError::InvalidSetting {
            what: "disk",
            value: image.to_owned(),
            reason: "not a vm-mgr disk name (system_NAME or data_NAME_I)",
        })?;
        Ok(self.vm_dir(&d.vm).join(d.file_name()))
    }

    /// The VM whose metadata `image` holds (the system image only).
    fn meta_vm(&self, image: &str) -> Result<String> {
        match Disk::parse(image) {
            Some(Disk { vm, data: None }) => Ok(vm),
            _ => Err(StorageError::InvalidSetting {
                what: "metadata image",
                value: image.to_owned(),
                reason: "on the dir backend only the system disk has metadata",
            }),
        }
    }

    /// Names of the VM directories (subdirectories with a valid VM name).
    pub(super) fn vm_dirs(&self) -> Result<Vec<String>> {
        let entries = std::fs::read_dir(&self.root)
            .map_err(|e| io_error(format!("VM directory {}", self.label), e))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error(&self.label, e))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && vm::validate_name(&name).is_ok() {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// The disk images of VM directory `name`.
    pub(super) fn images_in(&self, name: &str) -> Result<Vec<String>> {
        let dir = self.vm_dir(name);
        let entries = std::fs::read_dir(&dir).map_err(|e| io_error(dir.display(), e))?;
        let mut images = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error(dir.display(), e))?;
            let file = entry.file_name();
            if let Some(image) = file.to_str().and_then(|f| Disk::image_of(name, f)) {
                images.push(image);
            }
        }
        images.sort();
        Ok(images)
    }

    /// The metadata file holding `key` of VM `vm`, and whether it is a whole-file key.
    fn key_file(&self, vm: &str, key: &str) -> (PathBuf, bool) {
        match key {
            META_XML => (self.vm_dir(vm).join(XML_FILE), true),
            META_FRAGMENT => (self.vm_dir(vm).join(FRAGMENT_FILE), true),
            _ => (self.vm_dir(vm).join(META_FILE), false),
        }
    }

    /// The text of `path`, `None` if it does not exist.
    fn read_opt(path: &Path) -> Result<Option<String>> {
        match fsread::read_text(path, fsread::XML_CAP) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(path.display(), e)),
        }
    }

    /// `metadata.json` of VM `vm` (empty if absent).
    fn read_meta_file(&self, vm: &str) -> Result<BTreeMap<String, String>> {
        let path = self.vm_dir(vm).join(META_FILE);
        match Self::read_opt(&path)? {
            None => Ok(BTreeMap::new()),
            Some(text) => serde_json::from_str(&text).map_err(|e| StorageError::Parse {
                what: path.display().to_string(),
                detail: e.to_string(),
            }),
        }
    }

    fn write_meta_file(&self, vm: &str, meta: &BTreeMap<String, String>) -> Result<()> {
        let path = self.vm_dir(vm).join(META_FILE);
        let text = serde_json::to_string_pretty(meta).map_err(|e| StorageError::Parse {
            what: path.display().to_string(),
            detail: e.to_string(),
        })?;
        write_atomic(&path, text.as_bytes()).map_err(|e| io_error(path.display(), e))
    }

    /// Makes the new disk `image`: `write` makes `.FILE.part` beside it, which is then renamed
    /// into place (removed on failure).
    pub(super) fn write_new_disk(
        &self,
        image: &str,
        write: &mut dyn FnMut(&Path) -> std::result::Result<(), Qcow2Error>,
    ) -> Result<()> {
        let dst = self.disk_path(image)?;
        if dst.exists() {
            return Err(StorageError::Exists {
                what: format!("Disk {}", dst.display()),
            });
        }
        let name = dst.file_name().unwrap_or_default().to_string_lossy();
        let part = dst.with_file_name(format!(".{name}.part"));
        let written = write(&part).map_err(from_qcow2);
        if let Err(e) = written
            .and_then(|()| std::fs::rename(&part, &dst).map_err(|e| io_error(dst.display(), e)))
        {
            let _ = std::fs::remove_file(&part);
            return Err(e);
        }
        Ok(())
    }

    /// Fails with `NotFound` unless VM `vm`'s system disk exists.
    fn require_system(&self, vm: &str) -> Result<()> {
        let path = self.vm_dir(vm).join(SYSTEM_DISK);
        if path.is_file() {
            Ok(())
        } else {
            Err(StorageError::NotFound {
                what: format!("Disk {}", path.display()),
            })
        }
    }
}

impl Storage for Dir {
    fn backend(&self) -> Backend {
        Backend::Dir
    }
    fn dir(&self) -> Option<&Dir> {
        Some(self)
    }
    fn pool(&self) -> &str {
        &self.label
    }
    fn client_id(&self) -> &str {
        "-"
    }
    fn image_label(&self, image: &str) -> String {
        match self.disk_path(image) {
            Ok(p) => p.display().to_string(),
            Err(_) => format!("{}/{image}", self.label),
        }
    }

    fn list_images(&self) -> Result<Vec<String>> {
        let mut all = Vec::new();
        for name in self.vm_dirs()? {
            all.extend(self.images_in(&name)?);
        }
        Ok(all)
    }

    fn image_exists(&self, image: &str) -> Result<bool> {
        Ok(self.disk_path(image)?.is_file())
    }

    fn list_groups(&self) -> Result<Vec<String>> {
        self.vm_dirs()
    }

    fn create_group(&self, group: &str) -> Result<()> {
        vm::validate_name(group).map_err(|_| StorageError::InvalidSetting {
            what: "VM directory name",
            value: group.to_owned(),
            reason: "not a VM name",
        })?;
        let dir = self.vm_dir(group);
        std::fs::create_dir(&dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => StorageError::Exists {
                what: format!("Directory {}", dir.display()),
            },
            _ => io_error(format!("VM directory {}", self.label), e),
        })
    }

    fn remove_group(&self, group: &str) -> Result<()> {
        let dir = self.vm_dir(group);
        if !dir.is_dir() {
            return Ok(());
        }
        let mut ours: Vec<String> = [XML_FILE, FRAGMENT_FILE, META_FILE]
            .map(str::to_owned)
            .to_vec();
        // what an import or a write killed half-way leaves: `.F.part`, `.F.tmp-PID`
        let entries = std::fs::read_dir(&dir).map_err(|e| io_error(dir.display(), e))?;
        ours.extend(
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|f| f.starts_with('.') && (f.ends_with(".part") || f.contains(".tmp-"))),
        );
        for f in ours {
            match std::fs::remove_file(dir.join(&f)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io_error(dir.join(&f).display(), e))
                }
                _ => {}
            }
        }
        std::fs::remove_dir(&dir).map_err(|e| StorageError::Io {
            what: format!(
                "{} (vm-mgr removes only its own files; what is left there is not)",
                dir.display()
            ),
            source: e,
        })
    }

    fn group_images(&self, group: &str) -> Result<Vec<String>> {
        if !self.vm_dir(group).is_dir() {
            return Ok(Vec::new());
        }
        self.images_in(group)
    }

    fn group_add(&self, group: &str, image: &str) -> Result<()> {
        // Membership is the location: the disk must be in the VM's directory.
        match Disk::parse(image) {
            Some(d) if d.vm == group => Ok(()),
            _ => Err(StorageError::InvalidSetting {
                what: "disk",
                value: image.to_owned(),
                reason: "a disk belongs to the VM whose directory holds it",
            }),
        }
    }

    fn group_remove(&self, group: &str, image: &str) -> Result<()> {
        self.group_add(group, image)
    }

    fn probe_format(&self, path: &Path) -> Result<String> {
        super::importable(path, qcow2::probe_format(path).map_err(from_qcow2)?)
    }

    fn import(
        &self,
        path: &Path,
        format: &str,
        image: &str,
        progress: &mut dyn FnMut(Option<f64>),
    ) -> Result<()> {
        self.write_new_disk(image, &mut |part| {
            qcow2::convert_to_qcow2(path, format, part, progress)
        })
    }

    fn remove_image(&self, image: &str) -> Result<()> {
        let path = self.disk_path(image)?;
        let base = path.is_file().then(|| self.base_of(&path)).flatten();
        std::fs::remove_file(&path).map_err(|e| io_error(format!("Disk {}", path.display()), e))?;
        match base {
            Some(b) => self.release_base(&b),
            None => Ok(()),
        }
    }

    fn meta_list(&self, image: &str) -> Result<BTreeMap<String, String>> {
        let vm = self.meta_vm(image)?;
        self.require_system(&vm)?;
        let mut meta = self.read_meta_file(&vm)?;
        for key in [META_XML, META_FRAGMENT] {
            if let Some(v) = Self::read_opt(&self.key_file(&vm, key).0)? {
                meta.insert(key.to_owned(), v);
            }
        }
        Ok(meta)
    }

    fn meta_get(&self, image: &str, key: &str) -> Result<Option<String>> {
        let vm = self.meta_vm(image)?;
        self.require_system(&vm)?;
        match self.key_file(&vm, key) {
            (path, true) => Self::read_opt(&path),
            (_, false) => Ok(self.read_meta_file(&vm)?.remove(key)),
        }
    }

    fn meta_set(&self, image: &str, key: &str, value: &str) -> Result<()> {
        let vm = self.meta_vm(image)?;
        self.require_system(&vm)?;
        match self.key_file(&vm, key) {
            (path, true) => {
                write_atomic(&path, value.as_bytes()).map_err(|e| io_error(path.display(), e))
            }
            (_, false) => {
                let mut meta = self.read_meta_file(&vm)?;
                meta.insert(key.to_owned(), value.to_owned());
                self.write_meta_file(&vm, &meta)
            }
        }
    }

    fn meta_remove(&self, image: &str, key: &str) -> Result<()> {
        let vm = self.meta_vm(image)?;
        self.require_system(&vm)?;
        match self.key_file(&vm, key) {
            (path, true) => match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(io_error(path.display(), e))
                }
                _ => Ok(()),
            },
            (_, false) => {
                let mut meta = self.read_meta_file(&vm)?;
                if meta.remove(key).is_some() {
                    self.write_meta_file(&vm, &meta)?;
                }
                Ok(())
            }
        }
    }

    fn mon_hosts(&self) -> Result<Vec<MonHost>> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
#[path = "dir_tests.rs"]
mod tests;
