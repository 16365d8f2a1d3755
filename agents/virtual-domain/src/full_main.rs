//! `VirtualDomain-libvirt`: the full `ocf:vmmgr:VirtualDomain` agent, through libvirt's client
//! library. Installed hidden (`.VirtualDomain-libvirt`) next to the light `VirtualDomain`,
//! which `exec`s it for every action but the monitor (see the library's docs).

use std::process::ExitCode;

fn main() -> ExitCode {
    shared::ocf::main(vmmgr_agent_virtual_domain::agent::VirtualDomain)
}
