//! `history` and the syslog line of every change on the real cluster: a VM is created and
//! live-migrated with vm-mgr's syslog socket pointed at a socket this test binds (the test
//! hook `VMMGR_TEST_SYSLOG_SOCKET`; the sandbox runs no syslog daemon or journal), and each
//! change sends one line (user, verb, arguments, result, CIB version before and after). Then
//! the node running the VM loses power (`kill-node`): it is fenced and the VM starts on a
//! survivor. `history --output json` shows the migration, the fencing and the failover start,
//! in that order, and says that vm-mgr's own lines could not be read here (no journal).
//!
//! Run: `VMMGR_SANDBOX_NAME=vmm cargo test -p vmmgr-tests --test vm_mgr_history -- --ignored
//! --test-threads=1` (after `cargo build`, so that the nodes see the current `vm-mgr`).

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use vmmgr_tests::{
    create_argv, describe, received, unique_name, vm_mgr, vm_mgr_ok, wait_for, Sandbox,
};

#[path = "vm_mgr_support.rs"]
mod support;
use support::*;

/// Removes the VM, its inputs and the socket; brings the killed node back.
struct Scenario<'a> {
    sb: &'a Sandbox,
    name: String,
    sock_dir: std::path::PathBuf,
    killed: Option<String>,
}

impl Drop for Scenario<'_> {
    fn drop(&mut self) {
        if let Some(n) = self.killed.take() {
            self.sb.rejoin(&n);
        }
        let _ = vm_mgr(self.sb, "sim1", &["remove", "--purge", "-n", &self.name]);
        cleanup_inputs(&self.name);
        let _ = std::fs::remove_dir_all(&self.sock_dir);
    }
}

/// `vm-mgr ARGS` on sim1 with the syslog test hook; its stdout.
fn logged(sb: &Sandbox, hook: &str, args: &[&str]) -> String {
    let mut argv = vec!["env", hook, "vm-mgr"];
    argv.extend_from_slice(args);
    sb.exec_ok("sim1", &argv)
}

/// `history --output json` of `name`: (source, node, event, time) in the order printed.
fn history(sb: &Sandbox, name: &str) -> (serde_json::Value, Vec<(String, String, String, i64)>) {
    let h = vm_mgr_ok(sb, "sim1", &["--output", "json", "history", "-n", name]);
    let v: serde_json::Value = serde_json::from_str(&h).expect("history JSON");
    let events = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("-").to_owned();
            (
                s("source"),
                s("node"),
                s("event"),
                e["time"].as_i64().unwrap(),
            )
        })
        .collect();
    println!("history of {name}: {events:#?}");
    (v, events)
}

/// The time of the first `want` (source, node, event) at or after `from` seconds, and its index.
fn find(
    events: &[(String, String, String, i64)],
    want: (&str, &str, &str),
    from: i64,
) -> (usize, i64) {
    events
        .iter()
        .position(|(s, n, e, t)| (s.as_str(), n.as_str(), e.as_str()) == want && *t >= from)
        .map(|i| (i, events[i].3))
        .unwrap_or_else(|| panic!("{want:?} from {from} not in {events:#?}"))
}

/// The "cib=A->B" versions of a line, which must differ (the verb changed the CIB).
fn cib_changed(line: &str) -> bool {
    let Some(v) = line.split(" cib=").nth(1).and_then(|r| r.split(' ').next()) else {
        return false;
    };
    matches!(v.split_once("->"), Some((a, b)) if a != b && !a.contains('?') && !b.contains('?'))
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn history_shows_a_migration_and_a_failover_in_order() {
    let sb = sandbox();
    let name = unique_name("hi");
    let (xml, image) = inputs(&sb, &name);
    let sock_dir = std::path::PathBuf::from(format!("/var/tmp/vmmgr-e2e-{name}-log"));
    std::fs::create_dir_all(&sock_dir).unwrap();
    let mut sc = Scenario {
        sb: &sb,
        name: name.clone(),
        sock_dir: sock_dir.clone(),
        killed: None,
    };
    let sock = sock_dir.join("log");
    let rx = UnixDatagram::bind(&sock).expect("bind the test syslog socket");
    let hook = format!("VMMGR_TEST_SYSLOG_SOCKET={}", sock.display());

    // create and a live migration: one line each, tag vm-mgr[PID], facility user.
    let extra = [
        "--enable-live-migration",
        "--pinned-host",
        "sim2",
        "--pacemaker-params",
        "migration_transport=tcp",
    ];
    logged(&sb, &hook, &create_argv(&name, &xml, &image, &extra));
    vm_mgr_ok(
        &sb,
        "sim1",
        &["set-placement", "-n", &name, "--strategy", "auto"],
    );
    logged(&sb, &hook, &["migrate", "-n", &name, "--node", "sim3"]);
    // A read-only verb and a dry run log nothing.
    logged(&sb, &hook, &["status", "-n", &name]);
    logged(&sb, &hook, &["stop", "-n", &name, "--dry-run"]);
    let lines = received(&rx);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    for (line, verb) in lines.iter().zip(["create", "migrate"]) {
        assert!(
            line.starts_with("<13>") || line.starts_with("<11>"),
            "{line}"
        );
        assert!(line.contains(" vm-mgr["), "{line}");
        let body = format!("NOTICE: vm={name} verb={verb} user=\"root\" result=\"ok\" cib=");
        assert!(line.contains(&body), "{line}");
        assert!(line.contains(&format!("args=\"{verb} ")), "{line}");
        assert!(cib_changed(line), "the CIB version moved: {line}");
    }
    // A failed change is logged with its error.
    let argv = [
        "env", &hook, "vm-mgr", "migrate", "-n", &name, "--node", "nosuch",
    ];
    let out = sb.exec("sim1", &argv).unwrap();
    assert!(!out.status.success(), "{}", describe(&out));
    let lines = received(&rx);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].starts_with("<11>") && lines[0].contains("result=\"failed: "),
        "{}",
        lines[0]
    );

    // Right after the migration: migrate_to on sim2, then migrate_from on sim3.
    let (_, events) = history(&sb, &name);
    let (_, to) = find(&events, ("pacemaker", "sim2", "migrate_to"), 0);
    let (_, from) = find(&events, ("pacemaker", "sim3", "migrate_from"), to);

    // Power failure of sim3: fenced, the VM starts again on a survivor.
    sb.kill_node("sim3");
    sc.killed = Some("sim3".into());
    let survivor = wait_for(Duration::from_secs(120), "the failover", || {
        let st = vm_mgr(&sb, "sim1", &["--output", "json", "status", "-n", &name]).stdout_str();
        ["sim1", "sim2"]
            .into_iter()
            .find(|n| json_has(&st, "state", "Started") && json_has(&st, "node", n))
            .map(str::to_owned)
    });
    // Then the fencing of sim3 (the fencing history also holds earlier ones), then the start
    // on the survivor, in that order.
    let (v, events) = history(&sb, &name);
    let (fenced, at) = find(&events, ("fencing", "sim3", "fenced"), from);
    let (restarted, _) = find(&events, ("pacemaker", survivor.as_str(), "start"), at);
    assert!(fenced < restarted, "{events:#?}");
    let times: Vec<i64> = events.iter().map(|e| e.3).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "in time order: {times:?}"
    );
    let src = v["sources"]["vm-mgr"].as_str().unwrap();
    assert!(src.starts_with("unavailable: no systemd journal"), "{src}");
    // The text layout: the sources first, then one tab-separated line per event.
    let text = vm_mgr_ok(&sb, "sim1", &["history", "-n", &name]);
    assert!(
        text.starts_with(&format!("# {name}: vm-mgr: unavailable")),
        "{text}"
    );
    assert!(
        text.contains("\tfencing\tsim3\tfenced\treboot of sim3"),
        "{text}"
    );

    sb.rejoin("sim3");
    sc.killed = None;
    remove_and_check_gone(&sb, "sim1", &name);
    drop(sc);
}
