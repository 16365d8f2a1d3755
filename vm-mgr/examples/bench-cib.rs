//! The CIB of `tests/bench/balance-32x1000`: NODES nodes and VMS vm-mgr VMs, written to stdout.
//!
//! usage: bench-cib EMPTY_CIB VMS NODES     (EMPTY_CIB: what `cibadmin --empty` prints)
//!
//! The configuration is vm-mgr's own: each VM's fragment comes from [`fragment::build`] and
//! goes in with [`fragment::insert`], as `create` does; the anti-colocations are
//! [`placement::edit::colocation`]s as `add-colocation --anti --strong` writes them. Mixed
//! sizes: 1..4 vCPUs and 512..4096 MiB (the utilization `create` reads from the XML); every
//! 20th VM pinned to a node (round robin), the others `auto` with live migration; every 10th
//! auto VM apart from the next one. No placement strategy or capacity: `vm-mgr balance
//! --enable` writes them afterwards.
//!
//! The status is written directly, as a running cluster holds it: every node online and a
//! member, every VM Started on a node chosen here (its pin; else the node with the most free
//! vCPUs, not its anti-colocated partner's), its two members with a successful start and
//! recurring monitor in their node's history. Startup probes are off
//! (`enable-startup-probes=false`: the nodes count as probed, as in a running cluster), and so
//! is fencing (no fence device in a file); `resource-stickiness=100` in the resource defaults,
//! as on the sandbox cluster. This is a generator for a benchmark, not a fake of a
//! Pacemaker tool: `crm_simulate` and `crm_mon` read the file as they read a live CIB.

use std::collections::BTreeMap;
use std::process::ExitCode;

use shared::xml::Element;
use vm_mgr::fragment::{self, CephAccess};
use vm_mgr::placement;
use vm_mgr::vm::{Settings, VmIds};

/// vCPUs and MiB of the capacity the benchmark gives each node (`balance --node-info 128,256G`).
const NODE_CPUS: u64 = 128;
const NODE_MIB: u64 = 256 * 1024;

fn el(name: &str, attrs: &[(&str, &str)]) -> Element {
    let mut e = Element::new(name);
    for (k, v) in attrs {
        e.set_attr(k, *v);
    }
    e
}

/// VM `i` (1-based): name, vCPUs, MiB, pinned node.
struct Vm {
    name: String,
    cpus: u64,
    mib: u64,
    pin: Option<usize>,
}

fn vms(count: usize, nodes: usize) -> Vec<Vm> {
    (1..=count)
        .map(|i| Vm {
            name: format!("vm{i:04}"),
            cpus: 1 + (i % 4) as u64,
            mib: 512 << (i % 4),
            pin: (i % 20 == 0).then_some((i / 20) % nodes),
        })
        .collect()
}

/// The anti-colocated pairs: every 10th auto VM with the next one (indexes into `vms`).
fn anti_pairs(vms: &[Vm]) -> Vec<(usize, usize)> {
    (0..vms.len().saturating_sub(1))
        .filter(|&k| (k + 1) % 10 == 1 && vms[k].pin.is_none() && vms[k + 1].pin.is_none())
        .map(|k| (k, k + 1))
        .collect()
}

/// The configuration: properties, nodes, every VM's fragment and the anti-colocations.
fn configure(tree: &mut Element, vms: &[Vm], nodes: usize) -> Result<(), String> {
    let conf = tree
        .child_mut("configuration")
        .ok_or("no <configuration>")?;
    let props = conf.child_mut("crm_config").ok_or("no <crm_config>")?;
    let mut set = el("cluster_property_set", &[("id", "cib-bootstrap-options")]);
    for (k, v) in [
        ("stonith-enabled", "false"),
        ("enable-startup-probes", "false"),
        ("have-watchdog", "false"),
        ("cluster-infrastructure", "corosync"),
    ] {
        set.children.push(el(
            "nvpair",
            &[
                ("id", &format!("cib-bootstrap-options-{k}")),
                ("name", k),
                ("value", v),
            ],
        ));
    }
    props.children.push(set);
    // As the sandbox cluster (and `balance`'s advice): auto VMs move only with rebalance.
    let mut defaults = el("meta_attributes", &[("id", "rsc-options")]);
    defaults.children.push(el(
        "nvpair",
        &[
            ("id", "rsc-options-resource-stickiness"),
            ("name", "resource-stickiness"),
            ("value", "100"),
        ],
    ));
    let mut rsc_defaults = Element::new("rsc_defaults");
    rsc_defaults.children.push(defaults);
    conf.children.push(rsc_defaults);
    let list = conf.child_mut("nodes").ok_or("no <nodes>")?;
    for n in 1..=nodes {
        list.children.push(el(
            "node",
            &[("id", &n.to_string()), ("uname", &format!("sim{n}"))],
        ));
    }
    for vm in vms {
        let settings = Settings {
            live_migration: vm.pin.is_none(),
            pinned_host: vm.pin.map(|n| format!("sim{}", n + 1)),
            pacemaker_utilization: BTreeMap::from([
                ("cpu".to_owned(), vm.cpus.to_string()),
                ("hv_memory".to_owned(), vm.mib.to_string()),
                ("host_memory".to_owned(), vm.mib.to_string()),
            ]),
            ..Settings::default()
        };
        let f = fragment::build(
            &VmIds::new(&vm.name),
            &settings,
            &CephAccess::default(),
            "Started",
        );
        fragment::insert(tree, &f, "Started").map_err(|e| e.to_string())?;
    }
    let constraints = tree
        .child_mut("configuration")
        .and_then(|c| c.child_mut("constraints"))
        .ok_or("no <constraints>")?;
    for (a, b) in anti_pairs(vms) {
        constraints.children.push(placement::edit::colocation(
            &vms[a].name,
            &vms[b].name,
            true,
            "-INFINITY",
        ));
    }
    Ok(())
}

/// Where each VM runs: its pin, else the node with the most free vCPUs (then MiB) that holds
/// neither its anti-colocated partner nor too little room.
fn place(vms: &[Vm], nodes: usize) -> Result<Vec<usize>, String> {
    let mut free = vec![(NODE_CPUS, NODE_MIB); nodes];
    let mut at: Vec<Option<usize>> = vec![None; vms.len()];
    let anti = anti_pairs(vms);
    let order = (0..vms.len()).filter(|&k| vms[k].pin.is_some());
    for k in order.chain((0..vms.len()).filter(|&k| vms[k].pin.is_none())) {
        let vm = &vms[k];
        let apart: Vec<usize> = anti
            .iter()
            .filter_map(|&(a, b)| match k {
                _ if k == a => at[b],
                _ if k == b => at[a],
                _ => None,
            })
            .collect();
        let node = match vm.pin {
            Some(n) => n,
            None => (0..nodes)
                .filter(|n| !apart.contains(n))
                .max_by_key(|&n| (free[n], std::cmp::Reverse(n)))
                .ok_or("no node left")?,
        };
        let (c, m) = free[node];
        free[node] = (
            c.checked_sub(vm.cpus)
                .ok_or(format!("sim{} full", node + 1))?,
            m.checked_sub(vm.mib)
                .ok_or(format!("sim{} full", node + 1))?,
        );
        at[k] = Some(node);
    }
    at.into_iter()
        .map(|n| n.ok_or_else(|| "a VM was not placed".to_owned()))
        .collect()
}

/// One successful operation in a node's history.
fn op(rsc: &str, node: &str, call: u64, name: &str, interval_ms: u32) -> Element {
    let key = format!("{rsc}_{name}_{interval_ms}");
    let id = if interval_ms == 0 {
        format!("{rsc}_last_0")
    } else {
        key.clone()
    };
    let transition = format!("{call}:1:0:00000000-0000-4000-8000-00000000bench");
    el(
        "lrm_rsc_op",
        &[
            ("id", &id),
            ("operation_key", &key),
            ("operation", name),
            ("crm-debug-origin", "do_update_resource"),
            ("crm_feature_set", "3.16.1"),
            ("transition-key", &transition),
            ("transition-magic", &format!("0:0;{transition}")),
            ("exit-reason", ""),
            ("on_node", node),
            ("call-id", &call.to_string()),
            ("rc-code", "0"),
            ("op-status", "0"),
            ("interval", &interval_ms.to_string()),
            ("last-rc-change", "1795315224"),
            ("exec-time", "100"),
            ("queue-time", "0"),
        ],
    )
}

/// The status: every node online, each VM's members started (and monitored) on its node.
fn status(vms: &[Vm], at: &[Option<usize>], nodes: usize) -> Element {
    let mut status = Element::new("status");
    for n in 0..nodes {
        let (id, uname) = ((n + 1).to_string(), format!("sim{}", n + 1));
        let mut state = el(
            "node_state",
            &[
                ("id", &id),
                ("uname", &uname),
                ("in_ccm", "true"),
                ("crmd", "online"),
                ("crm-debug-origin", "do_update_resource"),
                ("join", "member"),
                ("expected", "member"),
            ],
        );
        let mut rscs = Element::new("lrm_resources");
        let mut call = 0u64;
        for (vm, _) in vms.iter().zip(at).filter(|(_, &a)| Some(n) == a) {
            let ids = VmIds::new(&vm.name);
            for (rsc, kind) in [(ids.guard(), "rbd"), (ids.domain(), "VirtualDomain")] {
                let mut r = el(
                    "lrm_resource",
                    &[
                        ("id", &rsc),
                        ("type", kind),
                        ("class", "ocf"),
                        ("provider", "vmmgr"),
                    ],
                );
                call += 2;
                r.children.push(op(&rsc, &uname, call - 1, "start", 0));
                r.children.push(op(&rsc, &uname, call, "monitor", 10_000));
                rscs.children.push(r);
            }
        }
        let mut lrm = el("lrm", &[("id", &id)]);
        lrm.children.push(rscs);
        state.children.push(lrm);
        status.children.push(state);
    }
    status
}

fn run(args: &[String]) -> Result<String, String> {
    let (history, args) = match args {
        [_, flag, rest @ ..] if flag == "--history" => (true, rest),
        [_, rest @ ..] => (false, rest),
        [] => (false, args),
    };
    let [empty, count, nodes] = args else {
        return Err("usage: bench-cib [--history] EMPTY_CIB VMS NODES".into());
    };
    let number = |s: &str| s.parse::<usize>().map_err(|e| format!("{s}: {e}"));
    let (count, nodes) = (number(count)?, number(nodes)?);
    if nodes == 0 || nodes > 1000 || count > 100_000 {
        return Err("1..=1000 nodes and at most 100,000 VMs".into());
    }
    let text = std::fs::read_to_string(empty).map_err(|e| format!("{empty}: {e}"))?;
    let mut tree = Element::parse(&text, empty).map_err(|e| e.to_string())?;
    tree.set_attr("have-quorum", "1");
    tree.set_attr("dc-uuid", "1");
    let vms = vms(count, nodes);
    configure(&mut tree, &vms, nodes)?;
    let at: Vec<Option<usize>> = if history {
        place(&vms, nodes)?.into_iter().map(Some).collect()
    } else {
        vec![None; vms.len()]
    };
    tree.children.retain(|c| c.name != "status");
    tree.children.push(status(&vms, &at, nodes));
    Ok(tree.to_xml())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match run(&args) {
        Ok(xml) => {
            println!("{xml}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench-cib: {e}");
            ExitCode::from(2)
        }
    }
}
