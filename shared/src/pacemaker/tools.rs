//! Thin wrappers that run the Pacemaker tools through [`crate::cmd::Cmd`].
//!
//! Each wrapper is three steps: build the argv ([`super::argv`]), run it with a deadline,
//! interpret exit code and output ([`super::output`]). Only the middle step is not unit-tested.
//!
//! A [`Tools`] works either on the live cluster or, with [`Target::File`], on a CIB XML file
//! (`CIB_file=PATH`: `crm_mon`, `cibadmin`, `crm_attribute` and `crm_resource` then need no
//! running cluster). `crm_node` always asks the running cluster and ignores `CIB_file`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::argv::{self, AttrOp, Lifetime};
use super::cib::Cib;
use super::error::PacemakerError;
use super::output::{self, ClusterNode, ControllerState, Outcome};
use super::simulate::{self, SimAction};
use super::status::ClusterStatus;
use super::types::Score;
use crate::cmd::{AwaitingStdin, Cmd};

/// Environment variable that points the Pacemaker tools at a CIB file.
pub const CIB_FILE_ENV: &str = "CIB_file";

/// Which CIB the tools work on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Target {
    /// The running cluster (`CIB_file` is removed from the tools' environment).
    #[default]
    Live,
    /// A CIB XML file (`CIB_file=PATH`).
    File(PathBuf),
}

impl Target {
    /// [`Target::File`] if `CIB_file` is set (and not empty) in our environment, else live.
    pub fn from_env() -> Target {
        match std::env::var_os(CIB_FILE_ENV) {
            Some(path) if !path.is_empty() => Target::File(PathBuf::from(path)),
            _ => Target::Live,
        }
    }
}

/// Runs the Pacemaker command-line tools against one [`Target`].
#[derive(Debug, Clone, Default)]
pub struct Tools {
    target: Target,
}

impl Tools {
    /// Tools working on `target`.
    pub fn new(target: Target) -> Tools {
        Tools { target }
    }

    /// Tools working on the running cluster.
    pub fn live() -> Tools {
        Tools::new(Target::Live)
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The command for `argv` (`argv[0]` is the program), with the deadline and `CIB_file` set.
    pub fn command(&self, argv: &[String], deadline: Instant) -> Cmd {
        let (program, args) = argv.split_first().map_or(("", &[][..]), |(p, a)| (p, a));
        let cmd = Cmd::new(program).args(args).deadline(deadline);
        match &self.target {
            Target::Live => cmd.env_remove(CIB_FILE_ENV),
            Target::File(path) => cmd.env(CIB_FILE_ENV, path),
        }
    }

    /// Runs `argv` whatever its exit status and hands the outcome to `interpret`.
    pub(super) fn run<T>(
        &self,
        argv: &[String],
        deadline: Instant,
        interpret: impl FnOnce(&Outcome<'_>) -> Result<T, PacemakerError>,
    ) -> Result<T, PacemakerError> {
        let cmd = self.command(argv, deadline);
        let out = cmd.output()?;
        let stdout = out.stdout_str();
        let stderr = String::from_utf8_lossy(&out.stderr);
        interpret(&Outcome {
            cmdline: &cmd.cmdline(),
            code: out.code(),
            stdout: &stdout,
            stderr: &stderr,
        })
    }

    /// `crm_mon --output-as=xml`: the cluster status.
    pub fn crm_mon_xml(&self, deadline: Instant) -> Result<ClusterStatus, PacemakerError> {
        self.run(&argv::crm_mon(), deadline, output::crm_mon)
    }

    /// `cibadmin --query`: the whole CIB ([`Cib::raw`] keeps the exact XML).
    pub fn cib_query(&self, deadline: Instant) -> Result<Cib, PacemakerError> {
        self.run(&argv::cib_query(), deadline, output::cib_query)
    }

    /// `crm_node --list`: every node the cluster knows, with its membership state.
    pub fn crm_node_list(&self, deadline: Instant) -> Result<Vec<ClusterNode>, PacemakerError> {
        let text = self
            .command(&argv::crm_node_list(), deadline)
            .run_string()?;
        output::crm_node_list(&text)
    }

    /// `crm_node --name`: this node's name in the cluster. (An agent should prefer
    /// `OCF_RESKEY_CRM_meta_on_node`: in 2.1.5 this asks the controller.)
    pub fn local_node_name(&self, deadline: Instant) -> Result<String, PacemakerError> {
        let text = self
            .command(&argv::crm_node_name(), deadline)
            .run_string()?;
        output::crm_node_name(&text)
    }

    /// `crm_node --quorum`: whether this node's partition has quorum.
    pub fn has_quorum(&self, deadline: Instant) -> Result<bool, PacemakerError> {
        self.run(&argv::crm_node_quorum(), deadline, output::crm_node_quorum)
    }

    /// `crm_node --partition`: the names of the nodes in this node's partition.
    pub fn partition(&self, deadline: Instant) -> Result<Vec<String>, PacemakerError> {
        let text = self
            .command(&argv::crm_node_partition(), deadline)
            .run_string()?;
        Ok(output::crm_node_partition(&text))
    }

    /// `crmadmin --status=NODE`: the state of `node`'s controller (ask the DC, from
    /// [`ClusterStatus::dc`], whether the cluster is idle). crmadmin's own reply timeout is what
    /// is left until `deadline` less 200 ms, so that its own "no reply" answer comes before the
    /// deadline kills it. Always the live cluster: the controller has no `CIB_file` mode.
    pub fn controller_state(
        &self,
        node: &str,
        deadline: Instant,
    ) -> Result<ControllerState, PacemakerError> {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .saturating_sub(std::time::Duration::from_millis(200));
        self.run(
            &argv::crmadmin_status(node, left),
            deadline,
            output::controller_state,
        )
    }

    /// A node attribute; `Ok(None)` when it is not set, [`PacemakerError::NodeNotFound`] when
    /// the node is unknown.
    pub fn node_attribute(
        &self,
        node: &str,
        name: &str,
        lifetime: Lifetime,
        deadline: Instant,
    ) -> Result<Option<String>, PacemakerError> {
        let argv = argv::node_attribute(node, name, lifetime, AttrOp::Query)?;
        self.run(&argv, deadline, |out| {
            output::attribute_query(out, Some(node))
        })
    }

    /// Sets a node attribute.
    pub fn set_node_attribute(
        &self,
        node: &str,
        name: &str,
        value: &str,
        lifetime: Lifetime,
        deadline: Instant,
    ) -> Result<(), PacemakerError> {
        let argv = argv::node_attribute(node, name, lifetime, AttrOp::Update(value))?;
        self.run(&argv, deadline, |out| {
            output::attribute_update(out, Some(node))
        })
    }

    /// Deletes a node attribute (deleting one that is not set succeeds).
    pub fn delete_node_attribute(
        &self,
        node: &str,
        name: &str,
        lifetime: Lifetime,
        deadline: Instant,
    ) -> Result<(), PacemakerError> {
        let argv = argv::node_attribute(node, name, lifetime, AttrOp::Delete)?;
        self.run(&argv, deadline, |out| {
            output::attribute_update(out, Some(node))
        })
    }

    /// A node utilization (capacity) attribute; `Ok(None)` when not set.
    pub fn node_utilization(
        &self,
        node: &str,
        name: &str,
        deadline: Instant,
    ) -> Result<Option<String>, PacemakerError> {
        let argv = argv::node_utilization(node, name, AttrOp::Query)?;
        self.run(&argv, deadline, |out| {
            output::attribute_query(out, Some(node))
        })
    }

    /// Sets a node utilization attribute.
    pub fn set_node_utilization(
        &self,
        node: &str,
        name: &str,
        value: &str,
        deadline: Instant,
    ) -> Result<(), PacemakerError> {
        let argv = argv::node_utilization(node, name, AttrOp::Update(value))?;
        self.run(&argv, deadline, |out| {
            output::attribute_update(out, Some(node))
        })
    }

    /// Deletes a node utilization attribute.
    pub fn delete_node_utilization(
        &self,
        node: &str,
        name: &str,
        deadline: Instant,
    ) -> Result<(), PacemakerError> {
        let argv = argv::node_utilization(node, name, AttrOp::Delete)?;
        self.run(&argv, deadline, |out| {
            output::attribute_update(out, Some(node))
        })
    }

    /// The promotion score of `rsc` (from `OCF_RESOURCE_INSTANCE`) on `node` (default: this
    /// node); `Ok(None)` when none is set.
    pub fn promotion_score(
        &self,
        rsc: &str,
        node: Option<&str>,
        deadline: Instant,
    ) -> Result<Option<String>, PacemakerError> {
        let argv = argv::promotion_score(rsc, node, AttrOp::Query)?;
        self.run(&argv, deadline, |out| output::attribute_query(out, node))
    }

    /// Sets the promotion score of `rsc` on `node` (default: this node), reboot lifetime.
    pub fn set_promotion_score(
        &self,
        rsc: &str,
        node: Option<&str>,
        score: Score,
        deadline: Instant,
    ) -> Result<(), PacemakerError> {
        let value = score.to_string();
        let argv = argv::promotion_score(rsc, node, AttrOp::Update(&value))?;
        self.run(&argv, deadline, |out| output::attribute_update(out, node))
    }

    /// Deletes the promotion score of `rsc` on `node` (default: this node).
    pub fn delete_promotion_score(
        &self,
        rsc: &str,
        node: Option<&str>,
        deadline: Instant,
    ) -> Result<(), PacemakerError> {
        let argv = argv::promotion_score(rsc, node, AttrOp::Delete)?;
        self.run(&argv, deadline, |out| output::attribute_update(out, node))
    }

    /// `crm_node --force --remove=NODE`: purges what the CIB still holds of a node that is no
    /// longer in the cluster (its node entry and status, e.g. a former guest node's); nothing
    /// to do is success. Always asks the running cluster.
    pub fn purge_node(&self, node: &str, deadline: Instant) -> Result<(), PacemakerError> {
        let argv = argv::crm_node_purge(node)?;
        self.command(&argv, deadline).run()?;
        Ok(())
    }

    /// `crm_resource --cleanup`: forgets the failure history of resource `rsc` (its fail
    /// counts and failed operations), so that Pacemaker may place it anew.
    pub fn cleanup_resource(&self, rsc: &str, deadline: Instant) -> Result<(), PacemakerError> {
        let argv = argv::resource_cleanup(rsc)?;
        self.command(&argv, deadline).run()?;
        Ok(())
    }

    /// A utilization attribute of resource `rsc`; `Ok(None)` when not set,
    /// [`PacemakerError::ResourceNotFound`] when there is no such resource.
    pub fn resource_utilization(
        &self,
        rsc: &str,
        name: &str,
        deadline: Instant,
    ) -> Result<Option<String>, PacemakerError> {
        let argv = argv::resource_utilization(rsc, name, AttrOp::Query)?;
        self.run(&argv, deadline, |out| {
            output::resource_param_query(out, rsc, name)
        })
    }

    /// Sets a utilization attribute of `rsc`. (For a primitive inside a clone, crm_resource
    /// targets the clone, which the schema refuses: exit 78.)
    pub fn set_resource_utilization(
        &self,
        rsc: &str,
        name: &str,
        value: &str,
        deadline: Instant,
    ) -> Result<(), PacemakerError> {
        let argv = argv::resource_utilization(rsc, name, AttrOp::Update(value))?;
        self.run(&argv, deadline, |out| {
            output::resource_param_update(out, rsc)
        })
    }

    /// Deletes a utilization attribute of `rsc` (deleting one that is not set succeeds).
    pub fn delete_resource_utilization(
        &self,
        rsc: &str,
        name: &str,
        deadline: Instant,
    ) -> Result<(), PacemakerError> {
        let argv = argv::resource_utilization(rsc, name, AttrOp::Delete)?;
        self.run(&argv, deadline, |out| {
            output::resource_param_update(out, rsc)
        })
    }

    /// `crm_diff`: the patch turning `original` into `new`, `None` if they are equal. For
    /// `cibadmin --patch` to accept it, `new` must have a higher version than `original`.
    pub fn crm_diff(
        &self,
        original: &Path,
        new: &Path,
        deadline: Instant,
    ) -> Result<Option<String>, PacemakerError> {
        self.run(&argv::crm_diff(original, new)?, deadline, output::crm_diff)
    }

    /// `cibadmin --patch`: applies a `crm_diff` patch;
    /// [`PacemakerError::PatchRejected`] if the CIB is no longer the one it was made against.
    pub fn cib_patch(&self, patch: &Path, deadline: Instant) -> Result<(), PacemakerError> {
        self.run(&argv::cib_patch(patch)?, deadline, output::cib_patch)
    }

    /// `crm_simulate --simulate` on the CIB file `input` (whatever the target: the file is the
    /// whole input), saving the CIB after the transition to `output`: the actions it would run.
    /// The `CIB_file` of [`Target::File`] is passed on but `--xml-file` takes precedence.
    pub fn crm_simulate(
        &self,
        input: &Path,
        output: &Path,
        deadline: Instant,
    ) -> Result<Vec<SimAction>, PacemakerError> {
        let argv = argv::crm_simulate(input, output)?;
        let xml = self.command(&argv, deadline).run_string()?;
        simulate::parse_actions(&xml)
    }

    /// Whether Pacemaker takes `patch` on `cib`: `cibadmin --patch` applies it to a private
    /// copy of `cib` (`CIB_file`, mode 0600 in a 0700 directory, removed after), with the checks
    /// the live CIB makes (schema, unique ids, references). Nothing reaches this target: for
    /// `--dry-run`, and for checks before work that would otherwise fail only at the patch.
    pub fn check_patch(cib: &Cib, patch: &str, deadline: Instant) -> Result<(), PacemakerError> {
        let temp_err = |path: PathBuf| move |source| PacemakerError::TempFile { path, source };
        let dir = crate::tempdir::PrivateDir::new("vmmgr-check")
            .map_err(temp_err(std::env::temp_dir()))?;
        let copy = dir
            .write("cib.xml", cib.raw())
            .map_err(temp_err(dir.path().join("cib.xml")))?;
        Tools::new(Target::File(copy))
            .cib_patch_start(deadline)?
            .apply(patch)
    }

    /// `cibadmin --patch --xml-pipe`, started now so that it has loaded by the time the patch
    /// is ready; [`PendingPatch::apply`] gives it the patch. Dropped unused, it is killed before
    /// it has read anything: nothing reaches the CIB.
    pub fn cib_patch_start(&self, deadline: Instant) -> Result<PendingPatch, PacemakerError> {
        let cmd = self.command(&argv::cib_patch_pipe(), deadline);
        let cmdline = cmd.cmdline();
        Ok(PendingPatch {
            started: cmd.start_awaiting_stdin()?,
            cmdline,
        })
    }
}

/// A `cibadmin --patch` waiting for its patch ([`Tools::cib_patch_start`]).
#[derive(Debug)]
pub struct PendingPatch {
    started: AwaitingStdin,
    cmdline: String,
}

impl PendingPatch {
    /// Applies `patch`; a refusal because the CIB moved on is [`PacemakerError::PatchRejected`].
    pub fn apply(self, patch: &str) -> Result<(), PacemakerError> {
        let out = self.started.finish_output(patch)?;
        output::cib_patch(&Outcome {
            cmdline: &self.cmdline,
            code: out.code(),
            stdout: &out.stdout_str(),
            stderr: &String::from_utf8_lossy(&out.stderr),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_from_env_and_command_env() {
        // Only checks the pure parts: no tool is run.
        assert_eq!(Target::default(), Target::Live);
        let tools = Tools::new(Target::File(PathBuf::from("/tmp/cib.xml")));
        assert_eq!(tools.target(), &Target::File(PathBuf::from("/tmp/cib.xml")));
        let cmd = tools.command(&argv::crm_mon(), Instant::now());
        assert_eq!(cmd.cmdline(), "crm_mon --output-as=xml");
        assert_eq!(Tools::live().target(), &Target::Live);
    }
}
