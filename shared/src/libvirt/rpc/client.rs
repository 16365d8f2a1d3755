//! [`Client`]: one connection to a libvirt daemon's UNIX socket, every exchange bounded by the
//! caller's deadline.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::error::RpcError;
use super::procs::decode_auth_list;
use super::xdr::{decode_length, encode_call, Reply, XdrError, XdrReader, XdrWriter};
use super::{
    proc_name, AUTH_NONE, PROC_AUTH_LIST, PROC_CONNECT_CLOSE, PROC_CONNECT_OPEN, REMOTE_PROGRAM,
    REMOTE_PROTOCOL_VERSION, TYPE_REPLY,
};

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

    /// A reply that does not decode, as an error.
    pub(super) fn bad(&self, what: &str, e: XdrError) -> RpcError {
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
        let result = self.exchange(proc_, payload, what, deadline);
        if crate::record::active() {
            let outcome = match &result {
                Ok(_) => "ok".to_owned(),
                Err(e) => e.to_string(),
            };
            crate::record::record(&crate::record::Event {
                kind: crate::record::Kind::Libvirt,
                what: &format!("{what} (procedure {proc_})"),
                elapsed: started.elapsed(),
                outcome: &outcome,
                stderr_tail: "",
            });
        }
        result
    }

    /// [`Client::call`] without the [`record`](crate::record) hook.
    fn exchange(
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

    /// Closes the connection politely (`REMOTE_PROC_CONNECT_CLOSE`), bounded by `deadline`;
    /// a failure only means the daemon sees the socket close instead.
    pub fn close(mut self, deadline: Instant) {
        let _ = self.call(PROC_CONNECT_CLOSE, &[], "closing the connection", deadline);
    }
}
