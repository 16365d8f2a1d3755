//! Parameter declarations ([`ParamSpec`]) shared by the meta-data writer and the parameter
//! reader, plus the OCF boolean rule ([`parse_bool`]).
//!
//! An agent declares its parameters once, usually as a `const` slice:
//!
//! ```
//! use shared::ocf::ParamSpec;
//!
//! const PARAMS: &[ParamSpec] = &[
//!     ParamSpec::string("config")
//!         .required()
//!         .unique_group("config")
//!         .shortdesc("Domain XML file")
//!         .longdesc("Absolute path to the libvirt domain XML."),
//!     ParamSpec::boolean("force_stop")
//!         .default("false")
//!         .shortdesc("Always destroy")
//!         .longdesc("Stop with `virsh destroy` instead of a graceful shutdown."),
//! ];
//! # assert_eq!(PARAMS.len(), 2);
//! ```

/// The value type of a parameter (`<content type="…">`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// `boolean`: read with [`parse_bool`].
    Boolean,
    /// `string`: any text.
    String,
    /// `integer`: a signed decimal integer (`i64`).
    Integer,
    /// `select`: one of the listed values (emitted as `<option value>` children).
    Select(&'static [&'static str]),
}

impl Content {
    /// Returns the OCF `type` attribute value.
    pub const fn type_name(&self) -> &'static str {
        match self {
            Content::Boolean => "boolean",
            Content::String => "string",
            Content::Integer => "integer",
            Content::Select(_) => "select",
        }
    }
}

/// The `<deprecated>` element of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deprecated {
    /// The parameter that replaces this one (`<replaced-with name>`), if any.
    pub replaced_with: Option<&'static str>,
    /// Why the parameter is deprecated (`<desc>`); empty for none.
    pub desc: &'static str,
}

/// The declaration of one instance parameter.
///
/// Built with the `const` builder methods (see the [module docs](self)). The same value drives
/// the meta-data XML ([`AgentMeta::to_xml`](super::AgentMeta::to_xml)) and the reader
/// ([`Params`](super::Params)), so defaults cannot drift between the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamSpec {
    /// The parameter name (`OCF_RESKEY_<name>`).
    pub name: &'static str,
    /// The value type.
    pub content: Content,
    /// The default used when the parameter is unset or empty.
    pub default: Option<&'static str>,
    /// Whether the parameter must be set (`required="1"`).
    pub required: bool,
    /// The OCF 1.1 `unique-group`: the combination of values of all parameters of one group
    /// must be unique across resources of this agent.
    pub unique_group: Option<&'static str>,
    /// Whether `reload-agent` can apply a change of this parameter (`reloadable="1"`).
    pub reloadable: bool,
    /// Set when the parameter is deprecated.
    pub deprecated: Option<Deprecated>,
    /// The one-line description.
    pub shortdesc: &'static str,
    /// The long description.
    pub longdesc: &'static str,
}

impl ParamSpec {
    /// Declares a parameter of the given content type, with no default and empty descriptions.
    pub const fn new(name: &'static str, content: Content) -> Self {
        ParamSpec {
            name,
            content,
            default: None,
            required: false,
            unique_group: None,
            reloadable: false,
            deprecated: None,
            shortdesc: "",
            longdesc: "",
        }
    }

    /// Declares a `string` parameter.
    pub const fn string(name: &'static str) -> Self {
        Self::new(name, Content::String)
    }

    /// Declares a `boolean` parameter.
    pub const fn boolean(name: &'static str) -> Self {
        Self::new(name, Content::Boolean)
    }

    /// Declares an `integer` parameter.
    pub const fn integer(name: &'static str) -> Self {
        Self::new(name, Content::Integer)
    }

    /// Declares a `select` parameter with the given allowed values.
    pub const fn select(name: &'static str, options: &'static [&'static str]) -> Self {
        Self::new(name, Content::Select(options))
    }

    /// Sets the default value (as text, exactly as it appears in the meta-data).
    pub const fn default(mut self, value: &'static str) -> Self {
        self.default = Some(value);
        self
    }

    /// Marks the parameter as required.
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Puts the parameter in a `unique-group`.
    pub const fn unique_group(mut self, group: &'static str) -> Self {
        self.unique_group = Some(group);
        self
    }

    /// Marks the parameter as reloadable by `reload-agent`.
    pub const fn reloadable(mut self) -> Self {
        self.reloadable = true;
        self
    }

    /// Marks the parameter as deprecated with a description and no replacement.
    pub const fn deprecated(mut self, desc: &'static str) -> Self {
        self.deprecated = Some(Deprecated {
            replaced_with: None,
            desc,
        });
        self
    }

    /// Marks the parameter as deprecated in favour of `replacement`.
    ///
    /// When the replacement parameter is unset, [`Params`](super::Params) reads this
    /// parameter's value in its place.
    pub const fn replaced_with(mut self, replacement: &'static str, desc: &'static str) -> Self {
        self.deprecated = Some(Deprecated {
            replaced_with: Some(replacement),
            desc,
        });
        self
    }

    /// Sets the one-line description.
    pub const fn shortdesc(mut self, text: &'static str) -> Self {
        self.shortdesc = text;
        self
    }

    /// Sets the long description.
    pub const fn longdesc(mut self, text: &'static str) -> Self {
        self.longdesc = text;
        self
    }

    /// Checks `value` against the content type, returning the reason on failure.
    ///
    /// The reason names the parameter, e.g. ``parameter 'force_stop' must be a boolean …``.
    pub fn check_value(&self, value: &str) -> Result<(), String> {
        match self.content {
            Content::String => Ok(()),
            Content::Boolean => parse_bool(value)
                .map(|_| ())
                .ok_or_else(|| bool_reason(self.name, value)),
            Content::Integer => parse_int(value)
                .map(|_| ())
                .ok_or_else(|| int_reason(self.name, value)),
            Content::Select(options) => {
                if options.contains(&value) {
                    Ok(())
                } else {
                    Err(select_reason(self.name, options, value))
                }
            }
        }
    }
}

/// Parses a boolean the way Pacemaker does (`crm_str_to_boolean`).
///
/// `true`, `yes`, `on`, `y`, `1` are true and `false`, `no`, `off`, `n`, `0` and the empty
/// string are false, all case-insensitive; anything else is `None` (the caller reports an
/// `OCF_ERR_CONFIGURED` naming the parameter). Unlike shell `ocf_is_true`, typos such as
/// `ture` are errors rather than silently false.
pub fn parse_bool(value: &str) -> Option<bool> {
    const TRUE: [&str; 5] = ["true", "yes", "on", "y", "1"];
    const FALSE: [&str; 5] = ["false", "no", "off", "n", "0"];
    if value.is_empty() {
        return Some(false);
    }
    if TRUE.iter().any(|t| value.eq_ignore_ascii_case(t)) {
        Some(true)
    } else if FALSE.iter().any(|f| value.eq_ignore_ascii_case(f)) {
        Some(false)
    } else {
        None
    }
}

/// Parses an integer parameter value: optional sign and decimal digits, surrounding whitespace
/// ignored.
pub(crate) fn parse_int(value: &str) -> Option<i64> {
    value.trim().parse().ok()
}

pub(crate) fn bool_reason(name: &str, value: &str) -> String {
    format!("parameter '{name}' must be a boolean (true/false, yes/no, on/off, 1/0), got '{value}'")
}

pub(crate) fn int_reason(name: &str, value: &str) -> String {
    format!("parameter '{name}' must be an integer, got '{value}'")
}

pub(crate) fn select_reason(name: &str, options: &[&str], value: &str) -> String {
    format!(
        "parameter '{name}' must be one of {}, got '{value}'",
        options.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bool_true_values() {
        for v in [
            "true", "TRUE", "True", "yes", "YES", "on", "On", "y", "Y", "1",
        ] {
            assert_eq!(parse_bool(v), Some(true), "{v}");
        }
    }

    #[test]
    fn bool_false_values() {
        for v in [
            "false", "FALSE", "no", "No", "off", "OFF", "n", "N", "0", "",
        ] {
            assert_eq!(parse_bool(v), Some(false), "{v}");
        }
    }

    #[test]
    fn bool_invalid_values() {
        for v in ["ture", "2", "yess", " true", "ja", "-1", "enabled"] {
            assert_eq!(parse_bool(v), None, "{v}");
        }
    }

    #[test]
    fn builder_is_const() {
        const P: ParamSpec = ParamSpec::select("mode", &["a", "b"])
            .default("a")
            .required()
            .unique_group("g")
            .reloadable()
            .replaced_with("mode2", "use mode2")
            .shortdesc("s")
            .longdesc("l");
        let p = P;
        assert_eq!(p.name, "mode");
        assert_eq!(P.content, Content::Select(&["a", "b"]));
        assert_eq!(P.default, Some("a"));
        assert!(p.required && p.reloadable);
        assert_eq!(P.unique_group, Some("g"));
        assert_eq!(
            P.deprecated,
            Some(Deprecated {
                replaced_with: Some("mode2"),
                desc: "use mode2"
            })
        );
        assert_eq!((P.shortdesc, P.longdesc), ("s", "l"));
    }

    #[test]
    fn check_value_by_content() {
        assert!(ParamSpec::string("s").check_value("anything").is_ok());
        assert!(ParamSpec::boolean("b").check_value("yes").is_ok());
        let e = ParamSpec::boolean("b").check_value("maybe").unwrap_err();
        assert!(e.contains("'b'") && e.contains("'maybe'"), "{e}");
        assert!(ParamSpec::integer("i").check_value(" -42 ").is_ok());
        let e = ParamSpec::integer("i").check_value("4x").unwrap_err();
        assert!(e.contains("'i'") && e.contains("integer"), "{e}");
        let sel = ParamSpec::select("m", &["a", "b"]);
        assert!(sel.check_value("b").is_ok());
        let e = sel.check_value("c").unwrap_err();
        assert_eq!(e, "parameter 'm' must be one of a, b, got 'c'");
    }
}
