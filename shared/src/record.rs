//! A process-wide hook that sees every external command [`cmd::Cmd`](crate::cmd::Cmd) runs
//! and every libvirt call, for the OCF agents' action traces (`crm resource trace`, see
//! [`ocf::trace`](crate::ocf::trace)).
//!
//! Nothing is recorded unless a [`Recorder`] is registered; then each finished command or call
//! is handed to every registered recorder as an [`Event`]. [`register`] returns a
//! [`Registration`] that unregisters on drop. Registration is process-wide (not per thread),
//! so commands run from helper threads are seen too; a recorder that wants only some events
//! filters them itself.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// What kind of work an [`Event`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An external program; [`Event::what`] is its shell-quoted command line.
    Command,
    /// A libvirt call (through its RPC protocol or its client library); [`Event::what`] says
    /// what it did.
    Libvirt,
}

/// One finished command or call.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// Command or call.
    pub kind: Kind,
    /// The command line, or what the call did.
    pub what: &'a str,
    /// From start to end (zero when it could not be started).
    pub elapsed: Duration,
    /// "exit status 0", "killed by signal 9 (SIGKILL)", "timed out", or an error.
    pub outcome: &'a str,
    /// The last ~1 KiB of stderr (empty for calls).
    pub stderr_tail: &'a str,
}

/// Receives events; must be cheap and must not run commands itself.
pub trait Recorder: Send + Sync {
    /// Called once per finished command or call.
    fn record(&self, event: &Event<'_>);
}

type Registered = Vec<(u64, Arc<dyn Recorder>)>;

static RECORDERS: Mutex<Registered> = Mutex::new(Vec::new());
static ANY: AtomicBool = AtomicBool::new(false);
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn recorders() -> MutexGuard<'static, Registered> {
    RECORDERS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Keeps a recorder registered; dropping it unregisters the recorder.
#[derive(Debug)]
#[must_use = "the recorder is unregistered when this is dropped"]
pub struct Registration {
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut list = recorders();
        list.retain(|(id, _)| *id != self.id);
        ANY.store(!list.is_empty(), Ordering::Release);
    }
}

/// Registers `recorder` until the returned [`Registration`] is dropped.
pub fn register(recorder: Arc<dyn Recorder>) -> Registration {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut list = recorders();
    list.push((id, recorder));
    ANY.store(true, Ordering::Release);
    Registration { id }
}

/// Returns true if some recorder is registered (callers skip building events otherwise).
pub fn active() -> bool {
    ANY.load(Ordering::Acquire)
}

/// Hands `event` to every registered recorder.
pub fn record(event: &Event<'_>) {
    if !active() {
        return;
    }
    let list: Vec<Arc<dyn Recorder>> = recorders().iter().map(|(_, r)| r.clone()).collect();
    for r in list {
        r.record(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keeps the events whose `what` contains a marker (other tests run commands too).
    pub(crate) struct Keep {
        pub marker: String,
        pub seen: Mutex<Vec<String>>,
    }

    impl Recorder for Keep {
        fn record(&self, e: &Event<'_>) {
            if e.what.contains(&self.marker) {
                self.seen.lock().unwrap().push(format!(
                    "{:?}|{}|{}|{}",
                    e.kind, e.what, e.outcome, e.stderr_tail
                ));
            }
        }
    }

    fn keep(marker: &str) -> Arc<Keep> {
        Arc::new(Keep {
            marker: marker.to_owned(),
            seen: Mutex::new(Vec::new()),
        })
    }

    #[test]
    fn registered_recorders_see_events_until_dropped() {
        let a = keep("rec-test-a");
        let reg = register(a.clone());
        assert!(active());
        let ev = |what| Event {
            kind: Kind::Command,
            what,
            elapsed: Duration::from_millis(3),
            outcome: "exit status 1",
            stderr_tail: "boom",
        };
        record(&ev("virsh rec-test-a"));
        record(&ev("other"));
        drop(reg);
        record(&ev("virsh rec-test-a again"));
        let seen = a.seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            vec!["Command|virsh rec-test-a|exit status 1|boom".to_owned()]
        );
    }

    #[test]
    fn commands_are_recorded_with_argv_status_and_stderr() {
        let marker = format!("rec-cmd-{}", std::process::id());
        let k = keep(&marker);
        let _reg = register(k.clone());
        let script = format!("echo oops >&2; exit 3 # {marker}");
        let r = crate::cmd::Cmd::new("sh").args(["-c", &script]).run();
        assert!(r.is_err());
        let missing = crate::cmd::Cmd::new(format!("no-such-program-{marker}")).run();
        assert!(missing.is_err());
        let seen = k.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(seen[0].starts_with("Command|sh -c "), "{seen:?}");
        assert!(seen[0].ends_with("|exit status 3|oops"), "{seen:?}");
        assert!(seen[1].contains("is not installed"), "{seen:?}");
    }
}
