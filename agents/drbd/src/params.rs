//! The parameters of `ocf:vmmgr:drbd` (the names and defaults of `ocf:linbit:drbd` 9.22) and
//! their typed reading ([`Settings`]).

use shared::drbd::adm::{check_resource_name, version_code};
use shared::drbd::score::{parse_adjust, DEFAULT_ADJUST};
use shared::drbd::PeerPrimaryPolicy;
use shared::ocf::{parse_bool, Context, OcfError, ParamSpec};

/// The default of `unfence_extra_args` (drbd.ocf).
pub const UNFENCE_EXTRA_ARGS: &str =
    "--quiet --flock-required --flock-timeout 0 --unfence-only-if-owner-match";

/// The parameter declarations (meta-data and reading).
pub const PARAMS: &[ParamSpec] = &[
    ParamSpec::string("drbd_resource")
        .required()
        .unique_group("drbd_resource")
        .shortdesc("DRBD resource name")
        .longdesc(
            "The name of the DRBD resource from the DRBD configuration. Only the characters \
             [-%+./0-9:=@A-Z_a-z] are accepted.",
        ),
    ParamSpec::string("drbdconf")
        .default("/etc/drbd.conf")
        .shortdesc("Path to drbd.conf")
        .longdesc("Full path to the DRBD configuration file (drbdadm -c)."),
    ParamSpec::string("adjust_master_score")
        .default("0 10 1000 10000")
        .reloadable()
        .shortdesc("Promotion score adjustments")
        .longdesc(
            "Four space-separated, non-decreasing promotion scores for: only Consistent local \
             data; only a peer has UpToDate data; UpToDate local data while some peer's state is \
             unknown; UpToDate local data and Primary or all peers known. Intentionally \
             diskless clients use the third or fourth value minus one. An invalid value falls \
             back to the default (with an error in the log), as ocf:linbit:drbd does.",
        ),
    ParamSpec::boolean("stop_outdates_secondary")
        .default("false")
        .reloadable()
        .shortdesc("Outdate a Secondary on stop")
        .longdesc(
            "On stop and post-notifications, mark the local data Outdated when the notification \
             data shows a Primary on another node and the replication link is down. Depends on \
             correct notification data; leave disabled unless you know you need it.",
        ),
    ParamSpec::boolean("ignore_missing_notifications")
        .default("false")
        .reloadable()
        .shortdesc("Allow notify=false")
        .longdesc(
            "By default start and promote fail with OCF_ERR_CONFIGURED unless the clone has \
             notify=true. Set to true for setups that do not need notifications.",
        ),
    ParamSpec::integer("wfc_timeout")
        .default("5")
        .reloadable()
        .shortdesc("Wait for connections (s)")
        .longdesc(
            "After bringing the connections up during start, wait at most this many seconds \
             (and never past the operation's deadline) for them to be established. The empty \
             string or any non-digit value means: do not wait.",
        ),
    ParamSpec::string("remove_master_score_if_peer_primary")
        .default("false")
        .reloadable()
        .shortdesc("Drop the score while a peer is Primary")
        .longdesc(
            "true: remove the promotion score while connected to a healthy Primary peer. \
             unexpected: do so only when Pacemaker knows of no promoted instance (a cluster \
             split brain). false: ignore the peer's role.",
        ),
    ParamSpec::boolean("fail_promote_early_if_peer_primary")
        .default("false")
        .reloadable()
        .shortdesc("Promote only once while a peer is Primary")
        .longdesc(
            "When promotion fails and DRBD still sees a Primary peer, give up after the first \
             attempt instead of retrying until the operation's deadline.",
        ),
    ParamSpec::boolean("unfence_if_all_uptodate")
        .default("false")
        .reloadable()
        .shortdesc("Unfence when fully UpToDate")
        .longdesc(
            "When Primary with all local and peer disks UpToDate, run `drbdadm unfence-peer` to \
             remove a stale fencing constraint.",
        ),
    ParamSpec::string("unfence_extra_args")
        .default(UNFENCE_EXTRA_ARGS)
        .reloadable()
        .shortdesc("Extra arguments for the unfence hook")
        .longdesc(
            "Passed to the unfence handler in its environment as OCF_RESKEY_unfence_extra_args. \
             (ocf:linbit:drbd declares this string parameter as a boolean; it is a string.)",
        ),
    ParamSpec::string("require_drbd_module_version_ge")
        .default("8.0.0")
        .shortdesc("Minimum DRBD module version (x.y.z)")
        .longdesc(
            "Fail with OCF_ERR_INSTALLED if the DRBD kernel module is older than this version \
             (inclusive bound). Empty: no check.",
        ),
    ParamSpec::string("require_drbd_module_version_lt")
        .default("10.0.0")
        .shortdesc("DRBD module version must be below (x.y.z)")
        .longdesc(
            "Fail with OCF_ERR_INSTALLED if the DRBD kernel module is this version or newer \
             (exclusive bound). Empty: no check.",
        ),
    ParamSpec::boolean("connect_only_after_promote")
        .default("false")
        .shortdesc("Connect only once promoted")
        .longdesc(
            "Keep the resource disconnected until it is promoted, then adjust it (which \
             connects). For stacked setups without fencing on the lower layer.",
        ),
];

/// The parameters, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `drbd_resource`.
    pub resource: String,
    /// `drbdconf` (empty: drbdadm's built-in default).
    pub drbdconf: String,
    /// `adjust_master_score`, or the default when invalid.
    pub adjust: [i64; 4],
    /// Set when `adjust_master_score` was invalid (reason, for a log line).
    pub adjust_problem: Option<String>,
    /// `stop_outdates_secondary`.
    pub stop_outdates_secondary: bool,
    /// `ignore_missing_notifications`.
    pub ignore_missing_notifications: bool,
    /// `wfc_timeout` in seconds, `None` for "do not wait".
    pub wfc_timeout: Option<u64>,
    /// `remove_master_score_if_peer_primary`.
    pub peer_primary: PeerPrimaryPolicy,
    /// `fail_promote_early_if_peer_primary`.
    pub fail_promote_early: bool,
    /// `unfence_if_all_uptodate`.
    pub unfence_if_all_uptodate: bool,
    /// `unfence_extra_args`.
    pub unfence_extra_args: String,
    /// `require_drbd_module_version_ge` as a version code.
    pub version_ge: Option<u32>,
    /// `require_drbd_module_version_lt` as a version code.
    pub version_lt: Option<u32>,
    /// `connect_only_after_promote`.
    pub connect_only_after_promote: bool,
}

fn bool_param(ctx: &Context, name: &str) -> Result<bool, OcfError> {
    ctx.params.bool(name)
}

fn version_param(ctx: &Context, name: &str) -> Result<Option<u32>, OcfError> {
    // An explicitly empty value disables the check (unset means the default).
    if ctx.env.param(name) == Some("") {
        return Ok(None);
    }
    match ctx.params.str(name) {
        None => Ok(None),
        Some(v) => version_code(v).map(Some).ok_or_else(|| {
            OcfError::configured(format!(
                "parameter '{name}' must be a version x.y.z, got '{v}'"
            ))
        }),
    }
}

impl Settings {
    /// Reads and checks every parameter. Errors are `OCF_ERR_CONFIGURED`.
    pub fn read(ctx: &Context) -> Result<Settings, OcfError> {
        let resource = ctx.params.required_str("drbd_resource")?.to_owned();
        check_resource_name(&resource)
            .map_err(|e| OcfError::configured(format!("parameter 'drbd_resource': {e}")))?;
        let drbdconf = match ctx.env.param("drbdconf") {
            Some("") => String::new(),
            _ => ctx.params.str("drbdconf").unwrap_or_default().to_owned(),
        };
        if !drbdconf
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-%+./:=@_".contains(&b))
        {
            return Err(OcfError::configured(format!(
                "parameter 'drbdconf' must only contain [-%+./0-9:=@A-Z_a-z], got '{drbdconf}'"
            )));
        }
        let adjust_text = ctx.params.str("adjust_master_score").unwrap_or_default();
        let (adjust, adjust_problem) = match parse_adjust(adjust_text) {
            Ok(a) => (a, None),
            Err(reason) => (
                DEFAULT_ADJUST,
                Some(format!(
                    "bad adjust_master_score '{adjust_text}' ({reason}); using the default"
                )),
            ),
        };
        let wfc_timeout = match ctx.env.param("wfc_timeout") {
            Some(v) if v.is_empty() || !v.trim().bytes().all(|b| b.is_ascii_digit()) => None,
            _ => ctx
                .params
                .str("wfc_timeout")
                .and_then(|v| v.trim().parse().ok()),
        };
        let rmsipp = ctx
            .params
            .str("remove_master_score_if_peer_primary")
            .unwrap_or("false");
        let peer_primary = if rmsipp == "unexpected" {
            PeerPrimaryPolicy::RemoveIfUnexpected
        } else {
            match parse_bool(rmsipp) {
                Some(true) => PeerPrimaryPolicy::Remove,
                Some(false) => PeerPrimaryPolicy::Ignore,
                None => {
                    return Err(OcfError::configured(format!(
                        "parameter 'remove_master_score_if_peer_primary' must be a boolean or \
                         'unexpected', got '{rmsipp}'"
                    )))
                }
            }
        };
        Ok(Settings {
            resource,
            drbdconf,
            adjust,
            adjust_problem,
            stop_outdates_secondary: bool_param(ctx, "stop_outdates_secondary")?,
            ignore_missing_notifications: bool_param(ctx, "ignore_missing_notifications")?,
            wfc_timeout,
            peer_primary,
            fail_promote_early: bool_param(ctx, "fail_promote_early_if_peer_primary")?,
            unfence_if_all_uptodate: bool_param(ctx, "unfence_if_all_uptodate")?,
            unfence_extra_args: ctx
                .params
                .str("unfence_extra_args")
                .unwrap_or(UNFENCE_EXTRA_ARGS)
                .to_owned(),
            version_ge: version_param(ctx, "require_drbd_module_version_ge")?,
            version_lt: version_param(ctx, "require_drbd_module_version_lt")?,
            connect_only_after_promote: bool_param(ctx, "connect_only_after_promote")?,
        })
    }

    /// The score settings derived from the parameters.
    pub fn score(&self) -> shared::drbd::ScoreSettings {
        shared::drbd::ScoreSettings {
            adjust: self.adjust,
            peer_primary: self.peer_primary,
            unfence_if_all_uptodate: self.unfence_if_all_uptodate,
        }
    }
}
