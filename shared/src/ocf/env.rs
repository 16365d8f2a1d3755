//! The OCF environment of one agent invocation ([`OcfEnv`], [`Metas`]).
//!
//! Pacemaker passes everything through environment variables: instance parameters as
//! `OCF_RESKEY_<name>`, meta attributes and operation attributes as
//! `OCF_RESKEY_CRM_meta_<name>` (with `-` turned into `_`), plus the `OCF_*` core variables.
//! [`OcfEnv::from_vars`] takes the variables as pairs so tests never touch the process
//! environment.
//!
//! Construction never fails. Meta attributes are written by Pacemaker, not typed by users, so
//! the typed meta accessors are lenient: a value that does not parse reads as absent (`None`,
//! or `false` for booleans); [`Metas::get`] gives the raw text.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::action::Action;
use super::deadline::{self, FALLBACK_TIMEOUT};
use super::notify::Notify;
use super::spec::parse_bool;
use crate::clock::{self, Unit};

const RESKEY: &str = "OCF_RESKEY_";
const META: &str = "CRM_meta_";
const FEATURE_SET: &str = "crm_feature_set";

/// Meta and operation attributes (`OCF_RESKEY_CRM_meta_<name>`), stored without the prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metas {
    raw: BTreeMap<String, String>,
}

impl Metas {
    /// Returns the raw value of a meta attribute; `-` in `name` is read as `_`
    /// (`clone-max` and `clone_max` are the same attribute).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.raw.get(&name.replace('-', "_")).map(String::as_str)
    }

    /// Returns every meta attribute (names with `_`).
    pub fn all(&self) -> &BTreeMap<String, String> {
        &self.raw
    }

    fn millis(&self, name: &str) -> Option<Duration> {
        clock::parse_duration(self.get(name)?, Unit::Millis).ok()
    }

    fn number(&self, name: &str) -> Option<u32> {
        self.get(name)?.trim().parse().ok()
    }

    fn flag(&self, name: &str) -> bool {
        self.get(name).and_then(parse_bool).unwrap_or(false)
    }

    /// The operation timeout (`timeout`, milliseconds; a unit as in a CIB, "20s", is read too).
    pub fn timeout(&self) -> Option<Duration> {
        self.millis("timeout")
    }

    /// The operation interval (`interval`, milliseconds); 0 or missing for one-shot operations.
    pub fn interval(&self) -> Option<Duration> {
        self.millis("interval")
    }

    /// The operation name (`name`), e.g. `monitor`.
    pub fn op_name(&self) -> Option<&str> {
        self.get("name")
    }

    /// The role of a role-specific operation (`role`), e.g. `Promoted`.
    pub fn role(&self) -> Option<&str> {
        self.get("role")
    }

    /// The `on-fail` setting of the operation.
    pub fn on_fail(&self) -> Option<&str> {
        self.get("on_fail")
    }

    /// The clone's `clone-max`.
    pub fn clone_max(&self) -> Option<u32> {
        self.number("clone_max")
    }

    /// The clone's `clone-node-max`.
    pub fn clone_node_max(&self) -> Option<u32> {
        self.number("clone_node_max")
    }

    /// The clone's `promoted-max`, falling back to the deprecated `master-max`.
    pub fn promoted_max(&self) -> Option<u32> {
        self.number("promoted_max")
            .or_else(|| self.number("master_max"))
    }

    /// The clone's `promoted-node-max`, falling back to the deprecated `master-node-max`.
    pub fn promoted_node_max(&self) -> Option<u32> {
        self.number("promoted_node_max")
            .or_else(|| self.number("master_node_max"))
    }

    /// The clone instance number (`clone`).
    pub fn clone_instance(&self) -> Option<u32> {
        self.number("clone")
    }

    /// Whether the clone has notifications enabled (`notify`).
    pub fn notify(&self) -> bool {
        self.flag("notify")
    }

    /// Whether the clone is globally unique (`globally-unique`).
    pub fn globally_unique(&self) -> bool {
        self.flag("globally_unique")
    }

    /// The node the operation runs on (`on_node`).
    pub fn on_node(&self) -> Option<&str> {
        self.get("on_node")
    }

    /// The source node of a migration (`migrate_source`).
    pub fn migrate_source(&self) -> Option<&str> {
        self.get("migrate_source")
    }

    /// The target node of a migration (`migrate_target`).
    pub fn migrate_target(&self) -> Option<&str> {
        self.get("migrate_target")
    }
}

/// The typed OCF environment of one invocation.
#[derive(Debug, Clone, Default)]
pub struct OcfEnv {
    vars: BTreeMap<String, String>,
    params: BTreeMap<String, String>,
    metas: Metas,
    notify: Notify,
}

impl OcfEnv {
    /// Reads the process environment (values that are not UTF-8 are converted lossily).
    pub fn from_env() -> OcfEnv {
        OcfEnv::from_vars(std::env::vars_os().map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        }))
    }

    /// Builds the environment from `(name, value)` pairs; later duplicates win.
    pub fn from_vars<I, K, V>(vars: I) -> OcfEnv
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars: BTreeMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let mut params = BTreeMap::new();
        let mut metas = BTreeMap::new();
        for (name, value) in &vars {
            let Some(key) = name.strip_prefix(RESKEY) else {
                continue;
            };
            if let Some(meta) = key.strip_prefix(META) {
                metas.insert(meta.to_owned(), value.clone());
            } else if key != FEATURE_SET && !key.is_empty() {
                params.insert(key.to_owned(), value.clone());
            }
        }
        let notify = Notify::from_metas(&metas);
        OcfEnv {
            vars,
            params,
            metas: Metas { raw: metas },
            notify,
        }
    }

    /// Returns every environment variable, by name.
    pub fn vars(&self) -> &BTreeMap<String, String> {
        &self.vars
    }

    /// Returns any environment variable by its full name.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The resource instance name (`OCF_RESOURCE_INSTANCE`), e.g. `vm1` or `drbd0:1`.
    pub fn resource_instance(&self) -> Option<&str> {
        self.var("OCF_RESOURCE_INSTANCE")
    }

    /// The agent type (`OCF_RESOURCE_TYPE`), e.g. `VirtualDomain`.
    pub fn resource_type(&self) -> Option<&str> {
        self.var("OCF_RESOURCE_TYPE")
    }

    /// The agent provider (`OCF_RESOURCE_PROVIDER`), e.g. `vmmgr`.
    pub fn resource_provider(&self) -> Option<&str> {
        self.var("OCF_RESOURCE_PROVIDER")
    }

    /// The OCF root directory (`OCF_ROOT`).
    pub fn ocf_root(&self) -> Option<&str> {
        self.var("OCF_ROOT")
    }

    /// The OCF API version the caller implements (`OCF_RA_VERSION_MAJOR`/`_MINOR`).
    pub fn ra_version(&self) -> Option<(u32, u32)> {
        let major = self.var("OCF_RA_VERSION_MAJOR")?.trim().parse().ok()?;
        let minor = self.var("OCF_RA_VERSION_MINOR")?.trim().parse().ok()?;
        Some((major, minor))
    }

    /// The check level of `validate-all`/`monitor` (`OCF_CHECK_LEVEL`): 0 when unset or not a
    /// number.
    pub fn check_level(&self) -> u32 {
        self.var("OCF_CHECK_LEVEL")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Whether tracing was requested: `OCF_TRACE_RA` when set, else the `trace_ra` parameter
    /// (`OCF_RESKEY_trace_ra`, which `crm resource trace` sets as an operation attribute), as
    /// resource-agents' `ocf-shellfuncs` reads them; true when it is a true boolean.
    pub fn trace_ra(&self) -> bool {
        self.var("OCF_TRACE_RA")
            .filter(|v| !v.is_empty())
            .or(self.param("trace_ra"))
            .and_then(parse_bool)
            .unwrap_or(false)
    }

    /// The requested output format (`OCF_OUTPUT_FORMAT`, OCF 1.1), e.g. `text` or `xml`.
    pub fn output_format(&self) -> Option<&str> {
        self.var("OCF_OUTPUT_FORMAT")
    }

    /// Pacemaker's CRM feature set (`OCF_RESKEY_crm_feature_set`), e.g. `3.16.2`.
    pub fn crm_feature_set(&self) -> Option<&str> {
        self.var("OCF_RESKEY_crm_feature_set")
    }

    /// Returns the raw value of an instance parameter (`OCF_RESKEY_<name>`). Prefer
    /// [`Params`](super::Params), which applies declared defaults.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// Returns every instance parameter (excluding meta attributes and `crm_feature_set`).
    pub fn params(&self) -> &BTreeMap<String, String> {
        &self.params
    }

    /// Returns the meta and operation attributes.
    pub fn meta(&self) -> &Metas {
        &self.metas
    }

    /// Returns the notification variables (empty unless the action is `notify`).
    pub fn notify(&self) -> &Notify {
        &self.notify
    }

    /// The local node name as Pacemaker passed it (meta `on_node`); the framework never runs
    /// `crm_node -n` itself.
    pub fn local_node(&self) -> Option<&str> {
        self.metas.on_node()
    }

    /// Returns true if `action` is a probe: a monitor (or status) with interval 0 or none.
    pub fn is_probe(&self, action: &Action) -> bool {
        action.is_monitor() && self.metas.interval().is_none_or(|i| i.is_zero())
    }

    /// The operation timeout: the meta `timeout` when set and non-zero, else `default`.
    pub fn op_timeout(&self, default: Duration) -> Duration {
        self.metas
            .timeout()
            .filter(|t| !t.is_zero())
            .unwrap_or(default)
    }

    /// The deadline of an action begun at `start` (see [the deadline rule](super::deadline) for the
    /// rule); `default` is the timeout to assume when Pacemaker gives none.
    pub fn deadline(&self, start: Instant, default: Duration) -> Instant {
        deadline::deadline(start, self.op_timeout(default))
    }

    /// Like [`OcfEnv::deadline`] with the framework's [`FALLBACK_TIMEOUT`] (20 s) as default.
    pub fn deadline_or_fallback(&self, start: Instant) -> Instant {
        self.deadline(start, FALLBACK_TIMEOUT)
    }

    /// Whether debug logging is enabled: `HA_debug` (set by Pacemaker) or `HA_DEBUG` is
    /// non-empty and not `0`, or [`OcfEnv::trace_ra`] is true.
    pub fn debug_enabled(&self) -> bool {
        let on = |name: &str| self.var(name).is_some_and(|v| !v.is_empty() && v != "0");
        on("HA_debug") || on("HA_DEBUG") || self.trace_ra()
    }

    /// The extra log file (`HA_LOGFILE`), when set and non-empty.
    pub fn ha_logfile(&self) -> Option<&str> {
        self.var("HA_LOGFILE").filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
#[path = "env_tests.rs"]
mod tests;
