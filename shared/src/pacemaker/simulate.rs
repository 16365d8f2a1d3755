//! `crm_simulate --simulate --output-as=xml`: the actions of the transition Pacemaker would
//! run on a CIB (run through [`super::Tools::crm_simulate`]).

use serde::Serialize;

use super::error::PacemakerError;
use crate::xml::Element;

/// One action of the simulated transition (`<rsc_action>` of `<actions>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimAction {
    /// "migrate", "move", "start", "stop", "restart", "recover" ...
    pub action: String,
    /// The primitive.
    pub resource: String,
    /// Where it leaves (moves, migrations, stops).
    pub source: Option<String>,
    /// Where it goes (moves, migrations, starts).
    pub dest: Option<String>,
}

impl SimAction {
    /// "migrate vmmgr-domain-a sim1 → sim2".
    pub fn describe(&self) -> String {
        let mut s = format!("{} {}", self.action, self.resource);
        match (&self.source, &self.dest) {
            (Some(a), Some(b)) => s.push_str(&format!(" {a} → {b}")),
            (Some(a), None) => s.push_str(&format!(" on {a}")),
            (None, Some(b)) => s.push_str(&format!(" on {b}")),
            (None, None) => {}
        }
        s
    }
}

/// Parses the `<actions>` of `crm_simulate --output-as=xml`; a `<status>` with a non-zero
/// code is the failure it reports.
pub fn parse_actions(xml: &str) -> Result<Vec<SimAction>, PacemakerError> {
    let what = "crm_simulate XML";
    let root = Element::parse(xml, what)?;
    if let Some(status) = root.child("status") {
        if status.attr("code").is_some_and(|c| c != "0") {
            return Err(PacemakerError::parse(
                what,
                status.attr("message").unwrap_or("failed"),
            ));
        }
    }
    Ok(root
        .child("actions")
        .map(|a| {
            a.children_named("rsc_action")
                .map(|r| SimAction {
                    action: r.attr("action").unwrap_or("").to_owned(),
                    resource: r.attr("resource").unwrap_or("").to_owned(),
                    source: r.attr("source").map(str::to_owned),
                    dest: r.attr("dest").or_else(|| r.attr("node")).map(str::to_owned),
                })
                .collect()
        })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crm_simulate_actions_are_parsed() {
        // Recorded with the placement CIBs of vm-mgr (their README says how).
        let recorded = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/vm-mgr/placement/crm_simulate-standby-sim2.xml"
        ));
        let a = parse_actions(recorded).unwrap();
        let lines: Vec<String> = a.iter().map(|a| a.describe()).collect();
        assert_eq!(
            lines,
            [
                "move sandbox-fence sim2 → sim1",
                "migrate vmmgr-disk-p1 sim2 → sim3",
                "migrate vmmgr-domain-p1 sim2 → sim3"
            ]
        );
        assert!(parse_actions("<nope").is_err());
        let failed =
            r#"<pacemaker-result><status code="105" message="Error occurred"/></pacemaker-result>"#;
        assert!(parse_actions(failed).is_err());
    }
}
