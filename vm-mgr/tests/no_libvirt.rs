//! The `vm-mgr` binary must not load libvirt: `libvirt.so.0` and its ~40 libraries cost every
//! run ~10 ms of dynamic loading, more than most commands' own work. The local daemon is reached
//! through `shared::libvirt::rpc`, other nodes' through `virsh` (`vm_mgr::placement::probe`).

use std::process::Command;

const VM_MGR: &str = env!("CARGO_BIN_EXE_vm-mgr");

/// The `DT_NEEDED` entries of an executable, through `readelf -d`.
fn needed(bin: &str) -> Vec<String> {
    let out = Command::new("readelf")
        .args(["-d", "-W", bin])
        .output()
        .expect("run readelf (binutils)");
    assert!(out.status.success(), "readelf -d {bin} failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| Some(l.split_once('[')?.1.trim_end_matches(']').to_owned()))
        .collect()
}

#[test]
fn vm_mgr_does_not_link_libvirt() {
    let libs = needed(VM_MGR);
    assert!(
        libs.iter().any(|l| l.starts_with("libc.so")),
        "readelf lists the needed libraries: {libs:?}"
    );
    assert!(
        !libs.iter().any(|l| l.contains("libvirt")),
        "vm-mgr links libvirt again (some code path calls the virt crate or \
         shared::libvirt::Connection): {libs:?}"
    );
}

#[test]
fn vm_mgr_runs() {
    let out = Command::new(VM_MGR)
        .arg("--help")
        .output()
        .expect("run vm-mgr");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("migrate"));
}
