//! `vm-mgr` lifecycle on the real sandbox cluster with Ceph and our agents: create from a
//! small qcow2, status/list JSON, stop/start, disable/enable keeping a colocation and a pin,
//! remove leaving nothing, bad input changing nothing, two nodes creating 10 VMs each at once.
//! The fault scenarios (`kill -9` during create, a power failure) are in `vm_mgr_faults.rs`.
//!
//! Run: `VMMGR_SANDBOX_NAME=vmm cargo test -p vmmgr-tests --test vm_mgr_lifecycle -- --ignored
//! --test-threads=1` (after `cargo build`, so that the nodes see the current `vm-mgr`).

use std::time::{Duration, Instant};

use vmmgr_tests::{create_argv, describe, unique_name, vm_mgr, vm_mgr_ok, wait_for};

#[path = "vm_mgr_support.rs"]
mod support;
use support::*;

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
    // 200 KiB: more than `rbd image-meta set` can take as one argument (E2BIG at exec).
    let big_xml = format!("/var/tmp/vmmgr-e2e-{name}-big.xml");
    let text = std::fs::read_to_string(&xml).unwrap();
    let description = format!(
        "</name><description>{}</description>",
        "x".repeat(200 << 10)
    );
    std::fs::write(&big_xml, text.replacen("</name>", &description, 1)).unwrap();
    let priority = [
        &["create", "-n", &name, "--xml", &xml, "-i", &image][..],
        &["--pacemaker-meta", "priority=5"],
    ]
    .concat();
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
            create_argv(&name, &xml, &image, &["--pinned-host", "nosuchnode"]),
            "not a node of the cluster",
        ),
        (
            vec!["create", "-n", &name, "--xml", &big_xml, "-i", &image],
            "is too long",
        ),
        (priority.clone(), "use --priority"),
        ([&["--dry-run"][..], &priority].concat(), "use --priority"),
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
    let _ = std::fs::remove_file(&big_xml);
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
        vm_mgr_ok(&sb, "sim2", &["remove", "--purge", "-n", name]);
        cleanup_inputs(name);
    }
    wait_for(Duration::from_secs(10), "the VMs to be gone", || {
        let c = cib(&sb);
        all.iter().all(|n| !c.contains(n.as_str())).then_some(())
    });
}
