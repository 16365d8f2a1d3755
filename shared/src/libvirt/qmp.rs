//! Internal qcow2 snapshots of a **running** domain's disks, through QEMU's monitor (QMP) as
//! libvirt relays it: `virsh -c URI qemu-monitor-command -- DOMAIN JSON`.
//!
//! `qemu-img snapshot` must not touch an image a QEMU has open (QEMU's write lock refuses it,
//! and writing the qcow2 metadata under a running guest would corrupt it), and libvirt's own
//! snapshot API either saves the guest's memory too (`savevm`, which pauses the guest for the
//! whole RAM) or makes external overlays (new files per snapshot). So a running VM's snapshot is
//! one QMP `transaction` of `blockdev-snapshot-internal-sync` actions, one per disk: QEMU drains
//! every disk's I/O, takes all of them at the same instant or none (the transaction is atomic),
//! and the guest keeps running. Removal is `blockdev-snapshot-delete-internal-sync` per disk.
//!
//! The disks are named by their node name, found with `query-block` from the image file: libvirt
//! (≥ 5.10, `-blockdev`) leaves `device` empty and names the format node (`libvirt-2-format`).
//!
//! Facts (recorded from libvirt 9.0 and QEMU 7.2 in `tests/fixtures/libvirt/qmp-*`):
//! - `virsh qemu-monitor-command` exits 0 even when QEMU answers an error: the answer is
//!   `{"id":..,"error":{"class":"GenericError","desc":".."}}`, which [`parse_reply`] turns into
//!   [`QmpError::Refused`].
//! - A name the disk has already is refused (`Snapshot with name 's1' already exists on device
//!   ...`), unlike `qemu-img snapshot -c`, which adds a second snapshot of the same name.
//! - libvirt notes the domain as tainted (`custom-monitor`) in its log: it does not know of
//!   these snapshots, which live in the qcow2 files alone (read with `qemu-img info -U`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::cmd::{Cmd, CmdError};

/// Time limit of one monitor command (a snapshot drains every disk's I/O first).
pub const QMP_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a monitor command failed.
#[derive(Debug, thiserror::Error)]
pub enum QmpError {
    /// `virsh` failed, timed out or is missing (domain not running, libvirt unreachable ...).
    #[error(transparent)]
    Command(#[from] CmdError),
    /// QEMU refused the command.
    #[error("QEMU refused {what} on domain {domain}: {desc} ({class})")]
    Refused {
        what: String,
        domain: String,
        class: String,
        desc: String,
    },
    /// The answer was not what QMP documents.
    #[error("Could not parse QEMU's answer to {what}: {reason}")]
    Parse { what: String, reason: String },
    /// The running domain has no disk backed by this file.
    #[error("Domain {domain} has no disk open on {}", .file.display())]
    NoDisk { domain: String, file: PathBuf },
}

impl QmpError {
    /// QEMU said the snapshot does not exist on the disk.
    pub fn is_missing_snapshot(&self) -> bool {
        matches!(self, QmpError::Refused { desc, .. } if desc.contains("does not exist"))
    }
}

/// A QMP answer: the `return` value, or QEMU's error as `(class, desc)`.
pub fn parse_reply(text: &str) -> Result<Result<Value, (String, String)>, String> {
    let v: Value = serde_json::from_str(text.trim()).map_err(|e| e.to_string())?;
    if let Some(e) = v.get("error") {
        let field = |k: &str| e[k].as_str().unwrap_or("").to_owned();
        return Ok(Err((field("class"), field("desc"))));
    }
    match v.get("return") {
        Some(r) => Ok(Ok(r.clone())),
        None => Err("neither \"return\" nor \"error\"".into()),
    }
}

/// The `(file, node name)` of each disk in a `query-block` answer's `return`.
pub fn parse_block_nodes(ret: &Value) -> Result<Vec<(PathBuf, String)>, String> {
    let list = ret.as_array().ok_or("query-block: not a list")?;
    let mut out = Vec::new();
    for b in list {
        let Some(ins) = b.get("inserted") else {
            continue; // an empty drive (CD-ROM without a medium)
        };
        let file = ins["file"].as_str().ok_or("query-block: no \"file\"")?;
        let node = match ins["node-name"].as_str() {
            Some(n) if !n.is_empty() => n,
            _ => b["device"].as_str().ok_or("query-block: no node name")?,
        };
        out.push((PathBuf::from(file), node.to_owned()));
    }
    Ok(out)
}

/// The `transaction` taking internal snapshot `name` of every node in `nodes` at once.
pub fn snapshot_transaction(nodes: &[String], name: &str) -> Value {
    let actions: Vec<Value> = nodes
        .iter()
        .map(|n| {
            json!({"type": "blockdev-snapshot-internal-sync",
                   "data": {"device": n, "name": name}})
        })
        .collect();
    json!({"execute": "transaction", "arguments": {"actions": actions}})
}

/// One monitor command on a running domain.
pub struct Monitor<'a> {
    /// libvirt URI of the node the domain runs on.
    pub uri: &'a str,
    /// The domain's name.
    pub domain: &'a str,
}

impl Monitor<'_> {
    /// Runs `command`, returns its `return`.
    pub fn execute(&self, what: &str, command: &Value) -> Result<Value, QmpError> {
        let out = Cmd::new("virsh")
            .args(["-q", "-c", self.uri, "qemu-monitor-command", "--"])
            .arg(self.domain)
            .arg(command.to_string())
            .timeout(QMP_TIMEOUT)
            .run()?;
        let parse = |reason: String| QmpError::Parse {
            what: what.to_owned(),
            reason,
        };
        match parse_reply(&out.stdout_str()).map_err(parse)? {
            Ok(v) => Ok(v),
            Err((class, desc)) => Err(QmpError::Refused {
                what: what.to_owned(),
                domain: self.domain.to_owned(),
                class,
                desc,
            }),
        }
    }

    /// The node name of each of `files` (in that order).
    pub fn nodes_of(&self, files: &[PathBuf]) -> Result<Vec<String>, QmpError> {
        let ret = self.execute("query-block", &json!({"execute": "query-block"}))?;
        let open = parse_block_nodes(&ret).map_err(|reason| QmpError::Parse {
            what: "query-block".into(),
            reason,
        })?;
        files
            .iter()
            .map(|f| {
                open.iter()
                    .find(|(o, _)| same_file(o, f))
                    .map(|(_, n)| n.clone())
                    .ok_or_else(|| QmpError::NoDisk {
                        domain: self.domain.to_owned(),
                        file: f.clone(),
                    })
            })
            .collect()
    }

    /// Takes internal snapshot `name` of the disks open on `files`, all at one instant.
    pub fn snapshot(&self, files: &[PathBuf], name: &str) -> Result<(), QmpError> {
        let nodes = self.nodes_of(files)?;
        self.execute(
            "an internal snapshot transaction",
            &snapshot_transaction(&nodes, name),
        )?;
        Ok(())
    }

    /// Removes internal snapshot `name` of the disk open on `file`; `false` if it had none.
    pub fn delete_snapshot(&self, file: &Path, name: &str) -> Result<bool, QmpError> {
        let node = self.nodes_of(&[file.to_owned()])?.remove(0);
        let cmd = json!({"execute": "blockdev-snapshot-delete-internal-sync",
                         "arguments": {"device": node, "name": name}});
        match self.execute("blockdev-snapshot-delete-internal-sync", &cmd) {
            Ok(_) => Ok(true),
            Err(e) if e.is_missing_snapshot() => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Whether two paths name the same file (as given, or once resolved).
fn same_file(a: &Path, b: &Path) -> bool {
    a == b
        || matches!(
            (std::fs::canonicalize(a), std::fs::canonicalize(b)),
            (Ok(x), Ok(y)) if x == y
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let p = format!(
            "{}/../tests/fixtures/libvirt/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    #[test]
    fn query_block_names_each_file_by_its_format_node() {
        let ret = parse_reply(&fixture("qmp-query-block.out"))
            .unwrap()
            .unwrap();
        assert_eq!(
            parse_block_nodes(&ret).unwrap(),
            [
                (
                    PathBuf::from("/var/tmp/h14rec/a.qcow2"),
                    "libvirt-2-format".to_owned()
                ),
                (
                    PathBuf::from("/var/tmp/h14rec/b.qcow2"),
                    "libvirt-1-format".to_owned()
                ),
            ]
        );
        // a drive without a medium is skipped; a disk without a node name uses its device
        let v = json!([{"device": "ide0-cd0"},
                       {"device": "drive-virtio-disk0", "inserted": {"file": "/a"}}]);
        assert_eq!(
            parse_block_nodes(&v).unwrap(),
            [(PathBuf::from("/a"), "drive-virtio-disk0".to_owned())]
        );
        assert!(parse_block_nodes(&json!({})).is_err());
    }

    #[test]
    fn qemu_errors_arrive_with_exit_status_zero_and_are_recognised() {
        // recorded with virsh exiting 0
        assert_eq!(fixture("qmp-transaction-snapshot-exists.rc").trim(), "0");
        let (class, desc) = parse_reply(&fixture("qmp-transaction-snapshot-exists.out"))
            .unwrap()
            .unwrap_err();
        assert_eq!(class, "GenericError");
        assert!(desc.contains("'s1' already exists"), "{desc}");
        let (_, desc) = parse_reply(&fixture("qmp-snapshot-delete-missing.out"))
            .unwrap()
            .unwrap_err();
        let e = QmpError::Refused {
            what: "delete".into(),
            domain: "d".into(),
            class,
            desc,
        };
        assert!(e.is_missing_snapshot(), "{e}");
        // successes
        assert_eq!(
            parse_reply(&fixture("qmp-transaction-snapshot.out"))
                .unwrap()
                .unwrap(),
            json!({})
        );
        let deleted = parse_reply(&fixture("qmp-snapshot-delete.out"))
            .unwrap()
            .unwrap();
        assert_eq!(deleted["name"], "s1");
        assert!(parse_reply("{}").is_err());
        assert!(parse_reply("error: x").is_err());
    }

    #[test]
    fn one_transaction_snapshots_every_disk() {
        let t = snapshot_transaction(
            &["libvirt-2-format".into(), "libvirt-1-format".into()],
            "s1",
        );
        // exactly what was recorded working in qmp-transaction-snapshot.out
        assert_eq!(
            t.to_string(),
            r#"{"arguments":{"actions":[{"data":{"device":"libvirt-2-format","name":"s1"},"type":"blockdev-snapshot-internal-sync"},{"data":{"device":"libvirt-1-format","name":"s1"},"type":"blockdev-snapshot-internal-sync"}]},"execute":"transaction"}"#
        );
    }
}
