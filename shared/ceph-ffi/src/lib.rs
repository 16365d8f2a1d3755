//! The unsafe layer under `shared::ceph`: librados' and librbd's stable C ABI (`librados.so.2`,
//! `librbd.so.1`, Ceph 16), loaded at run time with `dlopen` the first time a caller asks for
//! it ([`Api::get`]), so that a process which never talks to Ceph never loads them, and a
//! build needs no `-dev` package.
//!
//! Only the calls the agents' hot paths need are bound. The types here are thin owners of the
//! C handles ([`Cluster`], [`IoCtx`], [`Image`]); errors are the negative errno the library
//! returned, with the name of the call ([`FfiError`]). Timeouts, deadlines and the mapping to
//! `CephError` live in the safe layer above.
//!
//! The signatures follow `rados/librados.h` and `rbd/librbd.h` of Ceph 16.2 (packages
//! librados-dev, librbd-dev); each is checked against the library's exported symbols when it is
//! loaded (a missing symbol makes [`Api::get`] fail, and the caller falls back to the tools).

#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

mod api;
mod handles;
mod notify;

pub use api::Api;
pub use handles::{Cluster, GroupImage, Image, IoCtx, Lockers, Watcher};
pub use notify::Notified;

/// A failed library call: its name and the (negative) errno it returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FfiError {
    /// The C function, e.g. `rados_lock_exclusive`.
    pub call: &'static str,
    /// The negative errno (`-16` for EBUSY), as the library returned it.
    pub rc: i32,
}

impl FfiError {
    /// The positive errno.
    pub fn errno(&self) -> i32 {
        self.rc.checked_neg().unwrap_or(i32::MAX)
    }

    /// The system's text for the errno ("Device or resource busy").
    pub fn message(&self) -> String {
        let text = std::io::Error::from_raw_os_error(self.errno()).to_string();
        // std appends " (os error N)"
        match text.rsplit_once(" (os error") {
            Some((head, _)) => head.to_owned(),
            None => text,
        }
    }
}

impl std::fmt::Display for FfiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} returned {}: {}", self.call, self.rc, self.message())
    }
}

impl std::error::Error for FfiError {}

/// Ends the process at once with `code` (`_exit`), without running the exit handlers and
/// static destructors of the loaded libraries: for a process that abandoned a librados call
/// still running in another thread, where librados' destructors would race that thread (and
/// could abort the process instead of letting it exit with its code). The caller flushes its
/// output first.
pub fn exit_now(code: u8) -> ! {
    // SAFETY: `_exit` has no preconditions; it ends the process without unwinding or running
    // destructors, which no invariant of this process relies on at this point (its output is
    // flushed, and the operating system releases everything else).
    unsafe { libc::_exit(i32::from(code)) }
}

/// Why the libraries could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError(pub String);

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot load librados/librbd: {}", self.0)
    }
}

impl std::error::Error for LoadError {}

/// Splits a buffer of NUL-terminated strings (as `rados_list_lockers` fills them) into at most
/// `n` strings (pure).
pub fn split_nul_list(buf: &[u8], n: usize) -> Vec<String> {
    buf.split(|b| *b == 0)
        .take(n)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// The text up to the first NUL of a buffer a C call filled (pure).
pub fn until_nul(buf: &[u8]) -> String {
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_lists_split_into_the_counted_strings() {
        assert_eq!(
            split_nul_list(b"client.4\0client.5\0", 2),
            ["client.4", "client.5"]
        );
        assert_eq!(split_nul_list(b"a\0b\0", 1), ["a"]);
        assert!(split_nul_list(b"", 0).is_empty());
        assert_eq!(until_nul(b"abc\0def"), "abc");
        assert_eq!(until_nul(b"abc"), "abc");
    }

    #[test]
    fn errors_name_the_call_and_the_errno() {
        let e = FfiError {
            call: "rados_lock_exclusive",
            rc: -16,
        };
        assert_eq!(e.errno(), 16);
        assert_eq!(
            e.to_string(),
            "rados_lock_exclusive returned -16: Device or resource busy"
        );
        assert_eq!(
            FfiError {
                call: "x",
                rc: i32::MIN
            }
            .errno(),
            i32::MAX
        );
    }
}
