//! What Pacemaker would do with a changed CIB: `crm_simulate --simulate` on a private copy of
//! the tree (`--xml-file`), its XML output's `<actions>` (moves, migrations, starts, stops),
//! and the resulting status (`--save-output`, read back with `crm_mon --output-as=xml` through
//! `CIB_file`), so the verdict comes from the same parser as everything else.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use shared::cmd::Cmd;
use shared::pacemaker::tools::CIB_FILE_ENV;
use shared::pacemaker::xml::Element;
use shared::pacemaker::{ClusterStatus, Target, Tools};
use shared::tempdir::PrivateDir;

use super::PlacementError;
use crate::error::Result;

/// Time limit of one simulation.
const SIMULATE_TIMEOUT: Duration = Duration::from_secs(60);

/// One action of the simulated transition (`<rsc_action>` of `<actions>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimAction {
    /// "migrate", "move", "start", "stop", "restart", "recover" ...
    pub action: String,
    /// The primitive.
    pub resource: String,
    /// Where it leaves (moves, migrations, stops).
    pub source: Option<String>,
    /// Where it goes (moves, migrations, starts).
    pub dest: Option<String>,
}

impl SimAction {
    /// "migrate vmmgr-domain-a sim1 → sim2".
    pub fn describe(&self) -> String {
        let mut s = format!("{} {}", self.action, self.resource);
        match (&self.source, &self.dest) {
            (Some(a), Some(b)) => s.push_str(&format!(" {a} → {b}")),
            (Some(a), None) => s.push_str(&format!(" on {a}")),
            (None, Some(b)) => s.push_str(&format!(" on {b}")),
            (None, None) => {}
        }
        s
    }
}

/// The result of a simulation.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The actions Pacemaker would take.
    pub actions: Vec<SimAction>,
    /// The cluster after them.
    pub after: ClusterStatus,
}

/// Parses the `<actions>` of `crm_simulate --output-as=xml`.
pub fn parse_actions(xml: &str) -> Result<Vec<SimAction>> {
    let root = Element::parse(xml, "crm_simulate XML").map_err(|e| PlacementError::Simulate {
        detail: e.to_string(),
    })?;
    if let Some(status) = root.child("status") {
        if status.attr("code").is_some_and(|c| c != "0") {
            return Err(PlacementError::Simulate {
                detail: status.attr("message").unwrap_or("failed").to_owned(),
            }
            .into());
        }
    }
    Ok(root
        .child("actions")
        .map(|a| {
            a.children_named("rsc_action")
                .map(|r| SimAction {
                    action: r.attr("action").unwrap_or("").to_owned(),
                    resource: r.attr("resource").unwrap_or("").to_owned(),
                    source: r.attr("source").map(str::to_owned),
                    dest: r.attr("dest").or_else(|| r.attr("node")).map(str::to_owned),
                })
                .collect()
        })
        .unwrap_or_default())
}

/// Simulates the cluster's reaction to the CIB `tree` (the whole CIB, status included).
pub fn simulate(tree: &Element) -> Result<Simulation> {
    let deadline = Instant::now() + SIMULATE_TIMEOUT;
    let temp_err = |path: PathBuf| move |source| PlacementError::TempFile { path, source };
    let dir = PrivateDir::new("vmmgr-sim").map_err(temp_err(std::env::temp_dir()))?;
    let input = dir
        .write("in.xml", &tree.to_xml())
        .map_err(temp_err(dir.path().join("in.xml")))?;
    let output = dir.path().join("out.xml");
    let xml = run(&input, &output, deadline)?;
    let actions = parse_actions(&xml)?;
    let after = Tools::new(Target::File(output)).crm_mon_xml(deadline)?;
    Ok(Simulation { actions, after })
}

fn run(input: &Path, output: &Path, deadline: Instant) -> Result<String> {
    let mut a = std::ffi::OsString::from("--xml-file=");
    a.push(input);
    let mut o = std::ffi::OsString::from("--save-output=");
    o.push(output);
    let out = Cmd::new("crm_simulate")
        .arg("--simulate")
        .arg(a)
        .arg(o)
        .arg("--output-as=xml")
        .env_remove(CIB_FILE_ENV)
        .deadline(deadline)
        .run_string()
        .map_err(shared::pacemaker::PacemakerError::from)?;
    Ok(out)
}

impl Simulation {
    /// The nodes where VM `name`'s domain would be active afterwards.
    pub fn vm_nodes(&self, name: &str) -> Vec<String> {
        self.after
            .where_running(&crate::vm::VmIds::new(name).domain())
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    /// The actions, one line each.
    pub fn describe(&self) -> Vec<String> {
        self.actions.iter().map(SimAction::describe).collect()
    }
}
