//! Tests of the command line: every verb, flag and SEAPATH alias operators rely on.
use super::*;

fn parse(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("vm-mgr").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

#[test]
fn the_field_example_parses() {
    let cli = parse(&[
        "create",
        "--name",
        "NAME",
        "--xml",
        "cfg.xml",
        "--image",
        "disk.qcow2",
        "--disable",
        "--force",
        "--enable-live-migration",
        "--migration-user",
        "virtu",
        "--migration-to-timeout",
        "180",
    ]);
    let Command::Create(c) = cli.command else {
        panic!("not create")
    };
    assert_eq!(c.name, "NAME");
    assert_eq!(c.xml, PathBuf::from("cfg.xml"));
    assert_eq!(c.image, PathBuf::from("disk.qcow2"));
    assert!(c.vm.disable && c.vm.force && c.vm.enable_live_migration && !c.vm.nostart);
    assert_eq!(c.vm.migration_user.as_deref(), Some("virtu"));
    assert_eq!(c.vm.migrate_to_timeout, 180);
    assert_eq!(c.vm.stop_timeout, 30);
    assert_eq!(c.vm.disk_bus, "virtio");
}

#[test]
fn create_flags_and_repeatables() {
    let cli = parse(&[
        "create",
        "-n",
        "vm1",
        "--xml",
        "x",
        "-i",
        "d.raw",
        "--additional-disk",
        "a.qcow2",
        "--additional-disk",
        "b.qcow2",
        "--migrate-to-timeout",
        "99",
        "--stop-timeout",
        "45",
        "--migration-downtime",
        "300",
        "--priority",
        "5",
        "--pinned-host",
        "sim1",
        "--metadata",
        "a=1",
        "b=2",
        "--metadata",
        "c=3",
        "--pacemaker-params",
        "force_stop=true",
        "--pacemaker-meta",
        "resource-stickiness=50",
        "--pacemaker-utilization",
        "cpu=2",
        "--disk-bus",
        "scsi",
        "-p",
    ]);
    let Command::Create(c) = cli.command else {
        panic!("not create")
    };
    assert_eq!(c.additional_disk.len(), 2);
    assert_eq!(c.vm.metadata, ["a=1", "b=2", "c=3"]);
    assert_eq!(c.vm.migrate_to_timeout, 99);
    assert_eq!(c.vm.stop_timeout, 45);
    assert_eq!(c.vm.migration_downtime, 300);
    assert_eq!(c.vm.priority, 5);
    assert_eq!(c.vm.pinned_host.as_deref(), Some("sim1"));
    assert_eq!(c.vm.disk_bus, "scsi");
}

#[test]
fn pinned_and_preferred_conflict_and_bad_bus_fails() {
    for args in [
        &[
            "vm-mgr",
            "create",
            "-n",
            "a",
            "--xml",
            "x",
            "-i",
            "y",
            "--pinned-host",
            "a",
            "--preferred-host",
            "b",
        ][..],
        &[
            "vm-mgr",
            "create",
            "-n",
            "a",
            "--xml",
            "x",
            "-i",
            "y",
            "--disk-bus",
            "floppy",
        ],
        &["vm-mgr", "create", "-n", "a", "--xml", "x"],
        &["vm-mgr", "status"],
        &["vm-mgr", "frobnicate"],
    ] {
        let e = Cli::try_parse_from(args).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{args:?}");
    }
}

#[test]
fn seapath_underscore_spellings_are_aliases() {
    let cli = parse(&["get_metadata", "-n", "a", "--metadata_name", "k"]);
    assert!(matches!(cli.command, Command::GetMetadata(ref g) if g.metadata_name == "k"));
    let cli = parse(&[
        "set_metadata",
        "--name",
        "a",
        "--metadata_name",
        "k",
        "--metadata_value",
        "v",
    ]);
    assert!(matches!(cli.command, Command::SetMetadata(ref s) if s.metadata_value == "v"));
    let cli = parse(&["list_metadata", "-n", "a"]);
    assert_eq!(cli.command.verb(), "list-metadata");
    let cli = parse(&[
        "create",
        "-n",
        "a",
        "--xml",
        "x",
        "-i",
        "y",
        "--migrate_to_timeout",
        "7",
    ]);
    assert!(matches!(cli.command, Command::Create(ref c) if c.vm.migrate_to_timeout == 7));
}

#[test]
fn every_verb_and_the_global_flags_parse() {
    for (args, verb) in [
        (&["remove", "-n", "a"][..], "remove"),
        (&["enable", "-n", "a", "--nostart"], "enable"),
        (&["disable", "-n", "a"], "disable"),
        (&["start", "-n", "a"], "start"),
        (&["stop", "-n", "a", "-f"], "stop"),
        (&["status", "-n", "a"], "status"),
        (&["list"], "list"),
        (&["info"], "info"),
        (&["list-metadata", "-n", "a", "--all"], "list-metadata"),
    ] {
        assert_eq!(parse(args).command.verb(), verb);
    }
    let cli = parse(&[
        "list",
        "--output",
        "json",
        "--cib-file",
        "/tmp/cib.xml",
        "--dry-run",
        "--pool",
        "vms",
        "--ceph-conf",
        "/etc/ceph/x.conf",
        "--ceph-id",
        "libvirt",
        "-vv",
    ]);
    assert_eq!(cli.output, OutputFormat::Json);
    assert_eq!(cli.cib_file, Some(PathBuf::from("/tmp/cib.xml")));
    assert!(cli.dry_run);
    assert_eq!(cli.pool.as_deref(), Some("vms"));
    assert_eq!(cli.ceph_id.as_deref(), Some("libvirt"));
    assert_eq!(cli.verbose, 2);
    let cli = parse(&["--output", "json", "status", "-n", "x"]);
    assert_eq!(cli.vm_name(), Some("x"));
}

#[test]
fn the_plugins_argv_parse_and_choose_layout_and_progress() {
    // SEAPATH's Cockpit plugin's calls (seapath-clients.md), as it spawns them.
    let create = parse(&[
        "create",
        "-p",
        "--name",
        "N",
        "--image",
        "P",
        "--xml",
        "X",
        "--disk-bus",
        "usb",
        "--enable-live-migration",
        "--migration-user",
        "libvirtadmin",
        "--preferred-host",
        "H",
    ]);
    let Command::Create(c) = &create.command else {
        panic!("not create")
    };
    assert_eq!((c.vm.disk_bus.as_str(), c.vm.progress), ("usb", true));
    assert!(create.progress_on_stdout());
    // JSON stays parseable: progress then stays off stdout.
    assert!(
        !parse(&["--output", "json", "create", "-p", "-n", "N", "-i", "P", "--xml", "X"])
            .progress_on_stdout()
    );
    assert!(!parse(&["create", "-n", "N", "-i", "P", "--xml", "X"]).progress_on_stdout());
    for bus in DISK_BUSES {
        parse(&[
            "create",
            "-n",
            "N",
            "-i",
            "P",
            "--xml",
            "X",
            "--disk-bus",
            bus,
        ]);
    }
    let st = parse(&["status", "--name", "N"]);
    assert_eq!(
        (st.command.verb(), st.vm_name(), st.layout_asked()),
        ("status", Some("N"), None)
    );
    assert_eq!(
        parse(&["status", "-n", "N", "--long"]).layout_asked(),
        Some(Layout::Long)
    );
    assert_eq!(parse(&["list"]).layout_asked(), None);
    assert_eq!(parse(&["list", "-l"]).layout_asked(), Some(Layout::Long));
    assert_eq!(
        parse(&["list", "--names"]).layout_asked(),
        Some(Layout::Short)
    );
    let snaps = parse(&["list_snapshots", "-n", "N"]);
    assert_eq!(
        (snaps.command.verb(), snaps.vm_name()),
        ("list_snapshots", Some("N"))
    );
    assert_eq!(
        parse(&["list-snapshots", "-n", "N"]).command.verb(),
        "list-snapshots"
    );
    for args in [
        &["create_snapshot", "-n", "N", "--snap_name", "S"][..],
        &["rollback", "-n", "N", "--snap_name", "S"],
        &["stop", "-n", "N", "--force"],
        &["start", "-n", "N"],
        &["enable", "-n", "N"],
        &["disable", "-n", "N"],
        &["remove", "-n", "N"],
    ] {
        assert_eq!(parse(args).vm_name(), Some("N"), "{args:?}");
    }
}
