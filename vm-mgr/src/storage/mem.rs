//! An in-memory [`Storage`] for tests: images with metadata and groups, and a journal of the
//! calls that changed something.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;

use super::{MonHost, Result, Storage, StorageError, TrashEntry};

#[path = "mem_snapshots.rs"]
mod snap;

/// In-memory storage.
#[derive(Debug, Default)]
pub struct Memory {
    state: RefCell<State>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct State {
    images: BTreeMap<String, BTreeMap<String, String>>,
    groups: BTreeMap<String, Vec<String>>,
    journal: Vec<String>,
    fail_import: bool,
    snaps: snap::SnapState,
    /// Trashed images: the entry and the metadata kept with it.
    trash: Vec<(TrashEntry, BTreeMap<String, String>)>,
}

impl State {
    /// Where trashed image `id` is in the trash.
    fn trashed(&self, id: &str) -> Result<usize> {
        self.trash
            .iter()
            .position(|(e, _)| e.id == id)
            .ok_or_else(|| Memory::missing(id))
    }
}

impl Memory {
    /// Empty storage.
    pub fn new() -> Memory {
        Memory::default()
    }

    /// Adds an image with metadata.
    pub fn with_image(self, image: &str, meta: &[(&str, &str)]) -> Memory {
        self.state.borrow_mut().images.insert(
            image.to_owned(),
            meta.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        self
    }

    /// Makes every import fail.
    pub fn failing_imports(self) -> Memory {
        self.state.borrow_mut().fail_import = true;
        self
    }

    /// The changes made so far ("create-group g", "import x.qcow2 system_a", ...).
    pub fn journal(&self) -> Vec<String> {
        self.state.borrow().journal.clone()
    }

    /// Image names.
    pub fn images(&self) -> Vec<String> {
        self.state.borrow().images.keys().cloned().collect()
    }

    fn log(&self, entry: String) {
        self.state.borrow_mut().journal.push(entry);
    }

    fn missing(what: &str) -> StorageError {
        StorageError::NotFound {
            what: what.to_owned(),
        }
    }
}

impl Storage for Memory {
    fn pool(&self) -> &str {
        "rbd"
    }
    fn client_id(&self) -> &str {
        "admin"
    }
    fn list_images(&self) -> Result<Vec<String>> {
        Ok(self.images())
    }
    fn image_exists(&self, image: &str) -> Result<bool> {
        Ok(self.state.borrow().images.contains_key(image))
    }
    fn list_groups(&self) -> Result<Vec<String>> {
        Ok(self.state.borrow().groups.keys().cloned().collect())
    }
    fn create_group(&self, group: &str) -> Result<()> {
        self.log(format!("create-group {group}"));
        self.state
            .borrow_mut()
            .groups
            .insert(group.to_owned(), Vec::new());
        Ok(())
    }
    fn remove_group(&self, group: &str) -> Result<()> {
        self.log(format!("remove-group {group}"));
        self.state.borrow_mut().groups.remove(group);
        Ok(())
    }
    fn group_images(&self, group: &str) -> Result<Vec<String>> {
        Ok(self
            .state
            .borrow()
            .groups
            .get(group)
            .cloned()
            .unwrap_or_default())
    }
    fn group_add(&self, group: &str, image: &str) -> Result<()> {
        self.log(format!("group-add {group} {image}"));
        let mut s = self.state.borrow_mut();
        s.groups
            .get_mut(group)
            .ok_or_else(|| Memory::missing(group))?
            .push(image.to_owned());
        Ok(())
    }
    fn group_remove(&self, group: &str, image: &str) -> Result<()> {
        self.log(format!("group-remove {group} {image}"));
        let mut s = self.state.borrow_mut();
        s.groups
            .get_mut(group)
            .ok_or_else(|| Memory::missing(group))?
            .retain(|i| i != image);
        Ok(())
    }
    fn probe_format(&self, path: &Path) -> Result<String> {
        std::fs::File::open(path).map_err(|e| StorageError::ImageUnreadable {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
        Ok(if path.extension().is_some_and(|e| e == "raw") {
            "raw".into()
        } else {
            "qcow2".into()
        })
    }
    fn import(
        &self,
        path: &Path,
        format: &str,
        image: &str,
        progress: &mut dyn FnMut(Option<f64>),
    ) -> Result<()> {
        progress(None);
        self.log(format!("import {} {format} {image}", path.display()));
        if self.state.borrow().fail_import {
            return Err(StorageError::Parse {
                what: "qemu-img convert".into(),
                detail: "simulated failure".into(),
            });
        }
        self.state
            .borrow_mut()
            .images
            .insert(image.to_owned(), BTreeMap::new());
        Ok(())
    }
    fn remove_image(&self, image: &str) -> Result<()> {
        self.log(format!("remove-image {image}"));
        self.state
            .borrow_mut()
            .images
            .remove(image)
            .map(drop)
            .ok_or_else(|| Memory::missing(image))
    }
    fn meta_list(&self, image: &str) -> Result<BTreeMap<String, String>> {
        self.state
            .borrow()
            .images
            .get(image)
            .cloned()
            .ok_or_else(|| Memory::missing(image))
    }
    fn meta_get(&self, image: &str, key: &str) -> Result<Option<String>> {
        Ok(self.meta_list(image)?.remove(key))
    }
    fn meta_set(&self, image: &str, key: &str, value: &str) -> Result<()> {
        self.log(format!("meta-set {image} {key}"));
        self.check_meta(key, value)?;
        self.state
            .borrow_mut()
            .images
            .get_mut(image)
            .ok_or_else(|| Memory::missing(image))?
            .insert(key.to_owned(), value.to_owned());
        Ok(())
    }
    fn meta_remove(&self, image: &str, key: &str) -> Result<()> {
        self.log(format!("meta-remove {image} {key}"));
        self.state
            .borrow_mut()
            .images
            .get_mut(image)
            .ok_or_else(|| Memory::missing(image))?
            .remove(key);
        Ok(())
    }
    fn trash_move(&self, image: &str, expires_at: i64) -> Result<()> {
        self.log(format!("trash-move {image} {expires_at}"));
        let mut s = self.state.borrow_mut();
        let meta = s
            .images
            .remove(image)
            .ok_or_else(|| Memory::missing(image))?;
        let id = format!("id{}", s.trash.len() + 1);
        let now = i64::try_from(shared::clock::unix_secs()).unwrap_or(i64::MAX);
        let entry = TrashEntry {
            id,
            name: image.to_owned(),
            source: "USER".into(),
            deleted_at: now,
            expires_at,
            expired: expires_at <= now,
        };
        s.trash.push((entry, meta));
        Ok(())
    }
    fn trash_list(&self) -> Result<Vec<TrashEntry>> {
        Ok(self
            .state
            .borrow()
            .trash
            .iter()
            .map(|(e, _)| e.clone())
            .collect())
    }
    fn trash_restore(&self, id: &str) -> Result<()> {
        self.log(format!("trash-restore {id}"));
        let mut s = self.state.borrow_mut();
        let at = s.trashed(id)?;
        if s.images.contains_key(&s.trash[at].0.name) {
            return Err(StorageError::Exists {
                what: s.trash[at].0.name.clone(),
            });
        }
        let (e, meta) = s.trash.remove(at);
        s.images.insert(e.name, meta);
        Ok(())
    }
    fn trash_remove(&self, id: &str) -> Result<()> {
        self.log(format!("trash-remove {id}"));
        let mut s = self.state.borrow_mut();
        let at = s.trashed(id)?;
        s.trash.remove(at);
        Ok(())
    }
    fn mon_hosts(&self) -> Result<Vec<MonHost>> {
        Ok(vec![MonHost {
            host: "10.78.0.254".into(),
            port: 6789,
        }])
    }
}
