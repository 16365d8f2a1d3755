//! [`Connection`]: one libvirt connection on a worker thread, calls bounded by deadlines.

use std::cell::Cell;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread;
use std::time::Instant;

use virt::connect::Connect;

use super::error::{LibvirtError, VirtError};

type Job = Box<dyn FnOnce(&Connect) + Send>;

/// A libvirt connection whose calls never outlive the caller's deadline (see the
/// [module docs](super) for how and why).
#[derive(Debug)]
pub struct Connection {
    uri: String,
    jobs: Sender<Job>,
    hung: Cell<bool>,
}

impl Connection {
    /// Opens a read-write connection to `uri` (`None`: libvirt's default URI, as `virsh`
    /// without `--connect` uses), giving up at `deadline`.
    ///
    /// libvirt's default error handler (which prints every error to stderr) is switched off:
    /// errors come back as values.
    pub fn open(uri: Option<&str>, deadline: Instant) -> Result<Connection, LibvirtError> {
        let started = Instant::now();
        let result = Connection::connect(uri, deadline);
        let what = format!("opening {}", uri.unwrap_or("the default URI"));
        record(&what, started, &result);
        result
    }

    /// [`Connection::open`] without the [`record`](crate::record) hook.
    fn connect(uri: Option<&str>, deadline: Instant) -> Result<Connection, LibvirtError> {
        virt::error::clear_error_callback();
        let label = uri.unwrap_or("the default URI").to_owned();
        let uri_owned = uri.map(str::to_owned);
        let (reply_tx, reply_rx) = mpsc::channel::<Result<(), virt::error::Error>>();
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("libvirt".into())
            .spawn(move || {
                let conn = match Connect::open(uri_owned.as_deref()) {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = reply_tx.send(Err(e));
                        return;
                    }
                };
                if reply_tx.send(Ok(())).is_err() {
                    return;
                }
                while let Ok(job) = job_rx.recv() {
                    job(&conn);
                }
            })
            .map_err(LibvirtError::Thread)?;
        let started = Instant::now();
        match reply_rx.recv_timeout(deadline.saturating_duration_since(started)) {
            Ok(Ok(())) => Ok(Connection {
                uri: label,
                jobs: job_tx,
                hung: Cell::new(false),
            }),
            Ok(Err(e)) => Err(LibvirtError::Connect {
                uri: label,
                source: VirtError(e),
            }),
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                Err(LibvirtError::Timeout {
                    uri: label,
                    what: "opening the connection".into(),
                    waited: started.elapsed(),
                })
            }
        }
    }

    /// The URI the connection was opened with (or "the default URI").
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Returns true once a call has timed out: the worker is stuck and nothing more is sent.
    pub fn is_hung(&self) -> bool {
        self.hung.get()
    }

    /// Runs `f` on the connection's thread and waits for its result until `deadline`.
    ///
    /// `what` describes the call for error messages ("looking up domain vm1"). A libvirt error
    /// becomes [`LibvirtError::Call`]; no answer by the deadline becomes
    /// [`LibvirtError::Timeout`] and marks the connection hung.
    pub fn call<R, F>(&self, what: &str, deadline: Instant, f: F) -> Result<R, LibvirtError>
    where
        R: Send + 'static,
        F: FnOnce(&Connect) -> Result<R, virt::error::Error> + Send + 'static,
    {
        let started = Instant::now();
        let result = self.job(what, deadline, f).and_then(|r| {
            r.map_err(|e| LibvirtError::Call {
                what: what.to_owned(),
                source: VirtError(e),
            })
        });
        record(what, started, &result);
        result
    }

    /// Like [`Connection::call`], for closures that handle libvirt errors themselves: only a
    /// missing answer is an error.
    pub fn call_raw<R, F>(&self, what: &str, deadline: Instant, f: F) -> Result<R, LibvirtError>
    where
        R: Send + 'static,
        F: FnOnce(&Connect) -> R + Send + 'static,
    {
        let started = Instant::now();
        let result = self.job(what, deadline, f);
        record(what, started, &result);
        result
    }

    /// Runs `f` on the connection's thread until `deadline` (see [`Connection::call`]).
    fn job<R, F>(&self, what: &str, deadline: Instant, f: F) -> Result<R, LibvirtError>
    where
        R: Send + 'static,
        F: FnOnce(&Connect) -> R + Send + 'static,
    {
        if self.hung.get() {
            return Err(LibvirtError::Hung {
                uri: self.uri.clone(),
                what: what.to_owned(),
            });
        }
        let started = Instant::now();
        let timeout = LibvirtError::Timeout {
            uri: self.uri.clone(),
            what: what.to_owned(),
            waited: deadline.saturating_duration_since(started),
        };
        if started >= deadline {
            return Err(timeout);
        }
        let (tx, rx) = mpsc::channel::<R>();
        let job: Job = Box::new(move |conn| {
            let _ = tx.send(f(conn));
        });
        if self.jobs.send(job).is_err() {
            self.hung.set(true);
            return Err(LibvirtError::Hung {
                uri: self.uri.clone(),
                what: what.to_owned(),
            });
        }
        match rx.recv_timeout(deadline.saturating_duration_since(started)) {
            Ok(r) => Ok(r),
            Err(_) => {
                self.hung.set(true);
                Err(LibvirtError::Timeout {
                    uri: self.uri.clone(),
                    what: what.to_owned(),
                    waited: started.elapsed(),
                })
            }
        }
    }
}

/// Tells the [`record`](crate::record) hook about a finished call.
fn record<R>(what: &str, started: Instant, result: &Result<R, LibvirtError>) {
    if !crate::record::active() {
        return;
    }
    let outcome = match result {
        Ok(_) => "answered".to_owned(),
        Err(e) => e.to_string(),
    };
    crate::record::record(&crate::record::Event {
        kind: crate::record::Kind::Libvirt,
        what,
        elapsed: started.elapsed(),
        outcome: &outcome,
        stderr_tail: "",
    });
}
