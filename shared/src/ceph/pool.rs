//! The calls a VM manager makes on a pool: images (list, remove), groups and their images,
//! image metadata, and the monitors' addresses. Methods of [`Ceph`].

use super::client::Ceph;
use super::error::CephError;
use super::names::{validate_name, GroupSpec, ImageSpec};
use super::types::{self, MonHost};

/// `pool[/namespace]`, validated.
pub(super) fn pool_spec(pool: &str, namespace: &str) -> Result<String, CephError> {
    validate_name("pool", pool)?;
    if namespace.is_empty() {
        return Ok(pool.to_string());
    }
    validate_name("pool namespace", namespace)?;
    Ok(format!("{pool}/{namespace}"))
}

impl Ceph {
    /// `rbd ls --format json POOL[/NS]`: the image names.
    pub fn images(&self, pool: &str, namespace: &str) -> Result<Vec<String>, CephError> {
        let c = self
            .rbd()
            .args(["ls", "--format", "json"])
            .arg(pool_spec(pool, namespace)?);
        self.parse(c, |t| types::parse_names("rbd ls", t))
    }

    /// `rbd group list --format json POOL[/NS]`: the group names.
    pub fn groups(&self, pool: &str, namespace: &str) -> Result<Vec<String>, CephError> {
        let c = self
            .rbd()
            .args(["group", "list", "--format", "json"])
            .arg(pool_spec(pool, namespace)?);
        self.parse(c, types::parse_group_list)
    }

    /// `rbd group create GROUP` ([`CephError::Exists`] if it exists).
    pub fn group_create(&self, group: &GroupSpec) -> Result<(), CephError> {
        let c = self.rbd().args(["group", "create"]).arg(group.to_string());
        self.run(c).map(drop)
    }

    /// `rbd group rm GROUP`: removes the group and its group snapshots. Note: Ceph 16.2.15
    /// exits 0 for a missing group.
    pub fn group_remove(&self, group: &GroupSpec) -> Result<(), CephError> {
        let c = self.rbd().args(["group", "rm"]).arg(group.to_string());
        self.run(c).map(drop)
    }

    /// `rbd group image add GROUP IMAGE`.
    pub fn group_image_add(&self, group: &GroupSpec, image: &ImageSpec) -> Result<(), CephError> {
        let c = self
            .rbd()
            .args(["group", "image", "add"])
            .arg(group.to_string())
            .arg(image.image_path());
        self.run(c).map(drop)
    }

    /// `rbd group image remove GROUP IMAGE`.
    pub fn group_image_remove(
        &self,
        group: &GroupSpec,
        image: &ImageSpec,
    ) -> Result<(), CephError> {
        let c = self
            .rbd()
            .args(["group", "image", "remove"])
            .arg(group.to_string())
            .arg(image.image_path());
        self.run(c).map(drop)
    }

    /// `rbd snap purge --no-progress IMAGE`: removes the image's user snapshots (not the
    /// `.group.*` ones of group snapshots).
    pub fn snap_purge(&self, image: &ImageSpec) -> Result<(), CephError> {
        let c = self
            .rbd_long()
            .args(["snap", "purge", "--no-progress"])
            .arg(image.image_path());
        self.run(c).map(drop)
    }

    /// `rbd rm --no-progress IMAGE` (fails with errno 39 while it has snapshots, 31 while it is
    /// in a group).
    pub fn image_remove(&self, image: &ImageSpec) -> Result<(), CephError> {
        let c = self
            .rbd_long()
            .args(["rm", "--no-progress"])
            .arg(image.image_path());
        self.run(c).map(drop)
    }

    /// `rbd image-meta remove IMAGE KEY` ([`CephError::NotFound`] for a missing image or key).
    pub fn meta_remove(&self, image: &ImageSpec, key: &str) -> Result<(), CephError> {
        validate_name("metadata key", key)?;
        let c = self
            .rbd()
            .args(["image-meta", "remove"])
            .arg(image.image_path())
            .arg(key);
        self.run(c).map(drop)
    }

    /// `ceph mon dump --format json`: the monitors' msgr v1 addresses.
    pub fn mon_hosts(&self) -> Result<Vec<MonHost>, CephError> {
        let c = self.ceph().args(["mon", "dump", "--format", "json"]);
        self.parse(c, types::parse_mon_dump)
    }
}
