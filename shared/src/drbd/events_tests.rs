use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/drbd/",
            $name
        ))
    };
}

fn parse(text: &str, res: &str) -> ResourceStatus {
    parse_events2_now(text, res)
        .expect("parses")
        .expect("resource present")
}

#[test]
fn secondary_with_primary_peer_three_nodes() {
    let s = parse(fixture!("secondary-peer-primary-3nodes.events2"), "drbd1");
    assert_eq!(s.role, Role::Secondary);
    assert_eq!(s.suspended.as_deref(), Some("no"));
    assert_eq!(s.connections.len(), 2);
    assert_eq!(s.connections[0].peer_node_id, Some(0));
    assert_eq!(s.connections[0].conn_name.as_deref(), Some("central-2004"));
    assert_eq!(s.connections[0].state, ConnectionState::Connected);
    assert_eq!(s.connections[0].peer_role, Role::Primary);
    assert_eq!(s.connections[1].peer_role, Role::Secondary);
    assert_eq!(
        s.devices,
        [Device {
            volume: 0,
            minor: Some(1),
            disk: DiskState::UpToDate,
            client: false,
            quorum: Some(true),
        }]
    );
    assert_eq!(s.peer_devices.len(), 2);
    assert!(s
        .peer_devices
        .iter()
        .all(|p| p.peer_disk == DiskState::UpToDate
            && p.replication == ReplicationState::Established
            && !p.peer_client));
}

#[test]
fn primary_syncsource_with_timestamps() {
    let s = parse(
        fixture!("primary-syncsource-peer-inconsistent.events2"),
        "test0",
    );
    assert_eq!(s.role, Role::Primary);
    assert_eq!(s.connections[0].peer_node_id, None);
    assert_eq!(s.connections[0].conn_name.as_deref(), Some("peer"));
    assert_eq!(s.devices[0].disk, DiskState::UpToDate);
    assert_eq!(s.devices[0].quorum, None);
    assert_eq!(s.peer_devices[0].replication, ReplicationState::SyncSource);
    assert_eq!(s.peer_devices[0].peer_disk, DiskState::Inconsistent);
}

#[test]
fn primary_connected() {
    let s = parse(fixture!("primary-connected-statistics.events2"), "r0");
    assert_eq!(s.role, Role::Primary);
    assert_eq!(s.connections[0].state, ConnectionState::Connected);
    assert_eq!(s.peer_devices[0].peer_disk, DiskState::UpToDate);
}

#[test]
fn outdated_with_unconnected_peer() {
    let s = parse(
        fixture!("secondary-outdated-peer-unconnected.events2"),
        "one-vm-10154-disk-0",
    );
    assert_eq!(s.devices[0].disk, DiskState::Outdated);
    assert_eq!(s.connections[1].state, ConnectionState::Unconnected);
    assert_eq!(s.connections[1].peer_role, Role::Unknown);
    assert_eq!(s.peer_devices[1].peer_disk, DiskState::DUnknown);
    assert_eq!(s.peer_devices[1].replication, ReplicationState::Off);
}

#[test]
fn diskless_client_primary() {
    let s = parse(
        fixture!("diskless-client-primary.events2"),
        "one-vm-8760-disk-0",
    );
    assert_eq!(s.role, Role::Primary);
    assert_eq!(s.devices[0].disk, DiskState::Diskless);
    assert!(s.devices[0].client);
    assert_eq!(s.peer_devices[0].peer_disk, DiskState::Outdated);
    let peer = parse(
        fixture!("secondary-peer-diskless-client-primary.events2"),
        "one-vm-8760-disk-0",
    );
    assert!(peer.peer_devices[1].peer_client);
    assert_eq!(peer.peer_devices[1].peer_disk, DiskState::Diskless);
    assert_eq!(peer.connections[1].peer_role, Role::Primary);
}

#[test]
fn quorum_lost_and_connecting() {
    let s = parse(
        fixture!("quorum-lost-diskless-connecting.events2"),
        "one-vm-7792-disk-0",
    );
    assert_eq!(s.devices[0].quorum, Some(false));
    assert_eq!(s.devices[0].minor, None);
    assert!(s
        .connections
        .iter()
        .all(|c| c.state == ConnectionState::Connecting && c.peer_node_id.is_none()));
}

#[test]
fn standalone_and_path_lines() {
    let s = parse(fixture!("standalone-diskless.events2"), "test");
    assert_eq!(s.connections[0].state, ConnectionState::StandAlone);
    assert_eq!(s.devices[0].disk, DiskState::Diskless);
    assert!(!s.devices[0].client);
}

#[test]
fn not_configured_and_other_resources() {
    assert_eq!(
        parse_events2_now(fixture!("not-configured.events2"), "r0").unwrap(),
        None
    );
    assert_eq!(parse_events2_now("", "r0").unwrap(), None);
    // Lines of other resources are ignored.
    let text = fixture!("secondary-peer-primary-3nodes.events2");
    assert_eq!(parse_events2_now(text, "drbd2").unwrap(), None);
    assert_eq!(resource_names(text), ["drbd1"]);
}

#[test]
fn unknown_values_are_kept() {
    let text = "exists resource name:r role:Tertiary\n\
                exists connection name:r peer-node-id:1 connection:Wormhole role:Primary\n\
                exists device name:r volume:0 minor:0 disk:Quantum client:no quorum:yes newkey:1\n\
                exists peer-device name:r peer-node-id:1 volume:0 replication:Teleport peer-disk:UpToDate\n\
                exists widget name:r foo:bar\n\
                exists -\n";
    let s = parse(text, "r");
    assert_eq!(s.role, Role::Other("Tertiary".into()));
    assert_eq!(
        s.connections[0].state,
        ConnectionState::Other("Wormhole".into())
    );
    assert_eq!(s.devices[0].disk, DiskState::Other("Quantum".into()));
    assert_eq!(
        s.peer_devices[0].replication,
        ReplicationState::Other("Teleport".into())
    );
    assert_eq!(s.role.to_string(), "Tertiary");
}

#[test]
fn malformed_lines_are_errors_not_panics() {
    let e = parse_events2_now("exists device name:r volume:x disk:UpToDate\n", "r").unwrap_err();
    assert!(e.to_string().contains("line 1"), "{e}");
    assert!(e.to_string().contains("volume:x"), "{e}");
    assert!(parse_events2_now("exists resource role:Primary\n", "r").is_err());
    assert!(parse_events2_now("exists connection name:r peer-node-id:1\n", "r").is_err());
    // Garbage that is not events2 at all is skipped.
    assert_eq!(
        parse_events2_now("hello world\n\n:::\nexists\n", "r").unwrap(),
        None
    );
    // Arbitrary bytes never panic.
    for text in [
        "exists resource name:",
        "exists resource name:r role:",
        "\u{0}\u{ffff}",
    ] {
        let _ = parse_events2_now(text, "r");
    }
}

#[test]
fn vocabulary_round_trips() {
    for s in [
        "Diskless",
        "Attaching",
        "Detaching",
        "Failed",
        "Negotiating",
        "Inconsistent",
        "Outdated",
        "DUnknown",
        "Consistent",
        "UpToDate",
    ] {
        let d = DiskState::parse(s);
        assert!(!matches!(d, DiskState::Other(_)), "{s}");
        assert_eq!(d.as_str(), s);
    }
    for s in [
        "StandAlone",
        "Disconnecting",
        "Unconnected",
        "Timeout",
        "BrokenPipe",
        "NetworkFailure",
        "ProtocolError",
        "TearDown",
        "Connecting",
        "Connected",
    ] {
        let c = ConnectionState::parse(s);
        assert!(!matches!(c, ConnectionState::Other(_)), "{s}");
        assert_eq!(c.to_string(), s);
    }
    assert_eq!("Primary".parse::<Role>(), Ok(Role::Primary));
    assert_eq!(Role::parse("primary"), Role::Other("primary".into()));
}

#[test]
fn lines_of_objects_not_read_make_no_resource() {
    // From the recorded standalone-diskless.events2: a `path` line alone says nothing about
    // whether the resource exists in the kernel.
    let path_only = fixture!("standalone-diskless.events2")
        .lines()
        .filter(|l| l.starts_with("exists path "))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(path_only.contains("name:test"), "{path_only}");
    assert_eq!(parse_events2_now(&path_only, "test").unwrap(), None);
}
