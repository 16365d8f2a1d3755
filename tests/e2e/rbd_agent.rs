//! End-to-end scenarios of `ocf:vmmgr:rbd` in guard mode on the sandbox's real Ceph 16.2.15
//! and real Pacemaker 2.1.5 (3 nodes, fencing). Map mode cannot run here (no krbd, no nbd): it
//! is covered by `agents/rbd/tests/map_simulated.rs` (simulated) and the parser tests.
//!
//! Run by `tests/run-all` (root):
//! `cargo test -p vmmgr-tests --test rbd_agent -- --ignored --test-threads=1`.

use std::time::{Duration, Instant};

use vmmgr_tests::{unique_name, wait_for, Sandbox};

#[path = "rbd_agent_support.rs"]
mod support;
use support::*;

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn guard_start_monitor_stop_and_a_second_node_is_refused() {
    let sb = Sandbox::up(3, true);
    let img = image(&sb, "g");
    let env = [("OCF_RESKEY_name", img.as_str())];
    let recurring = [
        ("OCF_RESKEY_name", img.as_str()),
        ("OCF_RESKEY_CRM_meta_interval", "10000"),
    ];

    assert_rc(
        &agent(&sb, "sim1", "monitor", &env),
        7,
        "probe before start",
    );
    assert_rc(&agent(&sb, "sim1", "start", &env), 0, "start");
    assert_rc(
        &agent(&sb, "sim1", "start", &env),
        0,
        "second start (idempotent)",
    );
    assert_rc(&agent(&sb, "sim1", "monitor", &recurring), 0, "monitor");
    assert_eq!(guard_holders(&sb, &img), ["sim1"]);

    // another node: probe says not running here, start is refused with a reason
    assert_rc(&agent(&sb, "sim2", "monitor", &env), 7, "probe on sim2");
    let refused = agent(&sb, "sim2", "start", &env);
    assert_rc(&refused, 1, "start on sim2 while sim1 holds the image");
    let reason = stderr(&refused);
    assert!(
        reason.contains("ocf-exit-reason:")
            && reason.contains("'sim1'")
            && reason.contains("online"),
        "{reason}"
    );
    assert_eq!(
        guard_holders(&sb, &img),
        ["sim1"],
        "the refused start took nothing"
    );
    // a recurring monitor on sim2 (as if sim2 believed it ran it) reports the loss
    assert_rc(
        &agent(&sb, "sim2", "monitor", &recurring),
        1,
        "monitor on sim2",
    );
    // stop on sim2 must not release sim1's lock
    assert_rc(&agent(&sb, "sim2", "stop", &env), 0, "stop on sim2");
    assert_eq!(guard_holders(&sb, &img), ["sim1"]);

    assert_rc(&agent(&sb, "sim1", "stop", &env), 0, "stop");
    assert_rc(
        &agent(&sb, "sim1", "stop", &env),
        0,
        "second stop (idempotent)",
    );
    assert!(guard_holders(&sb, &img).is_empty());
    assert_rc(
        &agent(&sb, "sim1", "monitor", &recurring),
        7,
        "monitor after stop",
    );
    // now sim2 may
    assert_rc(
        &agent(&sb, "sim2", "start", &env),
        0,
        "start on sim2 after the release",
    );
    assert_rc(&agent(&sb, "sim2", "stop", &env), 0, "stop on sim2");

    // a missing image: start 6, probe 7, stop 0
    let none = [("OCF_RESKEY_name", "no-such-image")];
    assert_rc(
        &agent(&sb, "sim1", "start", &none),
        6,
        "start of a missing image",
    );
    assert_rc(
        &agent(&sb, "sim1", "monitor", &none),
        7,
        "probe of a missing image",
    );
    assert_rc(
        &agent(&sb, "sim1", "stop", &none),
        0,
        "stop of a missing image",
    );
    remove_image(&sb, &img);
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn guard_of_a_group_and_a_live_foreign_user() {
    let sb = Sandbox::up(3, true);
    let (a, b) = (image(&sb, "ga"), image(&sb, "gb"));
    let group = unique_name("grp");
    sb.exec_ok("sim1", &["rbd", "group", "create", &format!("rbd/{group}")]);
    for i in [&a, &b] {
        sb.exec_ok(
            "sim1",
            &[
                "rbd",
                "group",
                "image",
                "add",
                &format!("rbd/{group}"),
                &format!("rbd/{i}"),
            ],
        );
    }
    let env = [("OCF_RESKEY_group", group.as_str())];
    assert_rc(&agent(&sb, "sim1", "start", &env), 0, "start of the group");
    assert_eq!(guard_holders(&sb, &a), ["sim1"]);
    assert_eq!(guard_holders(&sb, &b), ["sim1"]);
    assert_rc(&agent(&sb, "sim3", "start", &env), 1, "group start on sim3");
    assert_rc(&agent(&sb, "sim1", "stop", &env), 0, "stop of the group");
    assert!(guard_holders(&sb, &a).is_empty() && guard_holders(&sb, &b).is_empty());

    // a client on sim2 (no guard, e.g. a VM started by hand) has image a open: start refused,
    // and no lock is left behind
    let mut watch = spawn_in("sim2", &format!("sleep 15 | rbd watch rbd/{a}"));
    wait_for(Duration::from_secs(10), "the watcher", || {
        (!watchers(&sb, &a).is_empty()).then_some(())
    });
    let refused = agent(&sb, "sim1", "start", &env);
    let _ = watch.kill();
    let _ = watch.wait();
    assert_rc(&refused, 1, "start while sim2 has the image open");
    assert!(
        stderr(&refused).contains("10.78.0.2"),
        "{}",
        stderr(&refused)
    );
    assert!(guard_holders(&sb, &a).is_empty() && guard_holders(&sb, &b).is_empty());

    let missing = [("OCF_RESKEY_group", "no-such-group")];
    assert_rc(
        &agent(&sb, "sim1", "start", &missing),
        6,
        "start of a missing group",
    );
    for i in [&a, &b] {
        let _ = sb.exec(
            "sim1",
            &[
                "rbd",
                "group",
                "image",
                "rm",
                &format!("rbd/{group}"),
                &format!("rbd/{i}"),
            ],
        );
        remove_image(&sb, i);
    }
    let _ = sb.exec("sim1", &["rbd", "group", "rm", &format!("rbd/{group}")]);
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn ocf_tester_passes_in_guard_mode() {
    let sb = Sandbox::up(3, true);
    let img = image(&sb, "t");
    let out = sb
        .exec(
            "sim1",
            &[
                "ocf-tester",
                "-n",
                "g",
                "-o",
                "mode=guard",
                "-o",
                &format!("name={img}"),
                AGENT,
            ],
        )
        .unwrap();
    assert!(
        out.status.success() && out.stdout_str().contains("passed all tests"),
        "ocf-tester: {}{}",
        out.stdout_str(),
        stderr(&out)
    );
    remove_image(&sb, &img);
}

/// SIGSTOPs the sandbox's Ceph monitor; SIGCONT on drop, whatever happens.

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn ceph_down_is_an_error_before_the_deadline() {
    let sb = Sandbox::up(3, true);
    let img = image(&sb, "d");
    let env = [
        ("OCF_RESKEY_name", img.as_str()),
        ("OCF_RESKEY_CRM_meta_timeout", "8000"),
    ];
    {
        let _stopped = MonStopped::new(&sb);
        for action in ["monitor", "start", "stop"] {
            let t = Instant::now();
            let out = agent(&sb, "sim1", action, &env);
            let took = t.elapsed();
            assert_rc(&out, 1, action);
            assert!(took < Duration::from_secs(8), "{action} took {took:?}");
            let reason = stderr(&out);
            assert!(
                reason.contains("ocf-exit-reason:") && reason.contains("Ceph"),
                "{action}: {reason}"
            );
        }
    }
    remove_image(&sb, &img);
}

/// Waits until every node is an online member again (after a `start-node`).

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn a_killed_holder_is_blocklisted_and_its_image_taken_over() {
    let sb = Sandbox::up(3, true);
    let img = image(&sb, "k");
    let env = [("OCF_RESKEY_name", img.as_str())];
    assert_rc(&agent(&sb, "sim3", "start", &env), 0, "start on sim3");
    // a client of sim3 (standing in for its QEMU) keeps the image open
    let mut watch = spawn_in("sim3", &format!("sleep 120 | rbd watch rbd/{img}"));
    let status = || watchers(&sb, &img);
    wait_for(Duration::from_secs(10), "sim3's watcher", || {
        (!status().is_empty()).then_some(())
    });
    let watcher = status()[0].address;

    sb.kill_node("sim3");
    let killed = Instant::now();
    // the watcher's `sandbox exec` died with the node
    let _ = watch.kill();
    let _ = watch.wait();
    wait_fenced(&sb, "sim3");
    assert_rc(&agent(&sb, "sim2", "start", &env), 0, "takeover on sim2");
    eprintln!("taken over {:?} after the kill", killed.elapsed());
    assert_eq!(guard_holders(&sb, &img), ["sim2"]);
    // the dead client is blocklisted (its watcher is gone long before the 30 s watch timeout)
    let bl = sb.exec_ok(
        "sim1",
        &["ceph", "osd", "blocklist", "ls", "--format", "json"],
    );
    let bl = shared::ceph::types::parse_blocklist(&bl).unwrap();
    assert!(
        bl.iter().any(|e| e.addr == watcher.to_string()),
        "{watcher} not in {bl:?}"
    );
    wait_for(Duration::from_secs(10), "the dead watcher to go", || {
        status().is_empty().then_some(())
    });
    assert!(
        killed.elapsed() < Duration::from_secs(26),
        "{:?}",
        killed.elapsed()
    );

    assert_rc(&agent(&sb, "sim2", "stop", &env), 0, "stop on sim2");
    sb.rejoin("sim3");
    remove_image(&sb, &img);
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn under_pacemaker_the_guard_live_migrates_and_fails_over_after_a_kill() {
    let sb = Sandbox::up(3, true);
    sb.wait_settled(Duration::from_secs(60));
    let img = image(&sb, "p");
    let id = unique_name("rbdg");
    sb.create_resource("sim1", &guard_primitive(&id, &img));
    let first = wait_for(Duration::from_secs(30), "the guard to start", || {
        sb.running_on(&id, &[]).into_iter().next()
    });
    assert_eq!(guard_holders(&sb, &img), std::slice::from_ref(&first));

    // live migration: migrate_to on the source, migrate_from on the target hands the lock over
    let target = if first == "sim1" { "sim2" } else { "sim1" };
    sb.move_and_wait(&id, &id, target, Duration::from_secs(30));
    let tasks = sb.history_tasks(target, &id);
    assert!(
        tasks.iter().any(|t| t == "migrate_from"),
        "no migrate_from on {target} in the history: {tasks:?}"
    );
    assert_eq!(guard_holders(&sb, &img), [target.to_string()]);

    // power failure of its node: fenced, then started elsewhere with the lock taken over
    sb.kill_node(target);
    let killed = Instant::now();
    let survivor = wait_for(Duration::from_secs(60), "the guard to fail over", || {
        sb.running_on(&id, &[target])
            .into_iter()
            .find(|n| n != target)
    });
    eprintln!(
        "failed over to {survivor} {:?} after the kill",
        killed.elapsed()
    );
    assert_eq!(guard_holders(&sb, &img), std::slice::from_ref(&survivor));

    sb.rejoin(target);
    remove_primitive(&sb, &id);
    wait_for(Duration::from_secs(10), "stop to release the lock", || {
        guard_holders(&sb, &img).is_empty().then_some(())
    });
    remove_image(&sb, &img);
}

/// The guard goes through librados by default and through the `rbd`/`rados`/`ceph` tools
/// when librados cannot be loaded (`VMMGR_LIBRADOS` naming a missing library): both take the
/// same exclusive lock, and each sees, refuses and releases the other's. The tag tells which
/// path took it: `rados lock get --lock-tag` sets the guard's, `rados_lock_exclusive` none.
#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn the_guard_without_librados_falls_back_to_the_tools() {
    let sb = Sandbox::up(3, true);
    let img = image(&sb, "f");
    let missing = ("VMMGR_LIBRADOS", "/nonexistent/librados.so.2");
    let interval = ("OCF_RESKEY_CRM_meta_interval", "10000");
    let native = [("OCF_RESKEY_name", img.as_str())];
    let tools = [("OCF_RESKEY_name", img.as_str()), missing];
    let native_monitor = [("OCF_RESKEY_name", img.as_str()), interval];
    let tools_monitor = [("OCF_RESKEY_name", img.as_str()), interval, missing];

    for (taker, other, other_monitor, tag) in [
        (&tools[..], &native[..], &native_monitor[..], "vmmgr-guard"),
        (&native[..], &tools[..], &tools_monitor[..], ""),
    ] {
        assert_rc(&agent(&sb, "sim1", "start", taker), 0, "start");
        let lock = guard_lock(&sb, &img);
        let holders: Vec<&str> = lock.lockers.iter().map(|l| l.cookie.as_str()).collect();
        assert_eq!(holders, ["sim1"]);
        assert_eq!(lock.lock_type, "exclusive");
        assert_eq!(lock.tag, tag, "which path took the lock");
        assert_rc(&agent(&sb, "sim1", "monitor", other_monitor), 0, "monitor");
        let refused = agent(&sb, "sim2", "start", other);
        assert_rc(&refused, 1, "start on sim2 while sim1 holds the image");
        let reason = stderr(&refused);
        assert!(
            reason.contains("'sim1'") && reason.contains("online"),
            "{reason}"
        );
        assert_rc(&agent(&sb, "sim1", "stop", other), 0, "stop");
        assert!(guard_holders(&sb, &img).is_empty(), "stop released it");
    }
    remove_image(&sb, &img);
}

/// An OSD that stops answering in the middle of an action (monitors fine, so the connection
/// is made and the OSD operation hangs): the action still ends at its deadline with
/// `OCF_ERR_GENERIC` and a reason naming Ceph, even though the librados call is left running
/// (the agent leaves without running librados' exit handlers).
#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn a_hung_osd_is_an_error_at_the_deadline() {
    let sb = Sandbox::up(3, true);
    let img = image(&sb, "o");
    let env = [
        ("OCF_RESKEY_name", img.as_str()),
        ("OCF_RESKEY_CRM_meta_timeout", "6000"),
    ];
    {
        let _stopped = MonStopped::daemon(&sb, "osd.0");
        let t = Instant::now();
        let out = agent(&sb, "sim1", "start", &env);
        let took = t.elapsed();
        assert_rc(&out, 1, "start with the OSD stopped");
        assert!(took < Duration::from_secs(8), "start took {took:?}");
        let reason = stderr(&out);
        assert!(
            reason.contains("ocf-exit-reason:") && reason.contains("Ceph does not answer"),
            "{reason}"
        );
    }
    assert!(guard_holders(&sb, &img).is_empty(), "nothing was taken");
    remove_image(&sb, &img);
}

/// A writer that is gone while the OSD still keeps its watch (`rbd bench --io-type write` on
/// sim2, holding librbd's exclusive lock, killed with SIGKILL: the watch stays until
/// osd_client_watch_timeout, 30 s, the lock for good): the start waits for the watch to go,
/// then fences the dead writer and breaks its lock, instead of failing. The same writer alive
/// is refused at once.
#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn a_start_waits_for_a_killed_clients_watch_and_refuses_a_live_one() {
    let sb = Sandbox::up(3, true);
    let img = image(&sb, "w");
    let env = [
        ("OCF_RESKEY_name", img.as_str()),
        ("OCF_RESKEY_CRM_meta_timeout", "60000"),
    ];
    let pidfile = format!("/tmp/{img}.pid");
    let mut watch = spawn_in(
        "sim2",
        &format!(
            "rbd bench --io-type write --io-size 4K --io-threads 1 --io-total 10G rbd/{img} \
             & echo $! >{pidfile}; wait"
        ),
    );
    let status = || watchers(&sb, &img);
    let locks = || {
        let s = sb.exec_ok(
            "sim1",
            &[
                "rbd",
                "lock",
                "ls",
                "--format",
                "json",
                &format!("rbd/{img}"),
            ],
        );
        shared::ceph::types::parse_lock_ls(&s).unwrap()
    };
    wait_for(Duration::from_secs(20), "sim2's writer", || {
        (!status().is_empty() && !locks().is_empty()).then_some(())
    });
    let watcher = status()[0].address.to_string();
    assert_eq!(locks()[0].address.to_string(), watcher);

    // live: refused at once, nothing taken
    let t = Instant::now();
    let refused = agent(&sb, "sim1", "start", &env);
    assert_rc(&refused, 1, "start while sim2's client is alive");
    let reason = stderr(&refused);
    assert!(
        reason.contains(&watcher) && !reason.contains("waiting"),
        "{reason}"
    );
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert!(guard_holders(&sb, &img).is_empty());

    // killed: its watch stays, the start waits until the OSD drops it
    sb.exec_ok(
        "sim2",
        &["sh", "-c", &format!("kill -KILL $(cat {pidfile})")],
    );
    let _ = watch.kill();
    let _ = watch.wait();
    let _ = sb.exec("sim2", &["rm", "-f", &pidfile]);
    assert_eq!(status().len(), 1, "the dead client's watch is kept");
    // a start whose timeout (10 s) ends before the watch does: it fails as before, saying it
    // waited, and takes nothing
    let short = [
        ("OCF_RESKEY_name", img.as_str()),
        ("OCF_RESKEY_CRM_meta_timeout", "10000"),
    ];
    let t = Instant::now();
    let gave_up = agent(&sb, "sim1", "start", &short);
    assert_rc(&gave_up, 1, "start with a timeout shorter than the watch's");
    let reason = stderr(&gave_up);
    assert!(
        reason.contains(&format!(
            "ocf-exit-reason:image rbd/{img} is in use by client(s) {watcher} after waiting"
        )),
        "{reason}"
    );
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert!(guard_holders(&sb, &img).is_empty());
    assert_eq!(status().len(), 1, "the watch outlived the short start");
    let t = Instant::now();
    let started = agent(&sb, "sim1", "start", &env);
    let took = t.elapsed();
    assert_rc(&started, 0, "start after the dead client's watch expired");
    let log = stderr(&started);
    eprintln!("start took {took:?}:\n{log}");
    assert!(
        log.contains(&watcher) && log.contains("answer no notify") && log.contains("waiting up to"),
        "{log}"
    );
    assert!(log.contains("went after"), "{log}");
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(54),
        "{took:?}"
    );
    assert!(
        log.contains(&format!("blocklisted {watcher}")),
        "the dead writer is fenced before its lock is broken: {log}"
    );
    assert!(status().is_empty(), "the watch is gone");
    assert!(locks().is_empty(), "the dead writer's lock is broken");
    assert_eq!(guard_holders(&sb, &img), ["sim1"]);

    assert_rc(&agent(&sb, "sim1", "stop", &env), 0, "stop");
    // leave the cluster as found: the dead client's blocklist entry would only expire later
    let _ = sb.exec("sim1", &["ceph", "osd", "blocklist", "rm", &watcher]);
    remove_image(&sb, &img);
}
