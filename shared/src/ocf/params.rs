//! Typed reading of instance parameters against their declarations ([`Params`]).
//!
//! # Rules
//!
//! - A parameter that is unset **or set to the empty string** reads as unset: its declared
//!   default applies, and a required parameter counts as missing.
//! - A deprecated parameter declared with
//!   [`ParamSpec::replaced_with`](super::ParamSpec::replaced_with) stands in for its
//!   replacement when the replacement is unset.
//! - Reading a boolean that is unset and has no default gives `false` (like `ocf_is_true ""`).
//! - Asking for a name that is not declared is a programming error: it panics in debug builds
//!   (so tests catch it) and returns an `OCF_ERR_GENERIC` error, or `None`, in release builds.
//! - Syntax errors are `OCF_ERR_CONFIGURED` (6) with a reason naming the parameter. Reading
//!   does not check `required`; [`Params::validate_syntax`] does, and the agent decides when
//!   to call it (a stop usually should not fail only because the configuration is broken).

use std::collections::BTreeMap;

use super::env::OcfEnv;
use super::error::OcfError;
use super::spec::{
    bool_reason, int_reason, parse_bool, parse_int, select_reason, Content, ParamSpec,
};

/// The instance parameters of one invocation, read through their [`ParamSpec`]s.
#[derive(Debug, Clone, Default)]
pub struct Params {
    specs: Vec<ParamSpec>,
    values: BTreeMap<String, String>,
}

impl Params {
    /// Builds the view from the declarations and the environment's `OCF_RESKEY_*` values.
    pub fn new(specs: &[ParamSpec], env: &OcfEnv) -> Params {
        Params {
            specs: specs.to_vec(),
            values: env.params().clone(),
        }
    }

    /// Returns the declarations.
    pub fn specs(&self) -> &[ParamSpec] {
        &self.specs
    }

    /// Returns the declaration of `name`, if declared.
    pub fn spec(&self, name: &str) -> Option<&ParamSpec> {
        self.specs.iter().find(|s| s.name == name)
    }

    fn declared(&self, name: &str) -> Result<&ParamSpec, OcfError> {
        match self.spec(name) {
            Some(spec) => Ok(spec),
            None => {
                debug_assert!(
                    false,
                    "parameter '{name}' is not declared in the agent's specs"
                );
                Err(OcfError::generic(format!(
                    "internal error: parameter '{name}' is not declared"
                )))
            }
        }
    }

    fn check_content(spec: &ParamSpec, wanted: &str) {
        debug_assert!(
            spec.content.type_name() == wanted,
            "parameter '{}' is declared as {}, read as {wanted}",
            spec.name,
            spec.content.type_name()
        );
    }

    fn own_value(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Returns the value the user set for `name` (non-empty), or the value of a deprecated
    /// parameter replaced by `name`; never the default.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.declared(name).ok()?;
        self.own_value(name).or_else(|| {
            self.specs
                .iter()
                .filter(|s| s.deprecated.and_then(|d| d.replaced_with) == Some(name))
                .find_map(|s| self.own_value(s.name))
        })
    }

    /// Returns true if the user set `name` (see [`Params::raw`]).
    pub fn is_set(&self, name: &str) -> bool {
        self.raw(name).is_some()
    }

    /// Returns the value of `name` as text: the user's value, else the declared default.
    pub fn str(&self, name: &str) -> Option<&str> {
        let spec = self.declared(name).ok()?;
        self.raw(name).or(spec.default)
    }

    /// Returns the value of a required parameter, or an `OCF_ERR_CONFIGURED` error if it is
    /// unset and has no default.
    pub fn required_str(&self, name: &str) -> Result<&str, OcfError> {
        self.declared(name)?;
        self.str(name)
            .ok_or_else(|| OcfError::configured(format!("required parameter '{name}' is not set")))
    }

    /// Reads a `boolean` parameter; unset with no default is `false`.
    pub fn bool(&self, name: &str) -> Result<bool, OcfError> {
        let spec = self.declared(name)?;
        Self::check_content(spec, "boolean");
        match self.str(name) {
            None => Ok(false),
            Some(v) => parse_bool(v).ok_or_else(|| OcfError::configured(bool_reason(name, v))),
        }
    }

    /// Reads an `integer` parameter; `None` when unset with no default.
    pub fn int(&self, name: &str) -> Result<Option<i64>, OcfError> {
        let spec = self.declared(name)?;
        Self::check_content(spec, "integer");
        self.str(name)
            .map(|v| parse_int(v).ok_or_else(|| OcfError::configured(int_reason(name, v))))
            .transpose()
    }

    /// Reads a `select` parameter; `None` when unset with no default.
    pub fn select(&self, name: &str) -> Result<Option<&str>, OcfError> {
        let spec = self.declared(name)?;
        Self::check_content(spec, "select");
        let Some(value) = self.str(name) else {
            return Ok(None);
        };
        match spec.content {
            Content::Select(options) if !options.contains(&value) => {
                Err(OcfError::configured(select_reason(name, options, value)))
            }
            _ => Ok(Some(value)),
        }
    }

    /// Checks every declared parameter: required ones are set, and booleans, integers and
    /// selects parse. All problems are reported in one `OCF_ERR_CONFIGURED` error, joined
    /// with `"; "`.
    pub fn validate_syntax(&self) -> Result<(), OcfError> {
        let mut problems = Vec::new();
        for spec in &self.specs {
            match self.str(spec.name) {
                None if spec.required => {
                    problems.push(format!("required parameter '{}' is not set", spec.name));
                }
                None => {}
                Some(value) => {
                    if let Err(reason) = spec.check_value(value) {
                        problems.push(reason);
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(OcfError::configured(problems.join("; ")))
        }
    }

    /// Returns the names of parameters set in the environment but not declared (typos in the
    /// resource configuration, worth a warning).
    pub fn unknown(&self) -> Vec<&str> {
        self.values
            .keys()
            .map(String::as_str)
            .filter(|name| self.spec(name).is_none())
            .collect()
    }

    /// Returns the declarations of deprecated parameters the user set (worth a warning).
    pub fn deprecated_in_use(&self) -> Vec<&ParamSpec> {
        self.specs
            .iter()
            .filter(|s| s.deprecated.is_some() && self.own_value(s.name).is_some())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocf::OcfRc;

    const SPECS: &[ParamSpec] = &[
        ParamSpec::string("config").required(),
        ParamSpec::string("pool").default("rbd"),
        ParamSpec::string("user"),
        ParamSpec::boolean("force_stop").default("false"),
        ParamSpec::boolean("flag"),
        ParamSpec::integer("speed").default("0"),
        ParamSpec::integer("downtime"),
        ParamSpec::select("mode", &["acpi", "agent", "initctl"]).default("acpi"),
        ParamSpec::select("other", &["a", "b"]),
        ParamSpec::string("migration_user"),
        ParamSpec::string("old_user").replaced_with("migration_user", "renamed"),
    ];

    fn params(pairs: &[(&str, &str)]) -> Params {
        let env = OcfEnv::from_vars(
            pairs
                .iter()
                .map(|(k, v)| (format!("OCF_RESKEY_{k}"), (*v).to_owned())),
        );
        Params::new(SPECS, &env)
    }

    #[test]
    fn defaults_apply_when_unset_or_empty() {
        let p = params(&[("pool", "")]);
        assert_eq!(p.str("pool"), Some("rbd"));
        assert!(!p.is_set("pool"));
        assert_eq!(p.str("user"), None);
        assert_eq!(p.bool("force_stop"), Ok(false));
        assert_eq!(p.bool("flag"), Ok(false));
        assert_eq!(p.int("speed"), Ok(Some(0)));
        assert_eq!(p.int("downtime"), Ok(None));
        assert_eq!(p.select("mode"), Ok(Some("acpi")));
        assert_eq!(p.select("other"), Ok(None));
    }

    #[test]
    fn values_are_typed() {
        let p = params(&[
            ("config", "/etc/vm.xml"),
            ("pool", "vms"),
            ("force_stop", "YES"),
            ("speed", " 250 "),
            ("mode", "agent"),
        ]);
        assert_eq!(p.str("config"), Some("/etc/vm.xml"));
        assert_eq!(p.required_str("config"), Ok("/etc/vm.xml"));
        assert_eq!(p.str("pool"), Some("vms"));
        assert_eq!(p.bool("force_stop"), Ok(true));
        assert_eq!(p.int("speed"), Ok(Some(250)));
        assert_eq!(p.select("mode"), Ok(Some("agent")));
        assert_eq!(p.validate_syntax(), Ok(()));
    }

    #[test]
    fn bad_values_are_configuration_errors() {
        let p = params(&[
            ("force_stop", "maybe"),
            ("speed", "fast"),
            ("mode", "reboot"),
        ]);
        let e = p.bool("force_stop").unwrap_err();
        assert_eq!(e.rc, OcfRc::ErrConfigured);
        assert!(e.reason.contains("'force_stop'"), "{e}");
        let e = p.int("speed").unwrap_err();
        assert_eq!(e.rc, OcfRc::ErrConfigured);
        assert!(e.reason.contains("'speed'"), "{e}");
        let e = p.select("mode").unwrap_err();
        assert_eq!(
            e.reason,
            "parameter 'mode' must be one of acpi, agent, initctl, got 'reboot'"
        );
    }

    #[test]
    fn validate_syntax_reports_everything() {
        let p = params(&[("force_stop", "maybe"), ("speed", "fast")]);
        let e = p.validate_syntax().unwrap_err();
        assert_eq!(e.rc, OcfRc::ErrConfigured);
        assert!(
            e.reason.contains("required parameter 'config' is not set"),
            "{e}"
        );
        assert!(e.reason.contains("'force_stop'"), "{e}");
        assert!(e.reason.contains("'speed'"), "{e}");
        assert_eq!(e.reason.matches("; ").count(), 2, "{e}");
        let missing = params(&[]).required_str("config").unwrap_err();
        assert_eq!(missing.rc, OcfRc::ErrConfigured);
        assert!(params(&[("config", "")]).validate_syntax().is_err());
    }

    #[test]
    fn deprecated_name_stands_in_for_replacement() {
        let p = params(&[("old_user", "alice")]);
        assert_eq!(p.str("migration_user"), Some("alice"));
        assert!(p.is_set("migration_user"));
        assert_eq!(
            p.deprecated_in_use()
                .iter()
                .map(|s| s.name)
                .collect::<Vec<_>>(),
            ["old_user"]
        );
        let both = params(&[("old_user", "alice"), ("migration_user", "bob")]);
        assert_eq!(both.str("migration_user"), Some("bob"));
    }

    #[test]
    fn unknown_parameters_are_listed() {
        let p = params(&[("config", "x"), ("confg", "y")]);
        assert_eq!(p.unknown(), ["confg"]);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "not declared")]
    fn undeclared_name_panics_in_debug() {
        let _ = params(&[]).str("nope");
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "declared as string, read as boolean")]
    fn wrong_type_panics_in_debug() {
        let _ = params(&[]).bool("pool");
    }
}
