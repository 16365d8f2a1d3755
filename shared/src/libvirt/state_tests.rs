//! Tests of the domain states and shutdown modes (no libvirt needed).

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
fn state_names() {
    assert_eq!(DomainState::ShuttingDown.to_string(), "in shutdown");
    assert_eq!(DomainState::Unknown(9).to_string(), "unknown state 9");
}

#[test]
fn shutdown_modes() {
    assert_eq!(ShutdownMode::parse("agent"), Some(ShutdownMode::Agent));
    assert_eq!(ShutdownMode::parse("reboot"), None);
    assert_eq!(ShutdownMode::Acpi.bits(), 1);
}
