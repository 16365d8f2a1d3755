//! A private scratch directory for files that Pacemaker's tools read (`crm_diff`, `cibadmin
//! --patch`, `crm_simulate`): created with mode 0700 under the system temp directory, its files
//! mode 0600, the whole directory removed on drop, or by [`remove_all`] for a process about
//! to exit without running destructors (a second interrupt).

use std::fs;
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

/// The directories of the live [`PrivateDir`]s of this process.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes the directory of every live [`PrivateDir`] now, for a process that is about to
/// exit at once (`process::exit` runs no destructors).
pub fn remove_all() {
    for dir in live().drain(..) {
        let _ = fs::remove_dir_all(dir);
    }
}

/// A private directory, removed (with its files) on drop.
#[derive(Debug)]
pub struct PrivateDir {
    dir: PathBuf,
}

impl PrivateDir {
    /// Creates `<temp dir>/<prefix>-<pid>-<n>` with mode 0700 (`n` counts per process, so
    /// threads and repeated calls never share a directory).
    pub fn new(prefix: &str) -> io::Result<PrivateDir> {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "{prefix}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::DirBuilder::new().mode(0o700).create(&dir)?;
        live().push(dir.clone());
        Ok(PrivateDir { dir })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Writes `text` to the file `name` in the directory (mode 0600, replacing it).
    pub fn write(&self, name: &str, text: &str) -> io::Result<PathBuf> {
        let path = self.dir.join(name);
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))?;
        Ok(path)
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        live().retain(|d| *d != self.dir);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn private_files_gone_on_drop() {
        let d = PrivateDir::new("vmmgr-test").unwrap();
        let other = PrivateDir::new("vmmgr-test").unwrap();
        assert_ne!(d.path(), other.path());
        let f = d.write("a.xml", "<a/>").unwrap();
        assert_eq!(fs::read_to_string(&f).unwrap(), "<a/>");
        d.write("a.xml", "<b/>").unwrap();
        assert_eq!(fs::read_to_string(&f).unwrap(), "<b/>");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(d.path()), 0o700);
        assert_eq!(mode(&f), 0o600);
        let dir = d.path().to_path_buf();
        drop(d);
        assert!(!dir.exists());
    }
}
