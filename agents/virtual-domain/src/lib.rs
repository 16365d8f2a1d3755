//! `ocf:vmmgr:VirtualDomain`: a drop-in replacement for `ocf:heartbeat:VirtualDomain` that talks
//! to libvirt through its API, bounds every action by its operation timeout, and never guesses
//! "stopped". See [`agent`] for the action semantics and [`params`] for the parameters.
//!
//! # Two binaries
//!
//! Loading `libvirt.so` alone (it pulls in ~57 shared libraries) costs more CPU than a whole
//! monitor should, so the agent is two executables built from this library:
//!
//! - `VirtualDomain` (installed as `/usr/lib/ocf/resource.d/vmmgr/VirtualDomain`, what
//!   Pacemaker runs): does not link libvirt. It prints the meta-data and answers `monitor` /
//!   `status` and `migrate_from` itself through libvirt's RPC protocol on the local daemon's socket
//!   ([`light`], [`shared::libvirt::rpc`]); for every other action, and for the monitor cases it
//!   cannot decide, it `exec`s the full agent.
//! - `VirtualDomain-libvirt` (installed hidden, as `.VirtualDomain-libvirt` next to it): the
//!   full agent through libvirt's client library ([`agent::VirtualDomain`]).

pub mod agent;
pub mod config;
pub mod libvirt_ops;
pub mod light;
pub mod migrate;
pub mod migrate_options;
pub mod monitor;
pub mod params;
pub mod start;
pub mod state;
pub mod stop;
pub mod uri;
pub mod utilization;
