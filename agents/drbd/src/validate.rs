//! Validation: parameters, clone meta attributes, the DRBD tools and version, and the
//! resource's presence in the DRBD configuration (drbd.ocf `_drbd_validate_all`).

use std::path::Path;

use shared::cmd::Cmd;
use shared::drbd::adm::{readable, version_string};
use shared::drbd::{DrbdError, Drbdadm};
use shared::ocf::{Action, Context, OcfError};

use crate::params::Settings;

/// What validation established, for the actions.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The parameters.
    pub settings: Settings,
    /// `drbdadm` with `-c drbdconf` (and `-S` for a stacked resource).
    pub adm: Drbdadm,
    /// `promoted-max` (1 when unset).
    pub promoted_max: u32,
    /// This node's name (`uname -n`, as drbd.ocf uses it).
    pub node: String,
}

/// The outcome of a validation that did not fail.
#[derive(Debug)]
pub enum Validated {
    /// Go ahead.
    Ok(Box<Setup>),
    /// A probe on a node where the resource is not configured (or DRBD is not there): the
    /// resource cannot be running here; the probe answers "not running".
    ProbeNotRunning(String),
}

/// Reads this node's name like `uname -n`.
pub fn node_name(ctx: &Context) -> String {
    if let Some(n) = ctx.env.meta().on_node() {
        return n.to_owned();
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

fn drbd_err(rc_if_missing: OcfError, e: &DrbdError) -> OcfError {
    if e.is_not_installed() {
        return rc_if_missing;
    }
    OcfError::from_error(shared::ocf::OcfRc::ErrGeneric, e)
}

/// Checks the clone meta attributes (skipped on stop, as drbd.ocf does).
pub fn check_metas(ctx: &Context) -> Result<u32, OcfError> {
    let m = ctx.env.meta();
    let promoted_max = m.promoted_max().unwrap_or(1);
    let expect = |name: &str, value: Option<u32>, ok: bool, want: &str| {
        if ok {
            Ok(())
        } else {
            Err(OcfError::configured(format!(
                "meta attribute misconfigured: expected {name} {want}, found {}",
                value.map_or("unset".to_owned(), |v| v.to_string())
            )))
        }
    };
    let cnm = m.clone_node_max();
    expect("clone-node-max", cnm, cnm.unwrap_or(1) == 1, "= 1")?;
    let pnm = m.promoted_node_max();
    expect("promoted-node-max", pnm, pnm.unwrap_or(1) == 1, "= 1")?;
    expect(
        "promoted-max",
        Some(promoted_max),
        promoted_max <= 2,
        "<= 2 (DRBD cannot safely have more than two Primaries)",
    )?;
    if promoted_max == 2 {
        let cm = m.clone_max();
        expect(
            "clone-max",
            cm,
            cm.is_some_and(|c| c <= 2),
            "<= 2 with promoted-max=2",
        )?;
    }
    Ok(promoted_max)
}

/// Runs the whole validation for `action`.
///
/// Error codes: parameters and meta attributes → 6; tools missing, module version, resource not
/// in this node's configuration → 5; `promoted-max` > 1 without `allow-two-primaries` → 6;
/// `notify=false` without `ignore_missing_notifications` on start/promote → 6.
pub fn validate(ctx: &Context) -> Result<Validated, OcfError> {
    match checked(ctx) {
        Ok(setup) => Ok(Validated::Ok(Box::new(setup))),
        Err(Stop::Absent(e)) => probe_or(ctx, e),
        Err(Stop::Failed(e)) => Err(e),
    }
}

/// Why validation stopped: the resource cannot be on this node (a probe then answers "not
/// running"), or any other error.
enum Stop {
    Absent(OcfError),
    Failed(OcfError),
}

impl From<OcfError> for Stop {
    fn from(e: OcfError) -> Stop {
        Stop::Failed(e)
    }
}

/// The checks of [`validate`], in drbd.ocf's order.
fn checked(ctx: &Context) -> Result<Setup, Stop> {
    let action = &ctx.action;
    let settings = Settings::read(ctx)?;
    if let Some(p) = &settings.adjust_problem {
        shared::ocf::log::error(p);
    }
    let promoted_max = if *action == Action::Stop {
        ctx.env.meta().promoted_max().unwrap_or(1)
    } else {
        check_metas(ctx)?
    };
    let adm = if settings.drbdconf.is_empty() {
        Drbdadm::default()
    } else if readable(Path::new(&settings.drbdconf)) {
        Drbdadm::with_config(&settings.drbdconf)
    } else {
        return Err(Stop::Absent(OcfError::installed(format!(
            "DRBD configuration file {} does not exist or is not a readable regular file",
            settings.drbdconf
        ))));
    };
    check_kernel(ctx, &adm, &settings)?;
    let adm = configured(ctx, adm, &settings)?;
    if matches!(action, Action::Start | Action::Promote) && promoted_max > 1 {
        let config = adm
            .dump_xml(&settings.resource, ctx.deadline)
            .map_err(|e| OcfError::from_error(shared::ocf::OcfRc::ErrGeneric, &e))?;
        if !config.allow_two_primaries {
            return Err(Stop::Failed(OcfError::configured(format!(
                "promoted-max={promoted_max}, but DRBD resource {} does not allow-two-primaries",
                settings.resource
            ))));
        }
    }
    if !matches!(
        action,
        Action::Stop | Action::Monitor | Action::Status | Action::ValidateAll
    ) && !settings.ignore_missing_notifications
        && !ctx.env.meta().notify()
        && ctx.env.meta().get("notify_start_uname").is_none()
    {
        return Err(Stop::Failed(OcfError::configured(
            "notify=true is required on the clone (or set ignore_missing_notifications=true)",
        )));
    }
    Ok(Setup {
        settings,
        adm,
        promoted_max,
        node: node_name(ctx),
    })
}

/// The kernel module's version (0 when not loaded: then modinfo's, like drbd.ocf): there, DRBD
/// 9, and within `version_ge`/`version_lt`.
fn check_kernel(ctx: &Context, adm: &Drbdadm, settings: &Settings) -> Result<(), Stop> {
    let versions = adm.version(ctx.deadline).map_err(|e| {
        drbd_err(
            OcfError::installed("drbdadm is not installed (drbd-utils)"),
            &e,
        )
    })?;
    let mut kernel = versions.kernel;
    if kernel == 0 {
        kernel = modinfo_version(ctx).unwrap_or(0);
    }
    if kernel == 0 {
        return Err(Stop::Absent(OcfError::installed(
            "DRBD kernel module not available (neither loaded nor installed)",
        )));
    }
    let refuse = |want: &str, v: u32| {
        Err(Stop::Failed(OcfError::installed(format!(
            "required DRBD kernel module version {want} {}, found {}",
            version_string(v),
            version_string(kernel)
        ))))
    };
    if let Some(ge) = settings.version_ge.filter(|&ge| kernel < ge) {
        return refuse(">=", ge);
    }
    if let Some(lt) = settings.version_lt.filter(|&lt| kernel >= lt) {
        return refuse("<", lt);
    }
    if kernel < 0x090000 {
        return Err(Stop::Failed(OcfError::installed(format!(
            "ocf:vmmgr:drbd supports DRBD 9 only, found kernel module {}",
            version_string(kernel)
        ))));
    }
    Ok(())
}

/// `adm` if the resource is in this node's configuration, else `adm` with `-S` if it is a
/// stacked resource there.
fn configured(ctx: &Context, adm: Drbdadm, settings: &Settings) -> Result<Drbdadm, Stop> {
    if adm.sh_dev(&settings.resource, ctx.deadline).is_ok() {
        return Ok(adm);
    }
    let stacked = Drbdadm {
        stacked: true,
        ..adm
    };
    match stacked.sh_dev(&settings.resource, ctx.deadline) {
        Ok(_) => Ok(stacked),
        Err(e) => Err(Stop::Absent(
            drbd_err(
                OcfError::installed("drbdadm is not installed (drbd-utils)"),
                &e,
            )
            .map_rc_installed(format!(
                "DRBD resource {} not found in configuration file {}",
                settings.resource,
                if settings.drbdconf.is_empty() {
                    "(drbdadm default)"
                } else {
                    &settings.drbdconf
                }
            )),
        )),
    }
}

/// For a probe, "cannot be here" is "not running"; otherwise the error.
fn probe_or(ctx: &Context, err: OcfError) -> Result<Validated, OcfError> {
    if ctx.is_probe() {
        Ok(Validated::ProbeNotRunning(err.reason))
    } else {
        Err(err)
    }
}

/// `modinfo -F version drbd` → version code (module installed but not loaded).
fn modinfo_version(ctx: &Context) -> Option<u32> {
    let out = Cmd::new("modinfo")
        .args(["-F", "version", "drbd"])
        .deadline(ctx.deadline)
        .run_string()
        .ok()?;
    let v = out.trim();
    // "9.2.2" or "9.2.2-1" etc.: keep the leading x.y.z.
    let core: String = v
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    shared::drbd::adm::version_code(core.trim_end_matches('.'))
}

trait MapInstalled {
    fn map_rc_installed(self, reason: String) -> OcfError;
}

impl MapInstalled for OcfError {
    /// Keeps "not installed" errors; turns a failed `sh-dev` into the drbd.ocf message (5).
    fn map_rc_installed(self, reason: String) -> OcfError {
        if self.rc == shared::ocf::OcfRc::ErrInstalled {
            self
        } else {
            OcfError::installed(reason)
        }
    }
}
