use shared::ocf::{ActionSpec, AgentMeta, ParamSpec, Role};

use super::*;

/// Meta-data written by the agents' own framework (`shared::ocf`), so that a change of its
/// XML layout shows up here.
fn sample() -> AgentMeta {
    AgentMeta {
        name: "Sample",
        version: "9.8.7",
        shortdesc: "Sample agent",
        longdesc: "First paragraph,\n  continued on a second line.\n\nSecond paragraph with 'quotes' & <tags>.",
        params: vec![
            ParamSpec::string("config")
                .required()
                .unique_group("config")
                .shortdesc("Domain XML file")
                .longdesc("Absolute path to the libvirt domain XML file."),
            ParamSpec::integer("migration_speed")
                .default("0")
                .reloadable()
                .shortdesc("Migration bandwidth (MiB/s)")
                .longdesc("Bandwidth limit; 0 means unlimited."),
            ParamSpec::select("shutdown_mode", &["acpi", "agent"])
                .default("acpi")
                .shortdesc("Shutdown mode")
                .longdesc("How the guest is asked to shut down."),
            ParamSpec::string("migrate_user")
                .replaced_with("migration_user", "Renamed.")
                .shortdesc("Migration user (deprecated)")
                .longdesc("Old name of migration_user."),
            ParamSpec::string("remote")
                .unique_group("uris")
                .shortdesc("Remote URI")
                .longdesc("x"),
        ],
        actions: vec![
            ActionSpec::new("start", 90),
            ActionSpec::new("monitor", 30).interval(10).depth(0),
            ActionSpec::new("monitor", 25)
                .interval(9)
                .role(Role::Promoted),
            ActionSpec::new("monitor", 26).interval(8).depth(10),
            ActionSpec::new("promote", 90),
            ActionSpec::new("notify", 90),
            ActionSpec::new("migrate_to", 120),
            ActionSpec::new("migrate_from", 60),
            ActionSpec::new("meta-data", 5),
        ],
    }
}

fn doc() -> AgentDoc {
    AgentDoc::parse(&sample().to_xml()).unwrap()
}

#[test]
fn reads_what_the_agent_framework_writes() {
    let d = doc();
    assert_eq!(d.name, "Sample");
    assert_eq!(d.version, "9.8.7");
    assert_eq!(d.shortdesc, "Sample agent");
    assert!(d.longdesc.ends_with("'quotes' & <tags>."), "{}", d.longdesc);
    assert_eq!(d.params.len(), 5);
    let config = &d.params[0];
    assert!(config.required);
    assert_eq!(config.unique_group.as_deref(), Some("config"));
    assert_eq!(config.ty, "string");
    assert_eq!(config.default, None);
    let speed = &d.params[1];
    assert!(speed.reloadable && !speed.required);
    assert_eq!(
        (speed.ty.as_str(), speed.default.as_deref()),
        ("integer", Some("0"))
    );
    assert_eq!(d.params[2].options, ["acpi", "agent"]);
    assert_eq!(
        d.params[3].deprecated,
        Some((vec!["migration_user".to_owned()], "Renamed.".to_owned()))
    );
    assert_eq!(d.actions.len(), 9);
    assert_eq!(d.actions[2].role.as_deref(), Some("Promoted"));
    assert_eq!(d.actions[1].interval.as_deref(), Some("10s"));
    assert_eq!(d.page_name(), "ocf_vmmgr_Sample");
}

#[test]
fn rejects_what_is_not_agent_meta_data() {
    assert!(AgentDoc::parse("<cib/>")
        .unwrap_err()
        .contains("not <resource-agent>"));
    assert!(AgentDoc::parse("usage: agent ACTION").is_err());
    let no_content = r#"<resource-agent name="x"><parameters><parameter name="p"/></parameters></resource-agent>"#;
    assert!(AgentDoc::parse(no_content)
        .unwrap_err()
        .contains("parameter p has no <content>"));
}

#[test]
fn paragraphs_split_at_blank_lines_only() {
    assert_eq!(
        split_paragraphs("a\n  b\n\n \nc\n"),
        ["a b".to_owned(), "c".to_owned()]
    );
    assert!(split_paragraphs("  \n").is_empty());
}

#[test]
fn man_page_has_every_parameter_and_action_escaped_for_roff() {
    let page = doc().man_page("2026-01-02", "vm-mgr 9.8.7");
    assert!(
        page.contains(".TH ocf_vmmgr_Sample 7 2026-01-02 \"vm-mgr 9.8.7\" \"OCF resource agents\""),
        "{page}"
    );
    // NAME line in the form lexgrog (whatis) reads: "name \- description"
    assert!(
        page.contains("\n.SH NAME\nocf_vmmgr_Sample \\- Sample agent\n"),
        "{page}"
    );
    // two paragraphs, the first one's lines joined
    assert!(
        page.contains(".PP\nFirst paragraph, continued on a second line.\n.PP\nSecond paragraph")
    );
    // apostrophes go through the \*(Aq string, so they print as apostrophes
    assert!(page.contains("with \\*(Aqquotes\\*(Aq & <tags>."), "{page}");
    for p in [
        "config",
        "migration_speed",
        "shutdown_mode",
        "migrate_user",
        "remote",
    ] {
        assert!(page.contains(&format!("\\fB{p}\\fR")), "{p} missing");
    }
    assert!(
        page.contains("(unique, required, string, no default)"),
        "{page}"
    );
    assert!(
        page.contains("(optional, reloadable, integer, default \\fI0\\fR)"),
        "{page}"
    );
    assert!(
        page.contains("(unique group uris, optional, string, no default)"),
        "{page}"
    );
    assert!(page.contains("One of: acpi, agent."));
    assert!(
        page.contains("\\fBDeprecated.\\fR Use migration_user instead. Renamed."),
        "{page}"
    );
    assert!(page.contains("\\fBmonitor\\fR (role Promoted)"), "{page}");
    assert!(page.contains(
        "Suggested minimum timeout: 26s. Suggested interval: 8s. Depth (OCF_CHECK_LEVEL): 10."
    ));
    assert!(page.contains("\n.SH \"LOGGING AND TRACING\"\n"), "{page}");
    assert!(page.contains("tagged Sample(INSTANCE)[PID]"), "{page}");
    assert!(
        page.contains("DIR/Sample/INSTANCE.ACTION.YYYY\\-MM\\-DD"),
        "{page}"
    );
    assert!(page.contains("\\fB/usr/lib/ocf/resource.d/vmmgr/Sample\\fR [start | monitor | promote | notify | migrate_to | migrate_from | meta\\-data]"), "{page}");
}

/// The sample without required parameters, promotion, migration and role monitors.
fn plain_doc() -> AgentDoc {
    let mut plain = sample();
    plain.params.retain(|p| p.name != "config");
    plain
        .actions
        .retain(|a| !["promote", "migrate_to"].contains(&a.name));
    plain.actions.retain(|a| a.role.is_none());
    AgentDoc::parse(&plain.to_xml()).unwrap()
}

#[test]
fn pcs_example_creates_the_same_resource_as_the_crm_one() {
    assert_eq!(
        doc().pcs_example(),
        [
            "pcs resource create p_Sample ocf:vmmgr:Sample \\",
            "  config=string \\",
            "  op monitor timeout=30s interval=10s \\",
            "  monitor timeout=25s interval=9s role=Promoted \\",
            "  meta allow-migrate=true \\",
            "  promotable notify=true",
        ]
    );
    let d = plain_doc();
    assert_eq!(
        d.pcs_example(),
        [
            "pcs resource create p_Sample ocf:vmmgr:Sample \\",
            "  op monitor timeout=30s interval=10s"
        ]
    );
    let page = doc().man_page("2024-01-01", "vm-mgr 9.8.7");
    assert!(page.contains(".SH \"EXAMPLE PCS\""), "{page}");
    assert!(page.contains("pcs(8)"), "{page}");
}

#[test]
fn crm_example_uses_required_params_monitors_migration_and_promotion() {
    assert_eq!(
        doc().crm_example(),
        [
            "primitive p_Sample ocf:vmmgr:Sample \\",
            "  params config=string \\",
            "  meta allow-migrate=true \\",
            "  op monitor timeout=30s interval=10s \\",
            "  op monitor timeout=25s interval=9s role=Promoted",
            "clone c_Sample p_Sample meta promotable=true notify=true",
        ]
    );
    let d = plain_doc();
    assert_eq!(
        d.crm_example(),
        [
            "primitive p_Sample ocf:vmmgr:Sample \\",
            "  op monitor timeout=30s interval=10s"
        ]
    );
}
