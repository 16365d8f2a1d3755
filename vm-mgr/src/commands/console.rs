//! `console -n VM [--force]`: the VM's serial console, on the node that runs it. The node
//! comes from the cluster status (as `status` and `migrate` find it); on that node itself
//! vm-mgr runs `virsh -c HYPERVISOR console --domain NAME`, elsewhere `virsh -c REMOTE console
//! --domain NAME` with REMOTE the libvirt URI the VirtualDomain agent migrates to (its
//! `remoteuri`, else the hypervisor URI with the migration transport and user:
//! `qemu+ssh://NODE/system`). virsh runs on the terminal (Ctrl-] leaves); `--dry-run` prints
//! the node and the command instead. A VM that is not running is refused (exit 7).

use serde_json::json;
use shared::cmd::Cmd;
use shared::pacemaker::Cib;

use crate::cli_view::ConsoleArgs;
use crate::ctx::Ctx;
use crate::error::{Error, Result, EXIT_REFUSED};
use crate::output::Outcome;
use crate::state::VmState;
use crate::vm::VmIds;

/// The argv of `virsh console` for VM `name` running on `node`, run from `here` (this node,
/// when known).
pub fn console_argv(
    cib: &Cib,
    name: &str,
    node: &str,
    here: Option<&str>,
    force: bool,
) -> Vec<String> {
    let uri = if here == Some(node) {
        cib.primitive(&VmIds::new(name).domain())
            .and_then(|p| p.instance_attributes.get("hypervisor"))
            .cloned()
            .unwrap_or_else(|| "qemu:///system".to_owned())
    } else {
        crate::placement::preflight::remote_uri(cib, name, node)
    };
    let mut argv: Vec<String> = ["virsh", "-c", &uri, "console"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    if force {
        argv.push("--force".into());
    }
    argv.extend(["--domain".to_owned(), name.to_owned()]);
    argv
}

/// Runs `console`.
pub fn run(ctx: &Ctx, a: &ConsoleArgs) -> Result<Outcome> {
    let name = a.name.as_str();
    let (cib, mon) = crate::cluster::read_cluster(ctx)?;
    let st = crate::state::status_of(name, &cib, &mon, crate::cluster::in_storage(ctx, name)?);
    let node = match (st.state, &st.node) {
        (VmState::Undefined, _) => {
            return Err(Error::NoSuchVm {
                name: name.to_owned(),
            })
        }
        (VmState::Started, Some(node)) => node.clone(),
        (state, _) => {
            return Err(Error::Below {
                code: EXIT_REFUSED,
                source: Box::new(Error::invalid(format!(
                    "VM {name} is not running ({state}): it has no console to attach to; \
                     start it first (vm-mgr start -n {name})."
                ))),
            })
        }
    };
    // On a CIB file there is no cluster to ask which node this is.
    let here = if ctx.offline {
        None
    } else {
        ctx.tools.local_node_name(ctx.cib_deadline()).ok()
    };
    let argv = console_argv(&cib, name, &node, here.as_deref(), a.force);
    let local = here.as_deref() == Some(node.as_str());
    let cmdline = Cmd::new(&argv[0]).args(&argv[1..]).cmdline();
    let json = json!({
        "name": name,
        "node": node,
        "local": local,
        "argv": argv,
        "dry_run": ctx.dry_run,
    });
    if ctx.dry_run {
        return Ok(Outcome::new(
            json,
            format!(
                "Dry run of console for {name}: it runs on {node}; vm-mgr would run: {cmdline}\n"
            ),
        ));
    }
    ctx.progress.say(&format!(
        "{name} runs on {node}: {cmdline} (Ctrl-] leaves the console)"
    ));
    Cmd::new(&argv[0])
        .args(&argv[1..])
        .run_interactive()
        .map_err(|e| Error::Below {
            code: crate::error::EXIT_FAILED,
            source: Box::new(e),
        })?;
    Ok(Outcome::new(json, String::new()))
}
