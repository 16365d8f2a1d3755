//! Command lines of the Pacemaker tools, as pure functions (`argv[0]` included).
//!
//! Options are always written in their long `--option=value` form, so that a value starting
//! with `-` (a score of "-INFINITY", an odd attribute name) can never be taken for an option.
//! Every spelling here was checked against Pacemaker 2.1.5.

use std::path::Path;

use super::error::PacemakerError;

/// Lifetime of a node attribute (`crm_attribute --lifetime`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// Kept in the configuration section (`--lifetime=forever`).
    Forever,
    /// Kept in the status section until the node leaves the cluster (`--lifetime=reboot`).
    Reboot,
}

impl Lifetime {
    /// The value `crm_attribute` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Lifetime::Forever => "forever",
            Lifetime::Reboot => "reboot",
        }
    }
}

/// What to do with an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrOp<'a> {
    /// Read it.
    Query,
    /// Set it to this value.
    Update(&'a str),
    /// Delete it.
    Delete,
}

/// `crm_mon --output-as=xml` (one-shot by itself in 2.1.5, and complete: `--include=all`
/// changes nothing in XML mode).
pub fn crm_mon() -> Vec<String> {
    strings(&["crm_mon", "--output-as=xml"])
}

/// `cibadmin --query` (the whole CIB, status section included).
pub fn cib_query() -> Vec<String> {
    strings(&["cibadmin", "--query"])
}

/// `crm_node --list` (text only in 2.1.5: "ID NAME STATE" lines).
pub fn crm_node_list() -> Vec<String> {
    strings(&["crm_node", "--list"])
}

/// `crm_node --name` (asks the controller in 2.1.5).
pub fn crm_node_name() -> Vec<String> {
    strings(&["crm_node", "--name"])
}

/// `crm_node --quorum` ("1" or "0"; exit 106 without quorum).
pub fn crm_node_quorum() -> Vec<String> {
    strings(&["crm_node", "--quorum"])
}

/// `crm_node --partition` (names of the nodes in this node's partition, on one line).
pub fn crm_node_partition() -> Vec<String> {
    strings(&["crm_node", "--partition"])
}

/// `crmadmin --status=NODE --output-as=xml`: the state of that node's controller (the DC
/// answers with its FSA state, "S_IDLE" when it has nothing to do). crmadmin waits for a reply
/// for `timeout` (at least 1 ms); an unknown node gets no reply at all, only that timeout.
pub fn crmadmin_status(node: &str, timeout: std::time::Duration) -> Vec<String> {
    let ms = timeout.as_millis().clamp(1, u128::from(u32::MAX));
    vec![
        "crmadmin".to_string(),
        "--output-as=xml".to_string(),
        format!("--timeout={ms}ms"),
        format!("--status={node}"),
    ]
}

/// `crm_attribute` on a node attribute.
pub fn node_attribute(
    node: &str,
    name: &str,
    lifetime: Lifetime,
    op: AttrOp<'_>,
) -> Result<Vec<String>, PacemakerError> {
    check("node name", node)?;
    check("attribute name", name)?;
    let mut argv = strings(&["crm_attribute"]);
    argv.push(format!("--node={node}"));
    argv.push(format!("--name={name}"));
    argv.push(format!("--lifetime={}", lifetime.as_str()));
    push_op(&mut argv, op);
    Ok(argv)
}

/// `crm_attribute --utilization` on a node's utilization (capacity) attribute.
pub fn node_utilization(
    node: &str,
    name: &str,
    op: AttrOp<'_>,
) -> Result<Vec<String>, PacemakerError> {
    check("node name", node)?;
    check("utilization name", name)?;
    let mut argv = strings(&["crm_attribute"]);
    argv.push(format!("--node={node}"));
    argv.push("--utilization".to_string());
    argv.push(format!("--name={name}"));
    push_op(&mut argv, op);
    Ok(argv)
}

/// `crm_attribute --promotion=RSC --lifetime=reboot [--node=NODE]`: the promotion score of a
/// promotable clone instance (attribute "master-RSC"), the way resource-agents'
/// `ocf_promotion_score` does it for crm_feature_set ≥ 3.10. `rsc` is what Pacemaker passes
/// in `OCF_RESOURCE_INSTANCE` (the primitive id for anonymous clones); no ":N" suffix is
/// stripped. Without `node`, the local node.
pub fn promotion_score(
    rsc: &str,
    node: Option<&str>,
    op: AttrOp<'_>,
) -> Result<Vec<String>, PacemakerError> {
    check("resource id", rsc)?;
    let mut argv = strings(&["crm_attribute"]);
    argv.push(format!("--promotion={rsc}"));
    argv.push(format!("--lifetime={}", Lifetime::Reboot.as_str()));
    if let Some(node) = node {
        check("node name", node)?;
        argv.push(format!("--node={node}"));
    }
    push_op(&mut argv, op);
    Ok(argv)
}

/// `crm_resource --cleanup --resource=RSC`: forget the failure history of `rsc` (one token,
/// `--resource=RSC`, so a value starting with `-` cannot be taken for an option).
pub fn resource_cleanup(rsc: &str) -> Result<Vec<String>, PacemakerError> {
    check("resource id", rsc)?;
    let mut argv = strings(&["crm_resource", "--cleanup"]);
    argv.push(format!("--resource={rsc}"));
    Ok(argv)
}

/// `crm_node --force --remove=NODE`: purge a node the cluster no longer has (a guest node
/// whose `remote-node` was removed) from the CIB's nodes and status sections (one token, so a
/// value starting with `-` cannot be taken for an option).
pub fn crm_node_purge(node: &str) -> Result<Vec<String>, PacemakerError> {
    check("node name", node)?;
    let mut argv = strings(&["crm_node", "--force"]);
    argv.push(format!("--remove={node}"));
    Ok(argv)
}

/// `crm_resource --resource=RSC --utilization` with `--get-parameter`, `--set-parameter` +
/// `--parameter-value`, or `--delete-parameter`.
pub fn resource_utilization(
    rsc: &str,
    name: &str,
    op: AttrOp<'_>,
) -> Result<Vec<String>, PacemakerError> {
    check("resource id", rsc)?;
    check("utilization name", name)?;
    let mut argv = strings(&["crm_resource"]);
    argv.push(format!("--resource={rsc}"));
    argv.push("--utilization".to_string());
    match op {
        AttrOp::Query => argv.push(format!("--get-parameter={name}")),
        AttrOp::Update(value) => {
            argv.push(format!("--set-parameter={name}"));
            argv.push(format!("--parameter-value={value}"));
        }
        AttrOp::Delete => argv.push(format!("--delete-parameter={name}")),
    }
    argv.push("--output-as=xml".to_string());
    Ok(argv)
}

/// `crm_diff --original=OLD --new=NEW` (exit 1 and the patch on stdout when they differ).
pub fn crm_diff(original: &Path, new: &Path) -> Result<Vec<String>, PacemakerError> {
    let mut argv = strings(&["crm_diff"]);
    argv.push(format!("--original={}", path_str(original)?));
    argv.push(format!("--new={}", path_str(new)?));
    Ok(argv)
}

/// `crm_diff --cib --original=CIB --patch=PATCH`: the CIB with the patch applied, on stdout,
/// by Pacemaker's own patch code; `--cib` checks the patch's versions as `cibadmin` does.
pub fn crm_diff_apply(original: &Path, patch: &Path) -> Result<Vec<String>, PacemakerError> {
    let mut argv = strings(&["crm_diff", "--cib"]);
    argv.push(format!("--original={}", path_str(original)?));
    argv.push(format!("--patch={}", path_str(patch)?));
    Ok(argv)
}

/// `cibadmin --query --scope=nodes`: on a CIB file, loads the file and checks it against its
/// schema (refused with exit 78 if it does not conform), printing only the short nodes section.
pub fn cib_load_check() -> Vec<String> {
    strings(&["cibadmin", "--query", "--scope=nodes"])
}

/// `cibadmin --patch --xml-pipe`: the patch comes on stdin.
pub fn cib_patch_pipe() -> Vec<String> {
    strings(&["cibadmin", "--patch", "--xml-pipe"])
}

/// `cibadmin --patch --xml-file=PATCH`.
pub fn cib_patch(patch: &Path) -> Result<Vec<String>, PacemakerError> {
    let mut argv = strings(&["cibadmin", "--patch"]);
    argv.push(format!("--xml-file={}", path_str(patch)?));
    Ok(argv)
}

/// `crm_simulate --simulate --xml-file=IN --save-output=OUT --output-as=xml`: the transition
/// Pacemaker would run on the CIB in `input`, the CIB after it written to `output`.
pub fn crm_simulate(input: &Path, output: &Path) -> Result<Vec<String>, PacemakerError> {
    let mut argv = strings(&["crm_simulate", "--simulate"]);
    argv.push(format!("--xml-file={}", path_str(input)?));
    argv.push(format!("--save-output={}", path_str(output)?));
    argv.push("--output-as=xml".to_string());
    Ok(argv)
}

fn push_op(argv: &mut Vec<String>, op: AttrOp<'_>) {
    match op {
        AttrOp::Query => argv.push("--query".to_string()),
        AttrOp::Update(value) => argv.push(format!("--update={value}")),
        AttrOp::Delete => argv.push("--delete".to_string()),
    }
    argv.push("--output-as=xml".to_string());
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// Refuses what no Pacemaker id or name can be: empty, or containing whitespace or control
/// characters (a line break would also break the tools' text output).
fn check(what: &'static str, value: &str) -> Result<(), PacemakerError> {
    let reason = if value.is_empty() {
        "it is empty"
    } else if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        "it contains whitespace or control characters"
    } else {
        return Ok(());
    };
    Err(PacemakerError::InvalidArgument {
        what,
        value: value.to_string(),
        reason,
    })
}

fn path_str(path: &Path) -> Result<&str, PacemakerError> {
    path.to_str()
        .ok_or_else(|| PacemakerError::InvalidArgument {
            what: "file name",
            value: path.to_string_lossy().into_owned(),
            reason: "it is not valid UTF-8",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(argv: Vec<String>) -> String {
        argv.join(" ")
    }

    #[test]
    fn read_only_commands() {
        assert_eq!(joined(crm_mon()), "crm_mon --output-as=xml");
        assert_eq!(joined(cib_query()), "cibadmin --query");
        assert_eq!(joined(crm_node_list()), "crm_node --list");
        assert_eq!(joined(crm_node_name()), "crm_node --name");
        assert_eq!(joined(crm_node_quorum()), "crm_node --quorum");
        assert_eq!(joined(crm_node_partition()), "crm_node --partition");
        assert_eq!(
            joined(crmadmin_status("sim2", std::time::Duration::from_secs(2))),
            "crmadmin --output-as=xml --timeout=2000ms --status=sim2"
        );
        // Never a zero timeout, which crmadmin would take as "its default".
        assert_eq!(
            joined(crmadmin_status("sim2", std::time::Duration::ZERO)),
            "crmadmin --output-as=xml --timeout=1ms --status=sim2"
        );
    }

    #[test]
    fn node_attributes() {
        let q = node_attribute("sim2", "vmmgr-role", Lifetime::Forever, AttrOp::Query);
        assert_eq!(
            joined(q.unwrap()),
            "crm_attribute --node=sim2 --name=vmmgr-role --lifetime=forever --query --output-as=xml"
        );
        let u = node_attribute("sim1", "x", Lifetime::Reboot, AttrOp::Update("-5"));
        assert_eq!(
            joined(u.unwrap()),
            "crm_attribute --node=sim1 --name=x --lifetime=reboot --update=-5 --output-as=xml"
        );
        let d = node_attribute("sim1", "x", Lifetime::Forever, AttrOp::Delete).unwrap();
        assert_eq!(d[4], "--delete");
        let u = node_utilization("sim1", "cpu", AttrOp::Update("8")).unwrap();
        assert_eq!(
            joined(u),
            "crm_attribute --node=sim1 --utilization --name=cpu --update=8 --output-as=xml"
        );
    }

    #[test]
    fn promotion_scores() {
        let s = promotion_score("vm1", None, AttrOp::Update("-INFINITY")).unwrap();
        assert_eq!(
            joined(s),
            "crm_attribute --promotion=vm1 --lifetime=reboot --update=-INFINITY --output-as=xml"
        );
        let d = promotion_score("vm1", Some("sim1"), AttrOp::Delete).unwrap();
        assert_eq!(
            joined(d),
            "crm_attribute --promotion=vm1 --lifetime=reboot --node=sim1 --delete --output-as=xml"
        );
    }

    #[test]
    fn resource_cleanups() {
        assert_eq!(
            joined(resource_cleanup("vm1").unwrap()),
            "crm_resource --cleanup --resource=vm1"
        );
        assert!(resource_cleanup("").is_err());
        assert!(resource_cleanup("a b").is_err());
    }

    #[test]
    fn node_purges() {
        assert_eq!(
            joined(crm_node_purge("g1-guest").unwrap()),
            "crm_node --force --remove=g1-guest"
        );
        assert!(crm_node_purge("").is_err());
        assert!(crm_node_purge("a\nb").is_err());
    }

    #[test]
    fn resource_utilizations() {
        let g = resource_utilization("d-started", "cpu", AttrOp::Query).unwrap();
        assert_eq!(
            joined(g),
            "crm_resource --resource=d-started --utilization --get-parameter=cpu --output-as=xml"
        );
        let s = resource_utilization("vm1", "memory", AttrOp::Update("2048")).unwrap();
        assert_eq!(
            joined(s),
            "crm_resource --resource=vm1 --utilization --set-parameter=memory \
             --parameter-value=2048 --output-as=xml"
        );
        let d = resource_utilization("vm1", "memory", AttrOp::Delete).unwrap();
        assert_eq!(d[3], "--delete-parameter=memory");
    }

    #[test]
    fn patches() {
        let d = crm_diff(Path::new("/tmp/a.xml"), Path::new("/tmp/b.xml")).unwrap();
        assert_eq!(joined(d), "crm_diff --original=/tmp/a.xml --new=/tmp/b.xml");
        let a = crm_diff_apply(Path::new("/tmp/a.xml"), Path::new("/tmp/p.xml")).unwrap();
        assert_eq!(
            joined(a),
            "crm_diff --cib --original=/tmp/a.xml --patch=/tmp/p.xml"
        );
        assert_eq!(joined(cib_load_check()), "cibadmin --query --scope=nodes");
        let p = cib_patch(Path::new("/tmp/p.xml")).unwrap();
        assert_eq!(joined(p), "cibadmin --patch --xml-file=/tmp/p.xml");
    }

    #[test]
    fn simulation() {
        let s = crm_simulate(Path::new("/tmp/in.xml"), Path::new("/tmp/out.xml")).unwrap();
        assert_eq!(
            joined(s),
            "crm_simulate --simulate --xml-file=/tmp/in.xml --save-output=/tmp/out.xml \
             --output-as=xml"
        );
        use std::os::unix::ffi::OsStrExt;
        let bad = Path::new(std::ffi::OsStr::from_bytes(b"/tmp/\xff.xml"));
        assert!(crm_simulate(bad, Path::new("/tmp/out.xml")).is_err());
    }

    #[test]
    fn bad_names_are_refused() {
        let e = node_attribute("", "x", Lifetime::Forever, AttrOp::Query).unwrap_err();
        assert_eq!(e.to_string(), "Invalid node name \"\": it is empty.");
        let e = resource_utilization("vm 1", "cpu", AttrOp::Query).unwrap_err();
        assert!(e.to_string().contains("whitespace"), "{e}");
        assert!(promotion_score("vm1", Some("a\nb"), AttrOp::Query).is_err());
        assert!(node_utilization("sim1", "", AttrOp::Delete).is_err());
    }
}
