//! `vm-mgr` with a Ceph user other than `client.admin`, on the real 3-node sandbox with Ceph:
//! a cephx user with only `profile rbd` caps, its keyring and a configuration file naming it in
//! every node's `/etc/ceph`, its libvirt secret on every node; then, with `client.admin`'s
//! keyring taken away from the nodes (so that nothing in them can connect as admin), vm-mgr
//! `--ceph-id USER --ceph-conf FILE` creates a VM that starts (the guard locking its disks and
//! VirtualDomain fetching its XML as USER, which the CIB says), migrates it live, enables it
//! from a fragment stored the way an older vm-mgr stored it (no Ceph user for the agents), and
//! removes it leaving nothing.
//!
//! Run: `VMMGR_SANDBOX_NAME=ceph cargo test -p vmmgr-tests --test vm_mgr_ceph_user --
//! --ignored --test-threads=1` (after `cargo build`, so that the nodes see the current vm-mgr).

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::Duration;

use shared::pacemaker::xml::Element;
use vmmgr_tests::{create_argv, describe, unique_name, vm_mgr, wait_for, Sandbox};

/// The parameters through which vm-mgr passes its Ceph settings on to the agents.
const CEPH_PARAMS: [&str; 4] = ["user", "cephconf", "rbd_xml_user", "rbd_xml_cephconf"];

/// A cephx user set up on every node; dropping it undoes everything (the admin keyring comes
/// back first).
struct CephUser {
    sb: Sandbox,
    id: String,
    /// The nodes' `/etc/ceph`, as seen from the host.
    etc_ceph: PathBuf,
    /// The configuration file naming the user's keyring, inside the nodes.
    conf: String,
    secret_uuid: String,
    key_file: PathBuf,
    admin_hidden: bool,
}

const ADMIN_KEYRING: &str = "ceph.client.admin.keyring";
const ADMIN_HIDDEN: &str = "ceph.client.admin.keyring.e2e-hidden";

impl CephUser {
    /// `client.ID` with `profile rbd` caps on pool rbd: keyring and `ID.conf` in `/etc/ceph`
    /// (which the nodes share), libvirt secret `client.ID secret` on every node.
    fn create(sb: &Sandbox) -> CephUser {
        let id = unique_name("vmtest");
        let keyring = format!("/etc/ceph/ceph.client.{id}.keyring");
        let admin = PathBuf::from(sb.env_var("CEPH_ADMIN_KEYRING"));
        let etc_ceph = admin.parent().expect("the keyring's directory").to_owned();
        let user = CephUser {
            sb: sb.clone(),
            conf: format!("/etc/ceph/{id}.conf"),
            secret_uuid: format!("5e1f0c3e-e2e0-4c3a-9e8f-{:012x}", std::process::id()),
            key_file: PathBuf::from(format!("/var/tmp/vmmgr-e2e-{id}.key")),
            id,
            etc_ceph,
            admin_hidden: false,
        };
        let entity = format!("client.{}", user.id);
        sb.exec_ok(
            "sim1",
            &[
                "ceph",
                "auth",
                "get-or-create",
                &entity,
                "mon",
                "profile rbd",
                "osd",
                "profile rbd pool=rbd",
                "-o",
                &keyring,
            ],
        );
        let ceph_conf = std::fs::read_to_string(user.etc_ceph.join("ceph.conf")).unwrap();
        let mon_host = ceph_conf
            .lines()
            .find(|l| l.trim_start().starts_with("mon host"))
            .expect("the sandbox's ceph.conf names the monitors");
        std::fs::write(
            user.etc_ceph.join(format!("{}.conf", user.id)),
            format!("[global]\n{mon_host}\nkeyring = {keyring}\n"),
        )
        .unwrap();
        let key = sb.exec_ok("sim1", &["ceph", "auth", "print-key", &entity]);
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&user.key_file)
            .and_then(|mut f| f.write_all(key.trim().as_bytes()))
            .unwrap();
        let secret_xml = format!("/var/tmp/vmmgr-e2e-{}-secret.xml", user.id);
        std::fs::write(
            &secret_xml,
            format!(
                "<secret ephemeral='no' private='no'><uuid>{}</uuid><usage type='ceph'>\
                 <name>{entity} secret</name></usage></secret>\n",
                user.secret_uuid
            ),
        )
        .unwrap();
        let key_file = user.key_file.to_string_lossy().into_owned();
        for node in sb.nodes() {
            sb.exec_ok(node, &["virsh", "-q", "secret-define", &secret_xml]);
            sb.exec_ok(
                node,
                &[
                    "virsh",
                    "-q",
                    "secret-set-value",
                    &user.secret_uuid,
                    "--file",
                    &key_file,
                ],
            );
        }
        let _ = std::fs::remove_file(secret_xml);
        user
    }

    /// Takes client.admin's keyring away from every node.
    fn hide_admin(&mut self) {
        std::fs::rename(
            self.etc_ceph.join(ADMIN_KEYRING),
            self.etc_ceph.join(ADMIN_HIDDEN),
        )
        .unwrap();
        self.admin_hidden = true;
    }

    /// `vm-mgr --ceph-id ID --ceph-conf CONF ARGS` on sim1.
    fn vm_mgr(&self, args: &[&str]) -> String {
        let mut all = vec!["--ceph-id", &self.id, "--ceph-conf", &self.conf];
        all.extend_from_slice(args);
        let out = vm_mgr(&self.sb, "sim1", &all);
        assert!(out.status.success(), "vm-mgr {all:?}: {}", describe(&out));
        out.stdout_str()
    }

    /// `rbd --id ID -c CONF ARGS` on sim1.
    fn rbd(&self, args: &[&str]) -> String {
        let mut all = vec!["rbd", "--id", &self.id, "-c", &self.conf];
        all.extend_from_slice(args);
        self.sb.exec_ok("sim1", &all)
    }
}

impl Drop for CephUser {
    fn drop(&mut self) {
        if self.admin_hidden {
            let _ = std::fs::rename(
                self.etc_ceph.join(ADMIN_HIDDEN),
                self.etc_ceph.join(ADMIN_KEYRING),
            );
        }
        for node in self.sb.nodes() {
            let _ = self
                .sb
                .exec(node, &["virsh", "-q", "secret-undefine", &self.secret_uuid]);
        }
        let entity = format!("client.{}", self.id);
        let _ = self.sb.exec("sim1", &["ceph", "auth", "del", &entity]);
        let _ = std::fs::remove_file(self.etc_ceph.join(format!("{}.conf", self.id)));
        let _ = std::fs::remove_file(self.etc_ceph.join(format!("ceph.{entity}.keyring")));
        let _ = std::fs::remove_file(&self.key_file);
    }
}

/// The value of parameter `name` of primitive `prim` in `cib`.
fn param(cib: &Element, prim: &str, name: &str) -> Option<String> {
    cib.find_id(prim)?
        .children_named("instance_attributes")
        .flat_map(|set| set.children_named("nvpair"))
        .find(|nv| nv.attr("name") == Some(name))
        .and_then(|nv| nv.attr("value").map(str::to_owned))
}

fn cib(sb: &Sandbox) -> Element {
    let xml = sb.exec_ok("sim1", &["cibadmin", "--query", "--scope", "configuration"]);
    Element::parse(&xml, "the CIB").expect("the CIB parses")
}

/// Removes the nvpairs of [`CEPH_PARAMS`] everywhere under `e`: a fragment as vm-mgr stored
/// it before it passed its Ceph settings on.
fn strip_ceph_params(e: &mut Element) {
    e.children.retain(|c| {
        c.name != "nvpair" || !c.attr("name").is_some_and(|n| CEPH_PARAMS.contains(&n))
    });
    e.children.iter_mut().for_each(strip_ceph_params);
}

fn running_on(sb: &Sandbox, rsc: &str) -> String {
    wait_for(Duration::from_secs(60), &format!("{rsc} to run"), || {
        let on = sb.running_on(rsc, &[]);
        (on.len() == 1).then(|| on[0].clone())
    })
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn a_vm_of_a_non_admin_ceph_user_starts_migrates_and_is_removed() {
    let sb = Sandbox::up(3, true);
    let mut user = CephUser::create(&sb);
    let name = unique_name("cu");
    let (guard, domain) = (format!("vmmgr-disk-{name}"), format!("vmmgr-domain-{name}"));
    let xml = format!("/var/tmp/vmmgr-e2e-{name}.xml");
    std::fs::write(&xml, sb.guest_xml(&name)).unwrap();
    let image = format!("/var/tmp/vmmgr-e2e-{name}.qcow2");
    sb.exec_ok(
        "sim1",
        &["qemu-img", "create", "-q", "-f", "qcow2", &image, "32M"],
    );

    // From here on nothing in the nodes can connect as client.admin.
    user.hide_admin();
    let out = sb.exec("sim1", &["rbd", "ls"]).unwrap();
    assert!(
        !out.status.success(),
        "admin still works: {}",
        describe(&out)
    );

    let out = user.vm_mgr(&create_argv(
        &name,
        &xml,
        &image,
        &[
            "--enable-live-migration",
            "--pacemaker-params",
            "migration_transport=tcp",
        ],
    ));
    assert!(out.contains("Started on"), "{out}");
    let node = running_on(&sb, &domain);
    assert_eq!(running_on(&sb, &guard), node);
    let c = cib(&sb);
    for (prim, name, value) in [
        (&guard, "user", &user.id),
        (&guard, "cephconf", &user.conf),
        (&domain, "rbd_xml_user", &user.id),
        (&domain, "rbd_xml_cephconf", &user.conf),
    ] {
        assert_eq!(param(&c, prim, name).as_ref(), Some(value), "{prim} {name}");
    }
    // The disks are opened as the user too, with its libvirt secret.
    let dom = sb.exec_ok(&node, &["virsh", "dumpxml", &name]);
    assert!(
        dom.contains(&format!("<auth username='{}'>", user.id)) && dom.contains(&user.secret_uuid),
        "{dom}"
    );

    // Live migration: the target fetches the XML (migrate_from) and the guard hands its lock
    // over, both as the user.
    let dst = if node == "sim2" { "sim3" } else { "sim2" };
    user.vm_mgr(&["migrate", "-n", &name, "--node", dst]);
    assert_eq!(sb.running_on(&domain, &[]), [dst]);
    let tasks = sb.history_tasks(dst, &domain);
    assert!(tasks.iter().any(|t| t == "migrate_from"), "{tasks:?}");

    // A fragment stored by an older vm-mgr (no Ceph settings for the agents): enable gives
    // the agents vm-mgr's, and the VM starts.
    user.vm_mgr(&["disable", "-n", &name]);
    let system = format!("rbd/system_{name}");
    let stored = user.rbd(&["image-meta", "get", &system, "_vmmgr_fragment"]);
    let mut old = Element::parse(&stored, "the stored fragment").unwrap();
    strip_ceph_params(&mut old);
    let old = old.to_xml();
    assert!(!old.contains("user"), "{old}");
    user.rbd(&["image-meta", "set", &system, "_vmmgr_fragment", &old]);
    let out = user.vm_mgr(&["enable", "-n", &name]);
    assert!(out.contains("Started on"), "{out}");
    let c = cib(&sb);
    assert_eq!(param(&c, &guard, "user").as_ref(), Some(&user.id));
    assert_eq!(param(&c, &domain, "rbd_xml_user").as_ref(), Some(&user.id));

    // remove: nothing left in RBD or in the CIB configuration.
    user.vm_mgr(&["remove", "--purge", "-n", &name]);
    let (images, groups) = (user.rbd(&["ls"]), user.rbd(&["group", "ls"]));
    assert!(
        !images.contains(&name) && !groups.contains(&name),
        "{images} {groups}"
    );
    let left = sb.exec_ok("sim1", &["cibadmin", "--query", "--scope", "configuration"]);
    assert!(!left.contains(&name), "{left}");
    drop(user);
    // client.admin is back.
    sb.exec_ok("sim1", &["rbd", "ls"]);
    let _ = std::fs::remove_file(xml);
    let _ = std::fs::remove_file(image);
}
