//! Commands started before their input is known ([`Cmd::start_awaiting_stdin`]).

use std::time::Instant;

use super::child::ChildGuard;
use super::{Cmd, CmdError, Output};

/// A command started before its stdin is known ([`Cmd::start_awaiting_stdin`]).
pub struct AwaitingStdin {
    pub(super) cmd: Cmd,
    pub(super) guard: ChildGuard,
    pub(super) start: Instant,
    pub(super) deadline: Instant,
}

impl std::fmt::Debug for AwaitingStdin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwaitingStdin")
            .field("cmdline", &self.cmd.cmdline())
            .finish()
    }
}

impl AwaitingStdin {
    /// Gives the command `input` on its stdin, closes it, and finishes like [`Cmd::run`].
    pub fn finish(self, input: impl Into<Vec<u8>>) -> Result<Output, CmdError> {
        let cmd = self.cmd.clone();
        cmd.succeeded(self.finish_output(input)?)
    }

    /// Like [`finish`](Self::finish), but returns the output whatever the exit status.
    pub fn finish_output(self, input: impl Into<Vec<u8>>) -> Result<Output, CmdError> {
        let cmd = self.cmd.clone();
        let result = self.cmd.drive(
            self.guard,
            Some(input.into()),
            self.start,
            self.deadline,
            None,
        );
        cmd.record(&result);
        result
    }
}
