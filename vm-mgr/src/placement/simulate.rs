//! What Pacemaker would do with a changed CIB: `crm_simulate --simulate` on a private copy of
//! the tree (`--xml-file`), its XML output's `<actions>` (moves, migrations, starts, stops),
//! and the resulting status (`--save-output`, read back with `crm_mon --output-as=xml` through
//! `CIB_file`), so the verdict comes from the same parser as everything else.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use shared::pacemaker::{ClusterStatus, PacemakerError, Target, Tools};
use shared::tempdir::PrivateDir;
use shared::xml::Element;

pub use shared::pacemaker::SimAction;

use super::PlacementError;
use crate::error::Result;

/// Time limit of one simulation.
const SIMULATE_TIMEOUT: Duration = Duration::from_secs(60);

/// The result of a simulation.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The actions Pacemaker would take.
    pub actions: Vec<SimAction>,
    /// The cluster after them.
    pub after: ClusterStatus,
}

/// `tree` written to `in.xml` of a new private directory (removed when it is dropped).
fn write_input(tree: &Element) -> Result<(PrivateDir, PathBuf)> {
    let temp_err = |path: PathBuf| move |source| PlacementError::TempFile { path, source };
    let dir = PrivateDir::new("vmmgr-sim").map_err(temp_err(std::env::temp_dir()))?;
    let input = dir
        .write("in.xml", &tree.to_xml())
        .map_err(temp_err(dir.path().join("in.xml")))?;
    Ok((dir, input))
}

/// A `crm_simulate` error: output it should not print is said to be the simulation's.
fn simulate_error(e: PacemakerError) -> crate::error::Error {
    match e {
        PacemakerError::Parse { .. } => PlacementError::Simulate {
            detail: e.to_string(),
        }
        .into(),
        other => crate::error::Error::from(other),
    }
}

/// Simulates the cluster's reaction to the CIB `tree` (the whole CIB, status included).
pub fn simulate(tree: &Element) -> Result<Simulation> {
    let deadline = Instant::now() + SIMULATE_TIMEOUT;
    let (dir, input) = write_input(tree)?;
    let output = dir.path().join("out.xml");
    let actions = Tools::live()
        .crm_simulate(&input, &output, deadline)
        .map_err(simulate_error)?;
    let after = Tools::new(Target::File(output)).crm_mon_xml(deadline)?;
    Ok(Simulation { actions, after })
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
