//! Running a program on the caller's terminal: [`Cmd::run_interactive`], the one documented
//! exception to "stdin closed, output captured, a deadline" (an editor for `vm-mgr edit`, a
//! serial console for `vm-mgr console`). Still argv only, the program looked up as for every
//! command, and refused once the cancel switch is thrown.

use std::process::{ExitStatus, Stdio};

use super::output::describe_status;
use super::{Cmd, CmdError};

impl Cmd {
    /// Runs the command with the caller's stdin, stdout and stderr, in the caller's process
    /// group (so that it is the terminal's foreground job: an editor may read the terminal,
    /// and Ctrl-C reaches it as it would from a shell), and waits until it exits. There is no
    /// deadline: the person at the terminal ends it. Bytes given with [`Cmd::stdin_bytes`] and
    /// the deadline are ignored; nothing is captured, so a failure's error has no stderr tail.
    /// A non-zero exit is [`CmdError::Failed`].
    pub fn run_interactive(&self) -> Result<ExitStatus, CmdError> {
        if self.cancel.stops_work() {
            return Err(CmdError::Interrupted {
                cmdline: self.cmdline(),
                started: false,
            });
        }
        let status = self
            .command()?
            .stdin(Stdio::inherit())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .status()
            .map_err(|source| self.spawn_error(source))?;
        if status.success() {
            return Ok(status);
        }
        Err(CmdError::Failed {
            cmdline: self.cmdline(),
            status: describe_status(status),
            code: status.code(),
            stderr: String::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interactive_command_inherits_stdio_and_reports_its_status() {
        // `true` and `false` need no terminal; a missing program is NotInstalled.
        assert!(Cmd::new("true").run_interactive().unwrap().success());
        let e = Cmd::new("false").run_interactive().unwrap_err();
        assert_eq!(e.exit_code(), Some(1), "{e}");
        assert!(
            e.to_string().contains("`false` failed with exit status 1"),
            "{e}"
        );
        let e = Cmd::new("vmmgr-no-such-program")
            .run_interactive()
            .unwrap_err();
        assert!(e.is_not_installed(), "{e}");
        // The child's stdin is ours (a plain run gets /dev/null), and it is in our process
        // group (a plain run gets its own): what `find` and `cp` see of themselves in /proc.
        let dir = std::env::temp_dir().join(format!("vmmgr-interactive-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fd0 = dir.join("fd0");
        Cmd::new("find")
            .args(["/proc/self/fd/0", "-maxdepth", "0", "-fprintf"])
            .arg(&fd0)
            .arg("%l")
            .run_interactive()
            .unwrap();
        let ours = std::fs::read_link("/proc/self/fd/0").unwrap();
        assert_eq!(
            std::fs::read_to_string(&fd0).unwrap(),
            ours.to_string_lossy()
        );
        let stat = dir.join("stat");
        Cmd::new("cp")
            .arg("/proc/self/stat")
            .arg(&stat)
            .run_interactive()
            .unwrap();
        let text = std::fs::read_to_string(&stat).unwrap();
        let after_comm = &text[text.rfind(')').unwrap() + 2..];
        let pgrp: i32 = after_comm.split(' ').nth(2).unwrap().parse().unwrap();
        assert_eq!(pgrp, nix::unistd::getpgrp().as_raw(), "{text}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
