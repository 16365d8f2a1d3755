//! `vm-mgr` lifecycle on the real sandbox cluster with Ceph and our agents: create from a
//! small qcow2, status/list JSON, stop/start, disable/enable keeping a colocation and a pin,
//! remove leaving nothing, bad input changing nothing, two nodes creating 10 VMs each at once,
//! a `kill -9` of vm-mgr in the middle of create, and a failover after a node's power failure.
//!
//! Run: `VMMGR_SANDBOX_NAME=vmm cargo test -p vmmgr-tests --test vm_mgr_lifecycle -- --ignored
//! --test-threads=1` (after `cargo build`, so that the nodes see the current `vm-mgr`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use shared::pacemaker::Cib;
use vmmgr_tests::{describe, repo_root, unique_name, vm_mgr, vm_mgr_ok, wait_for, Sandbox};

fn sandbox() -> Sandbox {
    Sandbox::up(3, true)
}

/// A guest XML and a 64 MiB qcow2 image for VM `name` (under /var/tmp, which the nodes share).
fn inputs(sb: &Sandbox, name: &str) -> (String, String) {
    let xml = format!("/var/tmp/vmmgr-e2e-{name}.xml");
    std::fs::write(&xml, sb.guest_xml(name)).expect("write the guest XML");
    let image = format!("/var/tmp/vmmgr-e2e-{name}.qcow2");
    sb.exec_ok(
        "sim1",
        &["qemu-img", "create", "-q", "-f", "qcow2", &image, "64M"],
    );
    (xml, image)
}

fn cleanup_inputs(name: &str) {
    let _ = std::fs::remove_file(format!("/var/tmp/vmmgr-e2e-{name}.xml"));
    let _ = std::fs::remove_file(format!("/var/tmp/vmmgr-e2e-{name}.qcow2"));
}

fn cib(sb: &Sandbox) -> String {
    sb.exec_ok("sim1", &["cibadmin", "--query"])
}

/// The CIB's configuration section only: a removed resource's operation history may linger in
/// the status section until Pacemaker drops the orphan, which is not configuration.
fn cib_config(sb: &Sandbox) -> String {
    sb.exec_ok("sim1", &["cibadmin", "--query", "--scope", "configuration"])
}

/// The CIB's configuration version ("admin_epoch.epoch"), from the parsed CIB.
fn config_epoch(sb: &Sandbox) -> String {
    let v = Cib::parse(&cib(sb)).expect("the CIB parses").version();
    format!("{}.{}", v.admin_epoch, v.epoch)
}

fn rbd_names(sb: &Sandbox) -> (String, String) {
    (
        sb.exec_ok("sim1", &["rbd", "ls", "--format", "json"]),
        sb.exec_ok("sim1", &["rbd", "group", "ls", "--format", "json"]),
    )
}

/// `vm-mgr remove` on `node`, then nothing of VM `name` may be left: no RBD image or group, no
/// element or constraint in the CIB configuration.
fn remove_and_check_gone(sb: &Sandbox, node: &str, name: &str) {
    vm_mgr_ok(sb, node, &["remove", "-n", name]);
    assert!(
        !cib_config(sb).contains(name),
        "remove leaves nothing of {name} in the CIB configuration"
    );
    let (images, groups) = rbd_names(sb);
    assert!(
        !images.contains(name) && !groups.contains(name),
        "{images} {groups}"
    );
}

/// `"key": "value"` as vm-mgr's pretty JSON prints it.
fn json_has(json: &str, key: &str, value: &str) -> bool {
    json.contains(&format!("\"{key}\": \"{value}\""))
}

fn status_json(sb: &Sandbox, node: &str, name: &str) -> String {
    vm_mgr_ok(sb, node, &["--output", "json", "status", "-n", name])
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn create_stop_start_disable_enable_remove() {
    let sb = sandbox();
    let name = unique_name("lc");
    let (xml, image) = inputs(&sb, &name);
    let domain = format!("vmmgr-domain-{name}");

    // create, pinned to sim2: Started there, with a progress bar of the import on stderr
    // (not a terminal: a line at every tenth done).
    let created = vm_mgr(
        &sb,
        "sim1",
        &[
            "create",
            "--name",
            &name,
            "--xml",
            &xml,
            "--image",
            &image,
            "--pinned-host",
            "sim2",
            "--metadata",
            "owner=e2e",
        ],
    );
    assert!(created.status.success(), "{}", describe(&created));
    let out = created.stdout_str();
    assert!(out.contains("Started on sim2"), "{out}");
    let progress = String::from_utf8_lossy(&created.stderr);
    assert!(
        progress.contains(&format!("rbd/system_{name} [####################] 100%")),
        "{progress}"
    );
    let st = status_json(&sb, "sim3", &name);
    assert!(
        json_has(&st, "state", "Started") && json_has(&st, "node", "sim2"),
        "{st}"
    );
    assert_eq!(sb.running_on(&domain, &[]), ["sim2"]);
    let list = vm_mgr_ok(&sb, "sim2", &["--output", "json", "list"]);
    assert!(json_has(&list, "name", &name), "{list}");
    assert_eq!(
        vm_mgr_ok(
            &sb,
            "sim1",
            &["get-metadata", "-n", &name, "--metadata_name", "owner"]
        ),
        "e2e\n"
    );

    // stop / start, with the node reported.
    let out = vm_mgr_ok(&sb, "sim3", &["stop", "-n", &name]);
    assert!(out.contains("Stopped"), "{out}");
    assert!(sb.running_on(&domain, &[]).is_empty());
    let out = vm_mgr_ok(&sb, "sim3", &["start", "-n", &name]);
    assert!(out.contains("Started on sim2"), "{out}");

    // A colocation made outside vm-mgr survives disable/enable, as does the pin.
    let col = format!(
        r#"<rsc_colocation id="col-{name}-fence" rsc="{name}" with-rsc="sandbox-fence" score="0"/>"#
    );
    sb.exec_ok(
        "sim1",
        &[
            "cibadmin",
            "--create",
            "--scope",
            "constraints",
            "--xml-text",
            &col,
        ],
    );
    let out = vm_mgr_ok(&sb, "sim1", &["disable", "-n", &name]);
    assert!(out.contains(&format!("col-{name}-fence")), "{out}");
    assert!(
        !cib_config(&sb).contains(&name),
        "disable leaves nothing of {name} in the CIB configuration"
    );
    assert!(json_has(
        &status_json(&sb, "sim1", &name),
        "state",
        "Disabled"
    ));
    let out = vm_mgr_ok(&sb, "sim2", &["enable", "-n", &name]);
    assert!(out.contains("Started on sim2"), "{out}");
    let c = cib(&sb);
    assert!(
        c.contains(&format!("id=\"col-{name}-fence\"")),
        "colocation restored"
    );
    assert!(
        c.contains(&format!("id=\"vmmgr-pin-{name}\"")),
        "pin restored"
    );
    assert!(!c.contains("id=\"cli-"), "no cli-* constraint");

    // remove: no image, group, metadata, CIB element or constraint left.
    remove_and_check_gone(&sb, "sim3", &name);
    let out = vm_mgr(&sb, "sim1", &["status", "-n", &name]);
    assert_eq!(out.code(), Some(3), "{}", describe(&out));
    cleanup_inputs(&name);
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn bad_input_fails_clearly_and_changes_nothing() {
    let sb = sandbox();
    let name = unique_name("bad");
    let (xml, image) = inputs(&sb, &name);
    let bad_xml = format!("/var/tmp/vmmgr-e2e-{name}-broken.xml");
    std::fs::write(&bad_xml, "<domain type='kvm'><name>x</name>").unwrap();
    let epoch = config_epoch(&sb);
    let rbd = rbd_names(&sb);
    let marker = "/tmp/vmmgr-e2e-pwned";
    let injections = [
        "a;rm -rf /".to_owned(),
        format!("$(touch {marker})"),
        format!("x`touch {marker}`"),
        "../../etc/passwd".to_owned(),
        "-n".to_owned(),
        "a b".to_owned(),
    ];
    for evil in &injections {
        for args in [
            vec![
                "create",
                "--name",
                evil.as_str(),
                "--xml",
                &xml,
                "--image",
                &image,
            ],
            vec!["status", "--name", evil.as_str()],
            vec!["remove", "--name", evil.as_str()],
            vec![
                "set-metadata",
                "--name",
                evil.as_str(),
                "--metadata-name",
                "k",
                "--metadata-value",
                "v",
            ],
        ] {
            let out = vm_mgr(&sb, "sim1", &args);
            assert_eq!(out.code(), Some(2), "{args:?}: {}", describe(&out));
            assert!(!out.stderr.is_empty(), "{args:?}: no message");
        }
    }
    for (args, needle) in [
        (
            vec!["create", "-n", &name, "--xml", &bad_xml, "-i", &image],
            "is not usable",
        ),
        (
            vec![
                "create",
                "-n",
                &name,
                "--xml",
                &xml,
                "-i",
                "/var/tmp/vmmgr-e2e-nosuch.qcow2",
            ],
            "Cannot use image",
        ),
        (
            vec![
                "create",
                "-n",
                &name,
                "--xml",
                &xml,
                "-i",
                &image,
                "--pinned-host",
                "nosuchnode",
            ],
            "not a node of the cluster",
        ),
    ] {
        let out = vm_mgr(&sb, "sim1", &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.code(), Some(2), "{args:?}: {}", describe(&out));
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    assert_eq!(
        config_epoch(&sb),
        epoch,
        "the CIB configuration did not change"
    );
    assert_eq!(rbd_names(&sb), rbd, "no image or group appeared");
    assert!(sb
        .exec("sim1", &["test", "-e", marker])
        .map(|o| !o.status.success())
        .unwrap_or(true));
    let _ = std::fs::remove_file(&bad_xml);
    cleanup_inputs(&name);
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn two_nodes_create_at_once_and_nothing_is_lost() {
    let sb = sandbox();
    let per_node = 10;
    let jobs: Vec<(String, Vec<String>)> = ["sim1", "sim3"]
        .iter()
        .map(|node| {
            let names = (0..per_node).map(|_| unique_name("cc")).collect();
            (node.to_string(), names)
        })
        .collect();
    let inputs: Vec<_> = jobs
        .iter()
        .flat_map(|(_, names)| names.iter().map(|n| (n.clone(), inputs(&sb, n))))
        .collect();
    let started = Instant::now();
    std::thread::scope(|s| {
        for (node, names) in &jobs {
            let sb = &sb;
            let inputs = &inputs;
            s.spawn(move || {
                for name in names {
                    let (xml, image) = &inputs.iter().find(|(n, _)| n == name).unwrap().1;
                    vm_mgr_ok(
                        sb,
                        node,
                        &["create", "-n", name, "--xml", xml, "-i", image, "--nostart"],
                    );
                }
            });
        }
    });
    eprintln!(
        "{} VMs created by two nodes at once in {:?}",
        2 * per_node,
        started.elapsed()
    );
    let all: Vec<&String> = jobs.iter().flat_map(|(_, n)| n).collect();
    assert_eq!(all.len(), 20);
    let list = vm_mgr_ok(&sb, "sim2", &["--output", "json", "list"]);
    let c = cib(&sb);
    for name in &all {
        assert!(json_has(&list, "name", name), "{name} missing from {list}");
        assert!(
            c.contains(&format!("<group id=\"{name}\"")),
            "{name} missing from the CIB"
        );
        assert!(json_has(
            &status_json(&sb, "sim2", name),
            "state",
            "Stopped"
        ));
    }
    // exec_ok: crm_verify exits non-zero on an invalid CIB.
    let out = sb.exec_ok("sim1", &["crm_verify", "--live-check"]);
    assert!(out.trim().is_empty() || !out.contains("error"), "{out}");
    for name in &all {
        vm_mgr_ok(&sb, "sim2", &["remove", "-n", name]);
        cleanup_inputs(name);
    }
    wait_for(Duration::from_secs(10), "the VMs to be gone", || {
        let c = cib(&sb);
        all.iter().all(|n| !c.contains(n.as_str())).then_some(())
    });
}

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
        &[
            "create",
            "-n",
            &name,
            "--xml",
            &xml,
            "-i",
            &image,
            "--preferred-host",
            "sim2",
        ],
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
