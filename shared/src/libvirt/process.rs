//! The qemu process of a domain, found through `/proc`, for when libvirtd cannot answer.
//!
//! With the qemu driver on the local host (`qemu:///system`), a running domain *is* a qemu
//! process whose command line carries `-name guest=NAME,…`; libvirt also writes its pid to
//! `/run/libvirt/qemu/NAME.pid`. When libvirtd is down or hung, the process table is therefore
//! an authoritative answer to "is the domain running here?" and SIGTERM/SIGKILL to that process
//! is what `virDomainDestroy` would do. A zombie (qemu exited, libvirtd not reaping it because it
//! is frozen) has an empty command line and counts as gone.
//!
//! Nothing here forks; reading `/proc` costs well under a millisecond per process.

use std::fs;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Where libvirt's qemu driver (system instance) keeps pid files.
pub const QEMU_RUN_DIR: &str = "/run/libvirt/qemu";

/// Returns the guest name in a qemu `-name` value: `guest=NAME,debug-threads=on` (commas in the
/// name doubled) or, in old command lines, the bare name.
pub fn qemu_name_value(value: &str) -> String {
    let rest = value.strip_prefix("guest=").unwrap_or(value);
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ',' {
            if chars.peek() == Some(&',') {
                chars.next();
                out.push(',');
            } else {
                break;
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Returns true if `argv` is a qemu command line for the guest `name` (pure).
pub fn is_qemu_for(argv: &[&str], name: &str) -> bool {
    let Some(prog) = argv.first() else {
        return false;
    };
    let base = prog.rsplit('/').next().unwrap_or(prog);
    if !base.contains("qemu") {
        return false;
    }
    argv.windows(2)
        .any(|w| w[0] == "-name" && qemu_name_value(w[1]) == name)
}

fn read_cmdline(pid: i32) -> Option<Vec<String>> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

fn pid_matches(pid: i32, name: &str) -> bool {
    read_cmdline(pid).is_some_and(|argv| {
        let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
        is_qemu_for(&refs, name)
    })
}

/// Finds the qemu process of domain `name`: the pid file first, then a scan of `/proc`.
pub fn find_qemu_process(name: &str) -> Option<i32> {
    let pidfile = Path::new(QEMU_RUN_DIR).join(format!("{name}.pid"));
    if let Some(pid) = fs::read_to_string(pidfile)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
    {
        if pid_matches(pid, name) {
            return Some(pid);
        }
    }
    let entries = fs::read_dir("/proc").ok()?;
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .find(|pid| pid_matches(*pid, name))
}

/// Stops the qemu process `pid` of domain `name` the way `virDomainDestroy` does: SIGTERM, up
/// to `term_grace` to exit, then SIGKILL; returns true once the process no longer runs the
/// guest (gone or a zombie), false if it still does at `deadline`.
pub fn kill_qemu(pid: i32, name: &str, term_grace: Duration, deadline: Instant) -> bool {
    let gone = || !pid_matches(pid, name);
    let wait_until = |until: Instant| {
        while Instant::now() < until {
            if gone() {
                return true;
            }
            thread::sleep(Duration::from_millis(100));
        }
        gone()
    };
    if gone() {
        return true;
    }
    let target = Pid::from_raw(pid);
    if let Err(Errno::ESRCH) = kill(target, Signal::SIGTERM) {
        return true;
    }
    if wait_until((Instant::now() + term_grace).min(deadline)) {
        return true;
    }
    if let Err(Errno::ESRCH) = kill(target, Signal::SIGKILL) {
        return true;
    }
    wait_until(deadline)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_values() {
        assert_eq!(qemu_name_value("guest=vm1,debug-threads=on"), "vm1");
        assert_eq!(qemu_name_value("guest=a,,b,debug-threads=on"), "a,b");
        assert_eq!(qemu_name_value("vm1"), "vm1");
        assert_eq!(qemu_name_value("guest=vm1"), "vm1");
    }

    #[test]
    fn recognises_qemu_command_lines() {
        let argv = [
            "/usr/bin/qemu-system-x86_64",
            "-name",
            "guest=vm1,debug-threads=on",
            "-S",
        ];
        assert!(is_qemu_for(&argv, "vm1"));
        assert!(!is_qemu_for(&argv, "vm"));
        assert!(!is_qemu_for(&argv, "vm12"));
        let not_qemu = ["/usr/bin/bash", "-name", "guest=vm1"];
        assert!(!is_qemu_for(&not_qemu, "vm1"));
        assert!(!is_qemu_for(&[], "vm1"));
        assert!(is_qemu_for(&["qemu-kvm", "-name", "vm1"], "vm1"));
    }

    #[test]
    fn no_such_guest_here() {
        assert_eq!(find_qemu_process("no-such-guest-for-tests"), None);
    }
}
