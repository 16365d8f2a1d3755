//! The `VirtualDomain` binary must not load libvirt (see the library's `light` module), must
//! print the full agent's meta-data, and must hand every other action to the full agent.

use std::process::Command;

const LIGHT: &str = env!("CARGO_BIN_EXE_VirtualDomain");
const FULL: &str = env!("CARGO_BIN_EXE_VirtualDomain-libvirt");

fn run(bin: &str, action: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(bin)
        .arg(action)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("OCF_ROOT", "/usr/lib/ocf")
        .envs(env.iter().copied())
        .output()
        .expect("run the agent");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The shared libraries an executable needs (`DT_NEEDED`), through `ldd`.
fn needed(bin: &str) -> String {
    let out = Command::new("ldd").arg(bin).output().expect("ldd");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_light_binary_does_not_link_libvirt() {
    let light = needed(LIGHT);
    assert!(light.contains("libc.so"), "ldd works: {light}");
    assert!(!light.contains("libvirt"), "{light}");
    assert!(needed(FULL).contains("libvirt.so"), "the full agent does");
}

#[test]
fn meta_data_is_identical() {
    let (rc, light, _) = run(LIGHT, "meta-data", &[]);
    assert_eq!(rc, 0);
    let (_, full, _) = run(FULL, "meta-data", &[]);
    assert_eq!(light, full);
    assert!(light.contains("<resource-agent name=\"VirtualDomain\""));
}

#[test]
fn other_actions_are_the_full_agents() {
    // validate-all without config: the full agent's answer (6), through exec.
    let (rc, _, err) = run(LIGHT, "validate-all", &[]);
    assert_eq!(rc, 6, "{err}");
    assert!(
        err.contains("required parameter 'config' is not set"),
        "{err}"
    );
    assert_eq!(run(LIGHT, "bogus", &[]).0, 3, "unknown action");
}

#[test]
fn a_monitor_on_another_hypervisor_is_handed_over() {
    handed_over_on_the_test_driver("monitor", &[]);
}

#[test]
fn a_migrate_from_on_another_hypervisor_is_handed_over() {
    // The light binary answers migrate_from on qemu:///system itself (through RPC); on any
    // other URI the full agent does, and finds the domain arrived.
    handed_over_on_the_test_driver(
        "migrate_from",
        &[("OCF_RESKEY_CRM_meta_migrate_source", "n1")],
    );
}

fn handed_over_on_the_test_driver(action: &str, extra: &[(&str, &str)]) {
    // libvirt's in-process test driver, where domain "test" runs: only the full agent can
    // open it, so a 0 proves the hand-over (and the light path's debug line says so).
    let dir = std::env::temp_dir().join(format!("vd-light-bin-{action}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("test.xml");
    std::fs::write(
        &cfg,
        "<domain type='test'><name>test</name><memory>8192</memory></domain>",
    )
    .unwrap();
    let mut env = vec![
        ("OCF_RESKEY_config", cfg.to_str().unwrap()),
        ("OCF_RESKEY_hypervisor", "test:///default"),
        ("OCF_RESOURCE_INSTANCE", "t1"),
        ("HA_RSCTMP", dir.to_str().unwrap()),
        ("HA_debug", "1"),
        ("OCF_RESKEY_CRM_meta_timeout", "20000"),
        ("OCF_RESKEY_autoset_utilization_cpu", "false"),
        ("OCF_RESKEY_autoset_utilization_host_memory", "false"),
        ("OCF_RESKEY_autoset_utilization_hv_memory", "false"),
    ];
    env.extend_from_slice(extra);
    let (rc, _, err) = run(LIGHT, action, &env);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(rc, 0, "{err}");
    assert!(
        err.contains("handing over to the full agent: hypervisor test:///default"),
        "{err}"
    );
}

/// Issue 13: a config that is a character device or a FIFO is answered at once (well within
/// the operation timeout) with the documented code and an `ocf-exit-reason:`, not by reading
/// without end or blocking.
#[test]
fn a_config_that_is_not_a_regular_file_is_answered_with_an_exit_reason() {
    let dir = std::env::temp_dir().join(format!("vd-bounded-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("vm.xml");
    let _ = std::fs::remove_file(&fifo);
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    for (config, what) in [
        ("/dev/zero", "is a character device, not a regular file"),
        (fifo.to_str().unwrap(), "is a FIFO, not a regular file"),
    ] {
        let t = std::time::Instant::now();
        let (rc, _, err) = run(
            LIGHT,
            "start",
            &[
                ("OCF_RESOURCE_INSTANCE", "vm1"),
                ("OCF_RESKEY_config", config),
                ("OCF_RESKEY_CRM_meta_timeout", "20000"),
            ],
        );
        assert_eq!(rc, 5, "{config}: {err}");
        assert!(err.contains("ocf-exit-reason:"), "{config}: {err}");
        assert!(err.contains(what), "{config}: {err}");
        assert!(t.elapsed() < std::time::Duration::from_secs(10), "{config}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
