//! Test support: a private copy of the recorded CIB that the real Pacemaker tools work on
//! (`CIB_file`), and in-memory storage.

use std::path::PathBuf;

use crate::ctx::Ctx;
use crate::storage::mem::Memory;
use crate::storage::Storage;

/// A CIB file copied from a fixture into a private directory, removed on drop.
pub struct CibFile {
    pub dir: PathBuf,
    pub path: PathBuf,
}

impl CibFile {
    pub fn new(fixture: &str) -> CibFile {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "vmmgr-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cib.xml");
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/vm-mgr")
            .join(fixture);
        std::fs::copy(src, &path).unwrap();
        CibFile { dir, path }
    }

    pub fn text(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap()
    }

    pub fn ctx(&self, storage: impl Storage + 'static, dry_run: bool) -> Ctx {
        Ctx::for_test(&self.path, Box::new(storage), dry_run)
    }

    /// [`CibFile::ctx`] with a libvirt secret configured (create needs one).
    pub fn ctx_with_secret(&self, storage: impl Storage + 'static, dry_run: bool) -> Ctx {
        let mut ctx = self.ctx(storage, dry_run);
        ctx.config.secret_uuid = Some("a1f0c3e2-5b1d-4c3a-9e8f-5a4db0c0ffee".into());
        ctx
    }
}

impl Drop for CibFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Storage holding VM `name` as create leaves it (settings, fragment, XML).
pub fn stored_vm(name: &str, settings: &crate::vm::Settings) -> Memory {
    let ids = crate::vm::VmIds::new(name);
    let fragment = crate::fragment::build(&ids, settings, &Default::default(), "Stopped").to_xml();
    let json = settings.to_json();
    Memory::new().with_image(
        &ids.system_image(),
        &[
            ("xml", "<domain type='kvm'><name>x</name></domain>"),
            ("vm_name", name),
            ("_vmmgr_settings", &json),
            ("_vmmgr_fragment", &fragment),
            ("owner", "ops"),
        ],
    )
}
