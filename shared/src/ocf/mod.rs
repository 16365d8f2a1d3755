//! The OCF 1.1 resource-agent framework every vm-mgr agent uses.
//!
//! An agent implements [`Agent`]: [`Agent::meta`] declares its parameters ([`ParamSpec`]) and
//! actions ([`ActionSpec`]) once, and [`Agent::handle`] performs an action with a [`Context`]
//! (typed environment, parameters read through the declarations, deadline, logger). [`main`]
//! does the rest: parses `argv[1]` into an [`Action`], answers `meta-data` with the XML built
//! from the same declarations, rejects unknown or unadvertised actions with
//! `OCF_ERR_UNIMPLEMENTED`, and turns an [`OcfError`] into an `ocf-exit-reason:` line plus its
//! exit code ([`OcfRc`]).
//!
//! ```no_run
//! use shared::ocf::{self, Action, ActionSpec, Agent, AgentMeta, Context, OcfError, OcfRc, ParamSpec};
//!
//! const PARAMS: &[ParamSpec] = &[ParamSpec::string("name")
//!     .required()
//!     .shortdesc("Image name")
//!     .longdesc("Name of the RBD image.")];
//!
//! struct Rbd;
//!
//! impl Agent for Rbd {
//!     fn meta(&self) -> AgentMeta {
//!         AgentMeta {
//!             name: "rbd",
//!             version: env!("CARGO_PKG_VERSION"),
//!             shortdesc: "RBD image mapping",
//!             longdesc: "Maps a Ceph RBD image.",
//!             params: PARAMS.to_vec(),
//!             actions: vec![
//!                 ActionSpec::new("start", 20),
//!                 ActionSpec::new("stop", 20),
//!                 ActionSpec::new("monitor", 20).interval(10),
//!                 ActionSpec::new("meta-data", 5),
//!             ],
//!         }
//!     }
//!
//!     fn handle(&self, action: &Action, ctx: &Context) -> Result<OcfRc, OcfError> {
//!         let name = ctx.params.required_str("name")?;
//!         match action {
//!             Action::Start | Action::Stop => Ok(OcfRc::Success),
//!             Action::Monitor | Action::Status => Ok(OcfRc::NotRunning),
//!             _ => Err(OcfError::unimplemented(format!("{action} on {name}"))),
//!         }
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     ocf::main(Rbd)
//! }
//! ```
//!
//! Modules: [`rc`] exit codes, [`action`] actions, [`env`](mod@env) environment and meta attributes,
//! [`notify`] notification lists, [`deadline`] time budget, [`spec`] parameter declarations,
//! [`params`] parameter reading, [`meta`] meta-data XML, [`log`] exit reasons and logging, [`syslog`] the `ocf_log`
//! syslog lines, [`trace`] action traces (`crm resource trace`),
//! [`agent`] dispatch, [`testing`] schema checks for agents' tests.

pub mod action;
pub mod agent;
pub mod deadline;
pub mod env;
pub mod error;
pub mod log;
pub mod meta;
pub mod notify;
pub mod params;
pub mod rc;
pub mod spec;
pub mod syslog;
pub mod testing;
pub mod trace;

#[cfg(test)]
mod test_agent;

pub use action::Action;
pub use agent::{main, run, usage, Agent, Context};
pub use env::{Metas, OcfEnv};
pub use error::{error_chain, OcfError};
pub use log::{exit_reason, Level, Logger};
pub use meta::{ActionSpec, AgentMeta, Role, OCF_VERSION};
pub use notify::{Notify, NotifySet};
pub use params::Params;
pub use rc::OcfRc;
pub use spec::{parse_bool, Content, Deprecated, ParamSpec};
