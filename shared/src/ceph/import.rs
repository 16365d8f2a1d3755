//! Importing a local disk image into a new RBD image with `qemu-img convert`, and probing its
//! format with `qemu-img info` first (through [`crate::qcow2`], the layer of `qemu-img` on
//! files).
//!
//! The import runs under util-linux's `setpriv --pdeathsig KILL` ([`crate::qcow2::run_convert`]),
//! so that it dies with its
//! caller: qemu-img runs in its own process group, and without this a `kill -9` of vm-mgr left
//! it writing to the half-made image, whose watch made `create --force` and `remove` fail
//! ("image still has watchers") until the orphan finished. The RBD target carries the user, the
//! configuration file and `client_mount_timeout`, so librbd inside qemu-img gives up on
//! unreachable monitors as the `rbd` tool does.
//!
//! An import ended by an interrupt or its deadline leaves the same watch (qemu-img has no
//! clean shutdown on a signal): it is fenced before the error is returned (`Ceph::written`),
//! so that the undo can remove the half-made image at once.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::bound::Span;
use super::client::Ceph;
use super::error::CephError;
use super::names::{validate_conf_path, validate_user, ImageSpec};
use crate::cmd::Cmd;
use crate::qcow2::Qcow2Error;

pub use crate::qcow2::{parse_qemu_img_format, qemu_img_progress, PROBE_TIMEOUT, PROGRESS_EVERY};

/// A [`Qcow2Error`] as the Ceph layer words it.
fn from_qcow2(e: Qcow2Error) -> CephError {
    match e {
        Qcow2Error::Unreadable { path, detail } => CephError::UnreadableImage { path, detail },
        Qcow2Error::Command(c) => c.into(),
        Qcow2Error::Parse { cmdline, reason } => CephError::Parse { cmdline, reason },
        Qcow2Error::Format { format } => CephError::InvalidName {
            what: "image format",
            value: format,
            reason: "only qcow2 and raw are imported",
        },
    }
}

/// The absolute path of a readable regular file ([`CephError::UnreadableImage`] otherwise).
pub fn readable_file(path: &Path) -> Result<PathBuf, CephError> {
    crate::qcow2::readable_file(path).map_err(from_qcow2)
}

/// The format `qemu-img info --output=json` detects for a local file (`qcow2`, `raw`, ...),
/// through [`crate::qcow2::probe_format`].
pub fn probe_format(path: &Path) -> Result<String, CephError> {
    crate::qcow2::probe_format(path).map_err(from_qcow2)
}

impl Ceph {
    /// QEMU's name of `image`: `rbd:POOL/IMAGE[:id=ID][:conf=CONF]:client_mount_timeout=N`
    /// (monitor addresses and keys come from the configuration file).
    pub fn qemu_target(&self, image: &ImageSpec) -> Result<String, CephError> {
        let conn = self.conn();
        if conn.mon.is_some() || conn.keyfile.is_some() || conn.keyring.is_some() {
            return Err(CephError::InvalidName {
                what: "Ceph connection for qemu-img",
                value: format!("{conn:?}"),
                reason: "only a user and a configuration file can be given to qemu-img",
            });
        }
        let path = image.image_path();
        if path.contains([':', '=']) {
            return Err(CephError::InvalidName {
                what: "image for qemu-img",
                value: path,
                reason: "must not contain ':' or '='",
            });
        }
        let mut t = format!("rbd:{path}");
        if let Some(u) = &conn.user {
            validate_user(u)?;
            t.push_str(&format!(":id={u}"));
        }
        if let Some(c) = &conn.conf {
            validate_conf_path(c)?;
            t.push_str(&format!(":conf={}", c.display()));
        }
        t.push_str(&format!(":client_mount_timeout={}", self.mount_secs()));
        Ok(t)
    }

    /// The argv importing `file` (in `format`) into `image`, under `setpriv --pdeathsig KILL`.
    pub fn import_argv(
        &self,
        file: &Path,
        format: &str,
        image: &ImageSpec,
    ) -> Result<Vec<OsString>, CephError> {
        let mut argv = crate::qcow2::convert_prefix(format, "raw").map_err(from_qcow2)?;
        argv.push(file.as_os_str().to_owned());
        argv.push(self.qemu_target(image)?.into());
        Ok(argv)
    }

    /// Imports the local `file` (in `format`) into the new raw `image`; `progress` is called
    /// with the fraction done (when known) as it changes and at least every 200 ms.
    pub fn import(
        &self,
        file: &Path,
        format: &str,
        image: &ImageSpec,
        progress: &mut dyn FnMut(Option<f64>),
    ) -> Result<(), CephError> {
        let abs = readable_file(file)?;
        let argv = self.import_argv(&abs, format, image)?;
        let cmd = |argv: &[OsString]| {
            let program = argv.first().map_or("qemu-img".as_ref(), |a| a.as_os_str());
            self.bounded(
                Cmd::new(program).args(argv.get(1..).unwrap_or_default()),
                Span::Long,
            )
        };
        let res = crate::qcow2::run_convert(&argv, cmd, progress);
        self.written(res, image)
    }
}
