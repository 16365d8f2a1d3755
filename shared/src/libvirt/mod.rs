//! libvirt: domain states and XML, libvirt's RPC protocol spoken directly, and (feature
//! `libvirt-api`) libvirt's client library through the `virt` crate, with a deadline on every
//! call.
//!
//! # The `libvirt-api` feature
//!
//! `Connection`, `LibvirtError`, `VirtError` and the migration types (`MigrateFlag`,
//! `MigrateRequest`, `MigrateTarget`) need the `virt` crate, which links `libvirt.so` (~57
//! shared libraries); they are built only with the `libvirt-api` feature, which the full
//! VirtualDomain agent alone enables. Everything else here ([`rpc`], [`xml`], [`process`],
//! [`DomainState`], [`DomainStatus`], [`ShutdownMode`]) is always available, so `vm-mgr` and
//! the rbd and drbd agents carry no `virt` in their dependency tree.
//!
//! # Why a worker thread
//!
//! The libvirt client library has no timeout of its own: when `libvirtd` is frozen (stopped by
//! a signal, deadlocked, or stuck on lost storage), `virConnectOpen` connects to the Unix socket
//! (the kernel accepts the connection into the listen backlog) and then waits for the RPC reply
//! forever. libvirt's keepalive would notice, but it only works with a running libvirt event
//! loop, which would cost a thread anyway and only detects a dead peer after
//! `interval × count` seconds.
//!
//! `Connection` therefore owns its `virt::connect::Connect` on a dedicated thread; each call is
//! a closure sent to that thread, and the caller waits for the answer only until the deadline it
//! passes. When a call does not answer in time the caller gets `LibvirtError::Timeout` and the
//! connection is marked hung: every later call fails at once with `LibvirtError::Hung`
//! instead of queueing behind the stuck one. **The stuck thread is left behind**: an OCF agent
//! exits within seconds and the kernel then closes the socket, so nothing leaks beyond the
//! process. Long-running programs must not use this module for many calls against a hung
//! daemon, since every hung call keeps one thread.
//!
//! # Contents
//!
//! - `Connection` (feature `libvirt-api`): open with a deadline, then `Connection::call` any
//!   `virt` code; typed helpers for the operations the VirtualDomain agent needs (lookup and
//!   state, create, shutdown with modes, destroy, XML, migration, storage pools and networks);
//!   `LibvirtError`, its error type.
//! - [`DomainState`]: libvirt's domain states as a typed enum, and what they mean for a cluster
//!   ([`DomainState::is_active`]); [`DomainStatus`], one `virDomainGetInfo` answer.
//! - [`xml`]: pure reading of domain XML (name, UUID, vCPUs, memory, pools, networks), with its
//!   error [`DomainXmlError`].
//! - [`rpc`]: libvirt's RPC protocol spoken directly on the local daemon's UNIX socket, for
//!   callers that must not load `libvirt.so` (the VirtualDomain agent's monitor, `vm-mgr`).
//! - [`qmp`]: internal qcow2 snapshots of a running domain's disks through QEMU's monitor
//!   (`virsh qemu-monitor-command`).
//! - [`process`]: the qemu process of a domain found through `/proc`, for when libvirtd cannot
//!   answer (qemu driver on the local host only).

#[cfg(feature = "libvirt-api")]
mod conn;
#[cfg(feature = "libvirt-api")]
mod domain;
#[cfg(feature = "libvirt-api")]
mod error;
pub mod image_lock;
pub mod process;
pub mod qmp;
pub mod rpc;
mod state;
pub mod xml;

#[cfg(feature = "libvirt-api")]
pub use conn::Connection;
#[cfg(feature = "libvirt-api")]
pub use domain::{Destination, MigrateFlag, MigrateRequest, MigrateTarget};
#[cfg(feature = "libvirt-api")]
pub use error::{LibvirtError, VirtError};
pub use state::{DomainState, DomainStatus, ShutdownMode};
pub use xml::{check_domain_name, parse_domain_xml, DomainXml, DomainXmlError};
