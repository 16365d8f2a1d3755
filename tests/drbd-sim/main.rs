//! **DRBD SIMULATOR** — a test stand-in for `drbdadm` and `drbdsetup` (and, for hermetic tests
//! only, `crm_attribute`). It is NOT DRBD and must never be installed on a real system.
//!
//! The test machines have no DRBD kernel module, so the end-to-end tests of `ocf:vmmgr:drbd`
//! put symlinks named `drbdadm` and `drbdsetup` to this binary first on `PATH`. It dispatches
//! on the name it was called by (`argv[0]`), or on its first argument when called as
//! `drbd-sim` (`drbd-sim drbdadm up r0`). See `README.md` next to this file.
//!
//! State lives in files under `$DRBD_SIM_DIR` (default `/var/tmp/vmmgr-drbd-sim`), shared by all
//! simulated nodes (the sandbox nodes see the host's `/var/tmp`): one state file per resource and
//! node, keyed by `$DRBD_SIM_NODE` (default: the host name, which is the node name inside sandbox
//! nodes). A node's "kernel" is a small background process started by `up`/`adjust` that keeps a
//! heartbeat file fresh; when the node dies (sandbox `kill-node`), the heartbeat goes stale and
//! the peers see the connection `Connecting` with peer disk `DUnknown`, and the dead node's own
//! state is gone when it comes back (as after a reboot).
//!
//! Configuration queries (`sh-dev`, `dump-xml`, `dump`, ...) are passed to the real `drbdadm`
//! (`$DRBD_SIM_REAL_DRBDADM`, default `/usr/sbin/drbdadm`), which parses `drbd.conf` without the
//! kernel module; the simulator reads the resource's hosts, volumes and `allow-two-primaries`
//! from `drbdadm dump-xml`.

mod crm_attribute;
mod model;
mod tools;

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().collect();
    let argv0 = args.remove(0);
    let mut name = argv0.rsplit('/').next().unwrap_or("").to_owned();
    if name == "drbd-sim" {
        if args.is_empty() {
            eprintln!("drbd-sim (DRBD SIMULATOR): usage: drbd-sim drbdadm|drbdsetup|crm_attribute|kernel|set ARGS...");
            return ExitCode::from(2);
        }
        name = args.remove(0);
    }
    let code = match name.as_str() {
        "drbdadm" => tools::drbdadm(&args),
        "drbdsetup" => tools::drbdsetup(&args),
        "crm_attribute" => crm_attribute::crm_attribute(&args),
        "kernel" => tools::kernel(&args),
        "set" => tools::set(&args),
        other => {
            eprintln!("drbd-sim (DRBD SIMULATOR): unknown tool name {other:?}");
            2
        }
    };
    ExitCode::from(code)
}
