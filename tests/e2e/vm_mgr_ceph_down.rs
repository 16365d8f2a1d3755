//! vm-mgr on the real Ceph layer. First, with the monitor stopped (`kill -STOP`: it keeps its
//! sockets, so connections are accepted and never answered, the worst case for a client):
//! `vm-mgr list` and `vm-mgr create` must end within 15 s with an error that says Ceph does not answer, change
//! nothing, and the cluster must work again once the monitor resumes. Second, metadata values
//! `rbd` would read as options (`-5`) are stored as given.
//!
//! Run: `VMMGR_SANDBOX_NAME=vmm cargo test -p vmmgr-tests --test vm_mgr_ceph_down -- --ignored
//! --test-threads=1` (after `cargo build`, so that the nodes see the current `vm-mgr`).

use std::time::{Duration, Instant};

use shared::cmd::Cmd;
use vmmgr_tests::{create_argv, describe, unique_name, vm_mgr, vm_mgr_ok, wait_for, Sandbox};

#[path = "vm_mgr_support.rs"]
mod support;
use support::*;

/// How long a vm-mgr command may take with the monitor stopped.
const LIMIT: Duration = Duration::from_secs(15);

/// The sandbox's ceph-mon, stopped with SIGSTOP while this lives; SIGCONT on drop, also when
/// the test panics.
struct MonStopped {
    pid: String,
}

impl MonStopped {
    fn new(sb: &Sandbox) -> MonStopped {
        let pidfile = format!("{}/ceph/run/mon.a.pid", sb.env_var("SANDBOX_BASE"));
        let pid = std::fs::read_to_string(&pidfile)
            .unwrap_or_else(|e| panic!("{pidfile}: {e}"))
            .trim()
            .to_owned();
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        assert_eq!(
            comm.trim(),
            "ceph-mon",
            "{pidfile} names pid {pid}, not the monitor"
        );
        signal("-STOP", &pid);
        MonStopped { pid }
    }
}

impl Drop for MonStopped {
    fn drop(&mut self) {
        signal("-CONT", &self.pid);
    }
}

fn signal(sig: &str, pid: &str) {
    Cmd::new("kill")
        .args([sig, pid])
        .timeout(Duration::from_secs(10))
        .run()
        .unwrap_or_else(|e| panic!("kill {sig} {pid}: {e}"));
}

/// Runs vm-mgr on sim1 and checks it fails fast, saying Ceph does not answer.
fn fails_fast(sb: &Sandbox, args: &[&str]) {
    let start = Instant::now();
    let out = vm_mgr(sb, "sim1", args);
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!(
        "vm-mgr {args:?} with the monitor stopped: {took:.1?}\n{}",
        describe(&out)
    );
    assert!(
        took < LIMIT,
        "vm-mgr {args:?} took {took:?} with the monitor stopped"
    );
    assert!(!out.status.success(), "vm-mgr {args:?}: {}", describe(&out));
    assert!(
        stderr.contains("Ceph does not answer"),
        "vm-mgr {args:?} must say Ceph does not answer: {}",
        describe(&out)
    );
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn list_and_create_fail_fast_while_the_monitor_is_stopped() {
    let sb = sandbox();
    let name = unique_name("cd");
    let (xml, image) = inputs(&sb, &name);
    // the cluster works before
    vm_mgr_ok(&sb, "sim1", &["list"]);
    {
        let _stopped = MonStopped::new(&sb);
        fails_fast(&sb, &["list"]);
        fails_fast(&sb, &["create", "-n", &name, "--xml", &xml, "-i", &image]);
    }
    // the monitor resumed: Ceph answers again, and the failed create left nothing behind
    wait_for(Duration::from_secs(60), "Ceph to answer again", || {
        vm_mgr(&sb, "sim1", &["list"])
            .status
            .success()
            .then_some(())
    });
    let list = vm_mgr_ok(&sb, "sim1", &["list", "--long"]);
    assert!(
        !list.contains(&name),
        "a failed create lists {name}: {list}"
    );
    assert!(
        !cib_config(&sb).contains(&name),
        "a failed create left {name} in the CIB"
    );
    let (images, groups) = rbd_names(&sb);
    assert!(
        !images.contains(&name) && !groups.contains(&name),
        "a failed create left images {images} / groups {groups}"
    );
    sb.exec_ok("sim1", &["ceph", "--connect-timeout", "10", "health"]);
    cleanup_inputs(&name);
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn metadata_values_that_look_like_options_are_stored_as_given() {
    let sb = sandbox();
    let name = unique_name("md");
    let (xml, image) = inputs(&sb, &name);
    vm_mgr_ok(
        &sb,
        "sim1",
        &create_argv(&name, &xml, &image, &["--disable"]),
    );
    // Options, and control characters: RBD metadata keeps them as given.
    for value in ["-5", "--help", "line 1\nline 2\tand\u{1}\r\n"] {
        let set = format!("--metadata-value={value}");
        vm_mgr_ok(
            &sb,
            "sim1",
            &["set-metadata", "-n", &name, "--metadata-name", "odd", &set],
        );
        let got = vm_mgr_ok(
            &sb,
            "sim1",
            &["get-metadata", "-n", &name, "--metadata_name", "odd"],
        );
        assert_eq!(got.strip_suffix('\n'), Some(value));
        let system = format!("rbd/system_{name}");
        let raw = sb.exec_ok("sim1", &["rbd", "image-meta", "get", &system, "odd"]);
        assert_eq!(raw.strip_suffix('\n'), Some(value), "as stored in Ceph");
    }
    remove_and_check_gone(&sb, "sim1", &name);
    cleanup_inputs(&name);
}
