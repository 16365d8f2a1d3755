//! The exit-code table (README, `--help`, [`crate::error`]) is true for every verb (issue 13).
//!
//! - The three copies of the table list the same codes.
//! - Every verb that names a VM says "no such VM" (3) for a VM that does not exist and "invalid
//!   input" (2) for a name that breaks the rules, for real and in a dry run, and changes nothing.
//!   The list of verbs is clap's, so a new verb cannot be forgotten here.
//! - Every documented code is produced by a named test: codes 0, 1, 2, 3, 4 and 7 here, on the
//!   recorded CIB with the real Pacemaker tools (`CIB_file`) and in-memory storage; the others
//!   where they need more (the live cluster for 5, a signal for 130). The last test checks that
//!   each named test exists and asserts its code.

use std::collections::BTreeSet;

use clap::{CommandFactory, Parser};

use crate::cli::Cli;
use crate::commands::testing::{stored_vm, CibFile};
use crate::error::{self, Error};
use crate::storage::mem::Memory;
use crate::storage::{NoStorage, Storage};

const README: &str = include_str!("../../README.md");
const ERROR_RS: &str = include_str!("error.rs");

/// The codes of a table written as "N meaning, N meaning, ..." (README, `--help`).
fn codes_in_sentence(text: &str) -> BTreeSet<u8> {
    let start = text.find("Exit codes:").expect("an 'Exit codes:' sentence") + 11;
    let end = text[start..].find('.').map_or(text.len(), |i| start + i);
    text[start..end]
        .split(',')
        .map(|item| {
            let n = item.split_whitespace().next().unwrap_or_default();
            n.parse()
                .unwrap_or_else(|_| panic!("{item:?} does not start with a code"))
        })
        .collect()
}

/// The codes of error.rs's module table (`//! | N | meaning |`).
fn codes_in_module_table() -> BTreeSet<u8> {
    ERROR_RS
        .lines()
        .filter_map(|l| l.strip_prefix("//! | "))
        .filter_map(|l| l.split(' ').next()?.parse().ok())
        .collect()
}

#[test]
fn readme_help_and_error_module_list_the_same_codes() {
    let readme = codes_in_sentence(README);
    let help = codes_in_sentence(&format!("{}.\n", error::EXIT_CODES_HELP));
    let table = codes_in_module_table();
    let consts: BTreeSet<u8> = [
        error::EXIT_OK,
        error::EXIT_FAILED,
        error::EXIT_USAGE,
        error::EXIT_NO_SUCH_VM,
        error::EXIT_EXISTS,
        error::EXIT_TIMEOUT,
        error::EXIT_UNIMPLEMENTED,
        error::EXIT_REFUSED,
        error::EXIT_INTERRUPTED,
    ]
    .into();
    assert_eq!(readme, consts, "README");
    assert_eq!(help, consts, "--help");
    assert_eq!(table, consts, "error.rs table");
    let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    let long_help = words(&Cli::command().render_long_help().to_string());
    assert!(long_help.contains(error::EXIT_CODES_HELP), "{long_help}");
}

/// The arguments besides `--name` each verb needs to get as far as looking the VM up.
fn extra_args(verb: &str) -> Option<&'static [&'static str]> {
    Some(match verb {
        "remove" | "enable" | "disable" | "start" | "stop" | "status" | "list-metadata"
        | "list-snapshots" | "list_snapshots" | "restore" => &[],
        "get-metadata" => &["--metadata-name", "k"],
        "set-metadata" => &["--metadata-name", "k", "--metadata-value", "v"],
        "create-snapshot" | "remove-snapshot" | "rollback" => &["--snap-name", "s1"],
        "purge" => &["--number", "1"],
        "clone" => &["--dst-name", "fresh"],
        "export" => &["--to", "/nonexistent-vmmgr-export"],
        "add-colocation" | "remove-colocation" => &["t1"],
        "set-placement" => &["--strategy", "failover"],
        "migrate" => &["--node", "sim2"],
        "set-xml" => &["--xml", "/nonexistent-vmmgr.xml"],
        "edit" | "console" | "history" => &[],
        "add-pacemaker-remote" => &["--remote-address", "10.78.0.150"],
        "remove-pacemaker-remote" => &[],
        "set-resources" => &["--vcpus", "2"],
        "set-options" => &["--stop-timeout", "60"],
        "add-disk" => &["--size", "16M"],
        "remove-disk" => &["--disk", "vdb"],
        _ => return None,
    })
}

/// Verbs whose `--name` names a VM to be made, not one that exists (add-to-cluster: a libvirt
/// domain, made a VM).
const MAKERS: [&str; 3] = ["create", "import", "add-to-cluster"];

/// Verbs that refuse a CIB file (usage error) unless it is a dry run.
const LIVE_ONLY: [&str; 1] = ["migrate"];

fn run(
    f: &CibFile,
    storage: impl Storage + 'static,
    dry_run: bool,
    args: &[&str],
) -> Result<(), Error> {
    let cli = Cli::try_parse_from(std::iter::once("vm-mgr").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let mut ctx = f.ctx(storage, dry_run);
    ctx.config.secret_uuid = Some("a1f0c3e2-5b1d-4c3a-9e8f-5a4db0c0ffee".into());
    crate::commands::run(&cli, &ctx).map(drop)
}

/// Every verb with a `--name` that names an existing VM, with the arguments it needs.
fn verbs_naming_a_vm() -> Vec<(String, &'static [&'static str])> {
    let cmd = Cli::command();
    let mut verbs = Vec::new();
    for sub in cmd.get_subcommands() {
        let verb = sub.get_name();
        if !sub.get_arguments().any(|a| a.get_id() == "name") || MAKERS.contains(&verb) {
            continue;
        }
        let extra = extra_args(verb)
            .unwrap_or_else(|| panic!("verb {verb} is new: add its arguments to extra_args"));
        verbs.push((verb.to_owned(), extra));
    }
    assert!(verbs.len() >= 20, "{verbs:?}");
    verbs
}

fn assert_every_verb(name: &str, code: u8) {
    let f = CibFile::new("cib-vm-t1-started.xml");
    let before = f.text();
    for (verb, extra) in verbs_naming_a_vm() {
        let mut args = vec![verb.as_str(), "-n", name];
        args.extend_from_slice(extra);
        let dry_runs: &[bool] = if LIVE_ONLY.contains(&verb.as_str()) {
            &[true]
        } else {
            &[false, true]
        };
        for &dry_run in dry_runs {
            let e = run(&f, stored_vm("t1", &Default::default()), dry_run, &args)
                .expect_err(&format!("{args:?} (dry run {dry_run}) succeeded"));
            assert_eq!(e.exit_code(), code, "{args:?} (dry run {dry_run}): {e}");
            assert_eq!(
                f.text(),
                before,
                "{args:?} (dry run {dry_run}) changed the CIB"
            );
        }
    }
}

#[test]
fn every_verb_exits_3_for_a_vm_that_does_not_exist() {
    assert_every_verb("nosuch", error::EXIT_NO_SUCH_VM);
}

#[test]
fn every_verb_exits_2_for_a_name_that_breaks_the_rules() {
    assert_every_verb("bad name!", error::EXIT_USAGE);
}

#[test]
fn exit_0_for_a_verb_that_works() {
    let f = CibFile::new("cib-vm-t1-started.xml");
    let code = match run(&f, Memory::new(), false, &["status", "-n", "t1"]) {
        Ok(()) => error::EXIT_OK,
        Err(e) => panic!("status of t1: {e}"),
    };
    assert_eq!(code, error::EXIT_OK);
}

#[test]
fn exit_1_when_pacemaker_refuses_the_cib() {
    let f = CibFile::new("cib-vm-t1-started.xml");
    let text = f.text();
    // Still well-formed XML, but no schema accepts it: cibadmin fails (status 78).
    std::fs::write(
        &f.path,
        text.replacen("<resources>", "<resources><bogus/>", 1),
    )
    .unwrap();
    let e = run(&f, Memory::new(), false, &["status", "-n", "t1"]).unwrap_err();
    assert_eq!(e.exit_code(), error::EXIT_FAILED, "{e}");
    assert!(e.to_string().contains("cibadmin"), "{e}");
}

#[test]
fn no_storage_for_a_verb_that_needs_storage_is_a_usage_error() {
    let f = CibFile::new("cib-vm-t1-started.xml");
    let before = f.text();
    for args in [
        &["enable", "-n", "t1"][..],
        &["remove", "-n", "t1"],
        &["list-snapshots", "-n", "t1"],
        &["list-metadata", "-n", "t1"],
    ] {
        let e = run(&f, NoStorage, false, args).unwrap_err();
        assert_eq!(e.exit_code(), error::EXIT_USAGE, "{args:?}: {e}");
        assert!(e.to_string().contains("--no-storage"), "{args:?}: {e}");
        assert_eq!(f.text(), before, "{args:?}");
    }
}

#[test]
fn exit_4_for_create_of_a_vm_that_exists() {
    let f = CibFile::new("cib-vm-t1-started.xml");
    let xml = f.dir.join("guest.xml");
    std::fs::write(&xml, "<domain type='kvm'><name>x</name><devices/></domain>").unwrap();
    let image = f.dir.join("disk.qcow2");
    std::fs::write(&image, b"x").unwrap();
    let args = [
        "create",
        "-n",
        "t1",
        "--xml",
        xml.to_str().unwrap(),
        "-i",
        image.to_str().unwrap(),
    ];
    for dry_run in [false, true] {
        let e = run(&f, stored_vm("t1", &Default::default()), dry_run, &args).unwrap_err();
        assert_eq!(e.exit_code(), error::EXIT_EXISTS, "{e}");
    }
}

#[test]
fn exit_7_when_a_preflight_check_refuses_a_migration() {
    let f = CibFile::new("cib-vm-t1-started.xml");
    let before = f.text();
    // t1 was made without --enable-live-migration: a live move is refused before any change.
    // (On a CIB file migrate runs only as a dry run; the live cluster runs the same preflight.)
    let e = run(
        &f,
        stored_vm("t1", &Default::default()),
        true,
        &["migrate", "-n", "t1", "--node", "sim3"],
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), error::EXIT_REFUSED, "{e}");
    assert!(e.to_string().contains("Nothing was changed"), "{e}");
    assert_eq!(f.text(), before);
}

/// Which test produces each documented code: the test, its file, and the function in that
/// file that asserts the code (the test itself, or a helper the test calls). A code without a
/// test, a test that does not exist, or one that does not assert its code fails here.
const PRODUCED_BY: [(u8, &str, &str, &str); 9] = [
    (0, "exit_0_for_a_verb_that_works", THIS, ""),
    (1, "exit_1_when_pacemaker_refuses_the_cib", THIS, ""),
    (
        2,
        "every_verb_exits_2_for_a_name_that_breaks_the_rules",
        THIS,
        "",
    ),
    (
        3,
        "every_verb_exits_3_for_a_vm_that_does_not_exist",
        THIS,
        "",
    ),
    (4, "exit_4_for_create_of_a_vm_that_exists", THIS, ""),
    (
        5,
        "live_and_offline_migration",
        "tests/e2e/vm_mgr_placement.rs",
        "",
    ),
    (
        6,
        "every_other_verb_is_refused_with_exit_6_and_changes_nothing",
        "vm-mgr/src/commands/dir_tests.rs",
        "",
    ),
    (
        7,
        "exit_7_when_a_preflight_check_refuses_a_migration",
        THIS,
        "",
    ),
    (
        130,
        "sigterm_and_sigint_during_crm_simulate_end_its_group_and_remove_the_temp_files",
        "vm-mgr/tests/interrupt.rs",
        "assert_clean_exit",
    ),
];

const THIS: &str = "vm-mgr/src/exit_code_tests.rs";

/// The text of function `name` in `text`, up to the next top-level `fn`.
fn body<'t>(text: &'t str, name: &str) -> Option<&'t str> {
    let start = text.find(&format!("fn {name}("))?;
    let rest = &text[start..];
    Some(&rest[..rest[1..].find("\nfn ").map_or(rest.len(), |i| i + 1)])
}

#[test]
fn every_documented_code_is_produced_by_a_test() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let documented = codes_in_sentence(README);
    let named: BTreeSet<u8> = PRODUCED_BY.iter().map(|(c, ..)| *c).collect();
    assert_eq!(named, documented);
    for (code, test, file, helper) in PRODUCED_BY {
        let text = std::fs::read_to_string(root.join(file))
            .unwrap_or_else(|e| panic!("code {code}: test file {file:?}: {e}"));
        let test_body =
            body(&text, test).unwrap_or_else(|| panic!("code {code}: no test {test} in {file}"));
        let asserting = if helper.is_empty() {
            test_body
        } else {
            assert!(
                test_body.contains(&format!("{helper}(")),
                "{test} calls no {helper}"
            );
            body(&text, helper).unwrap_or_else(|| panic!("code {code}: no {helper} in {file}"))
        };
        let asserts = [
            format!("Some({code})"),
            format!("exit_code(), {code}"),
            format!("ExitCode::from({code})"),
            format!("EXIT_{}", const_name(code)),
        ];
        assert!(
            asserts.iter().any(|a| asserting.contains(a.as_str())),
            "code {code}: {test} in {file} does not assert it"
        );
    }
}

fn const_name(code: u8) -> &'static str {
    match code {
        0 => "OK",
        1 => "FAILED",
        2 => "USAGE",
        3 => "NO_SUCH_VM",
        4 => "EXISTS",
        5 => "TIMEOUT",
        6 => "UNIMPLEMENTED",
        7 => "REFUSED",
        _ => "INTERRUPTED",
    }
}
