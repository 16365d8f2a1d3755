//! Importing a local disk image into a new RBD image with `qemu-img convert`, and probing its
//! format with `qemu-img info` first.
//!
//! The import runs under util-linux's `setpriv --pdeathsig KILL`, so that it dies with its
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
use std::time::Duration;

use super::bound::Span;
use super::client::Ceph;
use super::error::CephError;
use super::names::{validate_conf_path, validate_user, ImageSpec};
use crate::cmd::{Cmd, CmdError};

/// Time limit of `qemu-img info` on a local file.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(30);
/// util-linux's `setpriv`, which gives the import a parent-death signal (no `unsafe` here).
const SETPRIV: &str = "setpriv";
/// How often the import's progress is reported at least.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

fn unreadable(path: &Path, detail: impl ToString) -> CephError {
    CephError::UnreadableImage {
        path: path.to_owned(),
        detail: detail.to_string(),
    }
}

/// The absolute path of a readable regular file ([`CephError::UnreadableImage`] otherwise).
pub fn readable_file(path: &Path) -> Result<PathBuf, CephError> {
    let abs = std::fs::canonicalize(path).map_err(|e| unreadable(path, e))?;
    std::fs::File::open(&abs).map_err(|e| unreadable(path, e))?;
    if !abs.is_file() {
        return Err(unreadable(path, "it is not a regular file"));
    }
    Ok(abs)
}

/// The format `qemu-img info --output=json` detects for a local file (`qcow2`, `raw`, ...).
pub fn probe_format(path: &Path) -> Result<String, CephError> {
    let abs = readable_file(path)?;
    let out = Cmd::new("qemu-img")
        .args(["info", "--output=json"])
        .arg(&abs)
        .timeout(PROBE_TIMEOUT)
        .run()
        .map_err(|e| match e {
            CmdError::Failed { stderr, .. } => unreadable(path, stderr.trim()),
            other => CephError::from(other),
        })?;
    parse_qemu_img_format(&out.stdout_str()).map_err(|reason| CephError::Parse {
        cmdline: format!("qemu-img info --output=json {}", abs.display()),
        reason,
    })
}

/// Parses `qemu-img info --output=json`: the detected format.
pub fn parse_qemu_img_format(text: &str) -> Result<String, String> {
    let v: serde_json::Value =
        serde_json::from_str(text.trim()).map_err(|e| format!("qemu-img info: {e}"))?;
    v["format"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "qemu-img info: no \"format\"".into())
}

/// The fraction done (0.0 to 1.0) in what `qemu-img convert -p` has written so far: it rewrites
/// one line, `    (12.34/100%)\r`, as it goes; `None` before the first.
pub fn qemu_img_progress(stdout: &[u8]) -> Option<f64> {
    let text = String::from_utf8_lossy(stdout);
    text.rsplit(['\r', '\n'])
        .filter_map(|piece| {
            let inner = piece.trim().strip_prefix('(')?.strip_suffix("/100%)")?;
            inner.parse::<f64>().ok()
        })
        .next()
        .map(|pct| (pct / 100.0).clamp(0.0, 1.0))
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
        if !matches!(format, "qcow2" | "raw") {
            return Err(CephError::InvalidName {
                what: "image format",
                value: format.to_string(),
                reason: "only qcow2 and raw are imported",
            });
        }
        let mut argv: Vec<OsString> = [SETPRIV, "--pdeathsig", "KILL", "qemu-img", "convert"]
            .into_iter()
            .chain(["-p", "-f", format, "-O", "raw"])
            .map(OsString::from)
            .collect();
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
        let cmd = |argv: &[OsString]| self.bounded(Cmd::new(&argv[0]).args(&argv[1..]), Span::Long);
        let mut observe = |stdout: &[u8]| progress(qemu_img_progress(stdout));
        let res = match cmd(&argv).run_observed(PROGRESS_EVERY, &mut observe) {
            // Without setpriv (util-linux), qemu-img runs unguarded.
            Err(e) if e.is_not_installed() && argv[0] == SETPRIV => {
                cmd(&argv[3..]).run_observed(PROGRESS_EVERY, &mut observe)
            }
            other => other,
        };
        self.written(res, image).map(drop)
    }
}
