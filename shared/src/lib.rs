//! `shared`: the library every vm-mgr binary uses.
//!
//! - [`cmd`]: the one way to run an external program (argv only, deadline, captured output).
//! - [`ocf`]: the OCF 1.1 resource-agent framework (actions, exit codes, environment, meta-data).
//! - [`pacemaker`]: typed views of `crm_mon --output-as=xml` and `cibadmin --query`, and
//!   wrappers around the Pacemaker command-line tools.
//! - [`libvirt`]: libvirt connections with deadlines, domain state and XML.
//! - [`ceph`]: `rbd`/`ceph` calls with JSON output: images, locks, watchers, metadata.
//! - [`drbd`]: DRBD 9 state from `drbdsetup events2`, and `drbdadm` calls.
//! - [`tempdir`]: private scratch directories for files the Pacemaker tools read.
//! - [`xml`]: the small owned XML tree (parse, read, edit, write back) the Pacemaker layer
//!   reads every tool output and the CIB into, and vm-mgr edits domain XML with.

pub mod ceph;
pub mod cmd;
pub mod drbd;
pub mod libvirt;
pub mod ocf;
pub mod pacemaker;
pub mod tempdir;
pub mod xml;
