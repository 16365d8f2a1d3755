//! `VirtualDomain`: the binary Pacemaker runs for `ocf:vmmgr:VirtualDomain`. It does not link
//! libvirt: meta-data and the monitor are answered here, everything else by the full agent it
//! `exec`s (see [`vmmgr_agent_virtual_domain::light`]).

use std::process::ExitCode;

fn main() -> ExitCode {
    vmmgr_agent_virtual_domain::light::main()
}
