//! The agent description ([`AgentMeta`]) and its OCF 1.1 meta-data XML.
//!
//! The XML follows ClusterLabs/OCF-spec `ra/1.1/ra-api.rng` (copy in
//! `tests/fixtures/schemas/ocf-ra-api-1.1.rng`) and is also accepted by pcs's relaxed
//! `/usr/share/pcs/data/ocf-1.1.rng`. Choices:
//!
//! - the document carries the OCF 1.1 grammar as an internal DTD subset ([`OCF_1_1_DTD`]).
//!   `ocf-tester` checks meta-data with `xmllint --valid`, that is against the DTD the document
//!   names; the only DTD Debian ships, resource-agents' `ra-api-1.dtd`, describes OCF 1.0 and
//!   rejects 1.1 features (`reload-agent`, `reloadable`, `unique-group`, `select`). The internal
//!   subset is a transcription of the official 1.1 RelaxNG schema, and the tests validate the
//!   same documents against that schema and pcs's, so the two cannot disagree unnoticed;
//! - `<version>` is the OCF version claimed ([`OCF_VERSION`]), the `version` attribute is the
//!   agent's own version; Pacemaker only uses `reload-agent` when the claim is 1.1 or later;
//! - action roles are written `Promoted`/`Unpromoted`, the spelling of Pacemaker's own
//!   `ocf:pacemaker:Stateful` and of the CIB role values (resource-agents' `metadata.rng` only
//!   accepts these; the OCF 1.1 schema accepts any text);
//! - timeouts, intervals and start delays are whole seconds written with an `s` suffix.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Duration;

use quick_xml::escape::escape;

use super::action::Action;
use super::spec::{Content, ParamSpec};

/// The OCF API version the generated meta-data claims.
pub const OCF_VERSION: &str = "1.1";

/// The OCF 1.1 meta-data grammar as a DTD internal subset: a transcription of ClusterLabs/OCF-spec
/// `ra/1.1/ra-api.rng`, so that DTD validation (`xmllint --valid`, as run by `ocf-tester`) checks
/// the document against OCF 1.1 instead of failing for want of a DTD.
pub const OCF_1_1_DTD: &str = r#"<!DOCTYPE resource-agent [
<!ELEMENT resource-agent (version, longdesc*, shortdesc*, parameters, actions, special?)>
<!ATTLIST resource-agent name CDATA #REQUIRED version CDATA #IMPLIED>
<!ELEMENT version (#PCDATA)>
<!ELEMENT longdesc ANY>
<!ATTLIST longdesc lang CDATA #REQUIRED>
<!ELEMENT shortdesc ANY>
<!ATTLIST shortdesc lang CDATA #REQUIRED>
<!ELEMENT parameters (parameter+)>
<!ELEMENT parameter (deprecated?, longdesc+, shortdesc+, content)>
<!ATTLIST parameter name CDATA #REQUIRED unique-group CDATA #IMPLIED unique (0|1) #IMPLIED
  required (0|1) #IMPLIED reloadable (0|1) #IMPLIED>
<!ELEMENT deprecated (replaced-with | desc)*>
<!ELEMENT replaced-with EMPTY>
<!ATTLIST replaced-with name CDATA #REQUIRED>
<!ELEMENT desc ANY>
<!ATTLIST desc lang CDATA #REQUIRED>
<!ELEMENT content (option*)>
<!ATTLIST content type (boolean|string|integer|select) #REQUIRED default CDATA #IMPLIED>
<!ELEMENT option EMPTY>
<!ATTLIST option value CDATA #REQUIRED>
<!ELEMENT actions (action+)>
<!ELEMENT action EMPTY>
<!ATTLIST action name CDATA #REQUIRED timeout CDATA #REQUIRED interval CDATA #IMPLIED
  start-delay CDATA #IMPLIED depth CDATA #IMPLIED role CDATA #IMPLIED>
<!ELEMENT special ANY>
<!ATTLIST special tag CDATA #REQUIRED>
]>"#;

/// The role hint of an action (`role` attribute), for promotable clones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The promoted role (`Promoted`, formerly `Master`).
    Promoted,
    /// The unpromoted role (`Unpromoted`, formerly `Slave`).
    Unpromoted,
}

impl Role {
    /// Returns the attribute value (`Promoted` or `Unpromoted`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Promoted => "Promoted",
            Role::Unpromoted => "Unpromoted",
        }
    }
}

/// One advertised action (`<action>`), with Pacemaker's default operation settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionSpec {
    /// The action name, e.g. `start` or `reload-agent`.
    pub name: &'static str,
    /// The suggested timeout, in seconds.
    pub timeout: u32,
    /// The suggested interval of a recurring operation, in seconds.
    pub interval: Option<u32>,
    /// The monitor depth (`OCF_CHECK_LEVEL`).
    pub depth: Option<u32>,
    /// The role the operation applies to.
    pub role: Option<Role>,
    /// The suggested start delay, in seconds.
    pub start_delay: Option<u32>,
}

impl ActionSpec {
    /// Declares an action with its timeout in seconds.
    pub const fn new(name: &'static str, timeout_secs: u32) -> Self {
        ActionSpec {
            name,
            timeout: timeout_secs,
            interval: None,
            depth: None,
            role: None,
            start_delay: None,
        }
    }

    /// Sets the interval in seconds.
    pub const fn interval(mut self, secs: u32) -> Self {
        self.interval = Some(secs);
        self
    }

    /// Sets the depth (check level).
    pub const fn depth(mut self, depth: u32) -> Self {
        self.depth = Some(depth);
        self
    }

    /// Sets the role.
    pub const fn role(mut self, role: Role) -> Self {
        self.role = Some(role);
        self
    }

    /// Sets the start delay in seconds.
    pub const fn start_delay(mut self, secs: u32) -> Self {
        self.start_delay = Some(secs);
        self
    }

    /// Returns the parsed action.
    pub fn action(&self) -> Action {
        Action::parse(self.name)
    }
}

/// Everything an agent says about itself: the source of `meta-data` and of parameter reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentMeta {
    /// The agent (resource type) name, e.g. `VirtualDomain`.
    pub name: &'static str,
    /// The agent's own version, e.g. `env!("CARGO_PKG_VERSION")`.
    pub version: &'static str,
    /// The one-line description.
    pub shortdesc: &'static str,
    /// The long description.
    pub longdesc: &'static str,
    /// The instance parameters (the official schema requires at least one).
    pub params: Vec<ParamSpec>,
    /// The advertised actions.
    pub actions: Vec<ActionSpec>,
}

fn push_attr(out: &mut String, name: &str, value: &str) {
    let _ = write!(out, " {name}=\"{}\"", escape(value));
}

fn push_desc(out: &mut String, indent: &str, tag: &str, text: &str) {
    let _ = writeln!(out, "{indent}<{tag} lang=\"en\">{}</{tag}>", escape(text));
}

fn secs(value: u32) -> String {
    format!("{value}s")
}

impl AgentMeta {
    /// Renders the OCF 1.1 meta-data document.
    pub fn to_xml(&self) -> String {
        let mut out = format!("<?xml version=\"1.0\"?>\n{OCF_1_1_DTD}\n<resource-agent");
        push_attr(&mut out, "name", self.name);
        push_attr(&mut out, "version", self.version);
        out.push_str(">\n");
        let _ = writeln!(out, "  <version>{OCF_VERSION}</version>");
        push_desc(&mut out, "  ", "longdesc", self.longdesc);
        push_desc(&mut out, "  ", "shortdesc", self.shortdesc);
        out.push_str("  <parameters>\n");
        for p in &self.params {
            write_param(&mut out, p);
        }
        out.push_str("  </parameters>\n  <actions>\n");
        for a in &self.actions {
            out.push_str("    <action");
            push_attr(&mut out, "name", a.name);
            push_attr(&mut out, "timeout", &secs(a.timeout));
            if let Some(i) = a.interval {
                push_attr(&mut out, "interval", &secs(i));
            }
            if let Some(d) = a.start_delay {
                push_attr(&mut out, "start-delay", &secs(d));
            }
            if let Some(d) = a.depth {
                push_attr(&mut out, "depth", &d.to_string());
            }
            if let Some(r) = a.role {
                push_attr(&mut out, "role", r.as_str());
            }
            out.push_str("/>\n");
        }
        out.push_str("  </actions>\n</resource-agent>\n");
        out
    }

    /// Returns true if `action` is advertised. `status` is also accepted when only `monitor`
    /// is advertised; `meta-data` and `usage` are always available.
    pub fn advertises(&self, action: &Action) -> bool {
        match action {
            Action::MetaData | Action::Usage => true,
            Action::Unknown(_) => false,
            Action::Status => self.has("status") || self.has("monitor"),
            other => self.has(other.as_str()),
        }
    }

    fn has(&self, name: &str) -> bool {
        self.actions.iter().any(|a| a.name == name)
    }

    /// Returns the advertised timeout of `action`. For a monitor, the entry whose interval
    /// equals `interval` is preferred, then the first monitor entry (`status` falls back to
    /// `monitor`).
    pub fn action_timeout(&self, action: &Action, interval: Option<Duration>) -> Option<Duration> {
        let find = |name: &str| {
            let mut matching = self.actions.iter().filter(|a| a.name == name);
            let first = matching.clone().next();
            matching
                .find(|a| {
                    interval.is_some_and(|i| {
                        u64::from(a.interval.unwrap_or(0)) * 1000 == i.as_millis() as u64
                    })
                })
                .or(first)
                .map(|a| Duration::from_secs(u64::from(a.timeout)))
        };
        match action {
            Action::Status => find("status").or_else(|| find("monitor")),
            other => find(other.as_str()),
        }
    }

    /// Checks the description for mistakes the schemas do not catch (or that make it invalid),
    /// returning one message per problem; agents assert that the list is empty in a test.
    pub fn lint(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut texts = vec![
            ("agent name", self.name),
            ("agent version", self.version),
            ("agent shortdesc", self.shortdesc),
            ("agent longdesc", self.longdesc),
        ];
        if self.params.is_empty() {
            problems.push("the OCF 1.1 schema requires at least one parameter".to_owned());
        }
        let mut names = BTreeSet::new();
        for p in &self.params {
            lint_param(self, p, &mut problems);
            if !names.insert(p.name) {
                problems.push(format!("parameter '{}' is declared twice", p.name));
            }
            texts.push(("parameter shortdesc", p.shortdesc));
            texts.push(("parameter longdesc", p.longdesc));
        }
        let mut seen = BTreeSet::new();
        for a in &self.actions {
            if matches!(a.action(), Action::Unknown(_) | Action::Usage) {
                problems.push(format!("action '{}' is not an OCF action", a.name));
            }
            if a.timeout == 0 {
                problems.push(format!("action '{}' has a zero timeout", a.name));
            }
            if !seen.insert((a.name, a.interval.unwrap_or(0), a.role, a.depth)) {
                problems.push(format!(
                    "action '{}' is advertised twice with the same interval",
                    a.name
                ));
            }
        }
        for required in ["start", "stop", "monitor", "meta-data"] {
            if !self.has(required) {
                problems.push(format!("required action '{required}' is not advertised"));
            }
        }
        for (a, b) in [("promote", "demote"), ("migrate_to", "migrate_from")] {
            if self.has(a) != self.has(b) {
                problems.push(format!(
                    "actions '{a}' and '{b}' must be advertised together"
                ));
            }
        }
        if self.actions.iter().any(|a| a.role.is_some()) && !self.has("promote") {
            problems.push("an action has a role but 'promote' is not advertised".to_owned());
        }
        for (what, text) in texts {
            if text.trim().is_empty() {
                problems.push(format!("{what} is empty"));
            }
            if text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
            {
                problems.push(format!("{what} contains a control character"));
            }
        }
        problems
    }
}

fn write_param(out: &mut String, p: &ParamSpec) {
    out.push_str("    <parameter");
    push_attr(out, "name", p.name);
    if let Some(group) = p.unique_group {
        push_attr(out, "unique-group", group);
    }
    if p.required {
        push_attr(out, "required", "1");
    }
    if p.reloadable {
        push_attr(out, "reloadable", "1");
    }
    out.push_str(">\n");
    if let Some(d) = p.deprecated {
        out.push_str("      <deprecated>\n");
        if let Some(new) = d.replaced_with {
            out.push_str("        <replaced-with");
            push_attr(out, "name", new);
            out.push_str("/>\n");
        }
        if !d.desc.is_empty() {
            push_desc(out, "        ", "desc", d.desc);
        }
        out.push_str("      </deprecated>\n");
    }
    push_desc(out, "      ", "longdesc", p.longdesc);
    push_desc(out, "      ", "shortdesc", p.shortdesc);
    out.push_str("      <content");
    push_attr(out, "type", p.content.type_name());
    if let Some(default) = p.default {
        push_attr(out, "default", default);
    }
    match p.content {
        Content::Select(options) => {
            out.push_str(">\n");
            for o in options {
                out.push_str("        <option");
                push_attr(out, "value", o);
                out.push_str("/>\n");
            }
            out.push_str("      </content>\n");
        }
        _ => out.push_str("/>\n"),
    }
    out.push_str("    </parameter>\n");
}

fn lint_param(meta: &AgentMeta, p: &ParamSpec, problems: &mut Vec<String>) {
    let name = p.name;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        problems.push(format!(
            "parameter name '{name}' is not usable in an environment variable"
        ));
    }
    if let Content::Select(options) = p.content {
        if options.is_empty() {
            problems.push(format!("select parameter '{name}' has no options"));
        }
    }
    if let Some(default) = p.default {
        if let Err(reason) = p.check_value(default) {
            problems.push(format!("default: {reason}"));
        }
        if p.required {
            problems.push(format!("parameter '{name}' is required but has a default"));
        }
    }
    if let Some(new) = p.deprecated.and_then(|d| d.replaced_with) {
        match meta.params.iter().find(|q| q.name == new) {
            None => problems.push(format!(
                "parameter '{name}' is replaced with undeclared '{new}'"
            )),
            Some(q) if q.deprecated.is_some() => problems.push(format!(
                "parameter '{name}' is replaced with deprecated '{new}'"
            )),
            Some(_) => {}
        }
    }
    if p.reloadable && !meta.has("reload-agent") {
        problems.push(format!(
            "parameter '{name}' is reloadable but 'reload-agent' is not advertised"
        ));
    }
}

#[cfg(test)]
#[path = "meta_tests.rs"]
mod tests;
