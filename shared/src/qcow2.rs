//! Local disk image files through `qemu-img`: the one layer that runs it on files (the RBD
//! import's `qemu-img convert` into an `rbd:` target stays in [`crate::ceph::import`], which
//! uses the probe and the progress parser from here).
//!
//! - [`probe_format`]: `qemu-img info --output=json -- FILE`, the detected format.
//! - [`convert_to_qcow2`]: `qemu-img convert -p -f FMT -O qcow2 -- SRC DST`, with the progress
//!   read as it goes, under `setpriv --pdeathsig KILL` so that it dies with its caller.
//!
//! - [`backing_file`]: the backing file a qcow2 overlay names (`qemu-img info -U`), and
//!   [`create_overlay`]: `qemu-img create -f qcow2 -F qcow2 -b BASE -- FILE`, a new overlay
//!   whose unwritten clusters read from `BASE` (copy-on-write clones of the dir backend).
//! - [`snapshots`]: internal snapshots of files no QEMU has open (`qemu-img snapshot`), their
//!   list, and the export of one snapshot's content.
//!
//! Every call has a deadline; errors name the command line, its exit status and the tail of its
//! stderr ([`CmdError`]). Values from users come after `--`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cmd::{Cmd, CmdError};

#[path = "qcow2_snapshots.rs"]
pub mod snapshots;

/// Time limit of `qemu-img info` on a local file.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(30);
/// Time limit of a conversion (a disk of hundreds of GiB on a slow cluster filesystem).
pub const CONVERT_TIMEOUT: Duration = Duration::from_secs(4 * 3600);
/// How often a conversion's progress is reported at least.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(200);
/// util-linux's `setpriv`, which gives a long conversion a parent-death signal.
const SETPRIV: &str = "setpriv";

/// Why a `qemu-img` call on a file failed.
#[derive(Debug, thiserror::Error)]
pub enum Qcow2Error {
    /// The file given cannot be read (missing, not a regular file, not an image qemu-img reads).
    #[error("Cannot use image {}: {detail}.", .path.display())]
    Unreadable { path: PathBuf, detail: String },
    /// A format this layer does not convert from.
    #[error("Image format {format:?} is not converted (only qcow2 and raw are).")]
    Format { format: String },
    /// `qemu-img` failed, timed out or is missing.
    #[error(transparent)]
    Command(#[from] CmdError),
    /// `qemu-img` printed something it is not documented to print.
    #[error("Could not parse the output of {cmdline}: {reason}.")]
    Parse { cmdline: String, reason: String },
}

fn unreadable(path: &Path, detail: impl ToString) -> Qcow2Error {
    Qcow2Error::Unreadable {
        path: path.to_owned(),
        detail: detail.to_string(),
    }
}

/// The absolute path of a readable regular file ([`Qcow2Error::Unreadable`] otherwise).
pub fn readable_file(path: &Path) -> Result<PathBuf, Qcow2Error> {
    let abs = std::fs::canonicalize(path).map_err(|e| unreadable(path, e))?;
    std::fs::File::open(&abs).map_err(|e| unreadable(path, e))?;
    if !abs.is_file() {
        return Err(unreadable(path, "it is not a regular file"));
    }
    Ok(abs)
}

/// The format `qemu-img info --output=json` detects for a local file (`qcow2`, `raw`, ...).
pub fn probe_format(path: &Path) -> Result<String, Qcow2Error> {
    let abs = readable_file(path)?;
    let cmd = Cmd::new("qemu-img")
        .args(["info", "--output=json", "--"])
        .arg(&abs)
        .timeout(PROBE_TIMEOUT);
    let out = cmd.run().map_err(|e| match e {
        CmdError::Failed { stderr, .. } => unreadable(path, stderr.trim()),
        other => other.into(),
    })?;
    parse_qemu_img_format(&out.stdout_str()).map_err(|reason| Qcow2Error::Parse {
        cmdline: cmd.cmdline(),
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

/// Parses `qemu-img info --output=json`: the backing file (`full-backing-filename`, else
/// `backing-filename`), `None` for an image without one. qemu-img 7.2 prints both the same
/// for an absolute backing path, also when that file is gone (recorded in
/// `tests/fixtures/qemu-img/info-overlay*.out`).
pub fn parse_backing(text: &str) -> Result<Option<String>, String> {
    let v: serde_json::Value =
        serde_json::from_str(text.trim()).map_err(|e| format!("qemu-img info: {e}"))?;
    if !v.is_object() {
        return Err("qemu-img info: not a JSON object".into());
    }
    for key in ["full-backing-filename", "backing-filename"] {
        match &v[key] {
            serde_json::Value::Null => {}
            serde_json::Value::String(s) => return Ok(Some(s.clone())),
            _ => return Err(format!("qemu-img info: {key:?} is not a string")),
        }
    }
    Ok(None)
}

/// `qemu-img info -U --output=json -- FILE` (`-U`: a file a QEMU has open can be read; only
/// the image's header and tables are read, never its backing file).
pub(crate) fn info_json(path: &Path) -> Result<(String, String), Qcow2Error> {
    let cmd = Cmd::new("qemu-img")
        .args(["info", "-U", "--output=json", "--"])
        .arg(path)
        .timeout(PROBE_TIMEOUT);
    let out = cmd.run().map_err(|e| match e {
        CmdError::Failed { stderr, .. } => unreadable(path, stderr.trim()),
        other => other.into(),
    })?;
    Ok((out.stdout_str(), cmd.cmdline()))
}

/// The backing file of image `path` (`None` when it has none).
pub fn backing_file(path: &Path) -> Result<Option<PathBuf>, Qcow2Error> {
    let (text, cmdline) = info_json(path)?;
    parse_backing(&text)
        .map(|b| b.map(PathBuf::from))
        .map_err(|reason| Qcow2Error::Parse { cmdline, reason })
}

/// `qemu-img create -f qcow2 -F qcow2 -b BASE -- DST`: the new qcow2 file `dst`, of `base`'s
/// size, whose unwritten clusters read from the qcow2 file `base` (which must be an absolute
/// path: it is stored in `dst` as given, and read from every node).
pub fn create_overlay(base: &Path, dst: &Path) -> Result<(), Qcow2Error> {
    if !base.is_absolute() {
        return Err(unreadable(base, "a backing file must be an absolute path"));
    }
    Cmd::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b"])
        .arg(base)
        .arg("--")
        .arg(dst)
        .timeout(PROBE_TIMEOUT)
        .run()?;
    Ok(())
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

/// `setpriv --pdeathsig KILL qemu-img convert -p -f FORMAT -O OUTPUT`: the start of every
/// conversion's argv (the source and target follow); `format` must be qcow2 or raw.
pub fn convert_prefix(format: &str, output: &str) -> Result<Vec<OsString>, Qcow2Error> {
    if !matches!(format, "qcow2" | "raw") {
        return Err(Qcow2Error::Format {
            format: format.to_owned(),
        });
    }
    Ok([SETPRIV, "--pdeathsig", "KILL", "qemu-img", "convert"]
        .into_iter()
        .chain(["-p", "-f", format, "-O", output])
        .map(OsString::from)
        .collect())
}

/// Runs a conversion whose argv starts with [`convert_prefix`], each attempt built by `cmd`
/// (which sets its deadline); `progress` is called with the fraction done (when known) as it
/// changes and at least every 200 ms. Without `setpriv` (util-linux), qemu-img runs unguarded.
pub fn run_convert(
    argv: &[OsString],
    cmd: impl Fn(&[OsString]) -> Cmd,
    progress: &mut dyn FnMut(Option<f64>),
) -> Result<(), CmdError> {
    let mut observe = |stdout: &[u8]| progress(qemu_img_progress(stdout));
    match cmd(argv).run_observed(PROGRESS_EVERY, &mut observe) {
        Err(e) if e.is_not_installed() && argv.first().is_some_and(|a| a == SETPRIV) => {
            cmd(argv.get(3..).unwrap_or_default()).run_observed(PROGRESS_EVERY, &mut observe)
        }
        other => other,
    }?;
    Ok(())
}

/// The argv converting `src` (in `format`: qcow2 or raw) into the new qcow2 file `dst`, under
/// `setpriv --pdeathsig KILL`, with `--` before the paths.
pub fn convert_argv(src: &Path, format: &str, dst: &Path) -> Result<Vec<OsString>, Qcow2Error> {
    let mut argv = convert_prefix(format, "qcow2")?;
    argv.push("--".into());
    argv.push(src.as_os_str().to_owned());
    argv.push(dst.as_os_str().to_owned());
    Ok(argv)
}

/// Converts the local file `src` (in `format`) into the new qcow2 file `dst` (which qemu-img
/// creates or overwrites), within [`CONVERT_TIMEOUT`]; `progress` as for [`run_convert`].
pub fn convert_to_qcow2(
    src: &Path,
    format: &str,
    dst: &Path,
    progress: &mut dyn FnMut(Option<f64>),
) -> Result<(), Qcow2Error> {
    let abs = readable_file(src)?;
    run_local_convert(&convert_argv(&abs, format, dst)?, progress)
}

/// [`run_convert`] of a conversion between local files, within [`CONVERT_TIMEOUT`].
fn run_local_convert(
    argv: &[OsString],
    progress: &mut dyn FnMut(Option<f64>),
) -> Result<(), Qcow2Error> {
    let cmd = |argv: &[OsString]| {
        Cmd::new(argv.first().map_or("qemu-img".as_ref(), |a| a.as_os_str()))
            .args(argv.get(1..).unwrap_or_default())
            .timeout(CONVERT_TIMEOUT)
    };
    Ok(run_convert(argv, cmd, progress)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("qcow2-unit-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn convert_argv_ends_options_before_the_paths() {
        let argv = convert_argv(Path::new("-a.img"), "raw", Path::new("/d/s.qcow2")).unwrap();
        let argv: Vec<String> = argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            argv,
            [
                "setpriv",
                "--pdeathsig",
                "KILL",
                "qemu-img",
                "convert",
                "-p",
                "-f",
                "raw",
                "-O",
                "qcow2",
                "--",
                "-a.img",
                "/d/s.qcow2"
            ]
        );
        let e = convert_argv(Path::new("a"), "vmdk", Path::new("b")).unwrap_err();
        assert!(matches!(e, Qcow2Error::Format { .. }), "{e}");
    }

    /// Real `qemu-img`: a raw file becomes a qcow2 file with the same content, with progress
    /// reported up to 100 %; a missing source names the file.
    #[test]
    fn raw_converts_to_qcow2_with_progress() {
        let d = scratch("convert");
        let raw = d.join("-disk.raw");
        let mut data = vec![0u8; 1 << 20];
        data[4096..4100].copy_from_slice(b"vmmg");
        std::fs::write(&raw, &data).unwrap();
        assert_eq!(probe_format(&raw).unwrap(), "raw");
        let dst = d.join("system.qcow2");
        let mut seen = Vec::new();
        convert_to_qcow2(&raw, "raw", &dst, &mut |p| seen.push(p)).unwrap();
        assert_eq!(probe_format(&dst).unwrap(), "qcow2");
        assert_eq!(seen.last().copied().flatten(), Some(1.0), "{seen:?}");
        // back to raw through qemu-img itself: the bytes are the same
        let back = d.join("back.raw");
        Cmd::new("qemu-img")
            .args(["convert", "-f", "qcow2", "-O", "raw", "--"])
            .arg(&dst)
            .arg(&back)
            .timeout(PROBE_TIMEOUT)
            .run()
            .unwrap();
        assert_eq!(std::fs::read(&back).unwrap(), data);
        let e = convert_to_qcow2(&d.join("nosuch"), "raw", &dst, &mut |_| {}).unwrap_err();
        assert!(matches!(e, Qcow2Error::Unreadable { .. }), "{e}");
        assert!(e.to_string().contains("nosuch"), "{e}");
        // a file qemu-img cannot read as qcow2: the error names the command and its stderr
        let e = convert_to_qcow2(&raw, "qcow2", &d.join("x.qcow2"), &mut |_| {}).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("qemu-img"), "{text}");
        assert!(text.contains("qcow2"), "{text}");
        let _ = std::fs::remove_dir_all(&d);
    }

    /// The recorded `qemu-img` output `name` (`tests/fixtures/qemu-img/`).
    pub(super) fn fixture(name: &str) -> String {
        let p = format!(
            "{}/../tests/fixtures/qemu-img/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    /// Recorded from qemu-img 7.2: an overlay names its base, also once the base is gone; an
    /// image without one has no backing file.
    #[test]
    fn recorded_backing_files_parse() {
        let base = "/tmp/h14rec/vms/.bases/d1@s1@1796307494.289770000/system.qcow2";
        for f in ["info-overlay.out", "info-overlay-base-gone.out"] {
            assert_eq!(
                parse_backing(&fixture(f)).unwrap().as_deref(),
                Some(base),
                "{f}"
            );
        }
        for f in ["info-no-snapshots.out", "info-snapshots.out"] {
            assert_eq!(parse_backing(&fixture(f)).unwrap(), None, "{f}");
        }
        assert_eq!(
            parse_backing(r#"{"backing-filename": "/b.qcow2"}"#).unwrap(),
            Some("/b.qcow2".into())
        );
        for bad in ["qemu-img: x", "[]", r#"{"backing-filename": 3}"#] {
            assert!(parse_backing(bad).is_err(), "{bad}");
        }
    }

    /// Real `qemu-img`: an overlay reads its base's data, names it as its backing file, and
    /// its own writes leave the base as it was; a relative base is refused.
    #[test]
    fn an_overlay_reads_its_base_and_writes_only_itself() {
        let d = scratch("overlay");
        let raw = d.join("base.raw");
        std::fs::write(&raw, vec![b'A'; 1 << 16]).unwrap();
        let base = d.join("base.qcow2");
        convert_to_qcow2(&raw, "raw", &base, &mut |_| {}).unwrap();
        let top = d.join("-top.qcow2");
        create_overlay(&base, &top).unwrap();
        assert_eq!(backing_file(&top).unwrap(), Some(base.clone()));
        assert_eq!(backing_file(&base).unwrap(), None);
        let read = |img: &Path| {
            let out = d.join("out.raw");
            Cmd::new("qemu-img")
                .args(["convert", "-O", "raw", "--"])
                .arg(img)
                .arg(&out)
                .timeout(PROBE_TIMEOUT)
                .run()
                .unwrap();
            std::fs::read(&out).unwrap()
        };
        assert_eq!(read(&top), vec![b'A'; 1 << 16]);
        Cmd::new("qemu-io")
            .args(["-f", "qcow2", "-c", "write -P 0x42 0 4k", "--"])
            .arg(&top)
            .timeout(PROBE_TIMEOUT)
            .run()
            .unwrap();
        assert_eq!(&read(&top)[..4096], &[b'B'; 4096][..]);
        assert_eq!(read(&base), vec![b'A'; 1 << 16], "the base is unchanged");
        let e = create_overlay(Path::new("base.qcow2"), &d.join("x.qcow2")).unwrap_err();
        assert!(e.to_string().contains("absolute"), "{e}");
        let e = create_overlay(&d.join("nosuch.qcow2"), &d.join("y.qcow2")).unwrap_err();
        assert!(e.to_string().contains("nosuch"), "{e}");
        assert!(!d.join("y.qcow2").exists());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_directory_or_missing_file_is_unreadable() {
        let d = scratch("probe");
        assert!(matches!(
            probe_format(&d),
            Err(Qcow2Error::Unreadable { .. })
        ));
        assert!(matches!(
            probe_format(&d.join("none")),
            Err(Qcow2Error::Unreadable { .. })
        ));
        let _ = std::fs::remove_dir_all(&d);
    }
}
