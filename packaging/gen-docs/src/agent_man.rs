//! Section 7 man pages of the OCF agents (`ocf_vmmgr_VirtualDomain.7`, ...), written from the
//! XML the agent binary prints for `meta-data` (the same document Pacemaker, `crm ra info` and
//! `pcs resource describe` read), laid out like Debian's resource-agents pages: NAME, SYNOPSIS,
//! DESCRIPTION, SUPPORTED PARAMETERS, SUPPORTED ACTIONS, EXAMPLE CRM SHELL, EXAMPLE PCS, SEE ALSO.

use std::path::Path;
use std::time::Duration;

use roff::{bold, italic, roman, Inline, Roff};
use shared::cmd::Cmd;
use shared::pacemaker::xml::Element;

/// The OCF provider of every agent of this project.
pub const PROVIDER: &str = "vmmgr";

/// What the man page shows of an agent's meta-data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentDoc {
    pub name: String,
    pub version: String,
    pub shortdesc: String,
    pub longdesc: String,
    pub params: Vec<ParamDoc>,
    pub actions: Vec<ActionDoc>,
}

/// One `<parameter>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamDoc {
    pub name: String,
    pub shortdesc: String,
    pub longdesc: String,
    pub required: bool,
    pub unique_group: Option<String>,
    pub reloadable: bool,
    /// `Some` when deprecated: the parameters that replace it (may be empty) and the reason.
    pub deprecated: Option<(Vec<String>, String)>,
    pub ty: String,
    pub default: Option<String>,
    pub options: Vec<String>,
}

/// One `<action>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionDoc {
    pub name: String,
    pub timeout: String,
    pub interval: Option<String>,
    pub depth: Option<String>,
    pub role: Option<String>,
}

/// Runs `binary meta-data` and returns its standard output.
pub fn meta_data_of(binary: &Path) -> Result<String, String> {
    Cmd::new(binary)
        .arg("meta-data")
        .timeout(Duration::from_secs(10))
        .run_string()
        .map_err(|e| format!("{}: {e}", binary.display()))
}

/// The text of the first child `name` in English (or without a language), trimmed.
fn desc(e: &Element, name: &str) -> String {
    let mut all = e.children_named(name);
    let english = e
        .children_named(name)
        .find(|c| matches!(c.attr("lang"), None | Some("en")));
    english
        .or_else(|| all.next())
        .map(|c| c.text_trimmed().to_owned())
        .unwrap_or_default()
}

fn flag(e: &Element, attr: &str) -> bool {
    matches!(e.attr(attr), Some("1" | "true"))
}

fn param_doc(p: &Element) -> Result<ParamDoc, String> {
    let name = p.attr("name").ok_or("a <parameter> without a name")?;
    let content = p
        .child("content")
        .ok_or_else(|| format!("parameter {name} has no <content>"))?;
    let deprecated = p.child("deprecated").map(|d| {
        let with = d
            .children_named("replaced-with")
            .filter_map(|r| r.attr("name").map(str::to_owned))
            .collect();
        (with, desc(d, "desc"))
    });
    // OCF 1.1 `unique-group`; OCF 1.0's `unique="1"` is a group of one.
    let unique_group = p
        .attr("unique-group")
        .map(str::to_owned)
        .or_else(|| flag(p, "unique").then(|| name.to_owned()));
    Ok(ParamDoc {
        name: name.to_owned(),
        shortdesc: desc(p, "shortdesc"),
        longdesc: desc(p, "longdesc"),
        required: flag(p, "required"),
        unique_group,
        reloadable: flag(p, "reloadable"),
        deprecated,
        ty: content.attr("type").unwrap_or("string").to_owned(),
        default: content.attr("default").map(str::to_owned),
        options: content
            .children_named("option")
            .filter_map(|o| o.attr("value").map(str::to_owned))
            .collect(),
    })
}

impl AgentDoc {
    /// Reads an agent's meta-data document.
    pub fn parse(xml: &str) -> Result<AgentDoc, String> {
        let root = Element::parse(xml, "meta-data").map_err(|e| e.to_string())?;
        if root.name != "resource-agent" {
            return Err(format!(
                "the root element is <{}>, not <resource-agent>",
                root.name
            ));
        }
        let name = root.attr("name").ok_or("<resource-agent> has no name")?;
        let params = root
            .child("parameters")
            .map(|ps| ps.children_named("parameter").map(param_doc).collect())
            .transpose()?
            .unwrap_or_default();
        let actions = root
            .child("actions")
            .map(|a| a.children_named("action").collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .map(|a| ActionDoc {
                name: a.attr("name").unwrap_or_default().to_owned(),
                timeout: a.attr("timeout").unwrap_or_default().to_owned(),
                interval: a.attr("interval").map(str::to_owned),
                depth: a.attr("depth").map(str::to_owned),
                role: a.attr("role").map(str::to_owned),
            })
            .collect();
        Ok(AgentDoc {
            name: name.to_owned(),
            version: root.attr("version").unwrap_or_default().to_owned(),
            shortdesc: desc(&root, "shortdesc"),
            longdesc: desc(&root, "longdesc"),
            params,
            actions,
        })
    }

    /// `ocf_vmmgr_NAME`, the page's name (as in Debian's resource-agents).
    pub fn page_name(&self) -> String {
        format!("ocf_{PROVIDER}_{}", self.name)
    }

    /// `ocf:vmmgr:NAME`.
    pub fn agent_spec(&self) -> String {
        format!("ocf:{PROVIDER}:{}", self.name)
    }

    fn has_action(&self, name: &str) -> bool {
        self.actions.iter().any(|a| a.name == name)
    }

    /// The whole man page, in roff.
    pub fn man_page(&self, date: &str, source: &str) -> String {
        let mut r = Roff::new();
        let page = self.page_name();
        r.control(
            "TH",
            [page.as_str(), "7", date, source, "OCF resource agents"],
        );
        r.control("SH", ["NAME"]);
        r.text([roman(format!("{page} - {}", self.shortdesc))]);

        r.control("SH", ["SYNOPSIS"]);
        let mut names: Vec<&str> = Vec::new();
        for a in &self.actions {
            if !names.contains(&a.name.as_str()) {
                names.push(&a.name);
            }
        }
        r.text([
            bold(format!("/usr/lib/ocf/resource.d/{PROVIDER}/{}", self.name)),
            roman(format!(" [{}]", names.join(" | "))),
        ]);

        r.control("SH", ["DESCRIPTION"]);
        paragraphs(&mut r, &self.longdesc);
        r.control("PP", []);
        r.text([
            roman("Pacemaker runs it as "),
            bold(self.agent_spec()),
            roman(format!(
                "; the parameters below are given as resource parameters (the agent reads them \
                 as OCF_RESKEY_name environment variables). Agent version {}.",
                self.version
            )),
        ]);

        r.control("SH", ["SUPPORTED PARAMETERS"]);
        for p in &self.params {
            self.param(&mut r, p);
        }

        r.control("SH", ["SUPPORTED ACTIONS"]);
        for a in &self.actions {
            r.control("TP", []);
            let mut head = vec![bold(a.name.clone())];
            if let Some(role) = &a.role {
                head.push(roman(format!(" (role {role})")));
            }
            r.text(head);
            let mut line = format!("Suggested minimum timeout: {}.", a.timeout);
            if let Some(i) = &a.interval {
                line.push_str(&format!(" Suggested interval: {i}."));
            }
            if let Some(d) = a.depth.as_deref().filter(|d| *d != "0") {
                line.push_str(&format!(" Depth (OCF_CHECK_LEVEL): {d}."));
            }
            r.text([roman(line)]);
        }

        logging_section(&mut r, &self.name);

        let crm = self.crm_example();
        example_section(
            &mut r,
            "EXAMPLE CRM SHELL",
            "A resource of this agent",
            "crm",
            &crm,
        );
        let pcs = self.pcs_example();
        example_section(&mut r, "EXAMPLE PCS", "The same resource", "pcs", &pcs);

        r.control("SH", ["SEE ALSO"]);
        r.text([roman("vm-mgr(1), crm(8), pcs(8), crm_resource(8)")]);
        r.render()
    }

    fn param(&self, r: &mut Roff, p: &ParamDoc) {
        r.control("TP", []);
        r.text([bold(p.name.clone()), roman(format!(" - {}", p.shortdesc))]);
        paragraphs_in_item(r, &p.longdesc);
        if let Some((with, why)) = &p.deprecated {
            let mut line = vec![bold("Deprecated.")];
            if !with.is_empty() {
                line.push(roman(format!(" Use {} instead.", with.join(", "))));
            }
            if !why.is_empty() {
                line.push(roman(format!(" {why}")));
            }
            r.control("IP", []);
            r.text(line);
        }
        if !p.options.is_empty() {
            r.control("IP", []);
            r.text([roman(format!("One of: {}.", p.options.join(", ")))]);
        }
        let mut facts: Vec<String> = Vec::new();
        if let Some(g) = &p.unique_group {
            facts.push(if *g == p.name {
                "unique".into()
            } else {
                format!("unique group {g}")
            });
        }
        facts.push(if p.required { "required" } else { "optional" }.into());
        if p.reloadable {
            facts.push("reloadable".into());
        }
        facts.push(p.ty.clone());
        let default: Vec<Inline> = match p.default.as_deref() {
            Some(d) if !d.is_empty() => vec![roman("default "), italic(d)],
            Some(_) => vec![roman("default empty")],
            None => vec![roman("no default")],
        };
        r.control("IP", []);
        let mut line = vec![roman(format!("({}, ", facts.join(", ")))];
        line.extend(default);
        line.push(roman(")"));
        r.text(line);
    }

    /// What the shell examples configure: the required parameters, the first monitor of each
    /// role, live migration if the agent supports it, a promotable clone if it can be promoted.
    fn example(&self) -> Example {
        let required = self
            .params
            .iter()
            .filter(|p| p.required)
            .map(|p| format!("{}={}", p.name, p.default.as_deref().unwrap_or(&p.ty)))
            .collect();
        let mut roles_seen: Vec<Option<&str>> = Vec::new();
        let mut monitors = Vec::new();
        for a in self.actions.iter().filter(|a| a.name == "monitor") {
            if roles_seen.contains(&a.role.as_deref()) {
                continue;
            }
            roles_seen.push(a.role.as_deref());
            let mut op = format!("timeout={}", a.timeout);
            if let Some(i) = &a.interval {
                op.push_str(&format!(" interval={i}"));
            }
            if let Some(role) = &a.role {
                op.push_str(&format!(" role={role}"));
            }
            if let Some(d) = a.depth.as_deref().filter(|d| *d != "0") {
                op.push_str(&format!(" OCF_CHECK_LEVEL={d}"));
            }
            monitors.push(op);
        }
        Example {
            id: format!("p_{}", self.name),
            required,
            migrate: self.has_action("migrate_to") && self.has_action("migrate_from"),
            monitors,
            promotable: self
                .has_action("promote")
                .then(|| self.has_action("notify")),
        }
    }

    /// A `crm configure` example: the required parameters, the first monitor of each role, live
    /// migration if the agent supports it, a promotable clone if it can be promoted.
    pub fn crm_example(&self) -> Vec<String> {
        let e = self.example();
        let id = &e.id;
        let mut lines = vec![format!("primitive {id} {} \\", self.agent_spec())];
        if !e.required.is_empty() {
            lines.push(format!("  params {} \\", e.required.join(" ")));
        }
        if e.migrate {
            lines.push("  meta allow-migrate=true \\".into());
        }
        lines.extend(e.monitors.iter().map(|m| format!("  op monitor {m} \\")));
        strip_last_continuation(&mut lines);
        if let Some(notify) = e.promotable {
            let notify = if notify { " notify=true" } else { "" };
            lines.push(format!(
                "clone c_{} {id} meta promotable=true{notify}",
                self.name
            ));
        }
        lines
    }

    /// The same resource created with `pcs`(8), RHEL's cluster shell.
    pub fn pcs_example(&self) -> Vec<String> {
        let e = self.example();
        let mut lines = vec![format!(
            "pcs resource create {} {} \\",
            e.id,
            self.agent_spec()
        )];
        if !e.required.is_empty() {
            lines.push(format!("  {} \\", e.required.join(" ")));
        }
        for (i, m) in e.monitors.iter().enumerate() {
            let keyword = if i == 0 { "op " } else { "" };
            lines.push(format!("  {keyword}monitor {m} \\"));
        }
        if e.migrate {
            lines.push("  meta allow-migrate=true \\".into());
        }
        if let Some(notify) = e.promotable {
            let notify = if notify { " notify=true" } else { "" };
            lines.push(format!("  promotable{notify}"));
        }
        strip_last_continuation(&mut lines);
        lines
    }
}

/// Splits text at blank lines into paragraphs, each with its lines joined.
pub fn split_paragraphs(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            if !current.is_empty() {
                out.push(current.join(" "));
                current.clear();
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        out.push(current.join(" "));
    }
    out
}

/// Logging and tracing, the same for every agent (`shared::ocf::log`, `syslog`, `trace`).
fn logging_section(r: &mut Roff, agent: &str) {
    r.control("SH", ["LOGGING AND TRACING"]);
    paragraphs(
        r,
        &format!(
            "As resource-agents' ocf_log: when HA_LOGFACILITY names a syslog facility \
             (Pacemaker sets it from PCMK_logfacility, daemon by default), every line goes to \
             syslog (/dev/log) tagged {agent}(INSTANCE)[PID], with the priority of its level \
             (err, warning, notice, info, debug); lines are also appended to HA_LOGFILE (and \
             HA_DEBUGLOG), and go to stderr only when neither syslog nor a log file takes \
             them, when syslog refuses them, or when the agent is run by hand (stdin a \
             terminal). Debug lines are written only with HA_debug=1 (or while tracing). The \
             exit reason goes to stderr as an ocf-exit-reason: line and to syslog at err.\n\n\
             crm resource trace RSC [OP] [DIR] sets the operation attribute trace_ra=1 (and \
             trace_dir=DIR); the traced action then writes \
             DIR/{agent}/INSTANCE.ACTION.YYYY-MM-DD.HH:MM:SS (DIR defaults to \
             /var/lib/heartbeat/trace_ra): the OCF_*, HA_* and PCMK_* environment, every \
             external command with its argv, exit status, duration and stderr tail, every \
             libvirt call, the log lines and the result. OCF_TRACE_RA and OCF_TRACE_FILE (an \
             absolute path or a descriptor 3-9) work as for shell agents. crm resource \
             untrace RSC ends it."
        ),
    );
}

fn paragraphs(r: &mut Roff, text: &str) {
    for p in split_paragraphs(text) {
        r.control("PP", []);
        r.text([roman(p)]);
    }
}

/// Paragraphs inside a `.TP` item: the first continues the item, the others are `.IP`.
fn paragraphs_in_item(r: &mut Roff, text: &str) {
    for (i, p) in split_paragraphs(text).into_iter().enumerate() {
        if i > 0 {
            r.control("IP", []);
        }
        r.text([roman(p)]);
    }
}

/// What the shell examples of an agent's page configure ([`AgentDoc::crm_example`],
/// [`AgentDoc::pcs_example`]).
struct Example {
    /// The resource id, `p_AGENT`.
    id: String,
    /// `name=value` of each required parameter (its default, else its type).
    required: Vec<String>,
    /// The agent supports live migration (`allow-migrate=true`).
    migrate: bool,
    /// The options of the first monitor of each role (`timeout=… interval=… role=…`).
    monitors: Vec<String>,
    /// A promotable clone, with `notify=true` if the agent has notify.
    promotable: Option<bool>,
}

/// A section `title`: "`what`, configured with **`shell`**(8):" and the example `lines`,
/// unfilled and indented.
fn example_section(r: &mut Roff, title: &str, what: &str, shell: &str, lines: &[String]) {
    r.control("SH", [title]);
    r.text([
        roman(format!("{what}, configured with ")),
        bold(shell),
        roman("(8):"),
    ]);
    r.control("PP", []);
    r.control("nf", []);
    r.control("RS", ["4"]);
    for line in lines {
        r.text([roman(line.as_str())]);
    }
    r.control("RE", []);
    r.control("fi", []);
}

/// Removes the trailing ` \` continuation of the last line.
fn strip_last_continuation(lines: &mut [String]) {
    if let Some(last) = lines.last_mut() {
        last.truncate(last.trim_end_matches(" \\").len());
    }
}

#[cfg(test)]
#[path = "agent_man_tests.rs"]
mod tests;
