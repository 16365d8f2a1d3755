//! Whether a disk image file is open for writing by a QEMU process, seen through the locks
//! QEMU takes on it (QEMU's `file-posix` image locking, on by default): for each permission it
//! holds it keeps a shared OFD lock on byte `100 + bit` of the file, and the write permission
//! is bit 1 (`BLK_PERM_WRITE`). A write-lock test of byte 101 then conflicts exactly when some
//! QEMU has the image open for writing, on this host or, on a cluster filesystem that carries
//! POSIX locks across nodes (OCFS2, GFS2, NFSv4), on another.

use std::fs::File;
use std::io;
use std::path::Path;

use nix::fcntl::{fcntl, FcntlArg};
use nix::libc;

/// The byte QEMU locks for the write permission (`RAW_LOCK_PERM_BASE + BLK_PERM_WRITE` bit).
pub const WRITE_PERM_BYTE: i64 = 101;

/// Whether some process holds a lock on `path` that a write lock of [`WRITE_PERM_BYTE`] would
/// conflict with (`F_OFD_GETLK`; nothing is locked by this test).
pub fn open_for_writing(path: &Path) -> io::Result<bool> {
    let file = File::open(path)?;
    let mut fl = libc::flock {
        l_type: libc::F_WRLCK as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: WRITE_PERM_BYTE,
        l_len: 1,
        // F_OFD_GETLK wants 0 here
        l_pid: 0,
    };
    fcntl(&file, FcntlArg::F_OFD_GETLK(&mut fl)).map_err(io::Error::from)?;
    Ok(fl.l_type != libc::F_UNLCK as libc::c_short)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// QEMU's lock taken the way QEMU takes it (a shared OFD lock on byte 101, from another open
    /// file description), then seen; not seen once released or on another byte.
    #[test]
    fn a_shared_lock_on_the_write_byte_is_seen() {
        let path = std::env::temp_dir().join(format!("vmmgr-lock-{}", std::process::id()));
        std::fs::write(&path, vec![0u8; 4096]).unwrap();
        assert!(!open_for_writing(&path).unwrap());
        let qemu = File::open(&path).unwrap();
        let lock = |byte: i64, kind: libc::c_int| libc::flock {
            l_type: kind as libc::c_short,
            l_whence: libc::SEEK_SET as libc::c_short,
            l_start: byte,
            l_len: 1,
            l_pid: 0,
        };
        fcntl(&qemu, FcntlArg::F_OFD_SETLK(&lock(100, libc::F_RDLCK))).unwrap();
        assert!(!open_for_writing(&path).unwrap(), "read permission only");
        fcntl(&qemu, FcntlArg::F_OFD_SETLK(&lock(101, libc::F_RDLCK))).unwrap();
        assert!(open_for_writing(&path).unwrap());
        drop(qemu);
        assert!(
            !open_for_writing(&path).unwrap(),
            "released with its descriptor"
        );
        std::fs::remove_file(&path).unwrap();
        assert!(open_for_writing(&path).is_err());
    }
}
