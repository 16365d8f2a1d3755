//! [`Ceph`]'s calls on an object's `rados` lock (the disk guard's lock object): through the
//! agent's librados connection when it has one, else `rados lock`.

use super::super::names::ObjectSpec;
use super::super::types::{self, ObjectLock};
use super::{Ceph, CephError, LockType};

impl Ceph {
    /// `rados lock info OBJ NAME --format json`.
    pub fn object_lock_info(&self, obj: &ObjectSpec, name: &str) -> Result<ObjectLock, CephError> {
        if let Some((n, d)) = self.native() {
            return n.object_lock_info(d, obj, name);
        }
        let c = self
            .rados(&obj.pool, &obj.namespace)
            .args(["lock", "info"])
            .args([&obj.object, name])
            .args(["--format", "json"]);
        self.parse(c, types::parse_object_lock)
    }

    /// `rados lock get OBJ NAME --lock-type T --lock-tag TAG --lock-cookie C
    /// --lock-description D`: [`CephError::Busy`] when someone else holds it. The object must
    /// exist (cls_lock would create it).
    pub fn object_lock_get(
        &self,
        obj: &ObjectSpec,
        name: &str,
        lock_type: LockType,
        tag: &str,
        cookie: &str,
        description: &str,
    ) -> Result<(), CephError> {
        if let Some((n, d)) = self.native() {
            if lock_type == LockType::Exclusive {
                return n.object_lock_exclusive(d, obj, name, cookie, description);
            }
        }
        let kind = match lock_type {
            LockType::Exclusive => "exclusive",
            LockType::Shared => "shared",
        };
        let c = self
            .rados(&obj.pool, &obj.namespace)
            .args(["lock", "get"])
            .args([&obj.object, name])
            .args([
                "--lock-type",
                kind,
                "--lock-tag",
                tag,
                "--lock-cookie",
                cookie,
            ])
            .args(["--lock-description", description]);
        self.run(c).map(drop)
    }

    /// `rados lock break OBJ NAME LOCKER --lock-cookie C` ([`CephError::NotFound`] when that
    /// holder does not hold it). Does not blocklist anything.
    pub fn object_lock_break(
        &self,
        obj: &ObjectSpec,
        name: &str,
        locker: &str,
        cookie: &str,
    ) -> Result<(), CephError> {
        if let Some((n, d)) = self.native() {
            return n.object_lock_break(d, obj, name, locker, cookie);
        }
        let c = self
            .rados(&obj.pool, &obj.namespace)
            .args(["lock", "break"])
            .args([&obj.object, name, locker])
            .args(["--lock-cookie", cookie]);
        self.run(c).map(drop)
    }
}
