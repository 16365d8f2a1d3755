//! Tests of action traces (unit tests of `trace.rs`).

use std::path::Path;
use std::time::UNIX_EPOCH;

use super::*;
use crate::cmd::Cmd;
use crate::ocf::test_agent::TestAgent;
use crate::ocf::{run, Action, Context, OcfError};

fn env(v: &[(&str, &str)]) -> OcfEnv {
    OcfEnv::from_vars(v.iter().copied())
}

const RSC: [(&str, &str); 2] = [
    ("OCF_RESOURCE_TYPE", "VirtualDomain"),
    ("OCF_RESOURCE_INSTANCE", "vmmgr-domain-vm1"),
];

#[test]
fn switched_on_like_ocf_shellfuncs() {
    assert!(!env(&[]).trace_ra());
    assert!(env(&[("OCF_RESKEY_trace_ra", "1")]).trace_ra());
    assert!(env(&[("OCF_RESKEY_trace_ra", "yes")]).trace_ra());
    assert!(!env(&[("OCF_RESKEY_trace_ra", "0")]).trace_ra());
    // OCF_TRACE_RA, when set, wins over the parameter.
    assert!(!env(&[("OCF_TRACE_RA", "0"), ("OCF_RESKEY_trace_ra", "1")]).trace_ra());
    assert!(env(&[("OCF_TRACE_RA", "true"), ("OCF_RESKEY_trace_ra", "0")]).trace_ra());
    assert!(env(&[("OCF_TRACE_RA", ""), ("OCF_RESKEY_trace_ra", "1")]).trace_ra());
}

#[test]
fn default_file_is_dir_type_instance_action_time() {
    let at = UNIX_EPOCH + Duration::from_secs(1_772_694_489);
    let stamp = clock::format_local(at, "%F.%T");
    assert_eq!(
        clock::format_in(at, &jiff::tz::TimeZone::UTC, "%F.%T"),
        "2026-03-05.07:08:09"
    );
    let f = default_file(&env(&RSC), "x", "monitor", at).unwrap();
    assert_eq!(
        f,
        Path::new(&format!(
            "/var/lib/heartbeat/trace_ra/VirtualDomain/vmmgr-domain-vm1.monitor.{stamp}"
        ))
    );
    let mut v = RSC.to_vec();
    v.push(("HA_VARLIB", "/srv/ha"));
    assert!(default_file(&env(&v), "x", "stop", at)
        .unwrap()
        .starts_with("/srv/ha/trace_ra/VirtualDomain/"));
    v.push(("OCF_RESKEY_trace_dir", "/tmp/tr"));
    assert_eq!(
        default_file(&env(&v), "x", "stop", at).unwrap(),
        Path::new(&format!(
            "/tmp/tr/VirtualDomain/vmmgr-domain-vm1.stop.{stamp}"
        ))
    );
    assert_eq!(default_file(&env(&RSC[..1]), "x", "stop", at), None);
    // Without OCF_RESOURCE_TYPE, the agent's own name (ocf-shellfuncs: the script's name).
    assert_eq!(
        default_file(&env(&RSC[1..]), "rbd", "stop", at).unwrap(),
        Path::new(&format!(
            "/var/lib/heartbeat/trace_ra/rbd/vmmgr-domain-vm1.stop.{stamp}"
        ))
    );
    let bad = [
        ("OCF_RESOURCE_TYPE", "rbd"),
        ("OCF_RESOURCE_INSTANCE", "../x"),
    ];
    assert_eq!(default_file(&env(&bad), "x", "stop", at), None);
}

#[test]
fn trace_file_variable_and_terminal() {
    let at = SystemTime::now();
    let def = Target::File(default_file(&env(&RSC), "x", "start", at).unwrap());
    assert_eq!(
        target(&env(&RSC), "x", "start", false, at),
        (def.clone(), None)
    );
    assert_eq!(
        target(&env(&RSC), "x", "start", true, at),
        (Target::Stderr, None)
    );
    // No default file (no instance): stderr, where set -x would write.
    assert_eq!(
        target(&env(&RSC[..1]), "x", "start", false, at),
        (Target::Stderr, None)
    );
    let with = |f: &str| {
        let mut v = RSC.to_vec();
        v.push(("OCF_TRACE_FILE", f));
        target(&env(&v), "x", "start", false, at)
    };
    assert_eq!(
        with("/dev/stderr"),
        (Target::File("/dev/stderr".into()), None)
    );
    assert_eq!(with("5"), (Target::File("/dev/fd/5".into()), None));
    for bad in ["2", "relative/file", "/top"] {
        let (t, w) = with(bad);
        assert_eq!(t, def, "{bad}");
        assert!(w.unwrap().contains("OCF_TRACE_FILE"), "{bad}");
    }
}

#[test]
fn environment_summary_keeps_cluster_variables_only() {
    let long = "x".repeat(300);
    let e = env(&[
        ("PATH", "/bin"),
        ("OCF_RESKEY_config", "/etc/vm1.xml"),
        ("HA_LOGFACILITY", "daemon"),
        ("PCMK_service", "pacemaker-execd"),
        ("OCF_RESKEY_note", &long),
    ]);
    let s = env_summary(&e);
    assert_eq!(s.len(), 4, "{s:?}");
    assert_eq!(s[0], "env HA_LOGFACILITY=daemon");
    assert_eq!(s[1], "env OCF_RESKEY_config=/etc/vm1.xml");
    assert!(s[2].starts_with("env OCF_RESKEY_note=xxx") && s[2].ends_with("… (300 bytes)"));
    assert_eq!(s[3], "env PCMK_service=pacemaker-execd");
}

/// Runs a command that fails with a message on stderr, logs, and fails.
fn traced_behaviour(_: &Action, ctx: &Context) -> Result<OcfRc, OcfError> {
    ctx.logger.info("checking the domain");
    let _ = Cmd::new("sh")
        .args([
            "-c",
            "echo trace-test-stderr >&2; exit 4",
            "trace-test-argv",
        ])
        .run();
    Err(OcfError::generic("domain vm1 is in a bad state"))
}

#[test]
fn a_traced_action_writes_its_commands_logs_and_result() {
    let dir = crate::tempdir::PrivateDir::new("trace-test").unwrap();
    let trace_dir = dir.path().to_str().unwrap().to_owned();
    let vars = [
        ("OCF_RESOURCE_TYPE", "Sample"),
        ("OCF_RESOURCE_INSTANCE", "vm1"),
        ("OCF_RESKEY_config", "/etc/vm1.xml"),
        ("OCF_RESKEY_trace_ra", "1"),
        ("OCF_RESKEY_trace_dir", &trace_dir),
        ("OCF_RESKEY_CRM_meta_interval", "10000"),
        ("OCF_TRACE_FILE", ""),
    ];
    let agent = TestAgent {
        behaviour: traced_behaviour,
    };
    let argv = ["/x/Sample", "monitor"].map(str::to_owned);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let rc = run(&agent, argv, env(&vars), &mut out, &mut err);
    assert_eq!(rc, OcfRc::ErrGeneric);
    let files: Vec<_> = fs::read_dir(dir.path().join("Sample"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_str().unwrap().to_owned();
    assert!(name.starts_with("vm1.monitor.20"), "{name}");
    let text = fs::read_to_string(&files[0]).unwrap();
    let has = |s: &str| assert!(text.contains(s), "{s:?} missing from:\n{text}");
    has("trace of Sample monitor on vm1 (pid ");
    has("env OCF_RESKEY_config=/etc/vm1.xml\n");
    has("env OCF_RESKEY_trace_ra=1\n");
    has("log DEBUG: monitor: begin");
    has("log INFO: checking the domain\n");
    has("command: sh -c 'echo trace-test-stderr >&2; exit 4' trace-test-argv -> exit status 4 after ");
    has("  stderr: trace-test-stderr\n");
    has("result: OCF_ERR_GENERIC (1) after ");
    has(": domain vm1 is in a bad state\n");
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("+0.0") && first.contains("trace of"),
        "{first}"
    );
    // The trace is a file of its own: stderr keeps only the log lines and the exit reason.
    let err = String::from_utf8(err).unwrap();
    assert!(!err.contains("command: sh"), "{err}");
    assert!(
        err.contains("ocf-exit-reason:domain vm1 is in a bad state"),
        "{err}"
    );
}

#[test]
fn an_unwritable_trace_is_a_warning_not_a_failure() {
    let vars = [
        ("OCF_RESOURCE_TYPE", "Sample"),
        ("OCF_RESOURCE_INSTANCE", "vm1"),
        ("OCF_RESKEY_config", "/etc/vm1.xml"),
        ("OCF_TRACE_RA", "1"),
        ("OCF_TRACE_FILE", "/proc/no-such-dir/trace"),
    ];
    let agent = TestAgent {
        behaviour: |_, _| Ok(OcfRc::Success),
    };
    let argv = ["/x/Sample", "start"].map(str::to_owned);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let rc = run(&agent, argv, env(&vars), &mut out, &mut err);
    assert_eq!(rc, OcfRc::Success);
    let err = String::from_utf8(err).unwrap();
    assert!(
        err.contains("WARNING:") && err.contains("trace not going to happen"),
        "{err}"
    );
}
