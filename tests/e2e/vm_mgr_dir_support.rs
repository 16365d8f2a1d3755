//! The shared-directory stand-in of the dir backend's e2e scenarios: a host directory
//! bind-mounted on every node by a real `ocf:heartbeat:Filesystem` clone (see
//! `vm_mgr_dir.rs` for why a bind mount stands in for a cluster filesystem).

use std::time::Duration;

use vmmgr_tests::{vm_mgr, vm_mgr_ok, wait_for, Sandbox};

use super::support::cleanup_inputs;

/// Everything the scenario made outside the VM itself; removed on drop, even after a failed
/// assertion, so that the next scenario finds the cluster as it was.
pub struct DirStore<'a> {
    pub sb: &'a Sandbox,
    pub name: String,
    /// The host directory standing in for the shared device.
    pub store: String,
    /// Where the clone mounts it on each node (vm-mgr's `dir`).
    pub mnt: String,
    pub conf: String,
}

impl<'a> DirStore<'a> {
    pub fn clone_id(&self) -> String {
        format!("{}-store", self.name)
    }

    /// Makes the directories, the vm-mgr configuration and the Filesystem clone, and waits
    /// until every node has it mounted.
    pub fn new(sb: &'a Sandbox, name: &str) -> DirStore<'a> {
        let s = DirStore {
            sb,
            name: name.to_owned(),
            store: format!("/var/tmp/vmmgr-e2e-{name}-store"),
            mnt: format!("/var/tmp/vmmgr-e2e-{name}-mnt"),
            conf: format!("/var/tmp/vmmgr-e2e-{name}.conf"),
        };
        std::fs::create_dir_all(&s.store).unwrap();
        std::fs::create_dir_all(&s.mnt).unwrap();
        std::fs::write(
            &s.conf,
            format!(
                // the nodes reach each other's libvirt over TCP (a remote snapshot uses it)
                "storage = dir\ndir = {}\nstorage-resource = {}\nmigration-transport = tcp\n",
                s.mnt,
                s.clone_id()
            ),
        )
        .unwrap();
        let (c, p) = (s.clone_id(), format!("{name}-fs"));
        sb.create_resource(
            "sim1",
            &format!(
                r#"<clone id="{c}">
  <meta_attributes id="{c}-meta"><nvpair id="{c}-meta-interleave" name="interleave" value="true"/></meta_attributes>
  <primitive id="{p}" class="ocf" provider="heartbeat" type="Filesystem">
    <instance_attributes id="{p}-params">
      <nvpair id="{p}-device" name="device" value="{}"/>
      <nvpair id="{p}-directory" name="directory" value="{}"/>
      <nvpair id="{p}-fstype" name="fstype" value="none"/>
      <nvpair id="{p}-options" name="options" value="bind"/>
    </instance_attributes>
    <operations>
      <op id="{p}-start" name="start" interval="0s" timeout="60s"/>
      <op id="{p}-stop" name="stop" interval="0s" timeout="60s"/>
      <op id="{p}-monitor-20s" name="monitor" interval="20s" timeout="40s"/>
    </operations>
  </primitive>
</clone>"#,
                s.store, s.mnt
            ),
        );
        for n in ["sim1", "sim2", "sim3"] {
            wait_for(
                Duration::from_secs(60),
                &format!("the mount on {n}"),
                || s.mounted_on(n).then_some(()),
            );
        }
        s
    }

    pub fn mounted_on(&self, node: &str) -> bool {
        self.sb
            .exec(node, &["findmnt", "-n", "--mountpoint", &self.mnt])
            .is_ok_and(|o| o.status.success())
    }

    /// `vm-mgr --config CONF ARGS` on `node`.
    pub fn vm_mgr(&self, node: &str, args: &[&str]) -> shared::cmd::Output {
        let mut argv = vec!["--config", self.conf.as_str()];
        argv.extend_from_slice(args);
        vm_mgr(self.sb, node, &argv)
    }

    pub fn vm_mgr_ok(&self, node: &str, args: &[&str]) -> String {
        let mut argv = vec!["--config", self.conf.as_str()];
        argv.extend_from_slice(args);
        vm_mgr_ok(self.sb, node, &argv)
    }
}

impl Drop for DirStore<'_> {
    fn drop(&mut self) {
        let _ = self.vm_mgr("sim1", &["remove", "--purge", "-n", &self.name]);
        let _ = self.sb.exec(
            "sim1",
            &[
                "cibadmin",
                "--delete",
                "--xml-text",
                &format!(r#"<clone id="{}"/>"#, self.clone_id()),
            ],
        );
        for n in ["sim1", "sim2", "sim3"] {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                wait_for(Duration::from_secs(60), "the clone to unmount", || {
                    (!self.mounted_on(n)).then_some(())
                })
            }));
        }
        let _ = std::fs::remove_dir(&self.mnt);
        // what copy-on-write clones leave once their bases are gone: the bases' lock file
        let _ = std::fs::remove_file(format!("{}/.bases/.lock", self.store));
        let _ = std::fs::remove_dir(format!("{}/.bases", self.store));
        let _ = std::fs::remove_dir(&self.store);
        let _ = std::fs::remove_file(&self.conf);
        cleanup_inputs(&self.name);
    }
}
