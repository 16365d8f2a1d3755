//! The directory backend's file writing ([`write_atomic`]) and its errors as
//! [`StorageError`]s.

use std::io::Write;
use std::path::Path;

use shared::qcow2::Qcow2Error;

use super::StorageError;

pub(super) fn io_error(what: impl std::fmt::Display, e: std::io::Error) -> StorageError {
    if e.kind() == std::io::ErrorKind::NotFound {
        return StorageError::NotFound {
            what: what.to_string(),
        };
    }
    StorageError::Io {
        what: what.to_string(),
        source: e,
    }
}

pub(super) fn from_qcow2(e: Qcow2Error) -> StorageError {
    match e {
        Qcow2Error::Unreadable { path, detail } => StorageError::ImageUnreadable { path, detail },
        Qcow2Error::Command(c) => StorageError::Command(c),
        Qcow2Error::Parse { cmdline, reason } => StorageError::Parse {
            what: cmdline,
            detail: reason,
        },
        Qcow2Error::Format { format } => StorageError::InvalidSetting {
            what: "image format",
            value: format,
            reason: "only qcow2 and raw are imported",
        },
    }
}

/// Writes `content` to `path` atomically: a temporary file beside it, synced, renamed over it.
pub fn write_atomic(path: &Path, content: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let file = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{file}.tmp-{}", std::process::id()));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(content)?;
        f.sync_all()
    })();
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}
