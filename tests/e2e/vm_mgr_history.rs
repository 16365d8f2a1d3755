//! `history` and the syslog line of every change on the real cluster: each sandbox node runs
//! its own systemd-journald, with `/dev/log` its syslog socket as on a systemd host. A VM is
//! created and live-migrated on sim1, and each change leaves one line in sim1's journal (user,
//! verb, arguments, result, CIB version before and after; read back with `journalctl`); reads
//! and dry runs leave none, a failed change leaves an error line. Then the node running the VM
//! loses power (`kill-node`): it is fenced and the VM starts on a survivor. `history --output
//! json` shows vm-mgr's create, the migration, the fencing and the failover start, in that
//! order.
//!
//! Run: `VMMGR_SANDBOX_NAME=vmm cargo test -p vmmgr-tests --test vm_mgr_history -- --ignored
//! --test-threads=1` (after `cargo build`, so that the nodes see the current `vm-mgr`).

use std::time::Duration;

use vmmgr_tests::{create_argv, describe, unique_name, vm_mgr, vm_mgr_ok, wait_for, Sandbox};

#[path = "vm_mgr_support.rs"]
mod support;
use support::*;

/// Removes the VM and its inputs; brings the killed node back.
struct Scenario<'a> {
    sb: &'a Sandbox,
    name: String,
    killed: Option<String>,
}

impl Drop for Scenario<'_> {
    fn drop(&mut self) {
        if let Some(n) = self.killed.take() {
            self.sb.rejoin(&n);
        }
        let _ = vm_mgr(self.sb, "sim1", &["remove", "--purge", "-n", &self.name]);
        cleanup_inputs(&self.name);
    }
}

/// One line of vm-mgr's in a node's journal: (PRIORITY, SYSLOG_FACILITY, _HOSTNAME, MESSAGE).
type Line = (String, String, String, String);

/// vm-mgr's lines about VM `name` in `node`'s journal, oldest first, once there are `want` of
/// them (journald files datagrams a moment after they are sent).
fn journal(sb: &Sandbox, node: &str, name: &str, want: usize) -> Vec<Line> {
    let read = || -> Vec<Line> {
        let out = sb.exec_ok(
            node,
            &[
                "journalctl",
                "--no-pager",
                "--output=json",
                "--identifier=vm-mgr",
            ],
        );
        out.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| {
                v["MESSAGE"]
                    .as_str()
                    .is_some_and(|m| m.contains(&format!(" vm={name} ")))
            })
            .map(|v| {
                let s = |k: &str| v[k].as_str().unwrap_or("-").to_owned();
                (
                    s("PRIORITY"),
                    s("SYSLOG_FACILITY"),
                    s("_HOSTNAME"),
                    s("MESSAGE"),
                )
            })
            .collect()
    };
    wait_for(Duration::from_secs(10), "vm-mgr's journal lines", || {
        let lines = read();
        (lines.len() >= want).then_some(lines)
    })
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
fn history_shows_create_a_migration_and_a_failover_in_order() {
    let sb = sandbox();
    let name = unique_name("hi");
    let (xml, image) = inputs(&sb, &name);
    let mut sc = Scenario {
        sb: &sb,
        name: name.clone(),
        killed: None,
    };

    // create, set-placement and a live migration: one line each in sim1's journal, identifier
    // vm-mgr, facility user, level notice.
    let extra = [
        "--enable-live-migration",
        "--pinned-host",
        "sim2",
        "--pacemaker-params",
        "migration_transport=tcp",
    ];
    vm_mgr_ok(&sb, "sim1", &create_argv(&name, &xml, &image, &extra));
    vm_mgr_ok(
        &sb,
        "sim1",
        &["set-placement", "-n", &name, "--strategy", "auto"],
    );
    vm_mgr_ok(&sb, "sim1", &["migrate", "-n", &name, "--node", "sim3"]);
    // A read-only verb and a dry run log nothing.
    vm_mgr_ok(&sb, "sim1", &["status", "-n", &name]);
    vm_mgr_ok(&sb, "sim1", &["stop", "-n", &name, "--dry-run"]);
    // A failed change is logged with its error, at level err.
    let out = vm_mgr(&sb, "sim1", &["migrate", "-n", &name, "--node", "nosuch"]);
    assert!(!out.status.success(), "{}", describe(&out));
    let lines = journal(&sb, "sim1", &name, 4);
    assert_eq!(lines.len(), 4, "{lines:#?}");
    for ((prio, facility, host, msg), verb) in
        lines[..3]
            .iter()
            .zip(["create", "set-placement", "migrate"])
    {
        assert_eq!((prio.as_str(), facility.as_str()), ("5", "1"), "{msg}");
        assert_eq!(host, "sim1");
        let body = format!("NOTICE: vm={name} verb={verb} user=\"root\" result=\"ok\" cib=");
        assert!(msg.contains(&body), "{msg}");
        assert!(msg.contains(&format!("args=\"{verb} ")), "{msg}");
        assert!(cib_changed(msg), "the CIB version moved: {msg}");
    }
    let (prio, _, _, msg) = &lines[3];
    assert!(
        prio == "3" && msg.contains("verb=migrate") && msg.contains("result=\"failed: "),
        "{msg}"
    );
    // Nothing on the other nodes: each node's journal holds the changes made there.
    let out = sb.exec_ok("sim2", &["journalctl", "--no-pager", "--identifier=vm-mgr"]);
    assert!(!out.contains(&format!(" vm={name} ")), "{out}");

    // Right after the migration: vm-mgr's create, then migrate_to on sim2, then migrate_from
    // on sim3, and vm-mgr's migrate line.
    let (_, events) = history(&sb, &name);
    let (created, _) = find(&events, ("vm-mgr", "sim1", "create"), 0);
    let (to_at, to) = find(&events, ("pacemaker", "sim2", "migrate_to"), 0);
    let (from_at, from) = find(&events, ("pacemaker", "sim3", "migrate_from"), to);
    assert!(created < to_at && to_at < from_at, "{events:#?}");
    find(&events, ("vm-mgr", "sim1", "migrate"), to);

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
    // on the survivor, in that order, after the create.
    let (v, events) = history(&sb, &name);
    let (created, _) = find(&events, ("vm-mgr", "sim1", "create"), 0);
    let (fenced, at) = find(&events, ("fencing", "sim3", "fenced"), from);
    let (restarted, _) = find(&events, ("pacemaker", survivor.as_str(), "start"), at);
    assert!(created < fenced && fenced < restarted, "{events:#?}");
    let times: Vec<i64> = events.iter().map(|e| e.3).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "in time order: {times:?}"
    );
    let src = v["sources"]["vm-mgr"].as_str().unwrap();
    assert!(src.starts_with("journal of this node"), "{src}");
    // The text layout: the sources first, then one tab-separated line per event.
    let text = vm_mgr_ok(&sb, "sim1", &["history", "-n", &name]);
    assert!(
        text.starts_with(&format!("# {name}: vm-mgr: journal of this node")),
        "{text}"
    );
    assert!(
        text.contains("\tfencing\tsim3\tfenced\treboot of sim3"),
        "{text}"
    );
    assert!(text.contains("\tvm-mgr\tsim1\tcreate\t"), "{text}");

    sb.rejoin("sim3");
    sc.killed = None;
    remove_and_check_gone(&sb, "sim1", &name);
    drop(sc);
}
