//! Tests of the dispatcher (unit tests of `agent.rs`).

use super::*;
use crate::ocf::test_agent::{sample_meta, Behaviour, TestAgent};

/// The result of one `run`: exit code, stdout, stderr.
struct Outcome {
    rc: OcfRc,
    out: String,
    err: String,
}

fn run_with(behaviour: Behaviour, args: &[&str], vars: &[(&str, &str)]) -> Outcome {
    let agent = TestAgent { behaviour };
    let mut out = Vec::new();
    let mut err = Vec::new();
    let argv = std::iter::once("/usr/lib/ocf/resource.d/vmmgr/Sample")
        .chain(args.iter().copied())
        .map(str::to_owned);
    let rc = run(
        &agent,
        argv,
        OcfEnv::from_vars(vars.iter().copied()),
        &mut out,
        &mut err,
    );
    Outcome {
        rc,
        out: String::from_utf8(out).unwrap(),
        err: String::from_utf8(err).unwrap(),
    }
}

fn never(action: &Action, _: &Context) -> Result<OcfRc, OcfError> {
    panic!("handle must not be called for {action}");
}

fn succeed(_: &Action, _: &Context) -> Result<OcfRc, OcfError> {
    Ok(OcfRc::Success)
}

#[test]
fn meta_data_prints_xml_without_calling_handle() {
    let o = run_with(never, &["meta-data"], &[]);
    assert_eq!(o.rc, OcfRc::Success);
    assert_eq!(o.out, sample_meta().to_xml());
    assert_eq!(o.err, "");
}

#[test]
fn missing_action_is_an_args_error_with_usage() {
    let o = run_with(never, &[], &[]);
    assert_eq!(o.rc, OcfRc::ErrArgs);
    assert!(
        o.err
            .starts_with("usage: Sample {start|stop|monitor|promote|"),
        "{}",
        o.err
    );
    assert!(
        o.err.contains("ocf-exit-reason:no action given"),
        "{}",
        o.err
    );
    assert_eq!(o.out, "");
}

#[test]
fn usage_prints_advertised_actions() {
    for name in ["usage", "help"] {
        let o = run_with(never, &[name], &[]);
        assert_eq!(o.rc, OcfRc::Success);
        assert!(
            o.out
                .contains("{start|stop|monitor|promote|demote|notify|migrate_to|migrate_from|reload-agent|validate-all|meta-data}"),
            "{}",
            o.out
        );
    }
}

#[test]
fn unknown_action_is_unimplemented_with_reason() {
    let o = run_with(never, &["frobnicate"], &[]);
    assert_eq!(o.rc, OcfRc::Unimplemented);
    assert_eq!(o.err, "ocf-exit-reason:unknown action 'frobnicate'\n");
    assert_eq!(o.out, "");
}

#[test]
fn unadvertised_action_is_unimplemented() {
    for name in ["reload", "recover"] {
        let o = run_with(never, &[name], &[]);
        assert_eq!(o.rc, OcfRc::Unimplemented, "{name}");
        assert_eq!(
            o.err,
            format!("ocf-exit-reason:action '{name}' is not implemented by Sample\n")
        );
    }
}

#[test]
fn status_is_accepted_when_monitor_is_advertised() {
    fn check(action: &Action, _: &Context) -> Result<OcfRc, OcfError> {
        assert_eq!(action, &Action::Status);
        Ok(OcfRc::NotRunning)
    }
    let o = run_with(check, &["status"], &[]);
    assert_eq!(o.rc, OcfRc::NotRunning);
}

#[test]
fn extra_arguments_are_ignored() {
    let o = run_with(succeed, &["start", "extra", "args"], &[]);
    assert_eq!(o.rc, OcfRc::Success);
    assert_eq!(o.err, "");
}

#[test]
fn ok_codes_pass_through_without_reason() {
    fn promoted(_: &Action, _: &Context) -> Result<OcfRc, OcfError> {
        Ok(OcfRc::RunningPromoted)
    }
    fn degraded(_: &Action, _: &Context) -> Result<OcfRc, OcfError> {
        Ok(OcfRc::Degraded)
    }
    fn stopped(_: &Action, _: &Context) -> Result<OcfRc, OcfError> {
        Ok(OcfRc::NotRunning)
    }
    for (b, rc) in [
        (promoted as Behaviour, OcfRc::RunningPromoted),
        (degraded, OcfRc::Degraded),
        (stopped, OcfRc::NotRunning),
        (succeed, OcfRc::Success),
    ] {
        let o = run_with(b, &["monitor"], &[]);
        assert_eq!(o.rc, rc);
        assert_eq!(o.err, "");
    }
}

#[test]
fn errors_map_to_their_codes_with_exit_reason() {
    fn generic(_: &Action, _: &Context) -> Result<OcfRc, OcfError> {
        Err(OcfError::generic("virsh failed:\nconnection refused"))
    }
    fn args(_: &Action, _: &Context) -> Result<OcfRc, OcfError> {
        Err(OcfError::args("bad"))
    }
    fn perm(_: &Action, _: &Context) -> Result<OcfRc, OcfError> {
        Err(OcfError::perm("bad"))
    }
    fn installed(_: &Action, _: &Context) -> Result<OcfRc, OcfError> {
        Err(OcfError::installed("bad"))
    }
    fn configured(_: &Action, _: &Context) -> Result<OcfRc, OcfError> {
        Err(OcfError::configured("bad"))
    }
    fn failed_promoted(_: &Action, _: &Context) -> Result<OcfRc, OcfError> {
        Err(OcfError::failed_promoted("bad"))
    }
    let o = run_with(generic, &["start"], &[]);
    assert_eq!(o.rc, OcfRc::ErrGeneric);
    assert_eq!(o.err, "ocf-exit-reason:virsh failed: connection refused\n");
    for (b, rc) in [
        (args as Behaviour, OcfRc::ErrArgs),
        (perm, OcfRc::ErrPerm),
        (installed, OcfRc::ErrInstalled),
        (configured, OcfRc::ErrConfigured),
        (failed_promoted, OcfRc::FailedPromoted),
    ] {
        let o = run_with(b, &["start"], &[]);
        assert_eq!(o.rc, rc);
        assert_eq!(o.err, "ocf-exit-reason:bad\n");
    }
}

#[test]
fn probe_and_stop_errors_are_not_converted() {
    fn generic(_: &Action, _: &Context) -> Result<OcfRc, OcfError> {
        Err(OcfError::generic("cannot read config"))
    }
    fn installed(_: &Action, _: &Context) -> Result<OcfRc, OcfError> {
        Err(OcfError::installed("virsh missing"))
    }
    let probe = [("OCF_RESKEY_CRM_meta_interval", "0")];
    assert_eq!(
        run_with(generic, &["monitor"], &probe).rc,
        OcfRc::ErrGeneric
    );
    assert_eq!(
        run_with(installed, &["monitor"], &probe).rc,
        OcfRc::ErrInstalled
    );
    assert_eq!(run_with(installed, &["stop"], &[]).rc, OcfRc::ErrInstalled);
    assert_eq!(run_with(generic, &["stop"], &[]).rc, OcfRc::ErrGeneric);
}

#[test]
fn panic_becomes_generic_error() {
    fn boom(_: &Action, _: &Context) -> Result<OcfRc, OcfError> {
        panic!("boom");
    }
    let o = run_with(boom, &["start"], &[]);
    assert_eq!(o.rc, OcfRc::ErrGeneric);
    assert_eq!(
        o.err,
        "ocf-exit-reason:internal error: the agent panicked: boom\n"
    );
}

#[test]
fn handler_sees_probe_params_and_deadline() {
    fn check(action: &Action, ctx: &Context) -> Result<OcfRc, OcfError> {
        assert_eq!(action, &ctx.action);
        assert!(ctx.is_probe());
        assert_eq!(ctx.instance(), "vm1");
        assert_eq!(ctx.params.str("config"), Some("/etc/vm1.xml"));
        assert_eq!(ctx.params.bool("force_stop"), Ok(false));
        assert_eq!(ctx.timeout, Duration::from_secs(20));
        assert_eq!(ctx.deadline - ctx.started, Duration::from_secs(18));
        assert!(!ctx.expired());
        assert!(ctx.remaining() <= Duration::from_secs(18));
        ctx.params.validate_syntax()?;
        Ok(OcfRc::NotRunning)
    }
    let o = run_with(
        check,
        &["monitor"],
        &[
            ("OCF_RESOURCE_INSTANCE", "vm1"),
            ("OCF_RESKEY_config", "/etc/vm1.xml"),
            ("OCF_RESKEY_CRM_meta_timeout", "20000"),
            ("OCF_RESKEY_CRM_meta_interval", "0"),
        ],
    );
    assert_eq!(o.rc, OcfRc::NotRunning, "{}", o.err);
}

#[test]
fn validate_syntax_failure_reaches_pacemaker_as_6() {
    fn validate(_: &Action, ctx: &Context) -> Result<OcfRc, OcfError> {
        ctx.params.validate_syntax()?;
        Ok(OcfRc::Success)
    }
    let o = run_with(
        validate,
        &["validate-all"],
        &[("OCF_RESKEY_force_stop", "maybe")],
    );
    assert_eq!(o.rc, OcfRc::ErrConfigured);
    assert!(
        o.err
            .starts_with("ocf-exit-reason:required parameter 'config' is not set; "),
        "{}",
        o.err
    );
}

#[test]
fn context_timeout_defaults_from_advertised_actions() {
    let meta = sample_meta();
    let start = Instant::now();
    let env = |pairs: &[(&str, &str)]| OcfEnv::from_vars(pairs.iter().copied());
    let secs = Duration::from_secs;

    let c = Context::new(&meta, Action::Start, env(&[]), start);
    assert_eq!(c.timeout, secs(90));
    assert_eq!(c.deadline, start + secs(81));

    let c = Context::new(
        &meta,
        Action::Monitor,
        env(&[("OCF_RESKEY_CRM_meta_interval", "11000")]),
        start,
    );
    assert_eq!(c.timeout, secs(35));
    assert!(!c.is_probe());

    let c = Context::new(
        &meta,
        Action::MigrateTo,
        env(&[("OCF_RESKEY_CRM_meta_timeout", "60000")]),
        start,
    );
    assert_eq!(c.timeout, secs(60));
    assert_eq!(c.deadline, start + secs(54));

    let c = Context::new(&meta, Action::Recover, env(&[]), start);
    assert_eq!(c.timeout, secs(20), "fallback when not advertised");
}

#[test]
fn usage_lists_each_action_once() {
    let text = usage("Sample", &sample_meta());
    assert_eq!(text.matches("monitor").count(), 1, "{text}");
}

#[test]
fn debug_logs_begin_and_end_before_exit_reason() {
    fn fail(_: &Action, _: &Context) -> Result<OcfRc, OcfError> {
        Err(OcfError::configured("bad config"))
    }
    let o = run_with(
        fail,
        &["monitor"],
        &[("HA_debug", "1"), ("OCF_RESOURCE_INSTANCE", "vm1")],
    );
    assert_eq!(o.rc, OcfRc::ErrConfigured);
    let lines: Vec<&str> = o.err.lines().collect();
    assert_eq!(lines.len(), 3, "{}", o.err);
    assert!(
        lines[0].starts_with("vm1: DEBUG: monitor: begin (probe) (timeout 30.0 s, budget 27.0 s)"),
        "{}",
        o.err
    );
    assert!(
        lines[1].starts_with("vm1: DEBUG: monitor: end: OCF_ERR_CONFIGURED (6) after "),
        "{}",
        o.err
    );
    assert!(lines[1].ends_with(" s: bad config"), "{}", o.err);
    assert_eq!(lines[2], "ocf-exit-reason:bad config");
}
