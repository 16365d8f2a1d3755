//! Tests of the domain states, shutdown modes, migration flags and the test-driver round trip.

use super::*;

#[test]
fn active_states() {
    for s in [
        DomainState::Running,
        DomainState::Blocked,
        DomainState::Paused,
        DomainState::ShuttingDown,
    ] {
        assert!(s.is_active(), "{s}");
    }
    for s in [
        DomainState::NoState,
        DomainState::Shutoff,
        DomainState::Crashed,
        DomainState::PmSuspended,
        DomainState::Unknown(99),
    ] {
        assert!(!s.is_active(), "{s}");
    }
}

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
    assert_eq!(DomainState::ShuttingDown.to_string(), "in shutdown");
    assert_eq!(DomainState::Unknown(9).to_string(), "unknown state 9");
}

#[test]
fn shutdown_modes_and_flags() {
    assert_eq!(ShutdownMode::parse("agent"), Some(ShutdownMode::Agent));
    assert_eq!(ShutdownMode::parse("reboot"), None);
    assert_eq!(ShutdownMode::Acpi.bits(), 1);
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
