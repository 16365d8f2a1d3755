//! Bounded reads of files that come from users or from the system: a regular file only, read
//! with a size cap, and never a blocking open.
//!
//! `std::fs::read_to_string` on `/dev/zero` grows memory without end, and on a FIFO with no
//! writer it blocks forever (past an OCF operation's timeout, with no exit reason). These
//! functions open with `O_NONBLOCK` (so a FIFO's open returns at once), refuse anything that is
//! not a regular file, and stop reading at `cap` bytes. Their errors are [`std::io::Error`]s
//! whose message names the file and the reason, so callers keep their own error types.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use nix::fcntl::OFlag;

/// A cap for configuration files (vm-mgr.conf, small state files): 1 MiB.
pub const CONFIG_CAP: u64 = 1 << 20;
/// A cap for XML documents users hand over (domain XML, CIB fragments): 16 MiB.
pub const XML_CAP: u64 = 16 << 20;

/// What a non-regular file is, for messages.
fn kind_of(ft: std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Opens `path` for reading without blocking and checks that it is a regular file.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(OFlag::O_NONBLOCK.bits() | OFlag::O_NOCTTY.bits())
        .open(path)?;
    let ft = file.metadata()?.file_type();
    if !ft.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is {}, not a regular file", path.display(), kind_of(ft)),
        ));
    }
    Ok(file)
}

/// Reads the whole regular file `path` as bytes, refusing one larger than `cap` bytes.
pub fn read_bytes(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let file = open_regular(path)?;
    let mut out = Vec::new();
    // one byte more than the cap tells "exactly cap" from "larger"
    file.take(cap.saturating_add(1)).read_to_end(&mut out)?;
    if u64::try_from(out.len()).unwrap_or(u64::MAX) > cap {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} is larger than {} bytes, the most that is read",
                path.display(),
                cap
            ),
        ));
    }
    Ok(out)
}

/// Reads the whole regular file `path` as UTF-8 text, refusing one larger than `cap` bytes.
pub fn read_text(path: &Path, cap: u64) -> io::Result<String> {
    let bytes = read_bytes(path, cap)?;
    String::from_utf8(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not UTF-8 text", path.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn scratch(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("fsread-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&d);
        d
    }

    #[test]
    fn a_regular_file_within_the_cap_is_read_whole() {
        let p = scratch("ok");
        std::fs::write(&p, "<domain/>").unwrap();
        assert_eq!(read_text(&p, 9).unwrap(), "<domain/>");
        let e = read_text(&p, 8).unwrap_err();
        assert!(e.to_string().contains("larger than 8 bytes"), "{e}");
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn dev_zero_is_refused_at_once_without_reading() {
        let t = Instant::now();
        let e = read_text(Path::new("/dev/zero"), XML_CAP).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(2));
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(
            e.to_string().contains("/dev/zero is a character device"),
            "{e}"
        );
    }

    #[test]
    fn a_fifo_without_writer_is_refused_without_blocking() {
        let p = scratch("fifo");
        nix::unistd::mkfifo(
            &p,
            nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
        )
        .unwrap();
        let t = Instant::now();
        let e = read_text(&p, CONFIG_CAP).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(2));
        assert!(e.to_string().contains("is a FIFO"), "{e}");
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn directories_missing_files_and_binary_are_clear_errors() {
        let e = read_text(Path::new("/"), CONFIG_CAP).unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
        let e = read_text(Path::new("/nonexistent/vm.xml"), CONFIG_CAP).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        let p = scratch("bin");
        std::fs::write(&p, [0xff, 0xfe, 0x00]).unwrap();
        let e = read_text(&p, CONFIG_CAP).unwrap_err();
        assert!(e.to_string().contains("not UTF-8"), "{e}");
        std::fs::remove_file(&p).unwrap();
    }
}
