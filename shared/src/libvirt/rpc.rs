//! A minimal client for libvirt's own RPC protocol over the local UNIX socket, for callers that
//! must not load the libvirt client library (`libvirt.so` pulls in ~57 shared libraries, ~9 ms
//! of dynamic loading per process: more than a whole monitor should cost).
//!
//! It speaks exactly what `virConnectOpen("qemu:///system")` + `virDomainLookupByName` +
//! `virDomainGetInfo` send on the wire (libvirt `src/rpc/virnetprotocol.x` and
//! `src/remote/remote_protocol.x`; procedure numbers and structures are libvirt's stable ABI):
//!
//! - a message is a 4-byte big-endian length (counting itself), a header `{prog, vers, proc,
//!   type, serial, status}` and an XDR payload;
//! - [`Client::connect`] sends `REMOTE_PROC_AUTH_LIST` (for root on the UNIX socket libvirtd
//!   answers "none", bypassing polkit), then `REMOTE_PROC_CONNECT_OPEN`;
//! - [`Client::domain_status`] sends `REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME` then
//!   `REMOTE_PROC_DOMAIN_GET_INFO`; `VIR_ERR_NO_DOMAIN` is `Ok(None)`;
//! - [`Client::close`] sends `REMOTE_PROC_CONNECT_CLOSE`.
//!
//! Every step is bounded by the caller's deadline (connect on a helper thread, socket read and write
//! timeouts), so a frozen daemon gives [`RpcError::Timeout`] instead of a hang. Errors say
//! whether the daemon could not be reached ([`RpcError::is_unreachable`]: the state is unknown,
//! exactly like [`super::LibvirtError::is_unreachable`]) or answered with an error.
//!
//! Only for the local system instance of a libvirt daemon (`qemu:///system` or the default URI
//! as root); everything else goes through [`super::Connection`].

use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::domain::{DomainState, DomainStatus};

/// `REMOTE_PROGRAM` (remote_protocol.x).
pub const REMOTE_PROGRAM: u32 = 0x2000_8086;
/// `REMOTE_PROTOCOL_VERSION`.
pub const REMOTE_PROTOCOL_VERSION: u32 = 1;
/// `REMOTE_PROC_CONNECT_OPEN`.
pub const PROC_CONNECT_OPEN: i32 = 1;
/// `REMOTE_PROC_CONNECT_CLOSE`.
pub const PROC_CONNECT_CLOSE: i32 = 2;
/// `REMOTE_PROC_DOMAIN_GET_INFO`.
pub const PROC_DOMAIN_GET_INFO: i32 = 16;
/// `REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME`.
pub const PROC_DOMAIN_LOOKUP_BY_NAME: i32 = 23;
/// `REMOTE_PROC_AUTH_LIST`.
pub const PROC_AUTH_LIST: i32 = 66;

/// `VIR_NET_CALL` (virnetprotocol.x `virNetMessageType`).
pub const TYPE_CALL: i32 = 0;
/// `VIR_NET_REPLY`.
pub const TYPE_REPLY: i32 = 1;
/// `VIR_NET_OK` (`virNetMessageStatus`).
pub const STATUS_OK: i32 = 0;
/// `VIR_NET_ERROR`.
pub const STATUS_ERROR: i32 = 1;

/// `REMOTE_AUTH_NONE` (`remote_auth_type`).
pub const AUTH_NONE: i32 = 0;
/// `VIR_ERR_NO_DOMAIN` (virterror.h).
pub const VIR_ERR_NO_DOMAIN: i32 = 42;

/// `VIR_NET_MESSAGE_MAX` of current libvirt (32 MiB); nothing we read comes close.
pub const MESSAGE_MAX: usize = 32 * 1024 * 1024;
/// Bytes of the length word plus the header.
pub const HEADER_LEN: usize = 4 + 24;

/// The monolithic daemon's read-write socket.
pub const LIBVIRTD_SOCKET: &str = "/run/libvirt/libvirt-sock";
/// The modular qemu daemon's socket.
pub const VIRTQEMUD_SOCKET: &str = "/run/libvirt/virtqemud-sock";

/// The socket a root client of `qemu:///system` talks to, as libvirt's remote driver picks it
/// in its default ("auto") mode: the monolithic daemon's socket if it exists, else the modular
/// `virtqemud` one.
pub fn system_socket() -> PathBuf {
    if Path::new(LIBVIRTD_SOCKET).exists() || !Path::new(VIRTQEMUD_SOCKET).exists() {
        PathBuf::from(LIBVIRTD_SOCKET)
    } else {
        PathBuf::from(VIRTQEMUD_SOCKET)
    }
}

/// The name of a procedure this client uses (for messages and traces).
pub fn proc_name(proc_: i32) -> &'static str {
    match proc_ {
        PROC_CONNECT_OPEN => "connect_open",
        PROC_CONNECT_CLOSE => "connect_close",
        PROC_DOMAIN_GET_INFO => "domain_get_info",
        PROC_DOMAIN_LOOKUP_BY_NAME => "domain_lookup_by_name",
        PROC_AUTH_LIST => "auth_list",
        _ => "unknown",
    }
}

/// The error libvirtd returns with `VIR_NET_ERROR` (`remote_error`; the fields after `level`
/// are read but not kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
    /// `virErrorNumber`, e.g. [`VIR_ERR_NO_DOMAIN`].
    pub code: i32,
    /// `virErrorDomain`.
    pub domain: i32,
    /// The message, as libvirt formats it.
    pub message: Option<String>,
    /// `virErrorLevel`.
    pub level: i32,
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => f.write_str(m.trim_end_matches('.')),
            None => write!(f, "libvirt error code {}", self.code),
        }
    }
}

impl std::error::Error for RemoteError {}

/// Why an RPC exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The socket could not be connected (daemon down, socket missing, refused).
    #[error("Cannot connect to libvirt at {}", .socket.display())]
    Connect {
        /// The socket.
        socket: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The daemon did not answer before the deadline.
    #[error("libvirt at {} did not answer within {:.1} s while {what} (libvirtd hung?)", .socket.display(), .waited.as_secs_f64())]
    Timeout {
        /// The socket.
        socket: PathBuf,
        /// What the call was doing.
        what: String,
        /// How long the caller waited.
        waited: Duration,
    },
    /// The connection broke (daemon killed or restarted mid-call).
    #[error("The connection to libvirt at {} broke while {what}", .socket.display())]
    Io {
        /// The socket.
        socket: PathBuf,
        /// What the call was doing.
        what: String,
        #[source]
        source: io::Error,
    },
    /// The daemon's answer does not follow the protocol (or uses a feature this client lacks).
    #[error("Unexpected answer from libvirt while {what}: {detail}")]
    Protocol {
        /// What the call was doing.
        what: String,
        /// What was wrong.
        detail: String,
    },
    /// The daemon requires an authentication this client does not do (SASL, polkit).
    #[error("libvirt requires authentication (types {types:?}) that this client does not do")]
    AuthRequired {
        /// The `remote_auth_type` values offered.
        types: Vec<i32>,
    },
    /// libvirt answered with an error.
    #[error("libvirt failed {what}")]
    Remote {
        /// What the call was doing.
        what: String,
        #[source]
        error: RemoteError,
    },
}

impl RpcError {
    /// Returns true when the daemon could not be reached or did not answer: the state of the
    /// domain is unknown, as opposed to libvirt answering (with an error or something odd).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            RpcError::Connect { .. } | RpcError::Timeout { .. } | RpcError::Io { .. }
        )
    }

    /// Returns true for a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, RpcError::Timeout { .. })
    }

    /// The libvirt error, when libvirt answered with one.
    pub fn remote(&self) -> Option<&RemoteError> {
        match self {
            RpcError::Remote { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// A message header (virnetprotocol.x `virNetMessageHeader`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Program (e.g. [`REMOTE_PROGRAM`]).
    pub prog: u32,
    /// Program version.
    pub vers: u32,
    /// Procedure.
    pub proc_: i32,
    /// [`TYPE_CALL`], [`TYPE_REPLY`], ...
    pub kind: i32,
    /// Serial, echoed by the reply.
    pub serial: u32,
    /// [`STATUS_OK`] or [`STATUS_ERROR`].
    pub status: i32,
}

/// XDR encoding (RFC 4506) of the types this client sends.
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

    /// `remote_nonnull_domain`.
    pub fn domain(&mut self, d: &RemoteDomain) -> &mut Self {
        self.string(&d.name).opaque_fixed(&d.uuid).i32(d.id)
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

    /// Fixed-length `opaque[N]`.
    pub fn opaque_fixed<const N: usize>(&mut self) -> Result<[u8; N], XdrError> {
        let b = self.take(N, "fixed opaque data")?;
        self.take(N.next_multiple_of(4) - N, "opaque padding")?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    /// `remote_nonnull_domain`.
    pub fn domain(&mut self) -> Result<RemoteDomain, XdrError> {
        Ok(RemoteDomain {
            name: self.string()?,
            uuid: self.opaque_fixed::<16>()?,
            id: self.i32()?,
        })
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
}

/// `remote_nonnull_domain`: how the protocol names a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteDomain {
    /// The name.
    pub name: String,
    /// The UUID.
    pub uuid: [u8; 16],
    /// The id while running, else -1.
    pub id: i32,
}

/// `remote_domain_get_info_ret`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainInfo {
    /// `virDomainState`.
    pub state: u32,
    /// Maximum memory, KiB.
    pub max_mem: u64,
    /// Current memory, KiB.
    pub memory: u64,
    /// Number of vCPUs.
    pub nr_virt_cpu: u32,
    /// CPU time used, ns.
    pub cpu_time: u64,
}

impl DomainInfo {
    /// The typed status ([`super::Connection::domain_status`]'s answer).
    pub fn status(&self) -> DomainStatus {
        DomainStatus {
            state: DomainState::from_raw(self.state),
            vcpus: self.nr_virt_cpu,
            max_mem_kib: self.max_mem,
        }
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

/// `remote_auth_list_ret`: the offered `remote_auth_type`s.
pub fn decode_auth_list(r: &mut XdrReader<'_>) -> Result<Vec<i32>, XdrError> {
    let n = r.u32()? as usize;
    if n > 20 {
        return Err(XdrError(format!(
            "{n} auth types is more than REMOTE_AUTH_TYPE_LIST_MAX"
        )));
    }
    (0..n).map(|_| r.i32()).collect()
}

/// `remote_domain_get_info_ret`.
pub fn decode_domain_info(r: &mut XdrReader<'_>) -> Result<DomainInfo, XdrError> {
    Ok(DomainInfo {
        state: r.u32()?,
        max_mem: r.u64()?,
        memory: r.u64()?,
        nr_virt_cpu: r.u32()?,
        cpu_time: r.u64()?,
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

fn connect_socket(path: &Path, deadline: Instant) -> Result<UnixStream, RpcError> {
    // On a thread, so that a blocking connect (the listen backlog of a frozen daemon full of
    // waiting clients) cannot outlive the deadline; a stuck thread dies with the process.
    let started = Instant::now();
    let (tx, rx) = mpsc::channel();
    let p = path.to_owned();
    thread::Builder::new()
        .name("libvirt-connect".into())
        .spawn(move || {
            let _ = tx.send(UnixStream::connect(p));
        })
        .map_err(|source| RpcError::Connect {
            socket: path.to_owned(),
            source,
        })?;
    match rx.recv_timeout(deadline.saturating_duration_since(started)) {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(source)) => Err(RpcError::Connect {
            socket: path.to_owned(),
            source,
        }),
        Err(_) => Err(RpcError::Timeout {
            socket: path.to_owned(),
            what: "connecting".into(),
            waited: started.elapsed(),
        }),
    }
}

/// One connection to a libvirt daemon's UNIX socket, opened on `qemu:///system`.
#[derive(Debug)]
pub struct Client {
    socket: PathBuf,
    stream: UnixStream,
    serial: u32,
    trace: Option<(PathBuf, u32)>,
}

impl Client {
    /// Connects to `socket`, checks that no authentication is needed and opens `uri`, all
    /// before `deadline`.
    pub fn connect(socket: &Path, uri: &str, deadline: Instant) -> Result<Client, RpcError> {
        Client::connect_traced(socket, uri, deadline, None)
    }

    /// Like [`Client::connect`], writing every message sent and received to `trace` (a
    /// directory: `NN-call-PROC.bin`, `NN-reply-PROC.bin`), for recording test fixtures.
    pub fn connect_traced(
        socket: &Path,
        uri: &str,
        deadline: Instant,
        trace: Option<&Path>,
    ) -> Result<Client, RpcError> {
        let stream = connect_socket(socket, deadline)?;
        let mut c = Client {
            socket: socket.to_owned(),
            stream,
            serial: 0,
            trace: trace.map(|t| (t.to_owned(), 0)),
        };
        let what = "listing the authentication types";
        let payload = c.call(PROC_AUTH_LIST, &[], what, deadline)?;
        let types = decode_auth_list(&mut XdrReader::new(&payload)).map_err(|e| c.bad(what, e))?;
        if !types.is_empty() && !types.contains(&AUTH_NONE) {
            return Err(RpcError::AuthRequired { types });
        }
        let mut w = XdrWriter::new();
        w.opt_string(Some(uri)).u32(0);
        c.call(
            PROC_CONNECT_OPEN,
            &w.into_bytes(),
            &format!("opening {uri}"),
            deadline,
        )?;
        Ok(c)
    }

    fn bad(&self, what: &str, e: XdrError) -> RpcError {
        RpcError::Protocol {
            what: what.to_owned(),
            detail: e.0,
        }
    }

    fn record(&mut self, kind: &str, proc_: i32, msg: &[u8]) {
        if let Some((dir, n)) = &mut self.trace {
            *n += 1;
            let _ = fs::create_dir_all(&*dir);
            let _ = fs::write(
                dir.join(format!("{n:02}-{kind}-{}.bin", proc_name(proc_))),
                msg,
            );
        }
    }

    fn io_error(&self, what: &str, started: Instant, e: io::Error) -> RpcError {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => RpcError::Timeout {
                socket: self.socket.clone(),
                what: what.to_owned(),
                waited: started.elapsed(),
            },
            _ => RpcError::Io {
                socket: self.socket.clone(),
                what: what.to_owned(),
                source: e,
            },
        }
    }

    fn timeout_for(
        &self,
        what: &str,
        started: Instant,
        deadline: Instant,
    ) -> Result<Duration, RpcError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left < Duration::from_millis(1) {
            return Err(RpcError::Timeout {
                socket: self.socket.clone(),
                what: what.to_owned(),
                waited: started.elapsed(),
            });
        }
        Ok(left)
    }

    fn read_full(
        &mut self,
        buf: &mut [u8],
        what: &str,
        started: Instant,
        deadline: Instant,
    ) -> Result<(), RpcError> {
        let mut done = 0;
        while done < buf.len() {
            let left = self.timeout_for(what, started, deadline)?;
            self.stream
                .set_read_timeout(Some(left))
                .map_err(|e| self.io_error(what, started, e))?;
            match self.stream.read(&mut buf[done..]) {
                Ok(0) => {
                    return Err(RpcError::Io {
                        socket: self.socket.clone(),
                        what: what.to_owned(),
                        source: io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "libvirt closed the connection",
                        ),
                    })
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error(what, started, e)),
            }
        }
        Ok(())
    }

    /// Sends a call of `proc_` with `payload` and returns the payload of its reply; a libvirt
    /// error becomes [`RpcError::Remote`]. Messages that are not the reply (other programs,
    /// events) are skipped.
    pub fn call(
        &mut self,
        proc_: i32,
        payload: &[u8],
        what: &str,
        deadline: Instant,
    ) -> Result<Vec<u8>, RpcError> {
        let started = Instant::now();
        self.serial = self.serial.wrapping_add(1);
        let serial = self.serial;
        let msg = encode_call(proc_, serial, payload);
        self.record("call", proc_, &msg);
        let left = self.timeout_for(what, started, deadline)?;
        self.stream
            .set_write_timeout(Some(left))
            .map_err(|e| self.io_error(what, started, e))?;
        self.stream
            .write_all(&msg)
            .map_err(|e| self.io_error(what, started, e))?;
        loop {
            let mut word = [0u8; 4];
            self.read_full(&mut word, what, started, deadline)?;
            let len = decode_length(word).map_err(|e| self.bad(what, e))?;
            let mut msg = vec![0u8; len];
            msg[..4].copy_from_slice(&word);
            self.read_full(&mut msg[4..], what, started, deadline)?;
            let reply = Reply::decode(&msg).map_err(|e| self.bad(what, e))?;
            let h = reply.header;
            if h.prog != REMOTE_PROGRAM || h.kind != TYPE_REPLY || h.serial != serial {
                continue;
            }
            self.record("reply", proc_, &msg);
            if h.proc_ != proc_ || h.vers != REMOTE_PROTOCOL_VERSION {
                return Err(self.bad(
                    what,
                    XdrError(format!(
                        "reply to procedure {} (version {}) for a call of {proc_}",
                        h.proc_, h.vers
                    )),
                ));
            }
            return match reply.result() {
                Ok(p) => Ok(p.to_vec()),
                Err(Ok(error)) => Err(RpcError::Remote {
                    what: what.to_owned(),
                    error,
                }),
                Err(Err(e)) => Err(self.bad(what, e)),
            };
        }
    }

    /// The state, vCPUs and maximum memory of domain `name` (`Ok(None)`: no such domain), as
    /// [`super::Connection::domain_status`] gives them: lookup by name, then get-info.
    pub fn domain_status(
        &mut self,
        name: &str,
        deadline: Instant,
    ) -> Result<Option<DomainStatus>, RpcError> {
        let what = format!("reading the state of domain {name}");
        let mut w = XdrWriter::new();
        w.string(name);
        let dom = match self.call(PROC_DOMAIN_LOOKUP_BY_NAME, &w.into_bytes(), &what, deadline) {
            Ok(p) => XdrReader::new(&p)
                .domain()
                .map_err(|e| self.bad(&what, e))?,
            Err(e) if e.remote().is_some_and(|r| r.code == VIR_ERR_NO_DOMAIN) => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut w = XdrWriter::new();
        w.domain(&dom);
        match self.call(PROC_DOMAIN_GET_INFO, &w.into_bytes(), &what, deadline) {
            Ok(p) => {
                let info =
                    decode_domain_info(&mut XdrReader::new(&p)).map_err(|e| self.bad(&what, e))?;
                Ok(Some(info.status()))
            }
            // The domain went away between lookup and info.
            Err(e) if e.remote().is_some_and(|r| r.code == VIR_ERR_NO_DOMAIN) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Closes the connection politely (`REMOTE_PROC_CONNECT_CLOSE`), bounded by `deadline`;
    /// a failure only means the daemon sees the socket close instead.
    pub fn close(mut self, deadline: Instant) {
        let _ = self.call(PROC_CONNECT_CLOSE, &[], "closing the connection", deadline);
    }
}

#[cfg(test)]
#[path = "rpc_tests.rs"]
mod tests;
