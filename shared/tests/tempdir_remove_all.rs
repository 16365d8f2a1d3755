//! `shared::tempdir::remove_all`, in a test binary of its own: it removes every live private
//! directory of the process, which would pull them from under the other tests of a binary.

use shared::tempdir::{remove_all, PrivateDir};

#[test]
fn remove_all_removes_the_live_directories_at_once() {
    let a = PrivateDir::new("vmmgr-test-all").unwrap();
    let b = PrivateDir::new("vmmgr-test-all").unwrap();
    let file = a.write("a.xml", "<a/>").unwrap();
    let dirs = [a.path().to_path_buf(), b.path().to_path_buf()];
    assert!(file.exists());
    remove_all();
    for d in &dirs {
        assert!(!d.exists(), "{} removed without its drop", d.display());
    }
    // A directory made afterwards is removed by its drop as before.
    let c = PrivateDir::new("vmmgr-test-all").unwrap();
    let later = c.path().to_path_buf();
    drop((a, b, c));
    assert!(!later.exists());
}
