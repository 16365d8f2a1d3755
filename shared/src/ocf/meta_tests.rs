//! Tests of the meta-data builder (unit tests of `meta.rs`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::*;
use crate::ocf::test_agent::sample_meta;
use crate::ocf::testing::{official_schema, xmllint_dtd, xmllint_relaxng, PCS_SCHEMA};

// --- a serde mirror of the OCF 1.1 meta-data, to parse the XML back --------------------------

#[derive(Debug, Deserialize)]
struct Ra {
    #[serde(rename = "@name")]
    name: String,
    #[serde(rename = "@version")]
    agent_version: String,
    version: String,
    longdesc: Desc,
    shortdesc: Desc,
    parameters: Parameters,
    actions: Actions,
}

#[derive(Debug, Deserialize)]
struct Desc {
    #[serde(rename = "@lang")]
    lang: String,
    #[serde(rename = "$text", default)]
    text: String,
}

#[derive(Debug, Deserialize)]
struct Parameters {
    parameter: Vec<Param>,
}

#[derive(Debug, Deserialize)]
struct Param {
    #[serde(rename = "@name")]
    name: String,
    #[serde(rename = "@required")]
    required: Option<String>,
    #[serde(rename = "@unique-group")]
    unique_group: Option<String>,
    #[serde(rename = "@reloadable")]
    reloadable: Option<String>,
    deprecated: Option<Dep>,
    longdesc: Desc,
    shortdesc: Desc,
    content: ContentXml,
}

#[derive(Debug, Deserialize)]
struct Dep {
    #[serde(rename = "replaced-with")]
    replaced_with: Option<Named>,
    desc: Option<Desc>,
}

#[derive(Debug, Deserialize)]
struct Named {
    #[serde(rename = "@name")]
    name: String,
}

#[derive(Debug, Deserialize)]
struct ContentXml {
    #[serde(rename = "@type")]
    kind: String,
    #[serde(rename = "@default")]
    default: Option<String>,
    #[serde(default)]
    option: Vec<Opt>,
}

#[derive(Debug, Deserialize)]
struct Opt {
    #[serde(rename = "@value")]
    value: String,
}

#[derive(Debug, Deserialize)]
struct Actions {
    action: Vec<ActionXml>,
}

#[derive(Debug, Deserialize)]
struct ActionXml {
    #[serde(rename = "@name")]
    name: String,
    #[serde(rename = "@timeout")]
    timeout: String,
    #[serde(rename = "@interval")]
    interval: Option<String>,
    #[serde(rename = "@depth")]
    depth: Option<String>,
    #[serde(rename = "@role")]
    role: Option<String>,
    #[serde(rename = "@start-delay")]
    start_delay: Option<String>,
}

fn parse(xml: &str) -> Ra {
    quick_xml::de::from_str(xml).unwrap_or_else(|e| panic!("cannot parse back: {e}\n{xml}"))
}

fn validate(schema: &Path) {
    let xml = sample_meta().to_xml();
    if let Err(e) = xmllint_relaxng(&xml, schema) {
        panic!("{e}\n--- XML ---\n{xml}");
    }
}

// --- schema validation (runs xmllint for real) ------------------------------------------------

#[test]
fn sample_validates_against_official_ocf_1_1_schema() {
    validate(&official_schema());
}

#[test]
fn sample_validates_against_pcs_schema() {
    validate(Path::new(PCS_SCHEMA));
}

#[test]
fn assert_valid_meta_accepts_sample() {
    crate::ocf::testing::assert_valid_meta(&sample_meta());
}

#[test]
fn xmllint_check_is_not_vacuous() {
    // A parameter without <content> is invalid for the official schema.
    let xml = sample_meta()
        .to_xml()
        .replace("<content type=\"boolean\" default=\"false\"/>", "");
    let err = xmllint_relaxng(&xml, &official_schema()).unwrap_err();
    assert!(err.contains("failed"), "{err}");
    // ... and for the internal DTD that ocf-tester's `xmllint --valid` checks.
    let err = xmllint_dtd(&xml).unwrap_err();
    assert!(err.contains("failed"), "{err}");
}

#[test]
fn sample_validates_against_its_internal_dtd_like_ocf_tester_checks() {
    xmllint_dtd(&sample_meta().to_xml()).unwrap();
}

#[test]
fn internal_dtd_rejects_what_the_official_schema_rejects() {
    let xml = sample_meta().to_xml();
    // an action without timeout, a select without options, an unknown content type
    for bad in [
        xml.replacen("timeout=\"", "x-timeout=\"", 1),
        xml.replace("<content type=\"boolean\"", "<content type=\"numeric\""),
        xml.replace(
            "<shortdesc lang=\"en\">Sample agent</shortdesc>",
            "<bogus/>",
        ),
    ] {
        assert!(xmllint_relaxng(&bad, &official_schema()).is_err(), "{bad}");
        assert!(xmllint_dtd(&bad).is_err(), "{bad}");
    }
}

#[test]
fn missing_schema_is_an_error() {
    let err = xmllint_relaxng("<x/>", &PathBuf::from("/nonexistent/schema.rng")).unwrap_err();
    assert!(err.contains("not found"), "{err}");
}

// --- structure ---------------------------------------------------------------------------------

#[test]
fn parses_back_with_names_and_defaults() {
    let meta = sample_meta();
    let ra = parse(&meta.to_xml());
    assert_eq!(ra.name, "Sample");
    assert_eq!(ra.agent_version, "0.1.0");
    assert_eq!(ra.version, "1.1");
    assert_eq!(ra.longdesc.lang, "en");
    assert_eq!(ra.shortdesc.text, "Sample agent");
    let names: Vec<&str> = ra
        .parameters
        .parameter
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let expected: Vec<&str> = meta.params.iter().map(|p| p.name).collect();
    assert_eq!(names, expected);
    for (xml, spec) in ra.parameters.parameter.iter().zip(&meta.params) {
        assert_eq!(
            xml.content.default.as_deref(),
            spec.default,
            "{}",
            spec.name
        );
        assert_eq!(xml.content.kind, spec.content.type_name(), "{}", spec.name);
        assert_eq!(xml.required.as_deref(), spec.required.then_some("1"));
        assert_eq!(xml.reloadable.as_deref(), spec.reloadable.then_some("1"));
        assert_eq!(xml.unique_group.as_deref(), spec.unique_group);
        assert_eq!(xml.shortdesc.text, spec.shortdesc);
        assert_eq!(xml.longdesc.text, spec.longdesc);
        assert_eq!(xml.shortdesc.lang, "en");
        let options: Vec<&str> = xml
            .content
            .option
            .iter()
            .map(|o| o.value.as_str())
            .collect();
        match spec.content {
            Content::Select(expected) => assert_eq!(options, expected),
            _ => assert!(options.is_empty()),
        }
        match (&xml.deprecated, spec.deprecated) {
            (None, None) => {}
            (Some(x), Some(d)) => {
                assert_eq!(
                    x.replaced_with.as_ref().map(|n| n.name.as_str()),
                    d.replaced_with
                );
                assert_eq!(x.desc.as_ref().map(|d| d.text.as_str()), Some(d.desc));
            }
            other => panic!("deprecated mismatch for {}: {other:?}", spec.name),
        }
    }
}

#[test]
fn actions_use_seconds_and_title_case_roles() {
    let ra = parse(&sample_meta().to_xml());
    let a = &ra.actions.action;
    assert_eq!(a.len(), 13);
    assert_eq!(
        (a[0].name.as_str(), a[0].timeout.as_str()),
        ("start", "90s")
    );
    assert_eq!(a[2].interval.as_deref(), Some("10s"));
    assert_eq!(a[2].depth.as_deref(), Some("0"));
    assert_eq!(a[2].role, None);
    assert_eq!(a[3].role.as_deref(), Some("Promoted"));
    assert_eq!(a[4].role.as_deref(), Some("Unpromoted"));
    assert_eq!(a[4].start_delay.as_deref(), Some("5s"));
    assert!(a.iter().any(|x| x.name == "reload-agent"));
}

#[test]
fn internal_ocf_1_1_dtd_and_exact_layout() {
    let meta = AgentMeta {
        name: "tiny",
        version: "1.2.3",
        shortdesc: "Tiny",
        longdesc: "Tiny agent.",
        params: vec![ParamSpec::select("m", &["a", "b"])
            .default("a")
            .required()
            .unique_group("g")
            .reloadable()
            .replaced_with("n", "Use n.")
            .shortdesc("M")
            .longdesc("Mode.")],
        actions: vec![
            ActionSpec::new("monitor", 20)
                .interval(10)
                .depth(0)
                .role(Role::Promoted)
                .start_delay(1),
            ActionSpec::new("meta-data", 5),
        ],
    };
    let expected = r#"<?xml version="1.0"?>
DTD
<resource-agent name="tiny" version="1.2.3">
  <version>1.1</version>
  <longdesc lang="en">Tiny agent.</longdesc>
  <shortdesc lang="en">Tiny</shortdesc>
  <parameters>
    <parameter name="m" unique-group="g" required="1" reloadable="1">
      <deprecated>
        <replaced-with name="n"/>
        <desc lang="en">Use n.</desc>
      </deprecated>
      <longdesc lang="en">Mode.</longdesc>
      <shortdesc lang="en">M</shortdesc>
      <content type="select" default="a">
        <option value="a"/>
        <option value="b"/>
      </content>
    </parameter>
  </parameters>
  <actions>
    <action name="monitor" timeout="20s" interval="10s" start-delay="1s" depth="0" role="Promoted"/>
    <action name="meta-data" timeout="5s"/>
  </actions>
</resource-agent>
"#;
    assert_eq!(meta.to_xml(), expected.replace("DTD", OCF_1_1_DTD));
}

#[test]
fn escapes_text_and_attributes() {
    let xml = sample_meta().to_xml();
    assert!(xml.contains("default=\"a &lt; b &amp; &quot;c&quot; &apos;d&apos; &gt; e\""));
    assert!(xml.contains("Escaping &lt;test&gt; &amp; &quot;quotes&quot;"));
    assert!(!xml.contains("<tags>"));
    let ra = parse(&xml);
    let note = ra
        .parameters
        .parameter
        .iter()
        .find(|p| p.name == "note")
        .unwrap();
    assert_eq!(
        note.content.default.as_deref(),
        Some("a < b & \"c\" 'd' > e")
    );
    assert_eq!(note.shortdesc.text, "Escaping <test> & \"quotes\"");
    assert_eq!(
        note.longdesc.text,
        "Long text with <tags>, & ampersands,\n'single' and \"double\" quotes."
    );
}

// --- lint, lookups ------------------------------------------------------------------------------

#[test]
fn sample_has_no_lint_problems() {
    assert_eq!(sample_meta().lint(), Vec::<String>::new());
}

#[test]
fn lint_finds_problems() {
    let meta = AgentMeta {
        name: "bad",
        version: "1",
        shortdesc: "",
        longdesc: "x\u{1}",
        params: vec![
            ParamSpec::boolean("b")
                .default("maybe")
                .shortdesc("s")
                .longdesc("l"),
            ParamSpec::integer("b").shortdesc("s").longdesc("l"),
            ParamSpec::select("s", &[]).shortdesc("s").longdesc("l"),
            ParamSpec::string("r").required().default("x").reloadable(),
            ParamSpec::string("old")
                .replaced_with("new", "gone")
                .shortdesc("s")
                .longdesc("l"),
            ParamSpec::string("bad-name").shortdesc("s").longdesc("l"),
        ],
        actions: vec![
            ActionSpec::new("start", 0),
            ActionSpec::new("frobnicate", 5),
            ActionSpec::new("promote", 5),
            ActionSpec::new("start", 5),
            ActionSpec::new("monitor", 5).role(Role::Unpromoted),
        ],
    };
    let problems = meta.lint();
    let expect = [
        "default: parameter 'b' must be a boolean",
        "parameter 'b' is declared twice",
        "select parameter 's' has no options",
        "parameter 'r' is required but has a default",
        "parameter 'r' is reloadable but 'reload-agent' is not advertised",
        "parameter 'old' is replaced with undeclared 'new'",
        "parameter name 'bad-name' is not usable",
        "action 'start' has a zero timeout",
        "action 'frobnicate' is not an OCF action",
        "action 'start' is advertised twice",
        "required action 'stop' is not advertised",
        "required action 'meta-data' is not advertised",
        "actions 'promote' and 'demote' must be advertised together",
        "agent shortdesc is empty",
        "agent longdesc contains a control character",
        "parameter shortdesc is empty",
    ];
    for e in expect {
        assert!(
            problems.iter().any(|p| p.starts_with(e)),
            "missing {e:?} in {problems:#?}"
        );
    }
    let empty = AgentMeta {
        params: vec![],
        ..sample_meta()
    };
    assert!(empty
        .lint()
        .contains(&"the OCF 1.1 schema requires at least one parameter".to_owned()));
}

#[test]
fn advertised_actions() {
    let meta = sample_meta();
    assert!(meta.advertises(&Action::Start));
    assert!(meta.advertises(&Action::ReloadAgent));
    assert!(meta.advertises(&Action::Status), "status via monitor");
    assert!(meta.advertises(&Action::MetaData));
    assert!(!meta.advertises(&Action::Reload));
    assert!(!meta.advertises(&Action::Recover));
    assert!(!meta.advertises(&Action::Unknown("start".into())));
}

#[test]
fn advertised_timeouts() {
    let meta = sample_meta();
    let s = Duration::from_secs;
    assert_eq!(meta.action_timeout(&Action::Start, None), Some(s(90)));
    assert_eq!(meta.action_timeout(&Action::Monitor, None), Some(s(30)));
    assert_eq!(
        meta.action_timeout(&Action::Monitor, Some(s(9))),
        Some(s(25))
    );
    assert_eq!(
        meta.action_timeout(&Action::Monitor, Some(s(11))),
        Some(s(35))
    );
    assert_eq!(
        meta.action_timeout(&Action::Monitor, Some(s(0))),
        Some(s(30))
    );
    assert_eq!(
        meta.action_timeout(&Action::Status, Some(s(10))),
        Some(s(30))
    );
    assert_eq!(meta.action_timeout(&Action::Reload, None), None);
}
