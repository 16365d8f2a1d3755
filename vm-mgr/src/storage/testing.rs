//! Test support of the storage backends (used by the verbs' tests too).

/// Writes 512 bytes of `byte` at the start of qcow2 file `disk` (what a guest would write),
/// with the real `qemu-io`.
pub fn write_head(disk: &std::path::Path, byte: u8) {
    shared::cmd::Cmd::new("qemu-io")
        .args(["-f", "qcow2", "-c", &format!("write -P {byte} 0 512"), "--"])
        .arg(disk)
        .timeout(std::time::Duration::from_secs(30))
        .run()
        .unwrap();
}
