//! `shared`: the library every vm-mgr binary uses.
//!
//! - [`clock`]: durations (op timeouts), now, UTC timestamps and `purge --date` parsing.
//! - [`cmd`]: the one way to run an external program (argv only, deadline, captured output,
//!   ended with its whole process group on a deadline or an interrupt: [`cmd::cancel`]).
//! - [`ocf`]: the OCF 1.1 resource-agent framework (actions, exit codes, environment, meta-data).
//! - [`pacemaker`]: typed views of `crm_mon --output-as=xml` and `cibadmin --query`, and
//!   wrappers around the Pacemaker command-line tools.
//! - [`libvirt`]: domain state and XML, and libvirt's RPC protocol on the local socket; libvirt
//!   connections with deadlines through the `virt` crate only with the `libvirt-api` feature
//!   (the full VirtualDomain agent alone enables it).
//! - [`ceph`]: `rbd`/`ceph` calls with JSON output: images, locks, watchers, metadata.
//! - [`drbd`]: DRBD 9 state from `drbdsetup events2`, and `drbdadm` calls.
//! - [`fsread`]: bounded reads of user and system files (regular files only, size cap, no
//!   blocking open).
//! - [`journal`]: the systemd journal through `journalctl` (the lines of one syslog
//!   identifier).
//! - [`procfs`]: processes in `/proc` (by argument, by process group), for the tests that check
//!   no child outlives its command.
//! - [`qcow2`]: local disk image files through `qemu-img` (probe, convert to qcow2 with
//!   progress).
//! - [`record`]: the hook through which OCF action traces see every command and libvirt
//!   call.
//! - [`tempdir`]: private scratch directories for files the Pacemaker tools read.
//! - [`xml`]: the small owned XML tree (parse, read, edit, write back) the Pacemaker layer
//!   reads every tool output and the CIB into, and vm-mgr edits domain XML with.

pub mod ceph;
pub mod clock;
pub mod cmd;
pub mod corosync;
pub mod drbd;
pub mod fsread;
pub mod journal;
pub mod libvirt;
pub mod ocf;
pub mod pacemaker;
pub mod procfs;
pub mod qcow2;
pub mod record;
pub mod tempdir;
pub mod xml;
