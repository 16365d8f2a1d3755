//! `vm-mgr` under faults on the real sandbox cluster with Ceph and our agents: a `kill -9` of
//! vm-mgr in the middle of create (then create --force and remove), and a failover of guard and
//! domain together after a node's power failure.
//!
//! Run: `VMMGR_SANDBOX_NAME=vmm cargo test -p vmmgr-tests --test vm_mgr_faults -- --ignored
//! --test-threads=1` (after `cargo build`, so that the nodes see the current `vm-mgr`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vmmgr_tests::{
    create_argv, describe, repo_root, unique_name, vm_mgr, vm_mgr_ok, wait_for, Sandbox,
};

#[path = "vm_mgr_support.rs"]
mod support;
use support::*;

/// A 512 MiB qcow2 holding 400 MiB of data, so that its import takes a second or two.
fn big_image(sb: &Sandbox, name: &str) -> String {
    let image = format!("/var/tmp/vmmgr-e2e-{name}.qcow2");
    sb.exec_ok(
        "sim1",
        &["qemu-img", "create", "-q", "-f", "qcow2", &image, "512M"],
    );
    sb.exec_ok("sim1", &["qemu-io", "-c", "write 0 400M", &image]);
    image
}

/// Processes on `node` whose command line mentions `needle`.
fn processes_naming(sb: &Sandbox, node: &str, needle: &str) -> Vec<String> {
    sb.exec_ok(node, &["ps", "-eo", "pid=,args="])
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn kill_9_in_the_middle_of_create_then_create_force_and_remove() {
    let sb = sandbox();
    let name = unique_name("k9");
    let (xml, _) = inputs(&sb, &name);
    let image = big_image(&sb, &name);
    let system = format!("system_{name}");
    let pidfile = format!("/var/tmp/vmmgr-e2e-{name}.pid");
    let create = ["create", "-n", &name, "--xml", &xml, "-i", &image];

    // vm-mgr create in sim1, killed with SIGKILL half a second into the import.
    let mut argv = vec![
        "exec",
        "sim1",
        "--",
        "bash",
        "-c",
        r#"echo $$ > "$0"; exec vm-mgr "$@""#,
        &pidfile,
    ];
    argv.extend_from_slice(&create);
    let mut child = Command::new(repo_root().join("tests/sandbox/sandbox"))
        .args(&argv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sandbox exec vm-mgr create");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    loop {
        let mut line = String::new();
        let n = stderr.read_line(&mut line).expect("read vm-mgr's stderr");
        said.push_str(&line);
        assert!(n > 0, "vm-mgr create ended before its import: {said}");
        if line.contains("Importing") {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let pid = std::fs::read_to_string(&pidfile).expect("the pid file");
    sb.exec_ok("sim1", &["kill", "-KILL", pid.trim()]);
    let status = child.wait().expect("wait for sandbox exec");
    std::io::Read::read_to_string(&mut stderr, &mut said).unwrap();
    assert!(!status.success(), "create finished before the kill: {said}");
    let _ = std::fs::remove_file(&pidfile);

    // What the kill left: the RBD group and a partial system image without metadata; nothing
    // in the CIB. The import (qemu-img) died with vm-mgr instead of writing on as an orphan.
    let (images, groups) = rbd_names(&sb);
    let meta = sb
        .exec(
            "sim1",
            &["rbd", "image-meta", "list", "--format", "json", &system],
        )
        .map(|o| o.stdout_str())
        .unwrap_or_default();
    let st = vm_mgr(&sb, "sim2", &["--output", "json", "status", "-n", &name]);
    eprintln!(
        "after kill -9 during the import: images {images} groups {groups} metadata of {system}: \
         {meta:?}; vm-mgr status: {}",
        describe(&st)
    );
    assert!(
        matches!(st.code(), Some(0) | Some(3)),
        "status copes with the remains: {}",
        describe(&st)
    );
    assert!(
        !cib_config(&sb).contains(&name),
        "nothing of {name} reached the CIB"
    );
    assert!(
        !meta.contains("\"xml\""),
        "a half-made image is not a complete VM: {meta}"
    );
    wait_for(
        Duration::from_secs(5),
        "the import to die with vm-mgr",
        || {
            processes_naming(&sb, "sim1", &system)
                .is_empty()
                .then_some(())
        },
    );
    let list = vm_mgr(&sb, "sim2", &["--output", "json", "list"]);
    assert!(list.status.success(), "list: {}", describe(&list));

    // The same create with --force replaces the remains (removing the partial image may wait
    // for the dead importer's watch to time out, ~30 s) and starts the VM.
    let mut forced = create.to_vec();
    forced.push("--force");
    let t = Instant::now();
    let out = vm_mgr_ok(&sb, "sim1", &forced);
    eprintln!("create --force after the kill took {:?}", t.elapsed());
    assert!(out.contains("Started on"), "{out}");
    assert!(json_has(
        &status_json(&sb, "sim3", &name),
        "state",
        "Started"
    ));

    // remove leaves nothing.
    remove_and_check_gone(&sb, "sim3", &name);
    cleanup_inputs(&name);
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn guard_and_domain_fail_over_together_after_a_power_failure() {
    let sb = sandbox();
    wait_for(Duration::from_secs(60), "all nodes online", || {
        let st = sb.quorate_view(&[])?;
        (st.online_nodes().count() == sb.nodes().len()).then_some(())
    });
    let name = unique_name("fo");
    let (xml, image) = inputs(&sb, &name);
    let guard = format!("vmmgr-disk-{name}");
    let domain = format!("vmmgr-domain-{name}");
    // Preferred (not pinned) on sim2, so that it may run elsewhere once sim2 is gone.
    let out = vm_mgr_ok(
        &sb,
        "sim1",
        &create_argv(&name, &xml, &image, &["--preferred-host", "sim2"]),
    );
    assert!(out.contains("Started on sim2"), "{out}");
    assert_eq!(sb.running_on(&guard, &[]), ["sim2"]);

    sb.kill_node("sim2");
    let killed = Instant::now();
    let survivor = wait_for(
        Duration::from_secs(90),
        "guard and domain to fail over together",
        || {
            let g = sb.running_on(&guard, &["sim2"]);
            let d = sb.running_on(&domain, &["sim2"]);
            (g.len() == 1 && g == d && g[0] != "sim2").then(|| g[0].clone())
        },
    );
    eprintln!(
        "{name} failed over to {survivor} {:?} after the kill",
        killed.elapsed()
    );
    // Running (as crm_mon sees it) may still be a start in progress: vm-mgr says Starting.
    wait_for(Duration::from_secs(60), "vm-mgr to report Started", || {
        let st = status_json(&sb, &survivor, &name);
        (json_has(&st, "state", "Started") && json_has(&st, "node", &survivor)).then_some(())
    });

    sb.rejoin("sim2");
    remove_and_check_gone(&sb, "sim1", &name);
    cleanup_inputs(&name);
}
