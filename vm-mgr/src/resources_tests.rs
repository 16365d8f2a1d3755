use super::*;

/// `sandbox guest-xml` output, as recorded (no room: 1 vCPU, 64 MiB, no balloon).
const GUEST: &str = include_str!("../../tests/fixtures/libvirt/guest-xml.xml");

/// The same guest with room, as the e2e scenario defines it: 1 of 2 vCPUs, 64 MiB of a 256 MiB
/// hotplug ceiling with 2 slots, one NUMA cell, ACPI (memory hotplug needs it).
fn roomy() -> String {
    GUEST
        .replace("<vcpu>1</vcpu>", "<vcpu current='1'>2</vcpu>")
        .replace(
            "<memory unit='MiB'>64</memory>",
            "<maxMemory slots='2' unit='MiB'>256</maxMemory><memory unit='MiB'>64</memory>",
        )
        .replace(
            "</os>",
            "</os><features><acpi/></features><cpu><numa><cell id='0' cpus='0-1' memory='64' unit='MiB'/></numa></cpu>",
        )
}

#[test]
fn sizes_parse_with_binary_units() {
    assert_eq!(parse_size("m", "128M").unwrap(), 128 << 20);
    assert_eq!(parse_size("m", "2GiB").unwrap(), 2 << 30);
    assert_eq!(parse_size("m", "64").unwrap(), 64 << 20);
    assert_eq!(parse_size("m", "4096b").unwrap(), 4096);
    assert_eq!(parse_size("m", "131072k").unwrap(), 128 << 20);
    for bad in [
        "",
        "M",
        "1.5G",
        "-1G",
        "12X",
        "99999999999999999999T",
        "1 G",
    ] {
        let e = parse_size("--size", bad).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{bad}: {e}");
    }
    assert_eq!(parse_memory("128M").unwrap(), 128 * 1024);
    assert!(parse_memory("512K").is_err(), "under 1 MiB");
    assert!(parse_memory("1000B").is_err(), "not whole KiB");
    assert!(parse_memory("17T").is_err(), "over 16 TiB");
}

#[test]
fn sizes_of_the_recorded_guest() {
    let s = sizes(GUEST).unwrap();
    assert_eq!((s.vcpus, s.max_vcpus), (1, 1));
    assert_eq!((s.memory_kib, s.total_kib), (65536, 65536));
    assert_eq!(
        (s.hotplug_kib, s.free_slots, s.balloon, s.cells),
        (None, 0, false, 0)
    );
    let r = sizes(&roomy()).unwrap();
    assert_eq!((r.vcpus, r.max_vcpus), (1, 2));
    assert_eq!(
        (r.hotplug_kib, r.free_slots, r.cells),
        (Some(256 * 1024), 2, 1)
    );
}

#[test]
fn running_guest_with_room_gets_vcpus_and_a_dimm_at_once() {
    let p = plan(&roomy(), Some(2), Some(128 * 1024), true).unwrap();
    assert_eq!(p.live.len(), 2, "{:?}", p.live);
    assert_eq!(p.live[0], Live::Vcpus(2));
    let Live::Dimm(dimm) = &p.live[1] else {
        panic!("{:?}", p.live)
    };
    assert!(dimm.contains("<size unit=\"KiB\">65536</size>"), "{dimm}");
    assert!(p.next_start.is_empty(), "{:?}", p.next_start);
    assert_eq!((p.after.vcpus, p.after.max_vcpus), (2, 2));
    assert_eq!((p.after.memory_kib, p.after.total_kib), (131072, 131072));
    assert_eq!(p.after.free_slots, 1, "the kept XML has the DIMM too");
    assert!(p.xml.contains("<vcpu current=\"2\">2</vcpu>"), "{}", p.xml);
    // the NUMA cell keeps its size: cell + DIMM = the new total, as in the running guest
    assert!(p.xml.contains("memory=\"64\""), "{}", p.xml);
}

#[test]
fn stopped_guest_or_no_room_applies_at_next_start() {
    // stopped: nothing live, the whole size in the cell; no "next start" note (it is stopped)
    let p = plan(&roomy(), Some(2), Some(128 * 1024), false).unwrap();
    assert!(p.live.is_empty() && p.next_start.is_empty());
    assert_eq!(p.after.total_kib, 131072);
    assert!(p.xml.contains("memory=\"131072\""), "{}", p.xml);
    // running, no room: above the maximum vCPUs, no balloon, no maxMemory
    let p = plan(GUEST, Some(4), Some(128 * 1024), true).unwrap();
    assert!(p.live.is_empty(), "{:?}", p.live);
    assert_eq!(p.next_start, ["4 vCPUs", "128 MiB of memory"]);
    assert!(p.xml.contains("<vcpu>4</vcpu>"), "{}", p.xml);
    assert_eq!((p.after.vcpus, p.after.total_kib), (4, 131072));
    // fewer vCPUs wait for the next start (unplug needs the guest)
    let p = plan(
        &roomy().replace("current='1'", "current='2'"),
        Some(1),
        None,
        true,
    )
    .unwrap();
    assert_eq!(p.next_start, ["1 vCPUs"]);
}

#[test]
fn balloon_changes_memory_below_its_ceiling() {
    let xml = GUEST
        .replace("<memballoon model='none'/>", "<memballoon model='virtio'/>")
        .replace(
            "<memory unit='MiB'>64</memory>",
            "<memory unit='MiB'>256</memory>",
        );
    let p = plan(&xml, None, Some(128 * 1024), true).unwrap();
    assert_eq!(p.live, [Live::Balloon(131072)]);
    assert_eq!((p.after.memory_kib, p.after.total_kib), (131072, 262144));
    // unchanged: nothing to do
    let p = plan(GUEST, Some(1), Some(64 * 1024), true).unwrap();
    assert!(p.live.is_empty() && p.next_start.is_empty());
    assert_eq!(p.after, p.before);
}

#[test]
fn refusals_are_usage_errors() {
    for (xml, vcpus, mem) in [
        (roomy(), Some(0), None),
        (roomy(), Some(MAX_VCPUS + 1), None),
        (roomy(), None, Some(512 * 1024)),
        (
            roomy().replace(
                "</numa>",
                "<cell id='1' cpus='1' memory='64' unit='MiB'/></numa>",
            ),
            None,
            Some(32 * 1024),
        ),
    ] {
        let e = plan(&xml, vcpus, mem, true).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{vcpus:?} {mem:?}: {e}");
    }
    assert!(plan("<domain>", Some(1), None, true).is_err());
    assert!(plan("<network/>", Some(1), None, true).is_err());
}
