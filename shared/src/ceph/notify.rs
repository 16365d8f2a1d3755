//! Which watchers of an object still answer: a `rados_notify2` on it, and the pure decoder of
//! its reply.
//!
//! A client that has an image open answers a notify on the image's header at once (librbd's
//! image watcher acks every notification); a client that is gone (killed, its node rebooted)
//! answers nothing, yet the OSD keeps its watch until `osd_client_watch_timeout` (30 s by
//! default) has passed without a ping. The notify tells the two apart in one bounded call.
//! There is no tool for it within a useful time (`rados notify` waits a fixed 10 s), so it is
//! done through librados only; without the libraries the answer is "unknown".

use std::sync::Arc;
use std::time::Duration;

use ceph_ffi::IoCtx;

use super::client::Ceph;
use super::error::CephError;
use super::names::ObjectSpec;
use super::native::Native;

/// One watch: the client's id (`client.<gid>`) and the watch cookie.
pub type Watch = (u64, u64);

/// The decoded reply of a notify.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyReply {
    /// The watches that answered (with their payload's length).
    pub answered: Vec<(Watch, usize)>,
    /// The watches that did not answer in time.
    pub missed: Vec<Watch>,
}

/// Bounded little-endian reader of a Ceph encoding.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        if self.0.len() < n {
            return Err(format!(
                "notify reply: {n} bytes wanted, {} left",
                self.0.len()
            ));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    /// A count, bounded by the bytes left (each item takes at least `min` bytes).
    fn count(&mut self, min: usize) -> Result<usize, String> {
        let n = usize::try_from(self.u32()?).map_err(|e| e.to_string())?;
        if n.checked_mul(min).is_none_or(|need| need > self.0.len()) {
            return Err(format!("notify reply: {n} items cannot fit"));
        }
        Ok(n)
    }
}

/// Decodes the reply buffer of `rados_notify2` (pure): `map<pair<u64 gid, u64 cookie>,
/// bufferlist>` of the answers, then `set<pair<u64 gid, u64 cookie>>` of the watches that
/// timed out (librados' `decode_notify_response`). An empty buffer is no answer and no miss.
pub fn parse_notify_reply(buf: &[u8]) -> Result<NotifyReply, String> {
    let mut r = Reader(buf);
    let mut out = NotifyReply::default();
    if buf.is_empty() {
        return Ok(out);
    }
    for _ in 0..r.count(20)? {
        let w = (r.u64()?, r.u64()?);
        let len = usize::try_from(r.u32()?).map_err(|e| e.to_string())?;
        r.take(len)?;
        out.answered.push((w, len));
    }
    for _ in 0..r.count(16)? {
        out.missed.push((r.u64()?, r.u64()?));
    }
    if !r.0.is_empty() {
        return Err(format!("notify reply: {} bytes left over", r.0.len()));
    }
    Ok(out)
}

impl Native {
    fn notify(
        self: &Arc<Self>,
        deadline: std::time::Instant,
        obj: &ObjectSpec,
        timeout: Duration,
    ) -> Result<NotifyReply, CephError> {
        let call = format!("rados_notify2({obj})");
        let o = obj.clone();
        let ms = u64::try_from(timeout.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let n = self.bounded(deadline, call.clone(), move |c| {
            IoCtx::new(c, &o.pool, &o.namespace)?.notify(&o.object, ms)
        })?;
        parse_notify_reply(&n.reply).map_err(|reason| CephError::Parse {
            cmdline: call,
            reason,
        })
    }
}

impl Ceph {
    /// The watches on `obj` that did not answer a notify within `timeout` (clients that are
    /// gone, whose watch the OSD keeps until it times out); `None` when this cannot be known
    /// (no librados: the tools have no bounded notify).
    pub fn unanswered_watches(
        &self,
        obj: &ObjectSpec,
        timeout: Duration,
    ) -> Result<Option<Vec<Watch>>, CephError> {
        match self.native() {
            Some((n, d)) => Ok(Some(n.notify(d, obj, timeout)?.missed)),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
#[path = "notify_tests.rs"]
mod tests;
