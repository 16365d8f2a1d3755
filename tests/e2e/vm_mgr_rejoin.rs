//! vm-mgr on a node that has just been powered on and is still joining the cluster.
//!
//! Seen on the real stack (Pacemaker 2.1.5): such a node's CIB daemon takes changes some
//! seconds before its controller has joined; a change made then stays local and raises that
//! copy's epoch, and at the join the DC takes the copy as the newest ("sync'ing CIB from
//! simN") and replaces the whole cluster's CIB with it: changes the others made meanwhile are
//! lost, and so is every node's operation history until re-sent, so a resource still running
//! looks stopped. vm-mgr must wait for the join (its CIB naming a DC) before it writes.
//!
//! A second scenario covers the other way a Stopped can lack confirmation from every node: a
//! node that never probes the VM (`resource-discovery=never`).
//!
//! The VM here is a vm-mgr-shaped group of `ocf:pacemaker:Dummy` members run with
//! `--no-storage`: what is tested is the CIB transaction, not the disks.
//!
//! Run by `tests/run-all` (root): `cargo test -p vmmgr-tests --test vm_mgr_rejoin -- --ignored`.

use std::path::PathBuf;
use std::time::Duration;

use shared::pacemaker::Cib;
use vmmgr_tests::{describe, unique_name, vm_mgr, wait_for, Sandbox};

fn vm_group(name: &str) -> String {
    format!(
        r#"<group id="{name}">
  <primitive id="vmmgr-disk-{name}" class="ocf" provider="pacemaker" type="Dummy"/>
  <primitive id="vmmgr-domain-{name}" class="ocf" provider="pacemaker" type="Dummy"/>
</group>"#
    )
}

fn pacemaker_log(sb: &Sandbox, node: &str) -> PathBuf {
    PathBuf::from(sb.env_var("SANDBOX_BASE"))
        .join("nodes")
        .join(node)
        .join("var-log-pacemaker/pacemaker.log")
}

/// The log lines of every node written after `offsets` (byte lengths taken earlier).
fn new_log_lines(sb: &Sandbox, offsets: &[(String, usize)]) -> Vec<String> {
    offsets
        .iter()
        .flat_map(|(node, from)| {
            let text = std::fs::read(pacemaker_log(sb, node)).unwrap_or_default();
            let tail = text.get(*from..).unwrap_or_default();
            String::from_utf8_lossy(tail)
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The epochs of a "Replaced A.B.C with X.Y.Z from NODE" log line, if it is one from `node`.
fn replaced_epochs(line: &str, node: &str) -> Option<(String, String)> {
    let rest = line.split("info: Replaced ").nth(1)?;
    let (versions, from) = rest.split_once(" from ")?;
    if from.trim() != node {
        return None;
    }
    let (old, new) = versions.split_once(" with ")?;
    let epoch = |v: &str| v.split('.').nth(1).map(str::to_string);
    Some((epoch(old)?, epoch(new)?))
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn a_change_on_a_joining_node_waits_for_the_join_and_replaces_nothing() {
    let sb = Sandbox::up(3, false);
    sb.wait_settled(Duration::from_secs(60));
    let name = unique_name("rj");
    let domain = format!("vmmgr-domain-{name}");
    sb.create_resource("sim1", &vm_group(&name));
    let runs = wait_for(Duration::from_secs(30), "the VM to start", || {
        sb.running_on(&domain, &[]).into_iter().next()
    });
    let joining = sb
        .nodes()
        .iter()
        .find(|n| **n != runs)
        .cloned()
        .expect("a node without the VM");

    sb.kill_node(&joining);
    wait_for(Duration::from_secs(60), "the node to be fenced", || {
        let st = sb.quorate_view(&[&joining])?;
        let n = st.node(&joining)?;
        (!n.online && !n.unclean).then_some(())
    });
    let offsets: Vec<(String, usize)> = sb
        .nodes()
        .iter()
        .map(|n| {
            let len = std::fs::metadata(pacemaker_log(&sb, n)).map_or(0, |m| m.len());
            (n.clone(), usize::try_from(len).unwrap())
        })
        .collect();
    sb.start_node(&joining);

    // As soon as the node's CIB answers, and while it names no DC: before the join.
    wait_for(Duration::from_secs(60), "the node's CIB to answer", || {
        let out = sb.exec(&joining, &["cibadmin", "--query"]).ok()?;
        if !out.status.success() {
            return None;
        }
        let cib = Cib::parse(&out.stdout_str()).expect("the CIB parses");
        assert!(
            cib.dc_uuid.is_none(),
            "{joining} had joined before the test could act: the window is gone"
        );
        Some(())
    });
    let out = wait_for(Duration::from_secs(60), "vm-mgr to run on the node", || {
        let out = vm_mgr(&sb, &joining, &["--no-storage", "stop", "-n", &name]);
        if out.status.success() {
            return Some(out);
        }
        // Before the node's daemons (or its /usr/local/sbin link) are there.
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.code() == Some(127) || err.contains("Not connected"),
            "vm-mgr stop on the joining node failed otherwise: {}",
            describe(&out)
        );
        None
    });
    assert!(
        out.stdout_str().contains("Stopped"),
        "vm-mgr stop: {}",
        describe(&out)
    );
    sb.wait_settled(Duration::from_secs(60));
    assert!(
        sb.running_on(&domain, &[]).is_empty(),
        "the VM still runs after vm-mgr said Stopped"
    );

    // The joining node's copy of the CIB never replaced the cluster's with another epoch.
    let lines = new_log_lines(&sb, &offsets);
    let replaced: Vec<&String> = lines
        .iter()
        .filter(|l| replaced_epochs(l, &joining).is_some_and(|(old, new)| old != new))
        .collect();
    assert!(
        replaced.is_empty(),
        "the CIB of {joining}, changed before it joined, replaced the cluster's: {replaced:#?}"
    );
    // The DC did make the node join after it was started.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Sending join-") && l.contains(&format!("offer to {joining}"))),
        "no join was logged after {joining} was started"
    );

    sb.exec_ok(
        "sim1",
        &[
            "cibadmin",
            "--delete",
            "-o",
            "resources",
            "--xml-text",
            &format!("<group id=\"{name}\"/>"),
        ],
    );
}

/// A node that never probes the VM (`resource-discovery=never`) holds no history of it, so
/// vm-mgr cannot see the Stopped confirmed on every node; it then believes it while the DC is
/// idle before and after a fresh read, and `stop` returns instead of waiting out its budget.
#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn stop_is_confirmed_where_a_node_never_probes_the_vm() {
    let sb = Sandbox::up(3, false);
    sb.wait_settled(Duration::from_secs(60));
    let name = unique_name("nd");
    let domain = format!("vmmgr-domain-{name}");
    let ban = format!("{name}-never-sim3");
    // Group and constraint in one change: created apart, sim3 would probe the group before the
    // constraint exists (and a constraint may not name a resource that does not exist yet).
    let group = vm_group(&name);
    sb.exec_ok(
        "sim1",
        &[
            "cibadmin",
            "--modify",
            "--allow-create",
            "--scope",
            "configuration",
            "--xml-text",
            &format!(
                r#"<configuration><resources>{group}</resources><constraints><rsc_location id="{ban}" rsc="{name}" node="sim3" score="-INFINITY" resource-discovery="never"/></constraints></configuration>"#
            ),
        ],
    );
    wait_for(Duration::from_secs(30), "the VM to start", || {
        (!sb.running_on(&domain, &[]).is_empty()).then_some(())
    });
    sb.wait_settled(Duration::from_secs(60));
    let history_on_sim3 = sb
        .exec(
            "sim1",
            &[
                "cibadmin",
                "--query",
                "--xpath",
                &format!("//node_state[@uname='sim3']//lrm_resource[@id='{domain}']"),
            ],
        )
        .expect("cibadmin runs");
    assert!(
        !history_on_sim3.status.success(),
        "sim3 was not to probe the VM, yet holds its history"
    );

    let started = std::time::Instant::now();
    let out = vm_mgr(&sb, "sim1", &["--no-storage", "stop", "-n", &name]);
    let took = started.elapsed();
    assert!(
        out.status.success() && out.stdout_str().contains("Stopped"),
        "vm-mgr stop: {}",
        describe(&out)
    );
    // The stop budget is the members' stop timeouts (20 s each) + 30 s: far above this.
    assert!(took < Duration::from_secs(30), "stop took {took:?}");
    assert!(sb.running_on(&domain, &[]).is_empty());

    // The constraint first: the CIB refuses to lose a resource a constraint names.
    for xpath in [
        format!("//rsc_location[@id='{ban}']"),
        format!("//group[@id='{name}']"),
    ] {
        sb.exec_ok("sim1", &["cibadmin", "--delete", "--xpath", &xpath]);
    }
}

#[test]
fn replaced_lines_are_read() {
    let line = "Dec 02 17:32:49.355 sim3 pacemaker-based     [81] (cib_process_replace) \
                \tinfo: Replaced 0.16.53 with 0.20.3 from sim1";
    assert_eq!(
        replaced_epochs(line, "sim1"),
        Some(("16".to_string(), "20".to_string()))
    );
    assert_eq!(replaced_epochs(line, "sim2"), None);
    assert_eq!(
        replaced_epochs("info: Digest matched on replace", "sim1"),
        None
    );
}
