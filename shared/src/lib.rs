//! `shared`: the library every vm-mgr binary uses.
//!
//! - [`ocf`]: the OCF 1.1 resource-agent framework (actions, exit codes, environment, meta-data).
//! - [`cmd`]: the one way to run an external program (argv only, deadline, captured output).
//! - [`pacemaker`]: typed views of `crm_mon --output-as=xml` and `cibadmin --query`, and
//!   wrappers around the Pacemaker command-line tools.

pub mod cmd;
pub mod ocf;
pub mod pacemaker;
