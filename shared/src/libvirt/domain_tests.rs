//! Tests of the `virt` state mapping, the shutdown mode and migration flag bits, and the
//! test-driver round trip (the plain state types are tested in `state_tests.rs`).

use super::*;

#[test]
fn maps_virt_states() {
    assert_eq!(
        DomainState::from_virt(Enum::Known(VirtState::Shutdown)),
        DomainState::ShuttingDown
    );
    assert_eq!(
        DomainState::from_virt(Enum::Known(VirtState::PMSuspended)),
        DomainState::PmSuspended
    );
    assert_eq!(
        DomainState::from_virt(Enum::Unknown(u32::MAX)),
        DomainState::Unknown(u32::MAX)
    );
}

#[test]
fn shutdown_mode_bits_are_libvirts() {
    // `ShutdownMode::bits` spells the values out so that it builds without `virt`.
    let expected = [
        sys::VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN,
        sys::VIR_DOMAIN_SHUTDOWN_GUEST_AGENT,
        sys::VIR_DOMAIN_SHUTDOWN_INITCTL,
        sys::VIR_DOMAIN_SHUTDOWN_SIGNAL,
        sys::VIR_DOMAIN_SHUTDOWN_PARAVIRT,
    ];
    for ((name, mode), bits) in ShutdownMode::ALL.iter().zip(expected) {
        assert_eq!(mode.bits(), bits, "{name}");
    }
}

#[test]
fn migrate_flags() {
    let req = MigrateRequest {
        flags: vec![
            MigrateFlag::Live,
            MigrateFlag::PeerToPeer,
            MigrateFlag::AutoConverge,
        ],
        ..MigrateRequest::default()
    };
    assert_eq!(req.flag_bits(), 1 | 2 | 8192);
}

#[test]
fn test_driver_round_trip() {
    // libvirt's built-in test driver: no daemon needed.
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    let c = Connection::open(Some("test:///default"), deadline).expect("test driver");
    let st = c
        .domain_status("test", deadline)
        .unwrap()
        .expect("domain test");
    assert_eq!(st.state, DomainState::Running);
    assert!(st.vcpus >= 1 && st.max_mem_kib > 0);
    assert_eq!(c.domain_status("nope", deadline).unwrap(), None);
    assert_eq!(c.active_domain_names(deadline).unwrap(), ["test"]);
    assert!(c.destroy("test", deadline).unwrap());
    assert!(!c.destroy("nope", deadline).unwrap());
    let st = c.domain_status("test", deadline).unwrap().unwrap();
    assert_eq!(st.state, DomainState::Shutoff);
    assert!(!c.destroy("test", deadline).unwrap(), "already off");
    let past = Instant::now() - std::time::Duration::from_millis(1);
    assert!(c.domain_status("test", past).unwrap_err().is_timeout());
}
