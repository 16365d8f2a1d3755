use super::*;
use crate::drbd::events::parse_events2_now;

macro_rules! fixture {
    ($name:literal, $res:literal) => {
        parse_events2_now(
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/fixtures/drbd/",
                $name
            )),
            $res,
        )
        .unwrap()
        .unwrap()
    };
}

fn never() -> bool {
    panic!("pacemaker_knows_primary must not be asked here")
}

fn decide_default(s: &Summary) -> ScoreAction {
    decide(s, &ScoreSettings::default(), never).action
}

/// A two-node resource: `me` (role, disk, quorum) and one peer (role, disk, connection).
fn two_node(role: &str, disk: &str, peer_role: &str, peer_disk: &str, conn: &str) -> Summary {
    let text = format!(
        "exists resource name:r role:{role} suspended:no\n\
         exists connection name:r peer-node-id:1 conn-name:b connection:{conn} role:{peer_role}\n\
         exists device name:r volume:0 minor:0 disk:{disk} client:no quorum:yes\n\
         exists peer-device name:r peer-node-id:1 conn-name:b volume:0 replication:Established \
         peer-disk:{peer_disk} peer-client:no\n\
         exists -\n"
    );
    Summary::of(&parse_events2_now(&text, "r").unwrap().unwrap())
}

#[test]
fn score_table() {
    use ScoreAction::*;
    // (role, disk, peer role, peer disk, connection) -> score
    let table = [
        (
            "Primary",
            "UpToDate",
            "Secondary",
            "UpToDate",
            "Connected",
            Set(10000),
        ),
        (
            "Primary",
            "UpToDate",
            "Unknown",
            "DUnknown",
            "Connecting",
            Set(10000),
        ),
        (
            "Secondary",
            "UpToDate",
            "Secondary",
            "UpToDate",
            "Connected",
            Set(10000),
        ),
        (
            "Secondary",
            "UpToDate",
            "Primary",
            "UpToDate",
            "Connected",
            Set(10000),
        ),
        (
            "Secondary",
            "UpToDate",
            "Unknown",
            "DUnknown",
            "Connecting",
            Set(1000),
        ),
        (
            "Secondary",
            "UpToDate",
            "Unknown",
            "DUnknown",
            "StandAlone",
            Set(1000),
        ),
        (
            "Secondary",
            "UpToDate",
            "Secondary",
            "Outdated",
            "Connected",
            Set(10000),
        ),
        (
            "Secondary",
            "Inconsistent",
            "Primary",
            "UpToDate",
            "Connected",
            Set(10),
        ),
        (
            "Secondary",
            "Outdated",
            "Primary",
            "UpToDate",
            "Connected",
            Set(10),
        ),
        (
            "Secondary",
            "Outdated",
            "Unknown",
            "DUnknown",
            "Connecting",
            Remove,
        ),
        (
            "Secondary",
            "Inconsistent",
            "Unknown",
            "DUnknown",
            "Connecting",
            Remove,
        ),
        (
            "Secondary",
            "Consistent",
            "Unknown",
            "DUnknown",
            "Connecting",
            Remove,
        ), // C = 0
        (
            "Secondary",
            "Attaching",
            "Unknown",
            "DUnknown",
            "Connecting",
            Keep,
        ),
        (
            "Secondary",
            "Negotiating",
            "Secondary",
            "Inconsistent",
            "Connected",
            Keep,
        ),
        (
            "Secondary",
            "Failed",
            "Secondary",
            "Inconsistent",
            "Connected",
            Remove,
        ),
        (
            "Secondary",
            "Diskless",
            "Secondary",
            "Outdated",
            "Connected",
            Remove,
        ),
        (
            "Secondary",
            "Sideways",
            "Unknown",
            "DUnknown",
            "Connecting",
            Remove,
        ),
    ];
    for (role, disk, prole, pdisk, conn, want) in table {
        let s = two_node(role, disk, prole, pdisk, conn);
        assert_eq!(
            decide_default(&s),
            want,
            "{role}/{disk} peer {prole}/{pdisk} {conn}: {s:?}"
        );
    }
}

#[test]
fn custom_adjust_values_and_consistent() {
    let s = two_node(
        "Secondary",
        "Consistent",
        "Unknown",
        "DUnknown",
        "Connecting",
    );
    let settings = ScoreSettings {
        adjust: [5, 20, 2000, 20000],
        ..ScoreSettings::default()
    };
    assert_eq!(decide(&s, &settings, never).action, ScoreAction::Set(5));
    let s = two_node("Secondary", "UpToDate", "Unknown", "DUnknown", "Connecting");
    assert_eq!(decide(&s, &settings, never).action, ScoreAction::Set(2000));
}

#[test]
fn fixtures_give_the_linbit_scores() {
    use ScoreAction::*;
    let cases = [
        (
            Summary::of(&fixture!("secondary-peer-primary-3nodes.events2", "drbd1")),
            Set(10000),
        ),
        (
            Summary::of(&fixture!(
                "primary-syncsource-peer-inconsistent.events2",
                "test0"
            )),
            Set(10000),
        ),
        (
            Summary::of(&fixture!("primary-connected-statistics.events2", "r0")),
            Set(10000),
        ),
        // Outdated locally, one peer UpToDate: only remote data.
        (
            Summary::of(&fixture!(
                "secondary-outdated-peer-unconnected.events2",
                "one-vm-10154-disk-0"
            )),
            Set(10),
        ),
        // Diskless client, Primary, a peer with all disks UpToDate: B - 1.
        (
            Summary::of(&fixture!(
                "diskless-client-primary.events2",
                "one-vm-8760-disk-0"
            )),
            Set(9999),
        ),
        // UpToDate; the peers are an Outdated one and a diskless client (ignored): all known.
        (
            Summary::of(&fixture!(
                "secondary-peer-diskless-client-primary.events2",
                "one-vm-8760-disk-0"
            )),
            Set(10000),
        ),
        (
            Summary::of(&fixture!(
                "quorum-lost-diskless-connecting.events2",
                "one-vm-7792-disk-0"
            )),
            Remove,
        ),
        (
            Summary::of(&fixture!("standalone-diskless.events2", "test")),
            Remove,
        ),
    ];
    for (i, (s, want)) in cases.into_iter().enumerate() {
        assert_eq!(decide_default(&s), want, "case {i}: {s:?}");
    }
}

#[test]
fn summary_of_fixtures() {
    let s = Summary::of(&fixture!("secondary-peer-primary-3nodes.events2", "drbd1"));
    assert!(s.some_peer_primary && !s.primary && s.have_quorum);
    assert!(s.disk_all_up_to_date && s.pdsk_all_up_to_date && !s.pdsk_any_unknown);
    let s = Summary::of(&fixture!(
        "secondary-outdated-peer-unconnected.events2",
        "one-vm-10154-disk-0"
    ));
    assert!(!s.disk_all_consistent && s.some_peer_all_up_to_date);
    assert!(s.some_peer_not_all_up_to_date && s.pdsk_any_unknown && !s.pdsk_all_up_to_date);
    let s = Summary::of(&fixture!(
        "diskless-client-primary.events2",
        "one-vm-8760-disk-0"
    ));
    assert!(s.diskless_client && s.primary);
    let s = Summary::of(&fixture!(
        "quorum-lost-diskless-connecting.events2",
        "one-vm-7792-disk-0"
    ));
    assert!(!s.have_quorum && !s.diskless_client);
}

#[test]
fn quorum_lost_removes_even_when_uptodate() {
    let text = "exists resource name:r role:Primary\n\
                exists device name:r volume:0 disk:UpToDate client:no quorum:no\n";
    let s = Summary::of(&parse_events2_now(text, "r").unwrap().unwrap());
    assert_eq!(decide_default(&s), ScoreAction::Remove);
    // Deliberate difference from drbd.ocf: a diskless client without quorum is not promoted.
    let text = "exists resource name:r role:Secondary\n\
                exists connection name:r peer-node-id:1 connection:Connected role:Secondary\n\
                exists device name:r volume:0 disk:Diskless client:yes quorum:no\n\
                exists peer-device name:r peer-node-id:1 volume:0 peer-disk:UpToDate\n";
    let s = Summary::of(&parse_events2_now(text, "r").unwrap().unwrap());
    assert!(s.diskless_client);
    assert_eq!(decide_default(&s), ScoreAction::Remove);
}

#[test]
fn diskless_client_rules() {
    let client = |role: &str, peers: &[&str]| {
        let mut text = format!(
            "exists resource name:r role:{role}\n\
             exists device name:r volume:0 disk:Diskless client:yes quorum:yes\n"
        );
        for (i, d) in peers.iter().enumerate() {
            text.push_str(&format!(
                "exists connection name:r peer-node-id:{i} connection:Connected role:Secondary\n\
                 exists peer-device name:r peer-node-id:{i} volume:0 peer-disk:{d}\n"
            ));
        }
        Summary::of(&parse_events2_now(&text, "r").unwrap().unwrap())
    };
    use ScoreAction::*;
    assert_eq!(
        decide_default(&client("Secondary", &["UpToDate", "UpToDate"])),
        Set(9999)
    );
    assert_eq!(
        decide_default(&client("Secondary", &["UpToDate", "Outdated"])),
        Set(999)
    );
    assert_eq!(
        decide_default(&client("Primary", &["UpToDate", "Outdated"])),
        Set(9999)
    );
    assert_eq!(decide_default(&client("Secondary", &["Outdated"])), Remove);
    assert_eq!(decide_default(&client("Secondary", &[])), Remove);
}

#[test]
fn peer_primary_policies() {
    let s = two_node("Secondary", "UpToDate", "Primary", "UpToDate", "Connected");
    let with = |peer_primary| ScoreSettings {
        peer_primary,
        ..ScoreSettings::default()
    };
    assert_eq!(
        decide(&s, &with(PeerPrimaryPolicy::Remove), never).action,
        ScoreAction::Remove
    );
    assert_eq!(
        decide(&s, &with(PeerPrimaryPolicy::RemoveIfUnexpected), || true).action,
        ScoreAction::Set(10000)
    );
    assert_eq!(
        decide(&s, &with(PeerPrimaryPolicy::RemoveIfUnexpected), || false).action,
        ScoreAction::Remove
    );
    // An unhealthy Primary peer does not remove the score.
    let s = two_node(
        "Secondary",
        "UpToDate",
        "Primary",
        "Inconsistent",
        "Connected",
    );
    assert_eq!(
        decide(&s, &with(PeerPrimaryPolicy::Remove), never).action,
        ScoreAction::Set(10000)
    );
    // Being Primary ourselves: never removed.
    let s = two_node("Primary", "UpToDate", "Primary", "UpToDate", "Connected");
    assert_eq!(
        decide(&s, &with(PeerPrimaryPolicy::Remove), never).action,
        ScoreAction::Set(10000)
    );
}

#[test]
fn unfence_only_when_primary_and_all_uptodate() {
    let settings = ScoreSettings {
        unfence_if_all_uptodate: true,
        ..ScoreSettings::default()
    };
    let s = two_node("Primary", "UpToDate", "Secondary", "UpToDate", "Connected");
    assert!(decide(&s, &settings, never).unfence);
    let s = two_node("Primary", "UpToDate", "Unknown", "DUnknown", "Connecting");
    assert!(!decide(&s, &settings, never).unfence);
    let s = two_node(
        "Secondary",
        "UpToDate",
        "Secondary",
        "UpToDate",
        "Connected",
    );
    assert!(!decide(&s, &settings, never).unfence);
}

#[test]
fn no_volumes_is_not_a_diskless_client() {
    let s = Summary::of(
        &parse_events2_now("exists resource name:r role:Secondary\n", "r")
            .unwrap()
            .unwrap(),
    );
    assert!(!s.diskless_client);
    assert_eq!(decide_default(&s), ScoreAction::Remove);
}

#[test]
fn adjust_parsing() {
    assert_eq!(parse_adjust("0 10 1000 10000"), Ok(DEFAULT_ADJUST));
    assert_eq!(parse_adjust("  1\t2 3   4 "), Ok([1, 2, 3, 4]));
    assert!(parse_adjust("0 10 1000").is_err());
    assert!(parse_adjust("0 10 1000 10000 5").is_err());
    assert!(parse_adjust("0 10 -1 10000").is_err());
    assert!(parse_adjust("0 100 10 10000").is_err());
    assert!(parse_adjust("a b c d").is_err());
    assert!(parse_adjust("").is_err());
}
