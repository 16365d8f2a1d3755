//! Internal snapshots of qcow2 files that no QEMU has open, through `qemu-img` (a running
//! domain's disks go through [`crate::libvirt::qmp`] instead):
//!
//! - [`list`]: `qemu-img info -U --output=json -- FILE`, its `snapshots` (`-U`, force-share:
//!   the list can be read while a QEMU has the file open; it reads only the snapshot table,
//!   which QEMU writes and flushes when it takes a snapshot);
//! - [`create`], [`apply`], [`delete`]: `qemu-img snapshot -c|-a|-d NAME -- FILE`; these take
//!   the image's write lock, so on a file a QEMU has open they fail ("Failed to get "write"
//!   lock") instead of corrupting it;
//! - [`export_raw`], [`copy_qcow2`]: `qemu-img convert -U -l snapshot.name=NAME -O raw|qcow2`,
//!   one snapshot's content (its clusters never change while the snapshot exists, so this is
//!   safe under a running QEMU).
//!
//! Facts (qemu-img 7.2, recorded in `tests/fixtures/qemu-img/`): `snapshot -c` of a name the
//! file already has **succeeds** and adds a second snapshot of that name, so callers check first;
//! `-a`/`-d` of a missing name exit 1 (`Could not apply snapshot 'x': ...`, `Could not delete
//! snapshot 'x': snapshot not found`). A snapshot taken through QMP has no `icount` field.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::{convert_prefix, info_json, run_local_convert, Qcow2Error};
use crate::cmd::Cmd;

/// Time limit of `qemu-img snapshot` (metadata only, but a large image on a slow filesystem).
pub const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(600);

/// One internal snapshot of a qcow2 file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Snapshot {
    /// qcow2's numeric id, as text.
    pub id: String,
    /// The name (`tag`).
    pub name: String,
    /// When it was taken, seconds since the epoch.
    #[serde(rename = "date-sec")]
    pub date_sec: u64,
    /// The nanoseconds of that second.
    #[serde(rename = "date-nsec", default)]
    pub date_nsec: u64,
    /// Bytes of saved guest state (0 for disk-only snapshots, which are all vm-mgr takes).
    #[serde(rename = "vm-state-size", default)]
    pub vm_state_size: u64,
}

/// Parses `qemu-img info --output=json`: the snapshots (none when the key is absent).
pub fn parse_snapshots(text: &str) -> Result<Vec<Snapshot>, String> {
    #[derive(Deserialize)]
    struct Info {
        #[serde(default)]
        snapshots: Vec<Snapshot>,
    }
    serde_json::from_str::<Info>(text.trim())
        .map(|i| i.snapshots)
        .map_err(|e| format!("qemu-img info: {e}"))
}

/// The internal snapshots of qcow2 file `path`, oldest first.
pub fn list(path: &Path) -> Result<Vec<Snapshot>, Qcow2Error> {
    let (text, cmdline) = info_json(path)?;
    parse_snapshots(&text).map_err(|reason| Qcow2Error::Parse { cmdline, reason })
}

fn snapshot(op: &str, path: &Path, name: &str) -> Result<(), Qcow2Error> {
    Cmd::new("qemu-img")
        .args(["snapshot", op, name, "--"])
        .arg(path)
        .timeout(SNAPSHOT_TIMEOUT)
        .run()?;
    Ok(())
}

/// `qemu-img snapshot -c NAME -- FILE` (the caller checks the name is new).
pub fn create(path: &Path, name: &str) -> Result<(), Qcow2Error> {
    snapshot("-c", path, name)
}

/// `qemu-img snapshot -a NAME -- FILE`: the disk back to snapshot `name`.
pub fn apply(path: &Path, name: &str) -> Result<(), Qcow2Error> {
    snapshot("-a", path, name)
}

/// `qemu-img snapshot -d NAME -- FILE`.
pub fn delete(path: &Path, name: &str) -> Result<(), Qcow2Error> {
    snapshot("-d", path, name)
}

/// Writes the content of snapshot `name` of qcow2 file `src` into the new raw file `dst`
/// (`-U`: the file may be open in a running QEMU); `progress` as for
/// [`run_convert`](super::run_convert).
pub fn export_raw(
    src: &Path,
    name: &str,
    dst: &Path,
    progress: &mut dyn FnMut(Option<f64>),
) -> Result<(), Qcow2Error> {
    convert_snapshot(src, name, dst, "raw", progress)
}

/// Writes the content of snapshot `name` of qcow2 file `src` into the new, independent qcow2
/// file `dst` (no backing file, no snapshots); as [`export_raw`] otherwise.
pub fn copy_qcow2(
    src: &Path,
    name: &str,
    dst: &Path,
    progress: &mut dyn FnMut(Option<f64>),
) -> Result<(), Qcow2Error> {
    convert_snapshot(src, name, dst, "qcow2", progress)
}

fn convert_snapshot(
    src: &Path,
    name: &str,
    dst: &Path,
    output: &str,
    progress: &mut dyn FnMut(Option<f64>),
) -> Result<(), Qcow2Error> {
    let mut argv = convert_prefix("qcow2", output)?;
    argv.extend([
        "-U".into(),
        "-l".into(),
        format!("snapshot.name={name}").into(),
    ]);
    argv.push("--".into());
    argv.push(src.as_os_str().to_owned());
    argv.push(dst.as_os_str().to_owned());
    run_local_convert(&argv, progress)
}

#[cfg(test)]
mod tests {
    use super::super::tests::fixture;
    use super::super::PROBE_TIMEOUT;
    use super::*;

    #[test]
    fn recorded_snapshot_lists_parse() {
        let s = parse_snapshots(&fixture("info-snapshots.out")).unwrap();
        let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["s1", "snap.two-2"]);
        assert_eq!(s[0].id, "1");
        assert_eq!((s[0].date_nsec, s[1].date_nsec), (631_225_000, 748_588_000));
        assert!(s[0].date_sec < s[1].date_sec && s[0].date_sec > 1_700_000_000);
        // taken through QMP on a running VM: no icount, still parsed
        let s = parse_snapshots(&fixture("info-snapshots-running.out")).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].name, "s1");
        assert!(parse_snapshots(&fixture("info-no-snapshots.out"))
            .unwrap()
            .is_empty());
        assert!(parse_snapshots("qemu-img: x").is_err());
        assert!(parse_snapshots(r#"{"snapshots": [{"name": "a"}]}"#).is_err());
    }

    #[test]
    fn recorded_failures_are_exit_status_one() {
        for f in ["snapshot-apply-missing", "snapshot-delete-missing"] {
            assert_eq!(fixture(&format!("{f}.rc")).trim(), "1");
            assert!(fixture(&format!("{f}.err")).contains("'nosuch'"));
        }
        assert!(fixture("snapshot-create-locked.err").contains(r#"Failed to get "write" lock"#));
    }

    /// Real `qemu-img` on a scratch file: create, list, apply brings the data back, delete;
    /// export of a snapshot writes its content, not the current one.
    #[test]
    fn snapshots_of_a_file_round_trip() {
        let d = std::env::temp_dir().join(format!("qcow2-snap-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let raw = d.join("a.raw");
        std::fs::write(&raw, vec![b'A'; 1 << 16]).unwrap();
        let img = d.join("-a.qcow2");
        super::super::convert_to_qcow2(&raw, "raw", &img, &mut |_| {}).unwrap();
        create(&img, "s1").unwrap();
        assert_eq!(list(&img).unwrap()[0].name, "s1");
        // change the data: B over the disk
        std::fs::write(&raw, vec![b'B'; 1 << 16]).unwrap();
        let qemu_img = |args: &[&str], a: &Path, b: &Path| {
            Cmd::new("qemu-img")
                .args(args)
                .arg("--")
                .arg(a)
                .arg(b)
                .timeout(PROBE_TIMEOUT)
                .run()
                .unwrap();
        };
        let current = |img: &Path| {
            let now = d.join("now.raw");
            qemu_img(&["convert", "-f", "qcow2", "-O", "raw"], img, &now);
            std::fs::read(&now).unwrap()
        };
        qemu_img(&["convert", "-f", "raw", "-O", "qcow2", "-n"], &raw, &img);
        assert_eq!(current(&img), vec![b'B'; 1 << 16]);
        assert_eq!(list(&img).unwrap().len(), 1, "convert -n kept the snapshot");
        let out = d.join("s1.raw");
        let mut seen = Vec::new();
        export_raw(&img, "s1", &out, &mut |p| seen.push(p)).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), vec![b'A'; 1 << 16]);
        assert_eq!(seen.last().copied().flatten(), Some(1.0), "{seen:?}");
        let copy = d.join("copy.qcow2");
        copy_qcow2(&img, "s1", &copy, &mut |_| {}).unwrap();
        assert_eq!(current(&copy), vec![b'A'; 1 << 16]);
        assert!(
            list(&copy).unwrap().is_empty(),
            "an independent copy has no snapshots"
        );
        apply(&img, "s1").unwrap();
        assert_eq!(current(&img), vec![b'A'; 1 << 16]);
        delete(&img, "s1").unwrap();
        assert!(list(&img).unwrap().is_empty());
        let e = delete(&img, "s1").unwrap_err();
        assert!(e.to_string().contains("snapshot not found"), "{e}");
        let e = list(&d.join("none")).unwrap_err();
        assert!(matches!(e, Qcow2Error::Unreadable { .. }), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
