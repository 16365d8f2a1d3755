//! Whether libvirt on a node answers at a URI, through `virsh` (run with `shared::cmd`: argv
//! and a deadline).
//!
//! vm-mgr does not link `libvirt.so` (loading it and its ~40 libraries costs every run ~10 ms),
//! and the RPC client of `shared::libvirt::rpc` speaks only to the local daemon's UNIX socket.
//! A target node's libvirt is reached over ssh, tcp or tls with whatever authentication the URI
//! implies, which `virsh`, libvirt's own client, handles exactly as the migration will. `virsh
//! uri` opens the connection (`virConnectOpenAuth`: authentication, then `CONNECT_OPEN` on the
//! remote daemon, which opens its hypervisor driver), prints the URI and does nothing else.

use std::time::{Duration, Instant};

use shared::cmd::{Cmd, CmdError};

/// The program.
pub const VIRSH: &str = "virsh";
/// SIGTERM-to-SIGKILL delay for a `virsh` past its deadline.
const KILL_GRACE: Duration = Duration::from_millis(500);

/// `uri` made unable to prompt: an ssh transport gets `no_tty=1` (`ssh -T -o BatchMode=yes`),
/// so that a missing key or an unknown host fails at once instead of waiting for a password
/// until the deadline. Other URIs are returned unchanged.
pub fn batch_uri(uri: &str) -> String {
    let scheme = uri.split_once("://").map_or("", |(s, _)| s);
    let ssh = scheme.split('+').nth(1) == Some("ssh");
    if !ssh || uri.contains("no_tty=") {
        return uri.to_owned();
    }
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}no_tty=1")
}

/// Why `virsh` failed, in one line: its `error:` lines without the prefix, minus the generic
/// "failed to connect to the hypervisor".
pub fn reason(e: &CmdError) -> String {
    match e {
        CmdError::Failed { stderr, .. } => {
            let lines: Vec<&str> = stderr
                .lines()
                .map(|l| l.trim().trim_start_matches("error: ").trim())
                .filter(|l| !l.is_empty() && *l != "failed to connect to the hypervisor")
                .collect();
            if lines.is_empty() {
                e.to_string().trim_end_matches('.').to_owned()
            } else {
                lines.join("; ").trim_end_matches('.').to_owned()
            }
        }
        CmdError::TimedOut { after, .. } => {
            format!("no answer within {:.0} s", after.as_secs_f64())
        }
        CmdError::DeadlinePassed { .. } => "no time was left to ask".to_owned(),
        CmdError::NotInstalled { .. } => {
            format!(
                "it cannot be asked: {}",
                e.to_string().trim_end_matches('.')
            )
        }
        other => other.to_string().trim_end_matches('.').to_owned(),
    }
}

/// `Ok` when libvirt answers at `uri` before `deadline`, else why not (one line, see
/// [`reason`]).
pub fn libvirt_answers(uri: &str, deadline: Instant) -> Result<(), String> {
    Cmd::new(VIRSH)
        .args(["-q", "-c", &batch_uri(uri), "uri"])
        .deadline(deadline)
        .kill_grace(KILL_GRACE)
        .run()
        .map(drop)
        .map_err(|e| reason(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn soon(ms: u64) -> Instant {
        Instant::now() + Duration::from_millis(ms)
    }

    #[test]
    fn ssh_uris_cannot_prompt() {
        assert_eq!(
            batch_uri("qemu+ssh://root@sim2/system"),
            "qemu+ssh://root@sim2/system?no_tty=1"
        );
        assert_eq!(
            batch_uri("qemu+ssh://sim2/system?keyfile=/k"),
            "qemu+ssh://sim2/system?keyfile=/k&no_tty=1"
        );
        for unchanged in [
            "qemu+ssh://sim2/system?no_tty=0",
            "qemu+tcp://sim2/system",
            "qemu+tls://sim2/system",
            "qemu:///system",
            "qemu+libssh2://sim2/system",
        ] {
            assert_eq!(batch_uri(unchanged), unchanged);
        }
    }

    // The cases below run the real virsh (libvirt-clients, a dependency of the project).

    #[test]
    fn a_driver_that_opens_answers() {
        // libvirt's in-process test driver: virsh opens it without any daemon.
        assert_eq!(libvirt_answers("test:///default", soon(10_000)), Ok(()));
    }

    #[test]
    fn a_refused_connection_says_why() {
        // Nothing listens on port 1 of the loopback.
        let why = libvirt_answers("qemu+tcp://127.0.0.1:1/system", soon(10_000)).unwrap_err();
        assert!(why.contains("Connection refused"), "{why}");
        assert!(
            !why.contains("error:") && !why.contains("hypervisor"),
            "{why}"
        );
    }

    #[test]
    fn a_daemon_that_never_answers_times_out_at_the_deadline() {
        // The kernel accepts the connection into the backlog; nothing ever answers, like a
        // frozen libvirtd.
        let frozen = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = frozen.local_addr().unwrap().port();
        let started = Instant::now();
        let why = libvirt_answers(&format!("qemu+tcp://127.0.0.1:{port}/system"), soon(1500))
            .unwrap_err();
        let took = started.elapsed();
        assert!(why.starts_with("no answer within "), "{why}");
        assert!(
            took >= Duration::from_millis(1400) && took < Duration::from_secs(4),
            "{took:?}"
        );
    }

    #[test]
    fn a_missing_virsh_is_said() {
        let e = Cmd::new("virsh-that-is-not-installed").run().unwrap_err();
        assert_eq!(
            reason(&e),
            "it cannot be asked: virsh-that-is-not-installed is not installed (not found on PATH)"
        );
    }
}
