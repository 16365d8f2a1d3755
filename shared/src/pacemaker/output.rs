//! Pure interpreters of what the Pacemaker tools print and return, one per kind of call.
//!
//! Each takes an [`Outcome`] (command line, exit code, stdout, stderr) and never runs
//! anything, so the recorded fixtures test them directly. The exit codes and texts they rely on
//! were recorded from Pacemaker 2.1.5 (see tests/fixtures/pacemaker/README.md).

use super::cib::Cib;
use super::error::{exit_text, PacemakerError, EXIT_NOSUCH, EXIT_OLD, EXIT_QUORUM};
use super::status::ClusterStatus;
use crate::xml::Element;

/// What a finished tool produced, borrowed for interpretation.
#[derive(Debug, Clone, Copy)]
pub struct Outcome<'a> {
    /// The command line, for messages.
    pub cmdline: &'a str,
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: &'a str,
    /// Standard error.
    pub stderr: &'a str,
}

/// The `<status code message><errors><error>` element of a `pacemaker-result` document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolStatus {
    /// Status code (the tool's exit code).
    pub code: i32,
    /// Short text ("OK", "No such object", "Not connected").
    pub message: String,
    /// The `<error>` lines.
    pub errors: Vec<String>,
}

impl ToolStatus {
    /// The failure as an error.
    pub fn into_error(self, cmdline: &str) -> PacemakerError {
        PacemakerError::ToolFailed {
            cmdline: cmdline.to_string(),
            code: self.code,
            message: self.message,
            errors: error_lines(self.errors.iter().map(String::as_str)),
        }
    }

    fn mentions(&self, needle: &str) -> bool {
        self.errors.iter().any(|e| e.contains(needle))
    }
}

/// Reads the `<status>` child of a `pacemaker-result` root (`None` if there is none, or its
/// code is not a number).
pub fn tool_status(root: &Element) -> Option<ToolStatus> {
    let status = root.child("status")?;
    Some(ToolStatus {
        code: status.attr("code")?.trim().parse().ok()?,
        message: status.attr("message").unwrap_or_default().to_string(),
        errors: status
            .child("errors")
            .map(|errors| {
                errors
                    .children_named("error")
                    .map(|e| e.text_trimmed().to_string())
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// Parses a `--output-as=xml` answer into its root and status, falling back to the exit code
/// and stderr when the tool printed no XML (it failed before producing any).
fn xml_result(out: &Outcome<'_>, what: &str) -> Result<(Element, ToolStatus), PacemakerError> {
    let code = out.code.unwrap_or(-1);
    let root = match Element::parse(out.stdout, what) {
        Ok(root) => root,
        Err(_) if code != 0 => return Err(plain_failure(out)),
        Err(e) => return Err(e.into()),
    };
    let status = tool_status(&root).unwrap_or_else(|| ToolStatus {
        code,
        message: String::new(),
        errors: Vec::new(),
    });
    Ok((root, status))
}

/// A failure without structured output: the exit code and the stderr lines.
pub fn plain_failure(out: &Outcome<'_>) -> PacemakerError {
    PacemakerError::ToolFailed {
        cmdline: out.cmdline.to_string(),
        code: out.code.unwrap_or(-1),
        message: match out.code {
            Some(code) => exit_text(code).unwrap_or("unknown exit code").to_string(),
            None => "killed by a signal".to_string(),
        },
        errors: error_lines(out.stderr.lines()),
    }
}

/// At most this many lines of a tool's error output go into an error message (the last ones).
pub const MAX_ERROR_LINES: usize = 8;
/// Longest line kept whole in an error message (longer ones are cut, marked with `…`).
pub const MAX_ERROR_LINE: usize = 240;

/// The lines of a tool's error output worth a message: no XML, no blank lines, the last
/// [`MAX_ERROR_LINES`], each at most [`MAX_ERROR_LINE`] bytes. `cibadmin` on a CIB that fails
/// the schema prints the whole CIB, one numbered line per XML line, before its one-line
/// reason (a 56 KB message otherwise); those lines are counted, not kept.
pub fn error_lines<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut xml = 0usize;
    let mut kept: Vec<&str> = Vec::new();
    for line in lines.map(str::trim).filter(|l| !l.is_empty()) {
        // "  12 <nvpair .../>" or "138" (the numbered dump's last, empty line) or "<cib ...>"
        let unnumbered = line
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .trim_start();
        if unnumbered.is_empty() || unnumbered.starts_with('<') {
            xml += 1;
        } else {
            kept.push(line);
        }
    }
    let skipped = kept.len().saturating_sub(MAX_ERROR_LINES);
    let mut out: Vec<String> = Vec::new();
    if xml > 0 {
        out.push(format!("({xml} lines of XML left out)"));
    }
    if skipped > 0 {
        out.push(format!("({skipped} earlier lines left out)"));
    }
    out.extend(kept[skipped..].iter().map(|l| cut(l, MAX_ERROR_LINE)));
    out
}

/// `line`, cut to at most `max` bytes at a character boundary (with `…` when cut).
fn cut(line: &str, max: usize) -> String {
    if line.len() <= max {
        return line.to_owned();
    }
    let mut end = max;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &line[..end])
}

/// `crm_mon --output-as=xml`: the status, or the failure it reports (exit 102 and
/// "Not connected" when the cluster is not running here).
pub fn crm_mon(out: &Outcome<'_>) -> Result<ClusterStatus, PacemakerError> {
    match ClusterStatus::parse(out.stdout) {
        Err(PacemakerError::Parse { .. }) if out.code != Some(0) => Err(plain_failure(out)),
        Err(PacemakerError::ToolFailed {
            code,
            message,
            errors,
            ..
        }) => Err(PacemakerError::ToolFailed {
            cmdline: out.cmdline.to_string(),
            code,
            message,
            errors,
        }),
        other => other,
    }
}

/// `cibadmin --query`: the CIB; any non-zero exit is a failure (102 without a cluster, with
/// "Could not connect to the CIB" on stderr; cibadmin has no XML status output).
pub fn cib_query(out: &Outcome<'_>) -> Result<Cib, PacemakerError> {
    if out.code != Some(0) {
        return Err(plain_failure(out));
    }
    Cib::parse(out.stdout)
}

/// `crm_attribute ... --query --output-as=xml`: the value, `None` if the attribute is not set.
///
/// 2.1.5 answers a missing attribute with exit 105 ("No such device or address"), and an
/// unknown node also with 105 but "Could not map name=NODE to a UUID": the latter is
/// [`PacemakerError::NodeNotFound`].
pub fn attribute_query(
    out: &Outcome<'_>,
    node: Option<&str>,
) -> Result<Option<String>, PacemakerError> {
    let (root, status) = xml_result(out, "crm_attribute XML")?;
    match status.code {
        0 => Ok(root
            .child("attribute")
            .and_then(|a| a.attr("value"))
            .map(str::to_string)),
        EXIT_NOSUCH => match node {
            Some(node) if status.mentions("Could not map name") => {
                Err(PacemakerError::NodeNotFound {
                    node: node.to_string(),
                })
            }
            _ => Ok(None),
        },
        _ => Err(status.into_error(out.cmdline)),
    }
}

/// `crm_attribute ... --update/--delete --output-as=xml`. Deleting a missing attribute is
/// success (exit 0 in 2.1.5).
pub fn attribute_update(out: &Outcome<'_>, node: Option<&str>) -> Result<(), PacemakerError> {
    let (_, status) = xml_result(out, "crm_attribute XML")?;
    match (status.code, node) {
        (0, _) => Ok(()),
        (EXIT_NOSUCH, Some(node)) if status.mentions("Could not map name") => {
            Err(PacemakerError::NodeNotFound {
                node: node.to_string(),
            })
        }
        _ => Err(status.into_error(out.cmdline)),
    }
}

/// `crm_resource -r RSC -z -g NAME --output-as=xml`: the value, `None` if not set.
///
/// 2.1.5 answers a missing attribute with exit 0 and no `<list>` (only an `<error>` line); a
/// missing resource is exit 105, here [`PacemakerError::ResourceNotFound`].
pub fn resource_param_query(
    out: &Outcome<'_>,
    rsc: &str,
    name: &str,
) -> Result<Option<String>, PacemakerError> {
    let (root, status) = xml_result(out, "crm_resource XML")?;
    match status.code {
        0 => Ok(root
            .children_named("list")
            .flat_map(|list| list.children_named("item"))
            .find(|item| item.attr("name") == Some(name))
            .map(|item| item.text_trimmed().to_string())),
        EXIT_NOSUCH => Err(PacemakerError::ResourceNotFound {
            rsc: rsc.to_string(),
        }),
        _ => Err(status.into_error(out.cmdline)),
    }
}

/// `crm_resource -r RSC -z -p/-d NAME --output-as=xml`. Deleting a missing attribute is success.
pub fn resource_param_update(out: &Outcome<'_>, rsc: &str) -> Result<(), PacemakerError> {
    let (_, status) = xml_result(out, "crm_resource XML")?;
    match status.code {
        0 => Ok(()),
        EXIT_NOSUCH => Err(PacemakerError::ResourceNotFound {
            rsc: rsc.to_string(),
        }),
        _ => Err(status.into_error(out.cmdline)),
    }
}

/// A controller's state as `crmadmin --status` reports it ("S_IDLE", "S_NOT_DC",
/// "S_TRANSITION_ENGINE", "S_INTEGRATION" ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerState(pub String);

impl ControllerState {
    /// The DC's state when no join, election or transition is in progress: the status section
    /// is then complete and every scheduled action has finished.
    pub fn is_idle(&self) -> bool {
        self.0 == "S_IDLE"
    }

    /// The state of a controller that is not the DC.
    pub fn is_not_dc(&self) -> bool {
        self.0 == "S_NOT_DC"
    }
}

/// `crmadmin --status=NODE --output-as=xml`: the `<crmd state>` of the answer. No reply before
/// the timeout is exit 124, without a cluster exit 102, both with `<error>` lines.
pub fn controller_state(out: &Outcome<'_>) -> Result<ControllerState, PacemakerError> {
    let (root, status) = xml_result(out, "crmadmin XML")?;
    if status.code != 0 {
        return Err(status.into_error(out.cmdline));
    }
    root.child("crmd")
        .and_then(|c| c.attr("state"))
        .filter(|s| !s.is_empty())
        .map(|s| ControllerState(s.to_string()))
        .ok_or_else(|| PacemakerError::parse("crmadmin XML", "no <crmd state=...> in the answer"))
}

/// Membership state of a node in `crm_node -l`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    /// "member": in the cluster membership.
    Member,
    /// "lost": known, but not in the membership (down, fenced, partitioned away).
    Lost,
    /// Anything else, as written.
    Other(String),
}

/// One line of `crm_node -l`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterNode {
    /// Cluster (corosync) node id.
    pub id: u32,
    /// Node name (`None` if Pacemaker does not know it yet: "(null)").
    pub name: Option<String>,
    /// Membership state.
    pub state: Membership,
}

/// Parses `crm_node -l` ("1 sim1 member" per line; 2.1.5 has no XML output for it).
pub fn crm_node_list(text: &str) -> Result<Vec<ClusterNode>, PacemakerError> {
    let what = "crm_node -l output";
    let mut nodes = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [id, name, state] = fields[..] else {
            return Err(PacemakerError::parse(
                what,
                format!("line {line:?} is not \"ID NAME STATE\""),
            ));
        };
        let id = id
            .parse()
            .map_err(|_| PacemakerError::parse(what, format!("node id {id:?} is not a number")))?;
        nodes.push(ClusterNode {
            id,
            name: (name != "(null)").then(|| name.to_string()),
            state: match state {
                "member" => Membership::Member,
                "lost" => Membership::Lost,
                other => Membership::Other(other.to_string()),
            },
        });
    }
    Ok(nodes)
}

/// Parses `crm_node -n`: the local node name on one line.
pub fn crm_node_name(text: &str) -> Result<String, PacemakerError> {
    let name = text.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(PacemakerError::parse(
            "crm_node -n output",
            format!("{name:?} is not a node name"),
        ));
    }
    Ok(name.to_string())
}

/// `crm_node --quorum`: "1" (exit 0) or "0" (exit 106 in 2.1.5).
pub fn crm_node_quorum(out: &Outcome<'_>) -> Result<bool, PacemakerError> {
    match (out.code, out.stdout.trim()) {
        (Some(0), "1") => Ok(true),
        (Some(0 | EXIT_QUORUM), "0") => Ok(false),
        (Some(0), other) => Err(PacemakerError::parse(
            "crm_node -q output",
            format!("{other:?} is neither 1 nor 0"),
        )),
        _ => Err(plain_failure(out)),
    }
}

/// Parses `crm_node -p`: the names of the nodes in the local partition.
pub fn crm_node_partition(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

/// `crm_diff --original A --new B`: exit 0 and no output when equal (`None`), exit 1 and the
/// patch when they differ.
pub fn crm_diff(out: &Outcome<'_>) -> Result<Option<String>, PacemakerError> {
    match out.code {
        Some(0) => Ok(None),
        Some(1) if !out.stdout.trim().is_empty() => Ok(Some(out.stdout.to_string())),
        _ => Err(plain_failure(out)),
    }
}

/// `cibadmin --patch`: exit 103 is [`PacemakerError::PatchRejected`] (the CIB changed since
/// the patch was made, or the patch does not raise the version).
pub fn cib_patch(out: &Outcome<'_>) -> Result<(), PacemakerError> {
    match out.code {
        Some(0) => Ok(()),
        Some(EXIT_OLD) => Err(PacemakerError::PatchRejected {
            cmdline: out.cmdline.to_string(),
        }),
        _ => Err(plain_failure(out)),
    }
}

/// `crm_diff --cib --patch`: the patched CIB (stdout); exit 103 is
/// [`PacemakerError::PatchRejected`] (the patch was not made against this CIB's version).
pub fn crm_diff_apply(out: &Outcome<'_>) -> Result<String, PacemakerError> {
    match out.code {
        Some(0) if out.stdout.trim_start().starts_with("<cib") => Ok(out.stdout.to_owned()),
        Some(0) => Err(PacemakerError::Parse {
            what: format!("the output of `{}`", out.cmdline),
            detail: "no <cib> document".into(),
        }),
        Some(EXIT_OLD) => Err(PacemakerError::PatchRejected {
            cmdline: out.cmdline.to_string(),
        }),
        _ => Err(plain_failure(out)),
    }
}

/// `cibadmin --query` on a CIB file ([`super::argv::cib_load_check`]): exit 78 with
/// Pacemaker's schema message is [`PacemakerError::SchemaRefused`].
pub fn cib_load_check(out: &Outcome<'_>) -> Result<(), PacemakerError> {
    match out.code {
        Some(0) => Ok(()),
        Some(78) if out.stderr.contains(SCHEMA_REFUSED) => Err(PacemakerError::SchemaRefused {
            cmdline: out.cmdline.to_string(),
        }),
        _ => Err(plain_failure(out)),
    }
}

/// Pacemaker's words for a CIB that fails its schema (`pcmk_err_schema_validation`).
const SCHEMA_REFUSED: &str = "Update does not conform to the configured schema";

#[cfg(test)]
#[path = "output_tests.rs"]
mod tests;
