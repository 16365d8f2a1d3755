//! [`Ceph`]: the calls to `rbd`, `rados` and `ceph`, each bounded by a deadline.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::bound::{Bound, Span, Timeouts};
use super::error::CephError;
use super::names::{validate_name, ClientAddr, GroupSpec, ImageSpec, ObjectSpec};
use super::native::Native;
use super::types::{self, GroupImage, ImageInfo, MappedDevice, RbdLock, Watcher};
use crate::cmd::{Cmd, CmdError};

/// The `rados lock` calls (the guard's lock object).
#[path = "client_locks.rs"]
mod locks;

/// How long the address of a killed writer of a new image stays blocklisted ([`Ceph::written`]).
const FENCE_FOR: Duration = Duration::from_secs(600);

/// The longest metadata value [`Ceph::meta_set`] takes, in bytes. `rbd image-meta set` (Ceph
/// 16) reads the value only from its command line, and Linux refuses to start a program with
/// one argument longer than `MAX_ARG_STRLEN` (32 pages: 131,072 bytes with the final NUL on
/// x86_64; `E2BIG`). A larger domain XML cannot be stored this way: it is refused up front.
pub const META_VALUE_MAX: usize = 131_071;

/// Whether `value` can be stored under metadata key `key` with `rbd image-meta set`: at most
/// [`META_VALUE_MAX`] bytes, no NUL (which no argument can carry).
pub fn check_meta_value(key: &str, value: &str) -> Result<(), CephError> {
    let reason = if value.len() > META_VALUE_MAX {
        "is too long"
    } else if value.contains('\0') {
        "holds a NUL byte"
    } else {
        return Ok(());
    };
    Err(CephError::InvalidValue {
        key: key.to_owned(),
        reason,
        len: value.len(),
        max: META_VALUE_MAX,
    })
}

/// How long a killed Ceph tool gets between SIGTERM and SIGKILL (`rbd` may ignore SIGTERM
/// while it waits for a lock, so the grace is kept short).
const KILL_GRACE: Duration = Duration::from_millis(500);

/// How to reach the cluster: the options every call carries.
///
/// The cephx key is only ever given as a file (`--keyfile`, holding the base64 key, or
/// `--keyring`), never as a value on the argv, where any local user could read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conn {
    /// `-c`: the configuration file.
    pub conf: Option<PathBuf>,
    /// `-m`: monitor address(es), overriding the configuration.
    pub mon: Option<String>,
    /// `--id`: the cephx user without `client.`.
    pub user: Option<String>,
    /// `--keyfile`: a file holding the user's base64 key.
    pub keyfile: Option<PathBuf>,
    /// `--keyring`: a keyring file.
    pub keyring: Option<PathBuf>,
}

impl Conn {
    /// The options as argv words.
    pub fn args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        if let Some(c) = &self.conf {
            a.extend(["-c".into(), c.into()]);
        }
        if let Some(m) = &self.mon {
            a.extend(["-m".into(), m.into()]);
        }
        if let Some(u) = &self.user {
            a.extend(["--id".into(), u.into()]);
        }
        if let Some(k) = &self.keyfile {
            a.extend(["--keyfile".into(), k.into()]);
        }
        if let Some(k) = &self.keyring {
            a.extend(["--keyring".into(), k.into()]);
        }
        a
    }
}

/// Block device driver of `rbd device map`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceType {
    /// The kernel RBD driver (`/dev/rbdN`).
    Krbd,
    /// `rbd-nbd` (`/dev/nbdN`).
    Nbd,
}

impl DeviceType {
    /// The `--device-type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceType::Krbd => "krbd",
            DeviceType::Nbd => "nbd",
        }
    }
}

/// cls_lock lock type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockType {
    /// One holder.
    Exclusive,
    /// Several holders sharing one tag.
    Shared,
}

/// The Ceph tools with connection options and a bound on every call.
#[derive(Debug, Clone)]
pub struct Ceph {
    conn: Conn,
    bound: Bound,
    /// librados/librbd for the agents' hot calls ([`Ceph::agent`]), when loadable.
    native: Option<Arc<Native>>,
}

impl Ceph {
    /// Calls made through this value are killed at `deadline`.
    pub fn new(conn: Conn, deadline: Instant) -> Ceph {
        Ceph {
            conn,
            bound: Bound::Deadline(deadline),
            native: None,
        }
    }

    /// Like [`Ceph::new`], for an agent action: the calls of the failover path (group members,
    /// image ids, guard and `rbd_lock` locks, watchers, blocklist, metadata) go through ONE
    /// librados connection of this value and its clones ([`native`](super::native)), made on
    /// the first such call; when librados/librbd cannot be loaded, through the tools.
    pub fn agent(conn: Conn, deadline: Instant) -> Ceph {
        let native = Native::load(&conn).map(Arc::new);
        Ceph {
            native,
            ..Ceph::new(conn, deadline)
        }
    }

    /// Whether the calls go through librados ([`Ceph::agent`] with the libraries loaded).
    pub fn is_native(&self) -> bool {
        self.native.is_some()
    }

    /// The native layer and the deadline of its calls.
    pub(super) fn native(&self) -> Option<(&Arc<Native>, Instant)> {
        match (&self.native, self.bound) {
            (Some(n), Bound::Deadline(d)) => Some((n, d)),
            _ => None,
        }
    }

    /// Each call made through this value is bounded by `timeouts`.
    pub fn per_call(conn: Conn, timeouts: Timeouts) -> Ceph {
        Ceph {
            conn,
            bound: Bound::PerCall(timeouts),
            native: None,
        }
    }

    /// The connection options.
    pub fn conn(&self) -> &Conn {
        &self.conn
    }

    /// The bound of the calls.
    pub fn bound(&self) -> Bound {
        self.bound
    }

    /// The mount/connect timeout in whole seconds, at least 1.
    pub(super) fn mount_secs(&self) -> u64 {
        self.bound.mount_secs()
    }

    fn mount_timeout(&self) -> String {
        self.mount_secs().to_string()
    }

    /// `cmd` with the bound of a call of `span`.
    pub(super) fn bounded(&self, cmd: Cmd, span: Span) -> Cmd {
        self.bound.apply(cmd.kill_grace(KILL_GRACE), span)
    }

    pub(super) fn tool_for(&self, program: &str, span: Span) -> Cmd {
        let timeout_flag = if program == "ceph" {
            "--connect-timeout"
        } else {
            "--client-mount-timeout"
        };
        let cmd = Cmd::new(program)
            .args(self.conn.args())
            .args([timeout_flag, &self.mount_timeout()]);
        self.bounded(cmd, span)
    }

    fn tool(&self, program: &str) -> Cmd {
        self.tool_for(program, Span::Call)
    }

    pub(super) fn run(&self, cmd: Cmd) -> Result<String, CephError> {
        Ok(cmd.run_string()?)
    }

    pub(super) fn parse<T>(
        &self,
        cmd: Cmd,
        parser: fn(&str) -> Result<T, String>,
    ) -> Result<T, CephError> {
        let cmdline = cmd.cmdline();
        let out = self.run(cmd)?;
        parser(&out).map_err(|reason| CephError::Parse { cmdline, reason })
    }

    pub(super) fn rbd(&self) -> Cmd {
        self.tool("rbd")
    }

    /// `rbd` for a call that copies data ([`Timeouts::long`]).
    pub(super) fn rbd_long(&self) -> Cmd {
        self.tool_for("rbd", Span::Long)
    }

    /// `ceph` (with `--connect-timeout`).
    pub(super) fn ceph(&self) -> Cmd {
        self.tool("ceph")
    }

    fn rados(&self, pool: &str, namespace: &str) -> Cmd {
        let c = self.tool("rados").args(["-p", pool]);
        if namespace.is_empty() {
            c
        } else {
            c.args(["--namespace", namespace])
        }
    }

    /// `rbd info --format json SPEC`.
    pub fn image_info(&self, image: &ImageSpec) -> Result<ImageInfo, CephError> {
        let c = self
            .rbd()
            .args(["info", "--format", "json"])
            .arg(image.to_string());
        self.parse(c, types::parse_image_info)
    }

    /// The header object of a format-2 image (`rbd_header.<id>`, the id from `rbd info`, or
    /// `rbd_get_id` natively).
    pub fn image_header(&self, image: &ImageSpec) -> Result<ObjectSpec, CephError> {
        let id = match self.native() {
            Some((n, d)) => n.image_id(d, &image.head())?,
            None => self.image_info(image)?.id.unwrap_or_default(),
        };
        ObjectSpec::image_header(image, &id)
    }

    /// The holders of `rbd_lock` on an image whose header is `header` ([`Ceph::rbd_locks`];
    /// natively read from the header object, as `rbd lock ls` does).
    pub fn image_lockers(
        &self,
        image: &ImageSpec,
        header: &ObjectSpec,
    ) -> Result<Vec<RbdLock>, CephError> {
        match self.native() {
            Some((n, d)) => n.rbd_locks(d, header),
            None => self.rbd_locks(image),
        }
    }

    /// The result of a program that was filling the new image `image` (`qemu-img convert`,
    /// `rbd cp`). When it was killed (an interrupt, its deadline), it had the image open and
    /// could not close it: the OSD keeps a dead client's watch for its watch timeout (30 s),
    /// during which `rbd rm` of the half-made image waits (measured: 27 s). So the image's
    /// watchers, which can only be that program since the image is new, are fenced (`ceph osd
    /// blocklist add`, for [`FENCE_FOR`]; best effort, in a cleanup scope so that it runs after
    /// an interrupt) before the error is returned.
    pub(super) fn written<T>(
        &self,
        res: Result<T, CmdError>,
        image: &ImageSpec,
    ) -> Result<T, CephError> {
        match res {
            Err(e) if e.is_interrupted() || e.is_timeout() => {
                let _cleanup = crate::cmd::cancel::GLOBAL.cleanup();
                for w in self.watchers(image).unwrap_or_default() {
                    let _ = self.blocklist_add(&w.address, Some(FENCE_FOR));
                }
                Err(e.into())
            }
            other => Ok(other?),
        }
    }

    /// `rbd status --format json SPEC`: the image's watchers.
    pub fn watchers(&self, image: &ImageSpec) -> Result<Vec<Watcher>, CephError> {
        if let Some((n, d)) = self.native() {
            return n.watchers(d, image);
        }
        let c = self
            .rbd()
            .args(["status", "--format", "json"])
            .arg(image.image_path());
        self.parse(c, types::parse_status)
    }

    /// `rbd lock ls --format json SPEC`: holders of `rbd_lock` (librbd's exclusive lock and
    /// advisory `rbd lock add` locks).
    pub fn rbd_locks(&self, image: &ImageSpec) -> Result<Vec<RbdLock>, CephError> {
        let c = self
            .rbd()
            .args(["lock", "ls", "--format", "json"])
            .arg(image.image_path());
        self.parse(c, types::parse_lock_ls)
    }

    /// `rbd lock rm SPEC ID LOCKER`. Note: this also blocklists the holder's address
    /// (`rbd_blocklist_on_break_lock`, on by default).
    pub fn rbd_lock_remove(&self, image: &ImageSpec, lock: &RbdLock) -> Result<(), CephError> {
        let c = self
            .rbd()
            .args(["lock", "rm"])
            .arg(image.image_path())
            .arg(&lock.id)
            .arg(&lock.locker);
        self.run(c).map(drop)
    }

    /// `rbd group image list --format json GROUP`. A missing group is reported as
    /// [`CephError::NotFound`] (the tool itself prints `[]` and exits 0 in that case, so an
    /// empty answer is checked against `rbd group list`).
    pub fn group_images(&self, group: &GroupSpec) -> Result<Vec<GroupImage>, CephError> {
        if let Some((n, d)) = self.native() {
            return n.group_images(d, group);
        }
        let c = self
            .rbd()
            .args(["group", "image", "list", "--format", "json"])
            .arg(group.to_string());
        let cmdline = c.cmdline();
        let images = self.parse(c, types::parse_group_images)?;
        if images.is_empty() && !self.group_exists(group)? {
            return Err(CephError::NotFound {
                cmdline,
                stderr: format!("group {group} does not exist"),
            });
        }
        Ok(images)
    }

    /// Whether the group exists (`rbd group list --format json POOL`).
    pub fn group_exists(&self, group: &GroupSpec) -> Result<bool, CephError> {
        let names = self.groups(&group.pool, &group.namespace)?;
        Ok(names.contains(&group.group))
    }

    /// `ceph osd blocklist add ADDR [EXPIRE]`: fences one client instance.
    pub fn blocklist_add(
        &self,
        addr: &ClientAddr,
        expire: Option<Duration>,
    ) -> Result<(), CephError> {
        if let Some((n, d)) = self.native() {
            return n.blocklist_add(d, addr, expire);
        }
        let mut c = self
            .tool("ceph")
            .args(["osd", "blocklist", "add"])
            .arg(addr.to_string());
        if let Some(e) = expire {
            c = c.arg(e.as_secs().max(1).to_string());
        }
        self.run(c).map(drop)
    }

    /// `rbd image-meta get SPEC KEY`; `None` when the key is not set.
    pub fn meta_get(&self, image: &ImageSpec, key: &str) -> Result<Option<String>, CephError> {
        if let Some((n, d)) = self.native() {
            validate_name("metadata key", key)?;
            return n.meta_get(d, image, key);
        }
        match self.run(self.meta_get_cmd(image, key)?) {
            Ok(v) => Ok(Some(v.strip_suffix('\n').unwrap_or(&v).to_string())),
            Err(e) if e.is_not_found() => {
                // the image itself may be missing: tell the two apart
                self.image_info(&image.head())?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The command of [`Ceph::meta_get`].
    pub(super) fn meta_get_cmd(&self, image: &ImageSpec, key: &str) -> Result<Cmd, CephError> {
        validate_name("metadata key", key)?;
        Ok(self
            .rbd()
            .args(["image-meta", "get"])
            .arg(image.image_path())
            .arg(key))
    }

    /// `rbd image-meta set SPEC KEY VALUE` ([`check_meta_value`] first: `rbd` has no way to
    /// read the value from a file or stdin).
    pub fn meta_set(&self, image: &ImageSpec, key: &str, value: &str) -> Result<(), CephError> {
        validate_name("metadata key", key)?;
        check_meta_value(key, value)?;
        // `--`: a value such as `-5` is stored as given (rbd would read it as an option)
        let c = self
            .rbd()
            .args(["image-meta", "set", "--"])
            .arg(image.image_path())
            .args([key, value]);
        self.run(c).map(drop)
    }

    /// `rbd image-meta list --format json SPEC`.
    pub fn meta_list(&self, image: &ImageSpec) -> Result<BTreeMap<String, String>, CephError> {
        let c = self
            .rbd()
            .args(["image-meta", "list", "--format", "json"])
            .arg(image.image_path());
        self.parse(c, types::parse_image_meta)
    }

    /// `rbd device list --device-type T --format json`.
    pub fn device_list(&self, kind: DeviceType) -> Result<Vec<MappedDevice>, CephError> {
        let c = self.rbd().args([
            "device",
            "list",
            "--device-type",
            kind.as_str(),
            "--format",
            "json",
        ]);
        self.parse(c, types::parse_device_list)
    }

    /// `rbd device map --device-type T [--read-only] [-o OPTIONS] SPEC`; returns the device.
    /// (`device map` has no `--format`: it prints the device path.)
    pub fn device_map(
        &self,
        image: &ImageSpec,
        kind: DeviceType,
        read_only: bool,
        options: Option<&str>,
    ) -> Result<String, CephError> {
        let mut c = self
            .rbd()
            .args(["device", "map", "--device-type", kind.as_str()]);
        if read_only {
            c = c.arg("--read-only");
        }
        if let Some(o) = options {
            c = c.args(["-o", o]);
        }
        self.parse(c.arg(image.to_string()), types::parse_map_output)
    }

    /// `rbd device unmap --device-type T DEVICE`.
    pub fn device_unmap(&self, device: &str, kind: DeviceType) -> Result<(), CephError> {
        let c = self
            .rbd()
            .args(["device", "unmap", "--device-type", kind.as_str()])
            .arg(device);
        self.run(c).map(drop)
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
