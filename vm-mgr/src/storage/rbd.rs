//! [`Storage`] on Ceph RBD: a thin adapter over [`shared::ceph::Ceph`], which builds every
//! `rbd`/`ceph`/`qemu-img` command line, validates names, classifies errors and parses
//! outputs. This file only maps vm-mgr's names to specs in its pool, and the few answers whose
//! meaning the [`Storage`] contract fixes (a missing group lists as empty, removing what is
//! gone succeeds, ENOENT names what is missing).
//!
//! Every call is bounded by [`Timeouts::INTERACTIVE`]: with the monitors unreachable a call
//! gives up after its 10 s mount timeout and the error says "Ceph does not answer".

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use shared::ceph::{
    import, validate_conf_path, validate_name, validate_user, Ceph, CephError, Conn, GroupSpec,
    ImageSpec, Timeouts,
};

use super::{MonHost, Result, Storage, StorageError, TrashEntry};

/// Connection settings and the pool.
#[derive(Debug, Clone)]
pub struct Rbd {
    ceph: Ceph,
    pool: String,
    id: String,
    mon_hosts: Option<Vec<MonHost>>,
}

/// `r`, with ENOENT as [`StorageError::NotFound`] naming `what`.
pub(super) fn named<T>(
    r: std::result::Result<T, CephError>,
    what: impl FnOnce() -> String,
) -> Result<T> {
    match r {
        Err(e) if e.is_not_found() => Err(StorageError::NotFound { what: what() }),
        Err(e) if e.is_exists() => Err(StorageError::Exists { what: what() }),
        other => Ok(other?),
    }
}

/// An error about a local image file as vm-mgr words it; any other error as it is.
fn image_file(e: CephError) -> StorageError {
    match e {
        CephError::UnreadableImage { path, detail } => {
            StorageError::ImageUnreadable { path, detail }
        }
        other => other.into(),
    }
}

/// `r`, with ENOENT as success (removing what is already gone).
pub(super) fn gone_is_ok(r: std::result::Result<(), CephError>) -> Result<()> {
    match r {
        Err(e) if e.is_not_found() => Ok(()),
        other => Ok(other?),
    }
}

impl Rbd {
    /// Storage in `pool`, with an optional Ceph configuration file, as client `id`; `mon_hosts`
    /// overrides what `ceph mon dump` says.
    pub fn new(
        pool: &str,
        conf: Option<PathBuf>,
        id: &str,
        mon_hosts: Option<Vec<MonHost>>,
    ) -> Result<Rbd> {
        validate_name("pool", pool)?;
        validate_user(id)?;
        if let Some(c) = &conf {
            validate_conf_path(c)?;
        }
        let conn = Conn {
            conf,
            user: Some(id.to_owned()),
            ..Conn::default()
        };
        Ok(Rbd {
            ceph: Ceph::per_call(conn, Timeouts::INTERACTIVE),
            pool: pool.to_owned(),
            id: id.to_owned(),
            mon_hosts,
        })
    }

    /// The Ceph layer this storage uses.
    pub fn ceph(&self) -> &Ceph {
        &self.ceph
    }

    /// `pool/name`.
    pub(super) fn image(&self, name: &str) -> Result<ImageSpec> {
        Ok(ImageSpec::new(&self.pool, "", name, "")?)
    }

    /// `pool/name@snap`.
    pub(super) fn snap(&self, name: &str, snap: &str) -> Result<ImageSpec> {
        Ok(ImageSpec::new(&self.pool, "", name, snap)?)
    }

    /// `pool/group`.
    pub(super) fn group(&self, name: &str) -> Result<GroupSpec> {
        Ok(GroupSpec::new(&self.pool, "", name)?)
    }
}

impl Storage for Rbd {
    fn pool(&self) -> &str {
        &self.pool
    }

    fn client_id(&self) -> &str {
        &self.id
    }

    fn list_images(&self) -> Result<Vec<String>> {
        named(self.ceph.images(&self.pool, ""), || {
            format!("Pool {}", self.pool)
        })
    }

    fn image_exists(&self, image: &str) -> Result<bool> {
        match self.ceph.image_info(&self.image(image)?) {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn list_groups(&self) -> Result<Vec<String>> {
        named(self.ceph.groups(&self.pool, ""), || {
            format!("Pool {}", self.pool)
        })
    }

    fn create_group(&self, group: &str) -> Result<()> {
        let g = self.group(group)?;
        named(self.ceph.group_create(&g), || format!("RBD group {g}"))
    }

    fn remove_group(&self, group: &str) -> Result<()> {
        gone_is_ok(self.ceph.group_remove(&self.group(group)?))
    }

    fn group_images(&self, group: &str) -> Result<Vec<String>> {
        match self.ceph.group_images(&self.group(group)?) {
            Ok(images) => Ok(images
                .into_iter()
                .filter(|i| i.pool == self.pool && i.namespace.is_empty())
                .map(|i| i.image)
                .collect()),
            // the contract: a missing group has no images
            Err(e) if e.is_not_found() => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }

    fn group_add(&self, group: &str, image: &str) -> Result<()> {
        let (g, i) = (self.group(group)?, self.image(image)?);
        named(self.ceph.group_image_add(&g, &i), || {
            format!("RBD group {g} or image {i}")
        })
    }

    fn group_remove(&self, group: &str, image: &str) -> Result<()> {
        let (g, i) = (self.group(group)?, self.image(image)?);
        named(self.ceph.group_image_remove(&g, &i), || {
            format!("Image {i} in RBD group {g}")
        })
    }

    fn probe_format(&self, path: &Path) -> Result<String> {
        super::importable(path, import::probe_format(path).map_err(image_file)?)
    }

    fn import(
        &self,
        path: &Path,
        format: &str,
        image: &str,
        progress: &mut dyn FnMut(Option<f64>),
    ) -> Result<()> {
        self.ceph
            .import(path, format, &self.image(image)?, progress)
            .map_err(image_file)
    }

    fn remove_image(&self, image: &str) -> Result<()> {
        let spec = self.image(image)?;
        let what = || format!("RBD image {spec}");
        named(self.ceph.snap_purge(&spec), what)?;
        named(self.ceph.image_remove(&spec), what)
    }

    fn meta_list(&self, image: &str) -> Result<BTreeMap<String, String>> {
        let spec = self.image(image)?;
        named(self.ceph.meta_list(&spec), || format!("RBD image {spec}"))
    }

    fn meta_get(&self, image: &str, key: &str) -> Result<Option<String>> {
        // one call, and the value exactly as stored (the JSON list does not add a newline)
        Ok(self.meta_list(image)?.remove(key))
    }

    fn meta_set(&self, image: &str, key: &str, value: &str) -> Result<()> {
        let spec = self.image(image)?;
        named(self.ceph.meta_set(&spec, key, value), || {
            format!("RBD image {spec}")
        })
    }

    fn meta_remove(&self, image: &str, key: &str) -> Result<()> {
        let spec = self.image(image)?;
        match self.ceph.meta_remove(&spec, key) {
            Err(e) if e.is_not_found() && !self.image_exists(image)? => {
                Err(StorageError::NotFound {
                    what: format!("RBD image {spec}"),
                })
            }
            other => gone_is_ok(other),
        }
    }

    fn mon_hosts(&self) -> Result<Vec<MonHost>> {
        match &self.mon_hosts {
            Some(h) => Ok(h.clone()),
            None => Ok(self.ceph.mon_hosts()?),
        }
    }

    fn trash_move(&self, image: &str, expires_at: i64) -> Result<()> {
        let spec = self.image(image)?;
        named(self.ceph.trash_move(&spec, expires_at), || {
            format!("RBD image {spec}")
        })
    }

    fn trash_list(&self) -> Result<Vec<TrashEntry>> {
        named(self.ceph.trash_list(&self.pool, ""), || {
            format!("Pool {}", self.pool)
        })
    }

    fn trash_restore(&self, id: &str) -> Result<()> {
        named(self.ceph.trash_restore(&self.pool, "", id), || {
            format!("Image id {id} in the trash of pool {}", self.pool)
        })
    }

    fn trash_remove(&self, id: &str) -> Result<()> {
        named(self.ceph.trash_remove(&self.pool, "", id), || {
            format!("Image id {id} in the trash of pool {}", self.pool)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_and_carried() {
        let r = Rbd::new("rbd", Some("/etc/ceph/c.conf".into()), "libvirt", None).unwrap();
        let conn = r.ceph().conn();
        assert_eq!(conn.conf.as_deref(), Some(Path::new("/etc/ceph/c.conf")));
        assert_eq!(conn.user.as_deref(), Some("libvirt"));
        assert_eq!(
            r.ceph().bound(),
            shared::ceph::Bound::PerCall(Timeouts::INTERACTIVE)
        );
        assert_eq!(r.image("system_a").unwrap().to_string(), "rbd/system_a");
        assert_eq!(
            r.snap("system_a", "s1").unwrap().to_string(),
            "rbd/system_a@s1"
        );
        assert!(r.image("a/b").is_err());
        assert!(r.group("-g").is_err());
        assert!(Rbd::new("rbd;x", None, "admin", None).is_err());
        assert!(Rbd::new("-rbd", None, "admin", None).is_err());
        assert!(Rbd::new("rbd", None, "a:b", None).is_err());
        assert!(Rbd::new("rbd", Some("rel.conf".into()), "admin", None).is_err());
        assert!(Rbd::new("rbd", Some("/a:b".into()), "admin", None).is_err());
        // a refused setting is the user's input (exit code 2)
        let e = Rbd::new("rbd;x", None, "admin", None).unwrap_err();
        assert!(e.is_invalid_input(), "{e}");
    }

    #[test]
    fn a_missing_image_file_is_the_users_input() {
        let r = Rbd::new("rbd", None, "admin", None).unwrap();
        let e = r
            .probe_format(Path::new("/var/tmp/vmmgr-unit-nosuch.qcow2"))
            .unwrap_err();
        assert!(matches!(e, StorageError::ImageUnreadable { .. }), "{e:?}");
        assert!(e.is_invalid_input());
        assert!(e.to_string().starts_with("Cannot use image"), "{e}");
    }
}
