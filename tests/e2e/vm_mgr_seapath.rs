//! SEAPATH's Cockpit plugin (cockpit-cluster-vm-management) against vm-mgr on the real sandbox
//! cluster (issue 18): its calls replayed with its argv, and their output read with its
//! parsing rules (transcribed from its `VMData.jsx`, `VMActions.jsx` and `VMCreator.jsx`; see
//! `plugin` below). One VM, diskless guest: created as the plugin's VM creator does (`create
//! -p`, `--disk-bus usb`, a preferred host); its name from `list`, its state from `status`, its
//! default node from `crm configure show` (preferred, then pinned), its current node from `crm
//! resource locate`, its snapshots from `list_snapshots`, stop and start by exit code; an
//! unknown VM is `Undefined`; then removed.
//!
//! Run: `VMMGR_SANDBOX_NAME=vmm cargo test -p vmmgr-tests --test vm_mgr_seapath -- --ignored
//! --test-threads=1` (after `cargo build`, so that the nodes see the current `vm-mgr`).

use vmmgr_tests::{describe, unique_name, vm_mgr, Sandbox};

#[path = "vm_mgr_support.rs"]
mod support;
use support::*;

/// The plugin's parsing rules, transcribed from its JavaScript.
mod plugin {
    /// `output.trim().split('\n')`: every line is a VM name (VMData.jsx).
    pub fn vm_names(list: &str) -> Vec<String> {
        list.trim().split('\n').map(str::to_owned).collect()
    }

    /// `output.trim().replace(/[\[\]']+/g, '').split(", ")` (VMActions.jsx).
    pub fn snapshots(out: &str) -> Vec<String> {
        out.trim()
            .replace(['[', ']', '\''], "")
            .split(", ")
            .map(str::to_owned)
            .collect()
    }

    /// `/:\s*(\S+)\s*/` on `crm resource locate N`: the current node.
    pub fn current_node(locate: &str) -> Option<String> {
        let (_, after) = locate.split_once(':')?;
        after.split_whitespace().next().map(str::to_owned)
    }

    /// `/(prefer|pin)-(?:\S+)\s(\S+)\s(?:\S+)\sinf:\s(.+)/g` on `crm configure show`: for each
    /// match, (kind, resource, node); the Default Node cell is `kind + ": " + node`. A literal
    /// matcher for this one expression: each `\S+` here must run to the next whitespace (it is
    /// followed by `\s`), `\s` is one whitespace character, and `.` stops at a line end.
    pub fn default_nodes(show: &str) -> Vec<(String, String, String)> {
        let text: Vec<char> = show.chars().collect();
        let mut found = Vec::new();
        let mut i = 0;
        while i < text.len() {
            match match_at(&text, i) {
                Some((m, end)) => {
                    found.push(m);
                    i = end;
                }
                None => i += 1,
            }
        }
        found
    }

    fn run(text: &[char], from: usize) -> Option<usize> {
        let n = text[from..]
            .iter()
            .take_while(|c| !c.is_whitespace())
            .count();
        (n > 0).then_some(from + n)
    }

    fn space(text: &[char], at: usize) -> Option<usize> {
        text.get(at).filter(|c| c.is_whitespace()).map(|_| at + 1)
    }

    fn word(text: &[char], from: usize, end: usize) -> String {
        text[from..end].iter().collect()
    }

    fn match_at(text: &[char], i: usize) -> Option<((String, String, String), usize)> {
        let rest: String = text[i..text.len().min(i + 7)].iter().collect();
        let kind = ["prefer-", "pin-"]
            .into_iter()
            .find(|k| rest.starts_with(k))?;
        let a = run(text, i + kind.len())?;
        let rsc_from = space(text, a)?;
        let rsc_end = run(text, rsc_from)?;
        let b = run(text, space(text, rsc_end)?)?;
        let inf = space(text, b)?;
        if word(text, inf, text.len().min(inf + 4)) != "inf:" {
            return None;
        }
        let node_from = space(text, inf + 4)?;
        let node_end = node_from
            + text[node_from..]
                .iter()
                .take_while(|c| !matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}'))
                .count();
        (node_end > node_from).then(|| {
            (
                (
                    kind.trim_end_matches('-').to_owned(),
                    word(text, rsc_from, rsc_end),
                    word(text, node_from, node_end),
                ),
                node_end,
            )
        })
    }
}

/// The Default Node cell the plugin shows for `name` ("-" when no line matches).
fn default_node(sb: &Sandbox, name: &str) -> String {
    let show = sb.exec_ok("sim1", &["crm", "configure", "show"]);
    let mut cell = "-".to_owned();
    for (kind, rsc, node) in plugin::default_nodes(&show) {
        if rsc == name {
            cell = format!("{kind}: {node}");
        }
    }
    cell
}

/// The State cell: `vm-mgr status --name N`'s raw stdout, "Error" when it fails.
fn state_cell(sb: &Sandbox, name: &str) -> String {
    let out = vm_mgr(sb, "sim1", &["status", "--name", name]);
    if out.status.success() {
        out.stdout_str()
    } else {
        "Error".to_owned()
    }
}

/// A plugin action: `vm-mgr VERB -n NAME ARGS`, judged by its exit code alone.
fn action(sb: &Sandbox, verb: &str, name: &str, args: &[&str]) {
    let mut argv = vec![verb, "-n", name];
    argv.extend_from_slice(args);
    let out = vm_mgr(sb, "sim1", &argv);
    assert!(out.status.success(), "{argv:?}: {}", describe(&out));
}

#[test]
fn the_parsers_read_what_they_should() {
    let show = "location cli-prefer-a a role=Started inf: sim2\n\
                location vmmgr-pin-b b \\\n\trule -inf: #uname ne sim1\n\
                location vmmgr-pin-b.home b resource-discovery=always inf: sim1\n\
                location vmmgr-prefer-c c inf: sim3\n\
                location vmmgr-prefer-d d resource-discovery=always 100: sim3\n";
    let m = |k: &str, r: &str, n: &str| (k.to_owned(), r.to_owned(), n.to_owned());
    assert_eq!(
        plugin::default_nodes(show),
        [m("prefer", "a", "sim2"), m("pin", "b", "sim1")]
    );
    assert_eq!(plugin::snapshots("['s1', 's2']\n"), ["s1", "s2"]);
    assert_eq!(plugin::vm_names("a\nb\n"), ["a", "b"]);
    assert_eq!(
        plugin::current_node("resource a is running on: sim3\n").as_deref(),
        Some("sim3")
    );
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn the_cockpit_plugins_calls_work() {
    let sb = sandbox();
    let name = unique_name("sp");
    let (xml, image) = inputs(&sb, &name);

    // VM creation: `create -p` streams its progress on stdout, which the plugin shows.
    let created = vm_mgr(
        &sb,
        "sim1",
        &[
            "create",
            "-p",
            "--name",
            &name,
            "--image",
            &image,
            "--xml",
            &xml,
            "--disk-bus",
            "usb",
            "--preferred-host",
            "sim2",
        ],
    );
    assert!(created.status.success(), "{}", describe(&created));
    let progress = created.stdout_str();
    assert!(
        progress.contains(&format!("→ rbd/system_{name} (qcow2)"))
            && progress.contains(&format!("→ rbd/system_{name} [####################] 100%")),
        "{}",
        describe(&created)
    );
    assert!(
        !String::from_utf8_lossy(&created.stderr).contains("100%"),
        "{}",
        describe(&created)
    );
    let stored = sb.exec_ok(
        "sim1",
        &["rbd", "image-meta", "get", &format!("system_{name}"), "xml"],
    );
    assert!(stored.contains(r#"bus="usb""#), "{stored}");

    // The VM table: names from `list`, each row's state from `status`, nodes from crm.
    let list = vm_mgr(&sb, "sim1", &["list"]);
    assert!(list.status.success(), "{}", describe(&list));
    let names = plugin::vm_names(&list.stdout_str());
    assert!(names.contains(&name), "{names:?}");
    for n in &names {
        assert_ne!(state_cell(&sb, n), "Error", "row {n} of {names:?}");
    }
    assert_eq!(state_cell(&sb, &name), "Started\n");
    let locate = sb.exec_ok("sim1", &["crm", "resource", "locate", &name]);
    assert_eq!(
        plugin::current_node(&locate).as_deref(),
        Some("sim2"),
        "{locate}"
    );
    assert_eq!(default_node(&sb, &name), "prefer: sim2");
    action(
        &sb,
        "set-placement",
        &name,
        &["--strategy", "pinned", "--node", "sim2"],
    );
    assert_eq!(default_node(&sb, &name), "pin: sim2");

    // The migration poll reads crm_mon's `resource[id="NAME"]`: a vm-mgr VM is a group
    // (README: why); its domain is the resource with the role.
    let mon = sb.exec_ok("sim1", &["crm_mon", "--output-as", "xml"]);
    assert!(!mon.contains(&format!("<resource id=\"{name}\"")), "{mon}");
    assert!(mon.contains(&format!("<group id=\"{name}\"")), "{mon}");
    let domain = mon
        .lines()
        .find(|l| l.contains(&format!("<resource id=\"vmmgr-domain-{name}\"")));
    assert!(
        domain.is_some_and(|l| l.contains("role=\"Started\"")),
        "{mon}"
    );

    // Snapshots: created by exit code, listed from `list_snapshots`.
    for s in ["s1", "s2"] {
        action(&sb, "create_snapshot", &name, &["--snap_name", s]);
    }
    let snaps = vm_mgr(&sb, "sim1", &["list_snapshots", "-n", &name]);
    assert!(snaps.status.success(), "{}", describe(&snaps));
    assert_eq!(plugin::snapshots(&snaps.stdout_str()), ["s1", "s2"]);

    // Stop and start, judged by exit code; the State cell follows.
    action(&sb, "stop", &name, &[]);
    assert_eq!(state_cell(&sb, &name), "Stopped\n");
    action(&sb, "start", &name, &[]);
    assert_eq!(state_cell(&sb, &name), "Started\n");

    // An unknown VM: SEAPATH's word on stdout, exit 3 (the plugin shows "Error" for it).
    let unknown = vm_mgr(&sb, "sim1", &["status", "--name", "nosuchvm"]);
    assert_eq!(unknown.status.code(), Some(3), "{}", describe(&unknown));
    assert_eq!(unknown.stdout_str(), "Undefined\n");

    remove_and_check_gone(&sb, "sim1", &name);
    let names = plugin::vm_names(&vm_mgr(&sb, "sim1", &["list"]).stdout_str());
    assert!(!names.contains(&name), "{names:?}");
    cleanup_inputs(&name);
}

/// The plugin's import: `virsh list --all --name`, `vm-mgr list`, then `vm-mgr add-to-cluster
/// -p --name N` for a domain defined in libvirt on this node. A running domain is refused
/// (exit 7) and an unknown one is exit 3, both changing nothing; the added VM runs from RBD
/// with the disk file's bytes, and the node no longer defines the domain itself (the agent
/// refuses to start over a persistent definition), while the disk file is kept.
#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn the_plugins_import_adds_a_libvirt_domain() {
    let sb = sandbox();
    let name = unique_name("ad");
    let disk = format!("/var/tmp/vmmgr-e2e-{name}.raw");
    let pattern: Vec<u8> = (0..8 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&disk, &pattern).expect("write the disk file");
    let xml = sb.guest_xml(&name).replace(
        "</devices>",
        &format!(
            "<disk type='file' device='disk'><driver name='qemu' type='raw'/>\
             <source file='{disk}'/><target dev='vda' bus='virtio'/></disk></devices>"
        ),
    );
    let xml_file = format!("/var/tmp/vmmgr-e2e-{name}.xml");
    std::fs::write(&xml_file, xml).expect("write the domain XML");
    sb.exec_ok("sim1", &["virsh", "define", &xml_file]);
    let defined = sb.exec_ok("sim1", &["virsh", "list", "--all", "--name"]);
    assert!(defined.lines().any(|l| l == name), "{defined}");
    let listed = plugin::vm_names(&vm_mgr(&sb, "sim1", &["list"]).stdout_str());
    assert!(!listed.contains(&name), "{listed:?}");

    // Running: refused before anything is read into Ceph.
    sb.exec_ok("sim1", &["virsh", "start", &name]);
    let running = vm_mgr(&sb, "sim1", &["add-to-cluster", "-p", "--name", &name]);
    assert_eq!(running.status.code(), Some(7), "{}", describe(&running));
    assert!(
        String::from_utf8_lossy(&running.stderr).contains("shut it down first"),
        "{}",
        describe(&running)
    );
    sb.exec_ok("sim1", &["virsh", "destroy", &name]);
    let missing = vm_mgr(&sb, "sim1", &["add-to-cluster", "--name", "nosuchdomain"]);
    assert_eq!(missing.status.code(), Some(3), "{}", describe(&missing));
    let (images, _) = rbd_names(&sb);
    assert!(!images.contains(&name), "{images}");

    let added = vm_mgr(&sb, "sim1", &["add-to-cluster", "-p", "--name", &name]);
    assert!(added.status.success(), "{}", describe(&added));
    assert!(
        added
            .stdout_str()
            .contains(&format!("→ rbd/system_{name} [####################] 100%")),
        "progress on stdout: {}",
        describe(&added)
    );
    assert_eq!(state_cell(&sb, &name), "Started\n");
    let persistent = sb.exec_ok(
        "sim1",
        &["virsh", "list", "--all", "--persistent", "--name"],
    );
    assert!(!persistent.lines().any(|l| l == name), "{persistent}");
    let export = format!("/var/tmp/vmmgr-e2e-{name}.export");
    sb.exec_ok(
        "sim1",
        &[
            "rbd",
            "export",
            "--no-progress",
            &format!("system_{name}"),
            &export,
        ],
    );
    let imported = std::fs::read(&export).expect("read the export");
    assert_eq!(imported.len(), pattern.len());
    assert!(
        imported == pattern,
        "the RBD image holds the disk file's bytes"
    );

    remove_and_check_gone(&sb, "sim1", &name);
    assert!(
        std::path::Path::new(&disk).exists(),
        "the disk file is kept"
    );
    for f in [&disk, &xml_file, &export] {
        let _ = std::fs::remove_file(f);
    }
}
