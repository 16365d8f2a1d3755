//! `balance` on a private copy of a recorded CIB (real `cibadmin` and `crm_diff` through
//! `CIB_file`), with node figures from `--node-info` (no libvirt behind a CIB file) and
//! in-memory storage.

use clap::Parser;
use shared::pacemaker::Cib;

use super::testing::CibFile;
use crate::cli::{Cli, Command};
use crate::ctx::Ctx;
use crate::error::Result;
use crate::output::Outcome;
use crate::storage::mem::Memory;

fn balance(ctx: &Ctx, args: &[&str]) -> Result<Outcome> {
    let cli = Cli::try_parse_from(["vm-mgr", "balance"].iter().chain(args))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let Command::Balance(a) = &cli.command else {
        panic!()
    };
    super::balance::run(ctx, a)
}

fn capacity(cib: &Cib, node: &str) -> Vec<String> {
    cib.node(node)
        .unwrap()
        .utilization
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect()
}

/// The CIB file with t1's utilization (written by the agent) taken out.
fn without_utilization() -> CibFile {
    let f = CibFile::new("cib-vm-t1-started.xml");
    let text = f.text();
    let start = text
        .find("<utilization id=\"vmmgr-domain-t1-utilization\">")
        .unwrap();
    let end = start + text[start..].find("</utilization>").unwrap() + "</utilization>".len();
    std::fs::write(&f.path, format!("{}{}", &text[..start], &text[end..])).unwrap();
    f
}

#[test]
fn enable_writes_every_capacity_and_the_strategy_and_disable_takes_them_out() {
    let f = CibFile::new("cib-vm-t1-started.xml");
    let before = Cib::parse(&f.text()).unwrap();
    let ctx = f.ctx(Memory::new(), false);
    let args = [
        "--enable",
        "--node-info",
        "4,8G",
        "--reserve-memory",
        "1G",
        "--reserve-memory",
        "sim3=7500M",
        "--reserve-cpus",
        "1",
    ];
    let out = balance(&ctx, &args).unwrap();
    let cib = Cib::parse(&f.text()).unwrap();
    assert_eq!(cib.property("placement-strategy"), Some("balanced"));
    for n in ["sim1", "sim2"] {
        assert_eq!(
            capacity(&cib, n),
            ["cpu=3", "host_memory=7168", "hv_memory=7168"]
        );
    }
    assert_eq!(
        capacity(&cib, "sim3"),
        ["cpu=3", "host_memory=692", "hv_memory=692"]
    );
    assert_eq!(out.json["nodes"].as_array().unwrap().len(), 3);
    assert_eq!(out.json["nodes"][2]["source"], "--node-info");
    // The strategy check of doctor and info is quiet now.
    let mon = ctx.tools.crm_mon_xml(ctx.cib_deadline()).unwrap();
    assert!(crate::checks::cib_findings(&cib, &mon, 0)
        .iter()
        .all(|x| x.kind != crate::checks::Kind::PlacementCapacity));
    // Again: nothing changes (the same figures).
    let epoch = cib.version().epoch;
    balance(&ctx, &args).unwrap();
    assert_eq!(Cib::parse(&f.text()).unwrap().version().epoch, epoch);

    let out = balance(&ctx, &["--disable"]).unwrap();
    assert_eq!(out.json["changed"], true);
    let after = Cib::parse(&f.text()).unwrap();
    assert_eq!(after.property("placement-strategy"), None);
    for n in ["sim1", "sim2", "sim3"] {
        assert!(capacity(&after, n).is_empty(), "{n}");
    }
    assert_eq!(after.nodes, before.nodes);
    assert_eq!(after.crm_config, before.crm_config);
    let out = balance(&ctx, &["--disable"]).unwrap();
    assert_eq!(out.json["changed"], false);
}

#[test]
fn a_missing_utilization_is_filled_from_the_stored_xml_in_the_same_transaction() {
    let f = without_utilization();
    let xml = "<domain type='kvm'><name>t1</name><memory unit='GiB'>2</memory><vcpu>3</vcpu>\
               </domain>";
    let storage = Memory::new().with_image("system_t1", &[("xml", xml)]);
    let ctx = f.ctx(storage, false);
    let out = balance(&ctx, &["--enable", "--node-info", "8,16G"]).unwrap();
    assert_eq!(out.json["filled"][0]["name"], "t1");
    let cib = Cib::parse(&f.text()).unwrap();
    let u = &cib.primitive("vmmgr-domain-t1").unwrap().utilization;
    let got: Vec<String> = u.iter().map(|(k, v)| format!("{k}={v}")).collect();
    assert_eq!(got, ["cpu=3", "host_memory=2048", "hv_memory=2048"]);
    assert_eq!(cib.property("placement-strategy"), Some("balanced"));
}

#[test]
fn refusals_change_nothing() {
    // No utilization and a stored XML that cannot give it: exit 7.
    let f = without_utilization();
    let before = f.text();
    let no_size = Memory::new().with_image("system_t1", &[("xml", "<domain type='kvm'/>")]);
    let e = balance(
        &f.ctx(no_size, false),
        &["--enable", "--node-info", "8,16G"],
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), 7, "{e}");
    assert!(e.to_string().contains("t1 ("), "{e}");
    assert_eq!(f.text(), before);
    // Nor without storage.
    let e = balance(
        &f.ctx(crate::storage::NoStorage, false),
        &["--enable", "--node-info", "8,16G"],
    )
    .unwrap_err();
    assert!(e.to_string().contains("--no-storage"), "{e}");
    assert_eq!(f.text(), before);

    let f = CibFile::new("cib-vm-t1-started.xml");
    let before = f.text();
    let ctx = f.ctx(Memory::new(), false);
    // A reserve that leaves a node nothing: exit 1, naming it.
    let e = balance(
        &ctx,
        &[
            "--enable",
            "--node-info",
            "2,4G",
            "--reserve-memory",
            "sim2=4G",
        ],
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), 1, "{e}");
    assert!(
        e.to_string()
            .contains("sim2 has 2 CPU threads and 4096 MiB"),
        "{e}"
    );
    // libvirt that does not answer, for one node: exit 1, naming it and the URI.
    let e = balance(
        &ctx,
        &[
            "--enable",
            "--node-info",
            "sim1=2,4G",
            "--node-info",
            "sim2=2,4G",
            "--libvirt-uri",
            "qemu+tcp://127.0.0.1:1/system?%n",
        ],
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("libvirt on sim3 (qemu+tcp://127.0.0.1:1/system?sim3)"),
        "{e}"
    );
    // Unknown nodes, bad figures, a refresh before any enable: usage.
    for args in [
        &["--enable", "--node-info", "sim9=2,4G"][..],
        &["--enable", "--node-info", "2;4G"],
        &[
            "--enable",
            "--node-info",
            "2,4G",
            "--reserve-memory",
            "lots",
        ],
        &["--refresh", "--node-info", "2,4G"],
    ] {
        let e = balance(&ctx, args).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
    }
    assert_eq!(f.text(), before);
    // A dry run shows the patch and changes nothing.
    let dry = f.ctx(Memory::new(), true);
    let out = balance(&dry, &["--enable", "--node-info", "2,4G"]).unwrap();
    let patch = out.json["cib_patch"].as_str().unwrap();
    assert!(
        patch.contains("placement-strategy") && patch.contains("nodes-3-utilization"),
        "{patch}"
    );
    assert_eq!(f.text(), before);
}

#[test]
fn info_shows_each_nodes_load_and_warns_of_a_strategy_without_capacities() {
    let f = CibFile::new("cib-vm-t1-started.xml");
    let ctx = f.ctx(Memory::new(), false);
    // Before: the keys info always had are still there, the new ones empty.
    let out = super::info::run(&ctx).unwrap();
    let nodes = out.json["nodes"].as_array().unwrap();
    for key in ["name", "state", "type", "dc", "role", "vms", "utilization"] {
        assert!(nodes[0].get(key).is_some(), "{key}");
    }
    assert_eq!(out.json["placement_strategy"], "default");
    assert_eq!(out.json["warnings"].as_array().unwrap().len(), 0);
    let sim2 = &nodes[1];
    assert_eq!(sim2["vm_count"], 1);
    assert_eq!(sim2["used"]["hv_memory"], 64);
    assert_eq!(sim2["capacity"], serde_json::json!({}));

    // A strategy set by hand without capacities: warned, in JSON and text.
    std::fs::write(
        &f.path,
        f.text().replace(
            "</cluster_property_set>",
            "<nvpair id=\"o-ps\" name=\"placement-strategy\" value=\"utilization\"/></cluster_property_set>",
        ),
    )
    .unwrap();
    let out = super::info::run(&ctx).unwrap();
    let w = out.json["warnings"][0].as_str().unwrap();
    assert!(w.contains("nodes sim1, sim2, sim3 have no capacity"), "{w}");
    assert!(
        out.text.contains("warning: placement-strategy=utilization"),
        "{}",
        out.text
    );

    // With capacities: capacity, used and free per node, and no warning.
    balance(&ctx, &["--enable", "--node-info", "2,1000M"]).unwrap();
    let out = super::info::run(&ctx).unwrap();
    assert_eq!(out.json["placement_strategy"], "balanced");
    assert_eq!(out.json["warnings"].as_array().unwrap().len(), 0);
    let sim2 = &out.json["nodes"][1];
    assert_eq!(sim2["name"], "sim2");
    assert_eq!(sim2["capacity"]["cpu"], 2);
    assert_eq!(sim2["free"]["cpu"], 1);
    assert_eq!(sim2["free"]["hv_memory"], 936);
    assert_eq!(out.json["nodes"][0]["free"]["hv_memory"], 1000);
    assert_eq!(out.json["nodes"][0]["vm_count"], 0);
    assert!(
        out.text.contains("cpu 1/2 hv_memory 64/1000"),
        "{}",
        out.text
    );
}

/// The recorded CIB with t1 live-migratable and balancing on: sim2 (where t1 runs) small,
/// sim1 the largest.
fn balanced_t1() -> CibFile {
    let f = CibFile::new("cib-vm-t1-started.xml");
    let text = f.text().replace(
        "name=\"allow-migrate\" value=\"false\"",
        "name=\"allow-migrate\" value=\"true\"",
    );
    std::fs::write(&f.path, text).unwrap();
    let args = [
        "--enable",
        "--node-info",
        "sim1=2,4000M",
        "--node-info",
        "sim2=2,100M",
        "--node-info",
        "sim3=2,2000M",
    ];
    balance(&f.ctx(Memory::new(), false), &args).unwrap();
    f
}

fn rebalance(ctx: &Ctx, args: &[&str]) -> Result<Outcome> {
    let cli = Cli::try_parse_from(["vm-mgr", "rebalance"].iter().chain(args))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let Command::Rebalance(a) = &cli.command else {
        panic!()
    };
    super::rebalance::run(ctx, a)
}

#[test]
fn rebalance_plans_moves_of_auto_vms_only_to_where_the_load_is_even() {
    let f = balanced_t1();
    let before = f.text();
    let dry = f.ctx(Memory::new(), true);
    let out = rebalance(&dry, &[]).unwrap();
    // t1 (auto, sticky through rsc_defaults) stays on sim2 for Pacemaker; by load alone it
    // goes to sim1, the node with the most free capacity (vm-mgr's plan: no crm_simulate).
    assert_eq!(
        out.json["moves"],
        serde_json::json!([{"name": "t1", "from": "sim2", "to": "sim1"}])
    );
    assert!(
        out.text
            .contains("would migrate t1 from sim2 to sim1 (live)"),
        "{}",
        out.text
    );
    assert_eq!(f.text(), before);
    // --max-moves 0 keeps it for later.
    let out = rebalance(&dry, &["--max-moves", "0"]).unwrap();
    assert_eq!(out.json["moves"], serde_json::json!([]));
    assert_eq!(out.json["beyond_max_moves"][0]["name"], "t1");
    // A real run on a CIB file is refused (nothing would move).
    let e = rebalance(&f.ctx(Memory::new(), false), &[]).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    assert_eq!(f.text(), before);

    // failover and pinned VMs never move.
    for strategy in [
        &["--strategy", "failover"][..],
        &["--strategy", "pinned", "--node", "sim2"],
    ] {
        let g = balanced_t1();
        let cli = Cli::try_parse_from(
            ["vm-mgr", "set-placement", "-n", "t1"]
                .iter()
                .chain(strategy),
        )
        .unwrap();
        let Command::SetPlacement(a) = &cli.command else {
            panic!()
        };
        let stored = super::testing::stored_vm("t1", &Default::default());
        super::placement::run(&g.ctx(stored, false), a).unwrap();
        let out = rebalance(&g.ctx(Memory::new(), true), &[]).unwrap();
        assert_eq!(out.json["moves"], serde_json::json!([]), "{strategy:?}");
        assert!(
            out.text.contains("Balanced: no VM to move."),
            "{}",
            out.text
        );
    }
}
