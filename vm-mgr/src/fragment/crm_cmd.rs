//! SEAPATH's `--add-crm-config-cmd`: raw `crm configure` commands given at create. vm-mgr
//! takes constraints only (`location`, `colocation`, `order`, `rsc_ticket`), has crm shell
//! make them on a private copy of the CIB, and keeps what it made in the VM's fragment, so
//! that they are written in the same transaction as the VM and kept by disable, enable and
//! export. Anything else a command changes, or a constraint that does not name the VM, is
//! refused.

use std::collections::{BTreeMap, BTreeSet};

use shared::pacemaker::cib::tree::{self, Section};
use shared::pacemaker::xml::Element;

use super::FragmentError;

/// The `crm configure` commands accepted: those that make a constraint.
pub const COMMANDS: [&str; 5] = [
    "location",
    "colocation",
    "collocation",
    "order",
    "rsc_ticket",
];
/// The longest command accepted, in bytes.
const MAX_LEN: usize = 1024;

/// The sections a constraint command must leave as they were.
const UNTOUCHED: [Section; 5] = [
    Section::CrmConfig,
    Section::Nodes,
    Section::Resources,
    Section::RscDefaults,
    Section::OpDefaults,
];

/// One command as crm shell's words (split at whitespace; no quoting): its first word must be
/// location, colocation (or collocation), order or rsc_ticket.
pub fn parse_crm_command(name: &str, command: &str) -> Result<Vec<String>, FragmentError> {
    let bad = |reason: String| FragmentError::CrmCommand {
        name: name.to_owned(),
        command: command.chars().take(80).collect(),
        reason,
    };
    if command.len() > MAX_LEN {
        return Err(bad(format!("longer than {MAX_LEN} bytes")));
    }
    if command.chars().any(char::is_control) {
        return Err(bad("it holds a control character".into()));
    }
    let words: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
    match words.first() {
        Some(w) if COMMANDS.contains(&w.as_str()) => Ok(words),
        _ => Err(bad(format!(
            "only constraints are accepted: the command must start with {}",
            COMMANDS.join(", ")
        ))),
    }
}

/// The constraints crm shell added to `before` to make `after`, each naming one of `vm_ids`
/// (the VM's group and members); an error when it changed anything else.
pub fn added_constraints(
    name: &str,
    before: &Element,
    after: &Element,
    vm_ids: &BTreeSet<String>,
) -> Result<Vec<Element>, FragmentError> {
    let bad = |reason: String| FragmentError::CrmCommand {
        name: name.to_owned(),
        command: "(all)".into(),
        reason,
    };
    for s in UNTOUCHED {
        let xml = |t: &Element| tree::section(t, s).map(Element::to_xml);
        if xml(before) != xml(after) {
            return Err(bad(format!(
                "it changed <{}>, not only constraints",
                s.name()
            )));
        }
    }
    let by_id = |t: &Element| -> BTreeMap<String, Element> {
        tree::section(t, Section::Constraints)
            .map(|c| {
                c.children
                    .iter()
                    .map(|e| (e.attr("id").unwrap_or("").to_owned(), e.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (old, new) = (by_id(before), by_id(after));
    if let Some(id) = old
        .iter()
        .find(|(id, e)| new.get(*id) != Some(e))
        .map(|(id, _)| id)
    {
        return Err(bad(format!("it changed or removed constraint {id}")));
    }
    let mut added = Vec::new();
    for (id, c) in new.into_iter().filter(|(id, _)| !old.contains_key(id)) {
        if tree::constraint_refs(&c).is_disjoint(vm_ids) {
            return Err(bad(format!("constraint {id} does not name VM {name}")));
        }
        added.push(c);
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cib(constraints: &str) -> Element {
        Element::parse(
            &format!(
                "<cib><configuration><crm_config/><nodes/><resources><group id='web1'>\
                 <primitive id='vmmgr-domain-web1' class='ocf' type='Dummy'/></group>\
                 <primitive id='db' class='ocf' type='Dummy'/></resources>\
                 <constraints>{constraints}</constraints></configuration></cib>"
            ),
            "test CIB",
        )
        .unwrap()
    }

    fn vm() -> BTreeSet<String> {
        ["web1", "vmmgr-domain-web1"].map(str::to_owned).into()
    }

    #[test]
    fn only_constraint_commands_are_taken() {
        let w = parse_crm_command("web1", "location  l1 web1 100: hv1").unwrap();
        assert_eq!(w, ["location", "l1", "web1", "100:", "hv1"]);
        for bad in [
            "primitive x ocf:heartbeat:Dummy",
            "property stonith-enabled=false",
            "",
            "erase",
        ] {
            let e = parse_crm_command("web1", bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}: {e}");
        }
        assert!(parse_crm_command("web1", "location l1 web1\n100: hv1").is_err());
        assert!(parse_crm_command("web1", &"location ".repeat(300)).is_err());
    }

    #[test]
    fn the_new_constraints_naming_the_vm_are_kept() {
        let old = "<rsc_location id='keep' rsc='db' score='10' node='hv2'/>";
        let before = cib(old);
        let after = cib(&format!(
            "{old}<rsc_order id='o1' first='db' then='web1'/>\
             <rsc_location id='l1' rsc='vmmgr-domain-web1' score='100' node='hv1'/>"
        ));
        let added = added_constraints("web1", &before, &after, &vm()).unwrap();
        let ids: Vec<_> = added.iter().map(|c| c.attr("id").unwrap()).collect();
        assert_eq!(ids, ["l1", "o1"]);
    }

    #[test]
    fn anything_else_is_refused() {
        let old = "<rsc_location id='keep' rsc='db' score='10' node='hv2'/>";
        let before = cib(old);
        let other = cib(&format!(
            "{old}<rsc_location id='l2' rsc='db' score='5' node='hv1'/>"
        ));
        let e = added_constraints("web1", &before, &other, &vm()).unwrap_err();
        assert!(e.to_string().contains("l2 does not name VM web1"), "{e}");
        let changed = cib("<rsc_location id='keep' rsc='db' score='20' node='hv2'/>");
        let e = added_constraints("web1", &before, &changed, &vm()).unwrap_err();
        assert!(
            e.to_string().contains("changed or removed constraint keep"),
            "{e}"
        );
        let mut resources = cib(old);
        resources.children[0].children[2].children.clear();
        let e = added_constraints("web1", &before, &resources, &vm()).unwrap_err();
        assert!(e.to_string().contains("it changed <resources>"), "{e}");
    }
}
