//! `add-pacemaker-remote` / `remove-pacemaker-remote` and the guest node in status, list and
//! info, on private copies of recorded CIBs through the real Pacemaker tools (`CIB_file`),
//! with in-memory storage. `cib-guest-node.xml` was recorded in the sandbox with a real guest
//! node online (see the fixture README).

use clap::Parser;

use super::testing::{stored_vm, CibFile};
use crate::cli::{Cli, Command};
use crate::ctx::Ctx;
use crate::error::Error;
use crate::output::{Layout, Outcome, OutputFormat};
use crate::vm::{Settings, META_FRAGMENT, META_SETTINGS};

/// Parses `args` and runs the verb (the verbs these tests use; a test module calls verbs, not
/// `commands::run`, which declares it).
fn run(ctx: &Ctx, args: &[&str]) -> Result<Outcome, Error> {
    let cli = Cli::try_parse_from(std::iter::once("vm-mgr").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    match &cli.command {
        Command::AddPacemakerRemote(a) => super::pacemaker_remote::add(ctx, a),
        Command::RemovePacemakerRemote(a) => super::pacemaker_remote::remove(ctx, &a.name),
        Command::Status(a) => super::status::run(ctx, &a.name),
        Command::List(_) => super::list::run(ctx),
        Command::Info => super::info::run(ctx),
        Command::Enable(a) => super::enable::run(ctx, &a.name, a.nostart),
        Command::SetPlacement(a) => super::placement::run(ctx, a),
        Command::Migrate(a) => super::migrate::run(ctx, a),
        other => panic!("not used here: {}", other.verb()),
    }
}

fn settings(ctx: &Ctx, name: &str) -> Settings {
    let meta = ctx.storage.meta_list(&format!("system_{name}")).unwrap();
    Settings::from_json(name, &meta[META_SETTINGS]).unwrap()
}

#[test]
fn add_sets_the_meta_of_the_domain_and_the_settings_remove_takes_them_away() {
    let f = CibFile::new("cib-vm-t1-started.xml");
    let ctx = f.ctx(stored_vm("t1", &Settings::default()), false);
    let out = run(
        &ctx,
        &[
            "add_pacemaker_remote",
            "-n",
            "t1",
            "--remote_address",
            "10.78.0.150",
            "--remote_port",
            "3122",
            "--remote_timeout",
            "90s",
        ],
    )
    .unwrap();
    assert_eq!(out.json["changed"], true);
    assert_eq!(out.json["guest_node"]["name"], "t1-guest");
    assert_eq!(out.json["authkey"]["checked"], false, "not on a CIB file");
    let cib = f.text();
    for (k, v) in [
        ("remote-node", "t1-guest"),
        ("remote-addr", "10.78.0.150"),
        ("remote-port", "3122"),
        ("remote-connect-timeout", "90s"),
    ] {
        let nv = format!(r#"<nvpair id="vmmgr-domain-t1.meta.{k}" name="{k}" value="{v}"/>"#);
        assert!(cib.contains(&nv), "{nv} in {cib}");
    }
    let g = settings(&ctx, "t1")
        .guest_node
        .expect("kept in the settings");
    assert_eq!(
        (g.name.as_str(), g.port, g.connect_timeout.as_deref()),
        ("t1-guest", Some(3122), Some("90s"))
    );
    // The text says how to put the key into the guest.
    assert!(out
        .text
        .contains("scp -p /etc/pacemaker/authkey root@10.78.0.150:"));
    // Again: nothing to change; a new name replaces the old one, the other values go.
    let again = run(
        &ctx,
        &[
            "add-pacemaker-remote",
            "-n",
            "t1",
            "--remote-address",
            "10.78.0.150",
            "--remote-port",
            "3122",
            "--remote-timeout",
            "90s",
        ],
    )
    .unwrap();
    assert_eq!(again.json["changed"], false);
    assert_eq!(f.text(), cib);
    run(
        &ctx,
        &["add-pacemaker-remote", "-n", "t1", "--remote-name", "web"],
    )
    .unwrap();
    let cib = f.text();
    assert!(cib.contains(r#"name="remote-node" value="web""#), "{cib}");
    assert!(
        !cib.contains("remote-addr") && !cib.contains("remote-port"),
        "{cib}"
    );

    let out = run(&ctx, &["remove_pacemaker_remote", "-n", "t1"]).unwrap();
    assert_eq!(out.json["removed"], "web");
    assert_eq!(out.json["changed"], true);
    assert!(!f.text().contains("remote-node"));
    assert_eq!(settings(&ctx, "t1").guest_node, None);
    let out = run(&ctx, &["remove-pacemaker-remote", "-n", "t1"]).unwrap();
    assert_eq!(out.json["changed"], false);
    assert!(out.text.contains("not a guest node"), "{}", out.text);
}

#[test]
fn dry_run_changes_nothing_and_shows_the_patch() {
    let f = CibFile::new("cib-vm-t1-started.xml");
    let before = f.text();
    let ctx = f.ctx(stored_vm("t1", &Settings::default()), true);
    let out = run(&ctx, &["add-pacemaker-remote", "-n", "t1"]).unwrap();
    let patch = out.json["cib_patch"].as_str().unwrap_or_default();
    assert!(
        patch.contains(r#"name="remote-node" value="t1-guest""#),
        "{out:?}"
    );
    assert_eq!(out.json["guest_node"]["name"], "t1-guest");
    assert_eq!(f.text(), before);
    assert_eq!(settings(&ctx, "t1").guest_node, None);
}

#[test]
fn names_and_values_that_cannot_be_are_refused() {
    let f = CibFile::new("cib-vm-t1-started.xml");
    let before = f.text();
    let ctx = f.ctx(stored_vm("t1", &Settings::default()), false);
    for (extra, says) in [
        (&["--remote-name", "sim1"][..], "a cluster node"),
        (
            &["--remote-name", "sandbox-fence"][..],
            "the id of an element",
        ),
        (&["--remote-name", "t1"][..], "the id of an element"),
        (&["--remote-name=-x"][..], "Invalid guest node name"),
        (
            &["--remote-address", "1.2.3.4 5"][..],
            "Invalid remote address",
        ),
        (&["--remote-port", "0"][..], "Invalid remote port"),
        (&["--remote-timeout", "soon"][..], "Invalid remote timeout"),
    ] {
        let mut args = vec!["add-pacemaker-remote", "-n", "t1"];
        args.extend_from_slice(extra);
        let e = run(&ctx, &args).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
        assert!(e.to_string().contains(says), "{args:?}: {e}");
    }
    assert_eq!(f.text(), before);
    assert_eq!(settings(&ctx, "t1").guest_node, None);
}

#[test]
fn a_disabled_vm_keeps_its_guest_node_in_the_kept_fragment() {
    let f = CibFile::new("cib-3nodes-idle.xml");
    let before = f.text();
    let ctx = f.ctx(stored_vm("d9", &Settings::default()), false);
    let out = run(&ctx, &["add-pacemaker-remote", "-n", "d9"]).unwrap();
    assert_eq!(out.json["enabled"], false);
    assert_eq!(out.json["changed"], true);
    assert_eq!(f.text(), before, "the CIB does not have the VM");
    let meta = ctx.storage.meta_list("system_d9").unwrap();
    assert!(
        meta[META_FRAGMENT].contains(r#"name="remote-node" value="d9-guest""#),
        "{}",
        meta[META_FRAGMENT]
    );
    // enable brings it into the cluster with the VM.
    run(&ctx, &["enable", "-n", "d9", "--nostart"]).unwrap();
    assert!(f.text().contains(r#"name="remote-node" value="d9-guest""#));
    // And a name taken in the cluster is refused for a disabled VM too.
    let f2 = CibFile::new("cib-vm-t1-started.xml");
    let ctx2 = f2.ctx(stored_vm("d9", &Settings::default()), false);
    let e = run(
        &ctx2,
        &["add-pacemaker-remote", "-n", "d9", "--remote-name", "t1"],
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
}

#[test]
fn status_list_and_info_show_the_guest_node_and_its_state() {
    let f = CibFile::new("cib-guest-node.xml");
    let ctx = f.ctx(stored_vm("g1", &Settings::default()), false);
    let st = run(&ctx, &["status", "-n", "g1"]).unwrap();
    assert_eq!(st.json["state"], "Started");
    assert_eq!(
        st.json["guest_node"],
        serde_json::json!({"name": "g1-guest", "address": "10.78.0.171", "port": null,
                           "connect_timeout": null, "state": "online"})
    );
    let long = st.render_as(OutputFormat::Text, Layout::Long);
    assert!(long.contains("  guest node: g1-guest (online)\n"), "{long}");
    let list = run(&ctx, &["list"]).unwrap();
    assert_eq!(list.json[0]["guest_node"]["state"], "online");
    let table = list.render_as(OutputFormat::Text, Layout::Long);
    assert!(
        table.starts_with("NAME  STATE    NODE  GUEST NODE\n"),
        "{table}"
    );
    assert!(table.contains("g1-guest (online)"), "{table}");
    assert_eq!(list.render_as(OutputFormat::Text, Layout::Short), "g1\n");
    let info = run(&ctx, &["info"]).unwrap();
    let nodes = info.json["nodes"].as_array().unwrap();
    let guest = nodes.iter().find(|n| n["name"] == "g1-guest").unwrap();
    assert_eq!(
        (&guest["type"], &guest["guest_of"], &guest["state"]),
        (
            &serde_json::json!("remote"),
            &serde_json::json!("g1"),
            &serde_json::json!("online")
        )
    );
    let sim2 = nodes.iter().find(|n| n["name"] == "sim2").unwrap();
    assert_eq!(sim2["guest_of"], serde_json::Value::Null);
    assert!(info.text.contains("guest of g1"), "{}", info.text);
}

#[test]
fn vms_are_kept_off_the_guest_node() {
    let f = CibFile::new("cib-guest-node.xml");
    let before = f.text();
    let ctx = f.ctx(stored_vm("g1", &Settings::default()), true);
    // Pinning refused (exit 2), a migration refused by the preflight (exit 7).
    let e = run(
        &ctx,
        &[
            "set-placement",
            "-n",
            "g1",
            "--strategy",
            "pinned",
            "--node",
            "g1-guest",
        ],
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    let e = run(&ctx, &["migrate", "-n", "g1", "--node", "g1-guest"]).unwrap_err();
    assert_eq!(e.exit_code(), 7, "{e}");
    // By vm-mgr's own ban of nodes that are not full cluster nodes, before crm_simulate.
    assert!(
        e.to_string().contains("vmmgr-ban-g1 bans g1 from g1-guest"),
        "{e}"
    );
    assert_eq!(f.text(), before);
}
