//! `rados_notify2`: asks every watcher of an object to answer, and tells which did not.

use std::ffi::{c_char, c_int};
use std::ptr;

use crate::handles::{check, cstr, IoCtx};
use crate::FfiError;

/// `ETIMEDOUT`: some watcher did not answer within the timeout (the reply still lists who did).
const ETIMEDOUT: c_int = 110;

/// The outcome of one notify.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notified {
    /// Whether some watcher did not answer in time (`rados_notify2` returned `-ETIMEDOUT`).
    pub timed_out: bool,
    /// The reply buffer as librados encodes it: the answers (`map<pair<gid, cookie>,
    /// bufferlist>`) then the watchers that timed out (`set<pair<gid, cookie>>`).
    pub reply: Vec<u8>,
}

impl IoCtx {
    /// `rados_notify2(oid, empty payload, timeout_ms)`. An empty payload is what librbd's own
    /// header-update notification was before it carried one: an image's clients refresh their
    /// header view on their next I/O and answer; a client that is gone answers nothing.
    pub fn notify(&self, oid: &str, timeout_ms: u64) -> Result<Notified, FfiError> {
        const CALL: &str = "rados_notify2";
        let o = cstr(CALL, oid)?;
        let mut buf: *mut c_char = ptr::null_mut();
        let mut len = 0usize;
        // SAFETY: a valid ioctx; NUL-terminated object name; an empty payload (a non-null
        // pointer with length 0 is never read); valid out-pointers for the reply buffer, which
        // librados allocates and we free below with rados_buffer_free.
        let rc = unsafe {
            (self.api().notify2)(
                self.handle,
                o.as_ptr(),
                c"".as_ptr(),
                0,
                timeout_ms,
                &mut buf,
                &mut len,
            )
        };
        let reply = if buf.is_null() {
            Vec::new()
        } else {
            // SAFETY: librados filled `buf` with `len` readable bytes.
            let bytes = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), len) }.to_vec();
            // SAFETY: allocated by librados for this call, freed once.
            unsafe { (self.api().buffer_free)(buf) };
            bytes
        };
        if rc == -ETIMEDOUT {
            return Ok(Notified {
                timed_out: true,
                reply,
            });
        }
        check(CALL, rc)?;
        Ok(Notified {
            timed_out: false,
            reply,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test tooling, not a test: records a real reply for the parser's fixtures
    /// (`tests/fixtures/ceph/README.md`). Inside a sandbox node:
    /// `VMMGR_NOTIFY_OBJ=rbd/rbd_header.ID ceph_ffi-HASH --ignored --nocapture record_notify`.
    #[test]
    #[ignore = "records a fixture from a live Ceph; run by hand"]
    fn record_notify_reply() {
        let spec = std::env::var("VMMGR_NOTIFY_OBJ").expect("VMMGR_NOTIFY_OBJ=pool/object");
        let (pool, obj) = spec.split_once('/').expect("pool/object");
        let api = crate::Api::get().expect("librados loads");
        let c = std::sync::Arc::new(crate::Cluster::connect(api, None, None, &[]).unwrap());
        let n = IoCtx::new(&c, pool, "").unwrap().notify(obj, 1500).unwrap();
        let hex: String = n.reply.iter().map(|b| format!("{b:02x}")).collect();
        println!("timed_out={} reply={hex}", n.timed_out);
    }
}
