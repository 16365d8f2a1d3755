//! End-to-end scenarios of `ocf:vmmgr:VirtualDomain` on the sandbox cluster (real Pacemaker,
//! libvirtd and KVM guests; Ceph for `rbd_xml_source`).
//!
//! Run by `tests/run-all` (root):
//! `cargo test -p vmmgr-tests --test virtual_domain -- --ignored --test-threads=1`
//! (set `VMMGR_SANDBOX_NAME` to use a sandbox of your own).
//!
//! The guests are the sandbox's diskless SeaBIOS guests, which ignore ACPI shutdown: every
//! graceful stop ends in destroy, which is itself one of the fault cases.

use std::time::{Duration, Instant};

use vmmgr_tests::{unique_name, wait_for, Sandbox};

const AGENT: &str = "/usr/lib/ocf/resource.d/vmmgr/VirtualDomain";

fn sandbox() -> Sandbox {
    Sandbox::up(3, true)
}

/// One agent invocation inside `node`.
struct Run {
    rc: i32,
    stderr: String,
    took: Duration,
}

impl Run {
    fn reason(&self) -> &str {
        self.stderr
            .lines()
            .find_map(|l| l.strip_prefix("ocf-exit-reason:"))
            .unwrap_or("")
    }
}

/// Runs the agent's `action` in `node` with the OCF environment plus `env`.
fn agent(sb: &Sandbox, node: &str, action: &str, env: &[(&str, &str)]) -> Run {
    let mut argv: Vec<String> = vec!["env".into(), "OCF_ROOT=/usr/lib/ocf".into()];
    argv.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
    argv.push(AGENT.into());
    argv.push(action.into());
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    let t = Instant::now();
    let out = sb.exec(node, &refs).expect("sandbox exec runs");
    Run {
        rc: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: t.elapsed(),
    }
}

/// A guest XML written to the shared directory (visible in every node).
fn guest(sb: &Sandbox, prefix: &str) -> (String, String) {
    let vm = unique_name(prefix);
    let config = format!("{}/{vm}.xml", sb.env_var("SANDBOX_SHARED"));
    std::fs::write(&config, sb.guest_xml(&vm)).expect("write guest XML");
    (vm, config)
}

fn domstate(sb: &Sandbox, node: &str, name: &str) -> Option<String> {
    let out = sb.exec(node, &["virsh", "-q", "domstate", name]).ok()?;
    out.status
        .success()
        .then(|| out.stdout_str().trim().to_string())
}

fn libvirtd_pid(sb: &Sandbox, node: &str) -> String {
    sb.exec_ok(node, &["pgrep", "-x", "libvirtd"])
        .trim()
        .to_string()
}

/// libvirtd of a node stopped with SIGSTOP; SIGCONT on drop, also when an assertion fails.
struct Frozen<'a> {
    sb: &'a Sandbox,
    node: String,
    pid: String,
}

impl<'a> Frozen<'a> {
    fn new(sb: &'a Sandbox, node: &str) -> Frozen<'a> {
        let pid = libvirtd_pid(sb, node);
        sb.exec_ok(node, &["kill", "-STOP", &pid]);
        Frozen {
            sb,
            node: node.into(),
            pid,
        }
    }
}

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        let _ = self.sb.exec(&self.node, &["kill", "-CONT", &self.pid]);
    }
}

/// libvirtd of a node killed; started again on drop.
struct Killed<'a> {
    sb: &'a Sandbox,
    node: String,
}

impl<'a> Killed<'a> {
    fn new(sb: &'a Sandbox, node: &str) -> Killed<'a> {
        let pid = libvirtd_pid(sb, node);
        sb.exec_ok(node, &["kill", "-KILL", &pid]);
        wait_for(Duration::from_secs(10), "libvirtd to die", || {
            let out = sb.exec(node, &["pgrep", "-x", "libvirtd"]).ok()?;
            (!out.status.success()).then_some(())
        });
        Killed {
            sb,
            node: node.into(),
        }
    }
}

impl Drop for Killed<'_> {
    fn drop(&mut self) {
        let _ = self
            .sb
            .exec(&self.node, &["/usr/sbin/libvirtd", "--listen", "-d"]);
        // no panic here: this may run while a failed test unwinds
        for _ in 0..50 {
            let up = self.sb.exec(&self.node, &["virsh", "-q", "uri"]);
            if up.is_ok_and(|o| o.status.success()) {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn primitive_xml(id: &str, config: &str) -> String {
    format!(
        r#"<primitive id="{id}" class="ocf" provider="vmmgr" type="VirtualDomain">
  <instance_attributes id="{id}-ia">
    <nvpair id="{id}-config" name="config" value="{config}"/>
    <nvpair id="{id}-hypervisor" name="hypervisor" value="qemu:///system"/>
    <nvpair id="{id}-migration_transport" name="migration_transport" value="tcp"/>
  </instance_attributes>
  <meta_attributes id="{id}-meta"><nvpair id="{id}-allow-migrate" name="allow-migrate" value="true"/></meta_attributes>
  <operations>
    <op id="{id}-start-0" name="start" timeout="30s" interval="0"/>
    <op id="{id}-stop-0" name="stop" timeout="30s" interval="0"/>
    <op id="{id}-monitor-10s" name="monitor" interval="10s" timeout="30s"/>
    <op id="{id}-migrate_to-0" name="migrate_to" timeout="60s" interval="0"/>
    <op id="{id}-migrate_from-0" name="migrate_from" timeout="60s" interval="0"/>
  </operations>
</primitive>"#
    )
}

fn delete_resource(sb: &Sandbox, vm: &str) {
    let _ = sb.exec(
        "sim1",
        &[
            "crm_resource",
            "-r",
            vm,
            "--meta",
            "-p",
            "target-role",
            "-v",
            "Stopped",
        ],
    );
    wait_for(Duration::from_secs(60), "the resource to stop", || {
        sb.running_on(vm, &[]).is_empty().then_some(())
    });
    let _ = sb.exec(
        "sim1",
        &[
            "cibadmin",
            "--delete",
            "--xml-text",
            &format!("<primitive id=\"{vm}\"/>"),
        ],
    );
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn ocf_tester_passes_in_under_a_minute() {
    let sb = sandbox();
    let (_vm, config) = guest(&sb, "vdt");
    let t = Instant::now();
    let out = sb
        .exec(
            "sim1",
            &[
                "ocf-tester",
                "-n",
                "vm",
                "-o",
                &format!("config={config}"),
                "-o",
                "hypervisor=qemu:///system",
                AGENT,
            ],
        )
        .expect("ocf-tester runs");
    let took = t.elapsed();
    assert!(
        out.status.success() && out.stdout_str().contains("passed all tests"),
        "ocf-tester failed:\n{}{}",
        out.stdout_str(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(took < Duration::from_secs(60), "ocf-tester took {took:?}");
    eprintln!("ocf-tester passed in {took:?}");
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn pacemaker_starts_monitors_migrates_and_recovers_after_fencing() {
    let sb = sandbox();
    let info = sb.exec_ok("sim1", &["crm", "ra", "info", "ocf:vmmgr:VirtualDomain"]);
    assert!(
        info.contains("migrate_options") && info.contains("rbd_xml_source"),
        "crm ra info: {info}"
    );
    let (vm, config) = guest(&sb, "vdpm");
    sb.create_resource("sim1", &primitive_xml(&vm, &config));
    let src = wait_for(Duration::from_secs(60), "the guest to start", || {
        sb.running_on(&vm, &[]).first().cloned()
    });
    wait_for(Duration::from_secs(10), "the domain to run", || {
        (domstate(&sb, &src, &vm).as_deref() == Some("running")).then_some(())
    });
    // Utilization written once from the domain (1 vCPU, 64 MiB).
    let util = |name: &str| {
        sb.exec("sim1", &["crm_resource", "-r", &vm, "-z", "-g", name, "-Q"])
            .map(|o| o.stdout_str().trim().to_string())
            .unwrap_or_default()
    };
    wait_for(Duration::from_secs(30), "utilization in the CIB", || {
        (util("cpu") == "1" && util("hv_memory") == "64").then_some(())
    });

    // Live migration: the target's history shows migrate_from, not start.
    let dst = if src == "sim1" { "sim2" } else { "sim1" };
    sb.move_and_wait(&vm, &vm, dst, Duration::from_secs(60));
    let tasks = sb.history_tasks(dst, &vm);
    assert!(
        tasks.iter().any(|t| t == "migrate_from"),
        "{dst}: {tasks:?}"
    );
    assert!(!tasks.iter().any(|t| t == "start"), "{dst}: {tasks:?}");
    let src_tasks = sb.history_tasks(&src, &vm);
    assert!(
        src_tasks.iter().any(|t| t == "migrate_to"),
        "{src}: {src_tasks:?}"
    );
    assert_eq!(domstate(&sb, dst, &vm).as_deref(), Some("running"));
    assert_eq!(domstate(&sb, &src, &vm), None, "gone from {src}");

    // Power failure of the guest's node: fenced, restarted on a survivor.
    let t = Instant::now();
    sb.kill_node(dst);
    let survivor = wait_for(Duration::from_secs(90), "recovery on a survivor", || {
        let on = sb.running_on(&vm, &[dst]);
        (on.len() == 1 && on[0] != dst).then(|| on[0].clone())
    });
    eprintln!("recovered on {survivor} {:?} after the kill", t.elapsed());
    wait_for(Duration::from_secs(10), "the domain to run", || {
        (domstate(&sb, &survivor, &vm).as_deref() == Some("running")).then_some(())
    });
    let fenced = sb.exec_ok(
        &survivor,
        &["stonith_admin", "--history", dst, "--output-as=xml"],
    );
    assert!(
        fenced.contains(&format!("target=\"{dst}\"")) && fenced.contains("status=\"success\""),
        "fencing of {dst}: {fenced}"
    );
    sb.rejoin(dst);
    delete_resource(&sb, &vm);
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn fault_cases_libvirtd_frozen_or_killed_acpi_ignored_config_unreadable() {
    let sb = sandbox();
    let node = "sim3";
    let (vm, config) = guest(&sb, "vdf");
    let cfg = format!("OCF_RESKEY_config={config}");
    let (k, v) = cfg.split_once('=').unwrap();
    let base = [
        (k, v),
        ("OCF_RESOURCE_INSTANCE", vm.as_str()),
        ("OCF_RESKEY_CRM_meta_timeout", "10000"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
        base.iter().copied().chain(extra.iter().copied()).collect()
    };
    let monitor = [("OCF_RESKEY_CRM_meta_interval", "10000")];

    // Start (idempotently) and monitor.
    let r = agent(&sb, node, "start", &base);
    assert_eq!(r.rc, 0, "start: {}", r.stderr);
    assert_eq!(agent(&sb, node, "start", &base).rc, 0, "second start");
    assert_eq!(agent(&sb, node, "monitor", &with(&monitor)).rc, 0);

    // libvirtd frozen during monitor: an answer before the timeout, from the qemu process.
    {
        let _frozen = Frozen::new(&sb, node);
        let r = agent(&sb, node, "monitor", &with(&monitor));
        assert_eq!(r.rc, 0, "monitor with frozen libvirtd: {}", r.stderr);
        assert!(r.took < Duration::from_secs(10), "bounded: {:?}", r.took);
        assert!(r.stderr.contains("did not answer"), "{}", r.stderr);
    }

    // Config unreadable on a probe while the guest runs: the remembered name finds it.
    let probe_missing = [
        ("OCF_RESKEY_config", "/nonexistent/vm.xml"),
        ("OCF_RESOURCE_INSTANCE", vm.as_str()),
        ("OCF_RESKEY_CRM_meta_timeout", "10000"),
    ];
    let r = agent(&sb, node, "monitor", &probe_missing);
    assert_eq!(r.rc, 0, "probe with unreadable config: {}", r.stderr);
    // ... and without the remembered name, "cannot tell" is an error, never 7.
    let forgotten = format!("/run/resource-agents/vmmgr-VirtualDomain/{vm}.name");
    sb.exec_ok(node, &["mv", &forgotten, "/run/vd-forgotten"]);
    let r = agent(&sb, node, "monitor", &probe_missing);
    sb.exec_ok(node, &["mv", "/run/vd-forgotten", &forgotten]);
    assert_eq!(r.rc, 1, "probe, name unknown, a domain runs: {}", r.stderr);
    assert!(r.reason().contains("cannot tell"), "{}", r.stderr);

    // libvirtd killed: the qemu process still runs, monitor says so.
    {
        let _killed = Killed::new(&sb, node);
        let r = agent(&sb, node, "monitor", &with(&monitor));
        assert_eq!(r.rc, 0, "monitor with libvirtd killed: {}", r.stderr);
        assert!(
            r.stderr.contains("Cannot connect to libvirt"),
            "{}",
            r.stderr
        );
    }

    // Migration target unreachable (its libvirtd is down): clean failure, guest stays here.
    {
        let _killed = Killed::new(&sb, "sim2");
        let r = agent(
            &sb,
            node,
            "migrate_to",
            &with(&[
                ("OCF_RESKEY_migration_transport", "tcp"),
                ("OCF_RESKEY_CRM_meta_migrate_target", "sim2"),
                ("OCF_RESKEY_CRM_meta_migrate_source", "sim3"),
            ]),
        );
        assert_eq!(r.rc, 1, "migrate_to a dead target: {}", r.stderr);
        assert!(r.reason().contains("sim2"), "{}", r.stderr);
        assert!(r.took < Duration::from_secs(10), "bounded: {:?}", r.took);
    }
    assert_eq!(
        domstate(&sb, node, &vm).as_deref(),
        Some("running"),
        "still on source"
    );

    // libvirtd frozen during stop: the qemu process is killed, the stop succeeds in time.
    {
        let _frozen = Frozen::new(&sb, node);
        let r = agent(&sb, node, "stop", &base);
        assert_eq!(r.rc, 0, "stop with frozen libvirtd: {}", r.stderr);
        assert!(r.took < Duration::from_secs(10), "bounded: {:?}", r.took);
        assert!(r.stderr.contains("killing qemu process"), "{}", r.stderr);
    }
    wait_for(Duration::from_secs(10), "libvirt to notice", || {
        domstate(&sb, node, &vm).is_none().then_some(())
    });

    // libvirtd frozen, guest stopped: a probe cannot know, so it is an error, not 7.
    {
        let _frozen = Frozen::new(&sb, node);
        let r = agent(&sb, node, "monitor", &base);
        assert_eq!(r.rc, 1, "probe with frozen libvirtd: {}", r.stderr);
        assert!(r.reason().contains("cannot determine"), "{}", r.stderr);
    }

    // A guest that ignores ACPI: graceful shutdown, then destroy early enough.
    assert_eq!(agent(&sb, node, "start", &base).rc, 0);
    let r = agent(
        &sb,
        node,
        "stop",
        &with(&[("OCF_RESKEY_shutdown_mode", "acpi")]),
    );
    assert_eq!(r.rc, 0, "stop: {}", r.stderr);
    assert!(r.stderr.contains("destroy"), "{}", r.stderr);
    assert!(r.took < Duration::from_secs(10), "bounded: {:?}", r.took);
    assert_eq!(agent(&sb, node, "stop", &base).rc, 0, "second stop");
    assert_eq!(agent(&sb, node, "monitor", &base).rc, 7, "stopped");
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn rbd_xml_source_fetches_the_domain_xml_before_start() {
    let sb = sandbox();
    let vm = unique_name("vdrbd");
    let image = format!("rbd/{vm}");
    sb.exec_ok("sim1", &["rbd", "create", "--size", "8M", &image]);
    sb.exec_ok(
        "sim1",
        &[
            "rbd",
            "image-meta",
            "set",
            &image,
            "xml",
            &sb.guest_xml(&vm),
        ],
    );
    let config = format!("/run/vd-{vm}/{vm}.xml");
    let env = [
        ("OCF_RESKEY_config", config.as_str()),
        ("OCF_RESKEY_rbd_xml_source", image.as_str()),
        ("OCF_RESOURCE_INSTANCE", vm.as_str()),
        ("OCF_RESKEY_CRM_meta_timeout", "20000"),
        ("OCF_RESKEY_force_stop", "true"),
    ];
    let r = agent(&sb, "sim2", "start", &env);
    assert_eq!(r.rc, 0, "start: {}", r.stderr);
    assert!(sb
        .exec_ok("sim2", &["cat", &config])
        .contains(&format!("<name>{vm}</name>")));
    assert_eq!(domstate(&sb, "sim2", &vm).as_deref(), Some("running"));
    assert_eq!(agent(&sb, "sim2", "stop", &env).rc, 0);
    let _ = sb.exec("sim1", &["rbd", "rm", "--no-progress", &image]);
}
