//! The agents fit Pacemaker's logging and tracing conventions, on the real 3-node sandbox with
//! Ceph: a VM created by vm-mgr passes `crm configure verify` without a warning (and a too
//! short stop timeout does warn, so the check can fail); `crm resource trace DOMAIN monitor
//! DIR` (crmsh) gives a trace file of the next monitor on the node running it, with the
//! environment, the libvirt calls and the result; `crm resource untrace` ends it. Then the
//! VirtualDomain agent, run directly on that node with `HA_LOGFACILITY` and the test syslog
//! socket hook (`VMMGR_TEST_SYSLOG_SOCKET`, a datagram socket this test binds), sends its lines
//! with the `ocf_log` tag `VirtualDomain(INSTANCE)[PID]` and the priority of facility × 8 +
//! level, and keeps stderr for the exit reason.
//!
//! Run: `VMMGR_SANDBOX_NAME=log cargo test -p vmmgr-tests --test agent_logging -- --ignored
//! --test-threads=1` (after `cargo build`, so that the nodes see the current agents).

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vmmgr_tests::{received, unique_name, vm_mgr, vm_mgr_ok, wait_for, Sandbox};

#[path = "vm_mgr_support.rs"]
mod support;
use support::*;

const AGENT: &str = "/usr/lib/ocf/resource.d/vmmgr/VirtualDomain";

/// Undoes what the scenario set up, also when an assertion fails half-way.
struct Cleanup {
    sb: Sandbox,
    name: String,
    dirs: Vec<PathBuf>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let domain = format!("vmmgr-domain-{}", self.name);
        let _ = self
            .sb
            .exec("sim1", &["crm", "resource", "untrace", &domain]);
        let _ = vm_mgr(&self.sb, "sim1", &["remove", "--purge", "-n", &self.name]);
        cleanup_inputs(&self.name);
        for d in &self.dirs {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// `crm configure verify` on sim1: its whole output (crmsh writes warnings to stderr).
fn verify(sb: &Sandbox) -> String {
    let out = sb
        .exec("sim1", &["crm", "configure", "verify"])
        .expect("crm configure verify runs");
    format!(
        "{}{}",
        out.stdout_str(),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Sets the timeout of the domain's stop operation (the op vm-mgr wrote).
fn set_stop_timeout(sb: &Sandbox, domain: &str, timeout: &str) {
    let xml =
        format!("<op id=\"{domain}.stop\" name=\"stop\" interval=\"0s\" timeout=\"{timeout}\"/>");
    sb.exec_ok("sim1", &["cibadmin", "--modify", "--xml-text", &xml]);
}

/// The first finished trace of the domain's monitor in `dir` (one that has its result line).
fn finished_trace(dir: &Path, domain: &str) -> Option<(PathBuf, String)> {
    let entries = std::fs::read_dir(dir.join("VirtualDomain")).ok()?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{domain}.monitor.20")))
        })
        .collect();
    files.sort();
    files.into_iter().find_map(|p| {
        let text = std::fs::read_to_string(&p).ok()?;
        text.contains("result: ").then_some((p, text))
    })
}

/// Runs the VirtualDomain agent's monitor on `node` with the environment Pacemaker gives it
/// plus `extra`; returns the exit code and stderr.
fn run_agent(
    sb: &Sandbox,
    node: &str,
    domain: &str,
    name: &str,
    extra: &[String],
) -> (i32, String) {
    let mut argv: Vec<String> = vec![
        "env".into(),
        "OCF_ROOT=/usr/lib/ocf".into(),
        "OCF_RESOURCE_TYPE=VirtualDomain".into(),
        format!("OCF_RESOURCE_INSTANCE={domain}"),
        format!("OCF_RESKEY_config=/run/vmmgr/domains/{name}.xml"),
        "OCF_RESKEY_CRM_meta_interval=10000".into(),
        "OCF_RESKEY_CRM_meta_timeout=30000".into(),
    ];
    argv.extend(extra.iter().cloned());
    argv.extend([AGENT.to_owned(), "monitor".to_owned()]);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let out = sb.exec(node, &argv).expect("the agent runs");
    (
        out.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// True if `line` is `<PRI>Mmm dd hh:mm:ss TAG: BODY` with `TAG` = `agent(instance)[PID]`.
fn is_ocf_log(line: &str, pri: u16, instance: &str, body: &str) -> bool {
    let Some(rest) = line.strip_prefix(&format!("<{pri}>")) else {
        return false;
    };
    // "Dec  3 08:02:22 " is 16 characters.
    let (stamp, rest) = rest.split_at(rest.len().min(16));
    let Some(rest) = rest.strip_prefix(&format!("VirtualDomain({instance})[")) else {
        return false;
    };
    let Some((pid, msg)) = rest.split_once("]: ") else {
        return false;
    };
    stamp.as_bytes().get(15) == Some(&b' ')
        && !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && msg.starts_with(body)
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn verify_is_clean_trace_gives_a_file_and_lines_reach_syslog() {
    let sb = sandbox();
    let name = unique_name("lg");
    let (xml, image) = inputs(&sb, &name);
    let trace_dir = PathBuf::from(format!("/var/tmp/vmmgr-e2e-trace-{name}"));
    let sock_dir = PathBuf::from(format!("/var/tmp/vmmgr-e2e-syslog-{name}"));
    let cleanup = Cleanup {
        sb: sb.clone(),
        name: name.clone(),
        dirs: vec![trace_dir.clone(), sock_dir.clone()],
    };
    let domain = format!("vmmgr-domain-{name}");
    vm_mgr_ok(
        &sb,
        "sim1",
        &["create", "-n", &name, "--xml", &xml, "-i", &image],
    );
    let node = wait_for(Duration::from_secs(60), "the domain running", || {
        sb.running_on(&domain, &[]).into_iter().next()
    });

    // crm configure verify: nothing to say about what vm-mgr wrote (other resources are not
    // this test's business); but it does warn when the stop timeout is below the agent's
    // advised minimum.
    let clean = verify(&sb);
    assert!(!clean.contains(&name), "{clean}");
    set_stop_timeout(&sb, &domain, "20s");
    let warned = verify(&sb);
    set_stop_timeout(&sb, &domain, "30s");
    assert!(
        warned.contains(&domain) && warned.contains("smaller than the advised 30s"),
        "{warned}"
    );

    // crm resource trace DOMAIN monitor DIR: the next monitor writes DIR/VirtualDomain/
    // DOMAIN.monitor.<time>, on the node running the domain.
    let dir = trace_dir.to_str().unwrap();
    sb.exec_ok(
        "sim1",
        &["crm", "resource", "trace", &domain, "monitor", dir],
    );
    let (file, text) = wait_for(Duration::from_secs(60), "a trace of the monitor", || {
        finished_trace(&trace_dir, &domain)
    });
    let has = |s: &str| assert!(text.contains(s), "{s:?} not in {}:\n{text}", file.display());
    has(&format!("trace of VirtualDomain monitor on {domain} (pid "));
    has(&format!("env OCF_RESKEY_CRM_meta_on_node={node}\n"));
    has("env OCF_RESKEY_trace_ra=1\n");
    has(&format!("env OCF_RESKEY_trace_dir={dir}\n"));
    has(&format!(
        "libvirt: reading the state of domain {name} (procedure "
    ));
    has("result: OCF_SUCCESS (0) after ");
    let traced = verify(&sb);
    assert!(!traced.contains(&name), "{traced}");
    sb.exec_ok("sim1", &["crm", "resource", "untrace", &domain]);
    let ops = sb.exec_ok(
        "sim1",
        &[
            "cibadmin",
            "--query",
            "--xpath",
            &format!("//primitive[@id='{domain}']"),
        ],
    );
    assert!(
        !ops.contains("trace_ra") && !ops.contains("trace_dir"),
        "{ops}"
    );

    // Syslog: the agent run directly with HA_LOGFACILITY and the test socket.
    std::fs::create_dir_all(&sock_dir).unwrap();
    let sock = sock_dir.join("log");
    let rx = UnixDatagram::bind(&sock).expect("bind the test syslog socket");
    let hook = format!("VMMGR_TEST_SYSLOG_SOCKET={}", sock.display());
    let debug = [
        hook.clone(),
        "HA_LOGFACILITY=daemon".into(),
        "HA_debug=1".into(),
    ];
    let (rc, stderr) = run_agent(&sb, &node, &domain, &name, &debug);
    assert_eq!(rc, 0, "{stderr}");
    let lines = received(&rx);
    assert!(
        lines
            .iter()
            .any(|l| is_ocf_log(l, 31, &domain, "DEBUG: monitor: begin")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| is_ocf_log(l, 31, &domain, "DEBUG: monitor: end: OCF_SUCCESS (0)")),
        "{lines:?}"
    );
    assert!(!stderr.contains("DEBUG"), "syslog took the lines: {stderr}");
    let bad = [
        hook,
        "HA_LOGFACILITY=local0".into(),
        "OCF_RESKEY_migration_downtime=abc".into(),
    ];
    let (rc, stderr) = run_agent(&sb, &node, &domain, &name, &bad);
    assert_eq!(rc, 6, "{stderr}");
    let lines = received(&rx);
    assert!(
        lines.iter().any(|l| is_ocf_log(
            l,
            16 * 8 + 3,
            &domain,
            "ERROR: parameter 'migration_downtime' must be an integer"
        )),
        "{lines:?}"
    );
    assert_eq!(
        stderr.trim(),
        "ocf-exit-reason:parameter 'migration_downtime' must be an integer, got 'abc'"
    );
    drop(rx);

    remove_and_check_gone(&sb, "sim1", &name);
    drop(cleanup);
}
