//! `set-xml`, `edit` and `console` on the real cluster. A VM pinned to sim2 gets a
//! `<description>` with `set-xml` (from create's template, which names none of its disks: the
//! stored disks are kept) and 2 vCPUs with `edit` (the editor a real `sed -i`, as `$EDITOR`):
//! each prints its diff, `--dry-run` writes nothing, the running guest keeps its definition
//! until the next start, and after a stop/start libvirt runs the new XML. An XML with another
//! UUID is refused and changes nothing. `console` finds sim2: locally there, through the
//! VM's migration transport from sim1 (`--dry-run` prints the command; a real run with stdin
//! not a terminal reaches virsh on the right libvirt, which refuses for want of a TTY), and a
//! stopped VM is refused with exit 7.
//!
//! Run: `VMMGR_SANDBOX_NAME=vmm cargo test -p vmmgr-tests --test vm_mgr_set_xml -- --ignored
//! --test-threads=1` (after `cargo build`, so that the nodes see the current `vm-mgr`).

use vmmgr_tests::{create_argv, describe, unique_name, vm_mgr, vm_mgr_ok, Sandbox};

#[path = "vm_mgr_support.rs"]
mod support;
use support::*;

/// Removes the VM and its inputs, also when the test fails half-way.
struct Vm<'a> {
    sb: &'a Sandbox,
    name: String,
}

impl Drop for Vm<'_> {
    fn drop(&mut self) {
        let _ = vm_mgr(self.sb, "sim1", &["remove", "--purge", "-n", &self.name]);
        cleanup_inputs(&self.name);
        let _ = std::fs::remove_file(format!("/var/tmp/vmmgr-e2e-{}-new.xml", self.name));
    }
}

fn stored_xml(sb: &Sandbox, name: &str) -> String {
    let image = format!("system_{name}");
    sb.exec_ok("sim1", &["rbd", "image-meta", "get", &image, "xml"])
}

fn running_xml(sb: &Sandbox, name: &str) -> String {
    sb.exec_ok("sim2", &["virsh", "dumpxml", name])
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn set_xml_and_edit_apply_at_the_next_start_and_console_finds_the_node() {
    let sb = sandbox();
    let name = unique_name("sx");
    let (xml, image) = inputs(&sb, &name);
    let vm = Vm {
        sb: &sb,
        name: name.clone(),
    };
    let extra = [
        "--pinned-host",
        "sim2",
        "--pacemaker-params",
        "migration_transport=tcp",
    ];
    vm_mgr_ok(&sb, "sim1", &create_argv(&name, &xml, &image, &extra));
    let before = stored_xml(&sb, &name);
    assert!(!running_xml(&sb, &name).contains("<description>"));

    // set-xml with create's template plus a description: a dry run shows the diff only.
    let template = std::fs::read_to_string(&xml).unwrap();
    let described = template.replacen(
        &format!("<name>{name}</name>"),
        &format!("<name>{name}</name><description>set by e2e</description>"),
        1,
    );
    assert_ne!(described, template);
    let new = format!("/var/tmp/vmmgr-e2e-{name}-new.xml");
    std::fs::write(&new, &described).unwrap();
    let dry = vm_mgr_ok(
        &sb,
        "sim1",
        &["set-xml", "-n", &name, "--xml", &new, "--dry-run"],
    );
    assert!(
        dry.contains("+  <description>set by e2e</description>\n"),
        "{dry}"
    );
    assert!(dry.contains("nothing was changed"), "{dry}");
    assert_eq!(stored_xml(&sb, &name), before, "a dry run wrote the XML");
    let out = vm_mgr_ok(&sb, "sim1", &["set-xml", "-n", &name, "--xml", &new]);
    assert!(
        out.contains("+  <description>set by e2e</description>\n"),
        "{out}"
    );
    assert!(out.contains("the stored ones were kept"), "{out}");
    assert!(out.contains("applies at the VM's next start"), "{out}");
    let stored = stored_xml(&sb, &name);
    assert!(
        stored.contains("<description>set by e2e</description>"),
        "{stored}"
    );
    assert!(stored.contains(&format!("rbd/system_{name}")), "{stored}");

    // edit: the editor is `sed -i`, from $EDITOR split on whitespace.
    let editor = "EDITOR=sed -i -e s#<vcpu>1</vcpu>#<vcpu>2</vcpu>#";
    let out = sb.exec_ok("sim1", &["env", editor, "vm-mgr", "edit", "-n", &name]);
    assert!(
        out.contains("-  <vcpu>1</vcpu>\n+  <vcpu>2</vcpu>\n"),
        "{out}"
    );
    assert!(stored_xml(&sb, &name).contains("<vcpu>2</vcpu>"));
    // Not yet in the running guest: it applies at the next start.
    let running = running_xml(&sb, &name);
    assert!(!running.contains("set by e2e"), "{running}");

    // Another UUID is another VM: refused, nothing written.
    let now = stored_xml(&sb, &name);
    let at = now.find("<uuid>").unwrap() + 6;
    let other = format!(
        "{}00000000-0000-4000-8000-000000000000{}",
        &now[..at],
        &now[at + 36..]
    );
    std::fs::write(&new, other).unwrap();
    let refused = vm_mgr(&sb, "sim1", &["set-xml", "-n", &name, "--xml", &new]);
    assert_eq!(refused.code(), Some(2), "{}", describe(&refused));
    assert_eq!(stored_xml(&sb, &name), now);

    // console: found on sim2, local there, through qemu+tcp from sim1.
    let here = vm_mgr_ok(&sb, "sim2", &["console", "-n", &name, "--dry-run"]);
    let want = format!("vm-mgr would run: virsh -c qemu:///system console --domain {name}");
    assert!(here.contains(&want), "{here}");
    let there = vm_mgr_ok(&sb, "sim1", &["console", "-n", &name, "--dry-run"]);
    let want = format!("it runs on sim2; vm-mgr would run: virsh -c qemu+tcp://sim2/system console --domain {name}");
    assert!(there.contains(&want), "{there}");
    // For real, stdin not a terminal: virsh connects to sim2's libvirt, then wants a TTY.
    let real = vm_mgr(&sb, "sim1", &["console", "-n", &name]);
    let err = String::from_utf8_lossy(&real.stderr);
    assert_eq!(real.code(), Some(1), "{}", describe(&real));
    assert!(err.contains("without a controlling TTY"), "{err}");

    // After a stop and start the guest runs the new XML.
    vm_mgr_ok(&sb, "sim1", &["stop", "-n", &name]);
    let stopped = vm_mgr(&sb, "sim1", &["console", "-n", &name]);
    assert_eq!(stopped.code(), Some(7), "{}", describe(&stopped));
    vm_mgr_ok(&sb, "sim1", &["start", "-n", &name]);
    let running = running_xml(&sb, &name);
    assert!(
        running.contains("<description>set by e2e</description>"),
        "{running}"
    );
    assert!(
        running.contains("<vcpu placement='static'>2</vcpu>"),
        "{running}"
    );
    remove_and_check_gone(&sb, "sim1", &name);
    drop(vm);
}
