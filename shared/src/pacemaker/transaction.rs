//! CIB transactions: read the CIB, build the change, apply it as one patch that Pacemaker
//! rejects if someone else changed the configuration meanwhile, retry a bounded number of times.
//!
//! One attempt:
//! 1. `cibadmin --query` → the whole CIB as an [`Element`] tree (and a typed [`Cib`]);
//! 2. the caller's `edit` changes a copy of the tree (it may also decide nothing needs to change);
//! 3. the copy's `epoch` is raised by one (`cibadmin --patch` refuses a patch that does not raise
//!    the version, even on the CIB it was made from);
//! 4. [`patch::diff`](super::patch::diff) computes the patch in `crm_diff`'s format, in-process.
//!    Its source version has `admin_epoch` and `epoch` but no `num_updates`: status updates
//!    (monitor results, attribute changes) bump only `num_updates` and must not make the patch
//!    fail, while any configuration change by someone else raises `epoch` and must;
//! 5. `cibadmin --patch --xml-pipe`, started before step 1 so that it has loaded by now, gets
//!    the patch on stdin and applies it. Exit 103 (the CIB moved on) starts a new attempt from
//!    step 1 with fresh data, after a short pause that grows with each attempt.
//!
//! On the live cluster a change is only applied once the CIB names a DC: a node that has just
//! started takes CIB changes before it has joined, and the join may then replace the whole
//! cluster's CIB with that node's copy ([`TransactionError::NotJoined`] after [`JOIN_WAIT`]).
//!
//! The whole CIB is never replaced, and every change is one `cibadmin --patch`, so Pacemaker
//! sees either all of it or none of it. [`Transaction::plan`] stops after step 4 and returns
//! the patch (for `--dry-run`), once `cibadmin` has applied it to a private copy of the CIB: a
//! dry run refuses what Pacemaker would refuse ([`Tools::check_patch`]).

use std::fmt;
use std::time::{Duration, Instant};

use super::cib::{Cib, CibVersion};
use super::error::PacemakerError;
use super::tools::{PendingPatch, Target, Tools};
use crate::xml::Element;

/// Default number of attempts before giving up on a busy CIB.
pub const DEFAULT_ATTEMPTS: u32 = 8;

/// How long a change waits for this node to join the cluster (its CIB to name a DC): a node
/// joins about 3 s after its controller starts.
pub const JOIN_WAIT: Duration = Duration::from_secs(10);

/// What an edit decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit<T> {
    /// Apply the changes made to the tree; `T` is returned to the caller.
    Change(T),
    /// Nothing to do (the CIB is already as wanted); `T` is returned to the caller.
    Unchanged(T),
}

/// The result of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed<T> {
    /// What the edit returned (from the attempt that was applied).
    pub value: T,
    /// Whether a patch was applied (false when the edit found nothing to change).
    pub applied: bool,
    /// The CIB version the change was made against.
    pub base: CibVersion,
    /// How many attempts it took (1 when nobody else changed the CIB meanwhile).
    pub attempts: u32,
}

/// A planned change, not applied (`--dry-run`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<T> {
    /// What the edit returned.
    pub value: T,
    /// The patch (XML, `crm_diff`'s format), `None` when nothing would change.
    pub patch: Option<String>,
    /// The CIB version the plan was made against.
    pub base: CibVersion,
}

/// Why a transaction failed.
#[derive(Debug, thiserror::Error)]
pub enum TransactionError<E: std::error::Error + 'static> {
    /// The edit refused (bad input, missing resource, ...); nothing was changed.
    #[error(transparent)]
    Edit(E),
    /// Reading, diffing or patching the CIB failed; nothing was changed.
    #[error(transparent)]
    Pacemaker(#[from] PacemakerError),
    /// The CIB kept changing under us; nothing was changed.
    #[error(
        "The CIB changed during each of {attempts} attempts to apply the change; nothing was \
         changed (try again)."
    )]
    Conflict {
        /// Attempts made.
        attempts: u32,
    },
    /// This node's CIB names no DC: the node has not joined the cluster (it has just started,
    /// or is cut off). A change made now would stay local, and when the node joins, the DC may
    /// take this node's CIB as the newer one and replace the cluster's with it, status section
    /// included (seen in the sandbox: every node's operation history gone until re-sent).
    #[error(
        "This node has not joined the cluster (its CIB names no DC) after waiting {waited:?}; a \
         change made now would stay local and could replace the cluster's CIB when it joins. \
         Nothing was changed: try again once `crm_mon` shows a DC, or run it on another node."
    )]
    NotJoined {
        /// How long it waited for the node to join.
        waited: Duration,
    },
    /// The deadline passed before the change could be applied; nothing was changed.
    #[error(
        "The deadline passed after {attempts} attempts to change the CIB; nothing was changed."
    )]
    DeadlinePassed {
        /// Attempts made.
        attempts: u32,
    },
}

/// A CIB transaction on the live cluster or a CIB file (see [`Tools`]).
pub struct Transaction<'a> {
    tools: &'a Tools,
    deadline: Instant,
    attempts: u32,
}

impl fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction")
            .field("target", self.tools.target())
            .field("attempts", &self.attempts)
            .finish()
    }
}

impl<'a> Transaction<'a> {
    /// A transaction that must finish by `deadline`, with [`DEFAULT_ATTEMPTS`] attempts.
    pub fn new(tools: &'a Tools, deadline: Instant) -> Transaction<'a> {
        Transaction {
            tools,
            deadline,
            attempts: DEFAULT_ATTEMPTS,
        }
    }

    /// Sets the number of attempts (at least 1).
    pub fn attempts(mut self, n: u32) -> Transaction<'a> {
        self.attempts = n.max(1);
        self
    }

    /// Reads the CIB, lets `edit` change a copy of its tree, and applies the difference as one
    /// patch; on a concurrent configuration change, starts again with a fresh CIB. `edit` may
    /// therefore run several times and must compute its change from the CIB it is given.
    pub fn apply<T, E>(
        &self,
        edit: impl FnMut(&Cib, &mut Element) -> Result<Edit<T>, E>,
    ) -> Result<Committed<T>, TransactionError<E>>
    where
        E: std::error::Error + 'static,
    {
        self.apply_from(None, edit)
    }

    /// Like [`apply`](Self::apply), but the first attempt works on `first`, a CIB the caller
    /// has just read (`cibadmin --query`), e.g. side by side with its own reads from elsewhere.
    /// The version check is the same: if the CIB changed since `first` was read, the patch is
    /// refused and the next attempt reads the CIB afresh.
    pub fn apply_from<T, E>(
        &self,
        first: Option<Cib>,
        edit: impl FnMut(&Cib, &mut Element) -> Result<Edit<T>, E>,
    ) -> Result<Committed<T>, TransactionError<E>>
    where
        E: std::error::Error + 'static,
    {
        self.apply_with(first, None, edit)
    }

    /// Starts the `cibadmin --patch` of a first attempt now (see [`Tools::cib_patch_start`]),
    /// for [`apply_with`](Self::apply_with): a caller with other work to do before it can
    /// build its change (reading storage, ...) lets the program load meanwhile.
    pub fn start_patcher(&self) -> Result<PendingPatch, PacemakerError> {
        self.tools.cib_patch_start(self.deadline)
    }

    /// [`apply_from`](Self::apply_from), the first attempt's patch applied by `patcher` if
    /// given. Every attempt starts its `cibadmin --patch` before it reads the CIB, so that the
    /// program loads while the CIB is read and the change built; when nothing is to change,
    /// it is killed before it has read anything.
    pub fn apply_with<T, E>(
        &self,
        mut first: Option<Cib>,
        mut patcher: Option<PendingPatch>,
        mut edit: impl FnMut(&Cib, &mut Element) -> Result<Edit<T>, E>,
    ) -> Result<Committed<T>, TransactionError<E>>
    where
        E: std::error::Error + 'static,
    {
        let began = Instant::now();
        let mut attempt = 0;
        while attempt < self.attempts {
            attempt += 1;
            if Instant::now() >= self.deadline {
                return Err(TransactionError::DeadlinePassed {
                    attempts: attempt - 1,
                });
            }
            let pending = match patcher.take() {
                Some(p) => p,
                None => self.start_patcher()?,
            };
            let step = self.prepare(first.take(), &mut edit)?;
            let Some(patch) = step.patch else {
                return Ok(Committed {
                    value: step.value,
                    applied: false,
                    base: step.base,
                    attempts: attempt,
                });
            };
            if !step.joined && *self.tools.target() == Target::Live {
                drop(pending);
                let waited = began.elapsed();
                if waited >= JOIN_WAIT || Instant::now() + JOIN_POLL >= self.deadline {
                    return Err(TransactionError::NotJoined { waited });
                }
                std::thread::sleep(JOIN_POLL);
                attempt -= 1;
                continue;
            }
            match pending.apply(&patch) {
                Ok(()) => {
                    return Ok(Committed {
                        value: step.value,
                        applied: true,
                        base: step.base,
                        attempts: attempt,
                    })
                }
                Err(PacemakerError::PatchRejected { .. }) if attempt < self.attempts => {
                    std::thread::sleep(backoff(attempt));
                }
                Err(PacemakerError::PatchRejected { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(TransactionError::Conflict {
            attempts: self.attempts,
        })
    }

    /// Like [`apply`](Self::apply), but stops before patching: returns the patch that would be
    /// applied to the CIB as it is now.
    pub fn plan<T, E>(
        &self,
        mut edit: impl FnMut(&Cib, &mut Element) -> Result<Edit<T>, E>,
    ) -> Result<Plan<T>, TransactionError<E>>
    where
        E: std::error::Error + 'static,
    {
        let cib = self.tools.cib_query(self.deadline)?;
        let step = self.prepare(Some(cib.clone()), &mut edit)?;
        if let Some(patch) = &step.patch {
            Tools::check_patch(&cib, patch, self.deadline)?;
        }
        Ok(Plan {
            value: step.value,
            patch: step.patch,
            base: step.base,
        })
    }

    /// Whether Pacemaker would take the change from `cib` to `new` (see
    /// [`Tools::check_change`]); nothing is changed. A check made before other work, so that a
    /// change the CIB refuses is refused before that work is done. Returns the patch it
    /// checked (`None`: no change), the one [`plan`](Self::plan) would return on `cib`.
    pub fn check(&self, cib: &Cib, mut new: Element) -> Result<Option<String>, PacemakerError> {
        new.set_attr("epoch", cib.version().epoch.saturating_add(1).to_string());
        let patch = super::patch::diff(cib.element(), &new);
        if let Some(patch) = &patch {
            Tools::check_change(cib, patch, self.deadline)?;
        }
        Ok(patch)
    }

    fn prepare<T, E>(
        &self,
        read: Option<Cib>,
        edit: &mut impl FnMut(&Cib, &mut Element) -> Result<Edit<T>, E>,
    ) -> Result<Step<T>, TransactionError<E>>
    where
        E: std::error::Error + 'static,
    {
        let cib = match read {
            Some(cib) => cib,
            None => self.tools.cib_query(self.deadline)?,
        };
        let base = cib.version();
        let joined = cib.dc_uuid.is_some();
        let mut new = cib.element().clone();
        let value = match edit(&cib, &mut new).map_err(TransactionError::Edit)? {
            Edit::Unchanged(v) => return Ok(Step::unchanged(v, base)),
            Edit::Change(v) => v,
        };
        if &new == cib.element() {
            return Ok(Step::unchanged(value, base));
        }
        new.set_attr("epoch", (base.epoch + 1).to_string());
        let patch = super::patch::diff(cib.element(), &new);
        Ok(Step {
            value,
            patch,
            base,
            joined,
        })
    }
}

struct Step<T> {
    value: T,
    patch: Option<String>,
    base: CibVersion,
    /// Whether the CIB names a DC (see [`TransactionError::NotJoined`]).
    joined: bool,
}

impl<T> Step<T> {
    fn unchanged(value: T, base: CibVersion) -> Step<T> {
        Step {
            value,
            patch: None,
            base,
            joined: true,
        }
    }
}

/// Pause between two looks at whether this node has joined.
const JOIN_POLL: Duration = Duration::from_millis(500);

fn backoff(attempt: u32) -> Duration {
    // 40, 80, 160 ... ms, capped, with a per-process offset so two racing writers spread out
    let base = 40u64 << attempt.min(5);
    let jitter = u64::from(std::process::id() % 37) + u64::from(attempt) * 7;
    Duration::from_millis(base.min(1000) + jitter)
}

#[cfg(test)]
#[path = "transaction_tests.rs"]
mod tests;
