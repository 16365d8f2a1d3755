//! The monitor's state → exit code table ([`check_with`]) on a FAKE domain state source.
//!
//! `FakeLibvirt` stands in for libvirt in these pure unit tests of the mapping only: it answers
//! what each test scripts, so every row of the table (including the ones a healthy daemon
//! rarely shows: crashed, pmsuspended, no state, an error, no answer) is exercised. The real
//! sources are tested against real libvirt: the `virt` connection on libvirt's test driver
//! (`shared::libvirt`'s tests) and on the sandbox cluster (`tests/tests/virtual_domain.rs`),
//! the RPC client on recorded daemon traffic (`shared::libvirt::rpc`'s tests).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use shared::libvirt::{DomainState, DomainStatus};
use shared::ocf::{Action, Agent, Context, OcfEnv, OcfError, OcfRc};

use super::*;
use crate::agent::VirtualDomain;
use crate::params::Settings;

const NAME: &str = "fake-vm";

/// How the fake fails.
#[derive(Debug, Clone, thiserror::Error)]
enum FakeError {
    /// Like a daemon that is down or hung.
    #[error("fake libvirt does not answer")]
    Unreachable,
    /// Like libvirt answering the query with an error.
    #[error("fake libvirt refuses the query")]
    Refused,
}

/// A FAKE state source (not libvirt): gives its scripted answers in order, the last one
/// forever, and records what the check did with it.
struct FakeLibvirt {
    answers: VecDeque<Result<Option<DomainStatus>, FakeError>>,
    asked: usize,
    released: bool,
    active_steps: usize,
}

impl FakeLibvirt {
    fn new(answers: impl IntoIterator<Item = Result<Option<DomainStatus>, FakeError>>) -> Self {
        FakeLibvirt {
            answers: answers.into_iter().collect(),
            asked: 0,
            released: false,
            active_steps: 0,
        }
    }

    fn state(state: DomainState) -> Self {
        FakeLibvirt::new([Ok(Some(status(state)))])
    }
}

impl DomainStateSource for FakeLibvirt {
    type Error = FakeError;

    fn status(
        &mut self,
        _name: &str,
        _deadline: Instant,
    ) -> Result<Option<DomainStatus>, FakeError> {
        self.asked += 1;
        let answer = if self.answers.len() > 1 {
            self.answers.pop_front()
        } else {
            self.answers.front().cloned()
        };
        answer.unwrap_or(Err(FakeError::Unreachable))
    }

    fn is_unreachable(e: &FakeError) -> bool {
        matches!(e, FakeError::Unreachable)
    }

    fn release(&mut self, _deadline: Instant) {
        self.released = true;
    }

    fn active(&mut self, _vd: &Vd<'_>, _name: &str) {
        self.active_steps += 1;
    }
}

fn status(state: DomainState) -> DomainStatus {
    DomainStatus {
        state,
        vcpus: 2,
        max_mem_kib: 1 << 20,
    }
}

/// A monitor context: no resource instance (so no utilization is written), a remote URI (so
/// no `/proc` fallback: the answer cannot depend on this machine's processes), `extra` params.
fn context(probe: bool, extra: &[(&str, &str)]) -> Context {
    let mut vars = vec![
        (
            "OCF_RESKEY_config".to_owned(),
            "/nonexistent/fake-vm.xml".to_owned(),
        ),
        (
            "OCF_RESKEY_hypervisor".to_owned(),
            "qemu+ssh://fake-host/system".to_owned(),
        ),
        ("OCF_RESKEY_CRM_meta_timeout".to_owned(), "20000".to_owned()),
    ];
    if !probe {
        vars.push((
            "OCF_RESKEY_CRM_meta_interval".to_owned(),
            "10000".to_owned(),
        ));
    }
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| (format!("OCF_RESKEY_{k}"), (*v).to_owned())),
    );
    let env = OcfEnv::from_vars(vars);
    Context::new(&VirtualDomain.meta(), Action::Monitor, env, Instant::now())
}

/// Runs the check on `fake` within `budget`.
fn run(
    fake: &mut FakeLibvirt,
    ctx: &Context,
    budget: Duration,
) -> Result<Result<OcfRc, OcfError>, FakeError> {
    let vd = Vd::new(ctx, Settings::from_params(&ctx.params).expect("settings"));
    check_with(&vd, NAME, fake, Instant::now() + budget)
}

fn rc(r: Result<OcfRc, OcfError>) -> OcfRc {
    r.unwrap_or_else(|e| e.rc)
}

#[test]
fn fake_source_stopped_and_active_states() {
    let ctx = context(false, &[]);
    let rows = [
        (FakeLibvirt::new([Ok(None)]), OcfRc::NotRunning),
        (FakeLibvirt::state(DomainState::Shutoff), OcfRc::NotRunning),
        (FakeLibvirt::state(DomainState::Running), OcfRc::Success),
        (FakeLibvirt::state(DomainState::Blocked), OcfRc::Success),
        (FakeLibvirt::state(DomainState::Paused), OcfRc::Success),
        (
            FakeLibvirt::state(DomainState::ShuttingDown),
            OcfRc::Success,
        ),
    ];
    for (mut fake, want) in rows {
        let got = run(&mut fake, &ctx, Duration::from_secs(5)).expect("answered");
        assert_eq!(got, Ok(want), "{:?}", fake.answers);
        assert_eq!(fake.asked, 1, "one round trip: {:?}", fake.answers);
        assert!(fake.released, "released once read: {:?}", fake.answers);
        let steps = usize::from(want == OcfRc::Success);
        assert_eq!(fake.active_steps, steps, "{:?}", fake.answers);
    }
}

#[test]
fn fake_source_crashed_and_pmsuspended_are_errors_with_the_state() {
    let ctx = context(false, &[]);
    for (state, word) in [
        (DomainState::Crashed, "crashed"),
        (DomainState::PmSuspended, "pmsuspended"),
    ] {
        let mut fake = FakeLibvirt::state(state);
        let e = run(&mut fake, &ctx, Duration::from_secs(5))
            .expect("answered")
            .unwrap_err();
        assert_eq!(e.rc, OcfRc::ErrGeneric, "{state}");
        assert_eq!(e.reason, format!("domain {NAME} is {word}"));
        assert_eq!(fake.active_steps, 0);
    }
}

#[test]
fn fake_source_no_state_is_retried_then_an_error() {
    let ctx = context(false, &[]);
    let mut fake = FakeLibvirt::new([
        Ok(Some(status(DomainState::NoState))),
        Ok(Some(status(DomainState::Running))),
    ]);
    let got = run(&mut fake, &ctx, Duration::from_secs(5)).expect("answered");
    assert_eq!(got, Ok(OcfRc::Success));
    assert_eq!(fake.asked, 2, "asked again after \"no state\"");

    for (state, shown) in [
        (DomainState::NoState, "no state"),
        (DomainState::Unknown(42), "unknown state 42"),
    ] {
        let mut fake = FakeLibvirt::state(state);
        let e = run(&mut fake, &ctx, Duration::from_millis(100))
            .expect("answered")
            .unwrap_err();
        assert_eq!(e.rc, OcfRc::ErrGeneric, "never 7 for {state}");
        assert_eq!(
            e.reason,
            format!("libvirt reports {shown} for domain {NAME} until the deadline")
        );
    }
}

#[test]
fn fake_source_without_answer_is_never_stopped() {
    for probe in [true, false] {
        let ctx = context(probe, &[]);
        let mut fake = FakeLibvirt::new([Err(FakeError::Unreachable)]);
        let e = run(&mut fake, &ctx, Duration::from_secs(5))
            .expect("decided here, not handed on")
            .unwrap_err();
        assert_eq!(
            e.rc,
            OcfRc::ErrGeneric,
            "probe {probe}: never guess stopped"
        );
        assert_eq!(
            e.reason,
            format!("cannot determine the state of domain {NAME}: fake libvirt does not answer")
        );
        assert!(!fake.released && fake.active_steps == 0);
    }
}

#[test]
fn fake_source_error_answer_goes_back_to_the_caller() {
    let ctx = context(false, &[]);
    let mut fake = FakeLibvirt::new([Err(FakeError::Refused)]);
    let got = run(&mut fake, &ctx, Duration::from_secs(5));
    assert!(matches!(got, Err(FakeError::Refused)), "{got:?}");
}

#[test]
fn fake_source_monitor_scripts_run_for_an_active_domain_only() {
    let failing = context(false, &[("monitor_scripts", "/bin/false")]);
    let mut fake = FakeLibvirt::state(DomainState::Running);
    let e = run(&mut fake, &failing, Duration::from_secs(5))
        .expect("answered")
        .unwrap_err();
    assert_eq!(e.rc, OcfRc::ErrGeneric);
    assert!(
        e.reason.starts_with(&format!(
            "monitor command \"/bin/false\" for domain {NAME} returned"
        )),
        "{}",
        e.reason
    );
    assert_eq!(fake.active_steps, 0, "no last step after a failed script");

    let mut fake = FakeLibvirt::state(DomainState::Shutoff);
    let got = run(&mut fake, &failing, Duration::from_secs(5)).expect("answered");
    assert_eq!(
        got,
        Ok(OcfRc::NotRunning),
        "scripts do not run for a stopped domain"
    );

    let passing = context(false, &[("monitor_scripts", "/bin/true")]);
    let mut fake = FakeLibvirt::state(DomainState::Paused);
    let got = run(&mut fake, &passing, Duration::from_secs(5)).expect("answered");
    assert_eq!(rc(got), OcfRc::Success);
    assert_eq!(fake.active_steps, 1);
}

/// Counts the commands whose line names `marker` (other tests run commands too).
struct CommandsNaming {
    marker: String,
    seen: std::sync::Mutex<Vec<String>>,
}

impl shared::record::Recorder for CommandsNaming {
    fn record(&self, e: &shared::record::Event<'_>) {
        if e.kind == shared::record::Kind::Command && e.what.contains(&self.marker) {
            if let Ok(mut seen) = self.seen.lock() {
                seen.push(e.what.to_owned());
            }
        }
    }
}

#[test]
fn arriving_checks_leave_the_utilization_to_the_first_monitor() {
    let instance = format!("vd-arriving-{}", std::process::id());
    let dir = std::env::temp_dir().join(&instance);
    std::fs::create_dir_all(&dir).unwrap();
    let rsctmp = dir.to_str().unwrap().to_owned();
    let env = OcfEnv::from_vars(
        [
            ("OCF_RESKEY_config", "/nonexistent/fake-vm.xml"),
            ("OCF_RESKEY_hypervisor", "qemu+ssh://fake-host/system"),
            ("OCF_RESKEY_CRM_meta_timeout", "20000"),
            ("OCF_RESKEY_CRM_meta_interval", "10000"),
            ("OCF_RESOURCE_INSTANCE", instance.as_str()),
            ("HA_RSCTMP", rsctmp.as_str()),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let ctx = Context::new(&VirtualDomain.meta(), Action::Monitor, env, Instant::now());
    let vd = Vd::new(&ctx, Settings::from_params(&ctx.params).expect("settings"));
    let seen = std::sync::Arc::new(CommandsNaming {
        marker: instance.clone(),
        seen: std::sync::Mutex::new(Vec::new()),
    });
    let _registered = shared::record::register(seen.clone());
    let deadline = Instant::now() + Duration::from_secs(10);

    let mut fake = FakeLibvirt::state(DomainState::Running);
    let r = check_with(&vd, NAME, &mut Arriving(&mut fake), deadline).expect("answered");
    assert_eq!(rc(r), OcfRc::Success);
    assert_eq!(fake.active_steps, 1, "the source's last step still runs");
    assert!(fake.released, "the state is read: the source let go");
    assert!(
        seen.seen.lock().unwrap().is_empty(),
        "an arriving check ran: {:?}",
        seen.seen.lock().unwrap()
    );
    assert_eq!(vd.state.util_cache(&instance), None);

    // The monitor's own check does bring it in line: crm_resource naming the instance runs
    // (whatever it answers here, without a cluster).
    let mut monitor = FakeLibvirt::state(DomainState::Running);
    let r = check_with(&vd, NAME, &mut monitor, deadline).expect("answered");
    assert_eq!(rc(r), OcfRc::Success);
    assert!(
        seen.seen
            .lock()
            .unwrap()
            .iter()
            .any(|c| c.contains("crm_resource")),
        "the monitor did not look at the utilization: {:?}",
        seen.seen.lock().unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
