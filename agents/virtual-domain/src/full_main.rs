//! `ocf:vmmgr:VirtualDomain`: a drop-in replacement for `ocf:heartbeat:VirtualDomain` that talks
//! to libvirt through its API, bounds every action by its operation timeout, and never guesses
//! "stopped". See [`agent`] for the action semantics and [`params`] for the parameters.

mod agent;
mod config;
mod libvirt_ops;
mod migrate;
mod migrate_options;
mod monitor;
mod params;
mod start;
mod state;
mod stop;
mod uri;
mod utilization;

use std::process::ExitCode;

fn main() -> ExitCode {
    shared::ocf::main(agent::VirtualDomain)
}
