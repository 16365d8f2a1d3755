//! XDR (RFC 4506) encoding and decoding of the types the client sends and receives, and the
//! framing of libvirt's messages (virnetprotocol.x): length word, header, payload.

use std::fmt;

use super::error::RemoteError;
use super::{
    HEADER_LEN, MESSAGE_MAX, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, STATUS_ERROR, STATUS_OK,
    TYPE_CALL,
};

/// A message header (virnetprotocol.x `virNetMessageHeader`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Program (e.g. [`REMOTE_PROGRAM`]).
    pub prog: u32,
    /// Program version.
    pub vers: u32,
    /// Procedure.
    pub proc_: i32,
    /// [`super::TYPE_CALL`], [`super::TYPE_REPLY`], ...
    pub kind: i32,
    /// Serial, echoed by the reply.
    pub serial: u32,
    /// [`STATUS_OK`] or [`STATUS_ERROR`].
    pub status: i32,
}

/// XDR encoding of the types this client sends.
#[derive(Debug, Default, Clone)]
pub struct XdrWriter {
    buf: Vec<u8>,
}

impl XdrWriter {
    /// An empty payload.
    pub fn new() -> XdrWriter {
        XdrWriter::default()
    }

    /// `unsigned int`.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// `int`.
    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// `string<>` (`remote_nonnull_string`): length, bytes, zero padding to 4.
    pub fn string(&mut self, s: &str) -> &mut Self {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.resize(self.buf.len().next_multiple_of(4), 0);
        self
    }

    /// `remote_string` (an XDR optional string).
    pub fn opt_string(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.u32(1).string(s),
            None => self.u32(0),
        }
    }

    /// Fixed-length `opaque[n]` (e.g. a UUID), padded to 4.
    pub fn opaque_fixed(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self.buf.resize(self.buf.len().next_multiple_of(4), 0);
        self
    }

    /// The encoded bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// XDR decoding of the types this client receives; every read checks the length.
#[derive(Debug, Clone)]
pub struct XdrReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// A decoding failure: what was being read at which offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XdrError(pub String);

impl fmt::Display for XdrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'a> XdrReader<'a> {
    /// Reads `buf` from its start.
    pub fn new(buf: &'a [u8]) -> XdrReader<'a> {
        XdrReader { buf, pos: 0 }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], XdrError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| {
                XdrError(format!(
                    "truncated payload: {what} needs {n} bytes at offset {} of {}",
                    self.pos,
                    self.buf.len()
                ))
            })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// `unsigned int` (also `unsigned char` and `unsigned short`, which XDR widens).
    pub fn u32(&mut self) -> Result<u32, XdrError> {
        let b = self.take(4, "an integer")?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// `int`.
    pub fn i32(&mut self) -> Result<i32, XdrError> {
        Ok(self.u32()? as i32)
    }

    /// `unsigned hyper`.
    pub fn u64(&mut self) -> Result<u64, XdrError> {
        let hi = u64::from(self.u32()?);
        Ok(hi << 32 | u64::from(self.u32()?))
    }

    /// `string<>`, decoded as UTF-8 (lossily: libvirt messages are UTF-8).
    pub fn string(&mut self) -> Result<String, XdrError> {
        let len = self.u32()? as usize;
        if len > MESSAGE_MAX {
            return Err(XdrError(format!("string length {len} is impossible")));
        }
        let b = self.take(len, "a string")?;
        self.take(len.next_multiple_of(4) - len, "string padding")?;
        Ok(String::from_utf8_lossy(b).into_owned())
    }

    /// An XDR optional: `0` → `None`, `1` → `Some(read())`.
    pub fn optional<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, XdrError>,
    ) -> Result<Option<T>, XdrError> {
        match self.u32()? {
            0 => Ok(None),
            1 => read(self).map(Some),
            other => Err(XdrError(format!(
                "optional discriminant {other} is neither 0 nor 1"
            ))),
        }
    }

    /// A variable-length array `T what<max>`: its count, checked against `max`, then each
    /// element.
    pub fn array<T>(
        &mut self,
        max: usize,
        what: &str,
        mut read: impl FnMut(&mut Self) -> Result<T, XdrError>,
    ) -> Result<Vec<T>, XdrError> {
        let n = self.u32()? as usize;
        if n > max {
            return Err(XdrError(format!(
                "{n} {what} is more than the protocol's maximum of {max}"
            )));
        }
        (0..n).map(|_| read(self)).collect()
    }

    /// Fixed-length `opaque[N]`.
    pub fn opaque_fixed<const N: usize>(&mut self) -> Result<[u8; N], XdrError> {
        let b = self.take(N, "fixed opaque data")?;
        self.take(N.next_multiple_of(4) - N, "opaque padding")?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
}

/// Encodes a whole call message: length word, header, payload.
pub fn encode_call(proc_: i32, serial: u32, payload: &[u8]) -> Vec<u8> {
    let len = HEADER_LEN + payload.len();
    let mut w = XdrWriter::new();
    w.u32(len as u32)
        .u32(REMOTE_PROGRAM)
        .u32(REMOTE_PROTOCOL_VERSION)
        .i32(proc_)
        .i32(TYPE_CALL)
        .u32(serial)
        .i32(STATUS_OK);
    let mut msg = w.into_bytes();
    msg.extend_from_slice(payload);
    msg
}

/// Decodes the total length from a message's first 4 bytes, checking its bounds.
pub fn decode_length(word: [u8; 4]) -> Result<usize, XdrError> {
    let len = u32::from_be_bytes(word) as usize;
    if !(HEADER_LEN..=MESSAGE_MAX).contains(&len) {
        return Err(XdrError(format!("message length {len} is out of bounds")));
    }
    Ok(len)
}

/// Decodes a header from the 24 bytes after the length word.
pub fn decode_header(r: &mut XdrReader<'_>) -> Result<Header, XdrError> {
    Ok(Header {
        prog: r.u32()?,
        vers: r.u32()?,
        proc_: r.i32()?,
        kind: r.i32()?,
        serial: r.u32()?,
        status: r.i32()?,
    })
}

/// Decodes a `remote_error` (all fields, so that a malformed one is noticed).
pub fn decode_error(r: &mut XdrReader<'_>) -> Result<RemoteError, XdrError> {
    let code = r.i32()?;
    let domain = r.i32()?;
    let message = r.optional(XdrReader::string)?;
    let level = r.i32()?;
    r.optional(XdrReader::domain)?;
    for _ in 0..3 {
        r.optional(XdrReader::string)?;
    }
    r.i32()?;
    r.i32()?;
    // remote_network: name + uuid
    r.optional(|r| {
        r.string()?;
        r.opaque_fixed::<16>()
    })?;
    Ok(RemoteError {
        code,
        domain,
        message,
        level,
    })
}

/// A reply: its header and payload (the `remote_error` when `status` is [`STATUS_ERROR`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The header.
    pub header: Header,
    /// The payload after the header.
    pub payload: Vec<u8>,
}

impl Reply {
    /// Decodes a whole message (length word included).
    pub fn decode(msg: &[u8]) -> Result<Reply, XdrError> {
        let word: [u8; 4] = msg
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| XdrError("message shorter than its length word".into()))?;
        let len = decode_length(word)?;
        if len != msg.len() {
            return Err(XdrError(format!(
                "length word says {len} bytes, message has {}",
                msg.len()
            )));
        }
        let mut r = XdrReader::new(&msg[4..]);
        let header = decode_header(&mut r)?;
        Ok(Reply {
            header,
            payload: msg[HEADER_LEN..].to_vec(),
        })
    }

    /// The payload of a successful reply, or the decoded libvirt error.
    pub fn result(&self) -> Result<&[u8], Result<RemoteError, XdrError>> {
        match self.header.status {
            STATUS_OK => Ok(&self.payload),
            STATUS_ERROR => Err(decode_error(&mut XdrReader::new(&self.payload))),
            other => Err(Err(XdrError(format!("reply status {other}")))),
        }
    }
}
