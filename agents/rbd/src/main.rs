//! `ocf:vmmgr:rbd` (see the library crate for everything).

fn main() -> std::process::ExitCode {
    shared::ocf::main(vmmgr_agent_rbd::RbdAgent)
}
