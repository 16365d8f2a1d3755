//! How long a wait may take: one rule, from the op timeouts of the VM's members.
//!
//! A VM whose op timeouts cannot all be read (a hand edit such as `timeout="-5"`, or one past
//! the ~49 days a timeout can hold) gets no budget: every verb that waits computes its budget
//! before its first write, so such a VM is refused with exit 2 and nothing is changed.

use std::time::Duration;

use shared::clock::ClockError;
use shared::pacemaker::xml::Element;
use shared::pacemaker::Cib;

/// A VM op timeout that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    /// An op of one of the VM's members has a timeout that is not a duration.
    #[error(
        "VM {vm}: the {op} op of {member} has a timeout that cannot be read ({source}), so \
         vm-mgr cannot tell how long to wait for it; fix it (crm configure edit {member}) and \
         retry. Nothing was changed."
    )]
    Unreadable {
        /// The VM.
        vm: String,
        /// The member (primitive id).
        member: String,
        /// The op ("stop", "monitor", ...).
        op: String,
        /// Why the timeout was refused.
        #[source]
        source: ClockError,
    },
}

/// Parses a CIB op timeout ("120s", "2min", "90", "1500ms"; bare numbers are seconds).
pub fn parse_op_timeout(s: &str) -> Option<Duration> {
    shared::clock::parse_duration(s, shared::clock::Unit::Secs).ok()
}

/// Pacemaker's default op timeout, for a member without one.
const DEFAULT_OP_TIMEOUT: Duration = Duration::from_secs(20);
/// The margin for the cluster to react, on top of the op timeouts.
const MARGIN: Duration = Duration::from_secs(30);

/// The one budget rule: the sum, over the VM's members and `ops`, of each op timeout (20 s
/// where not set, Pacemaker's default), plus a margin for the cluster to react; `missing` when
/// the VM is not in the CIB. Every op timeout of the VM is checked, not only those of `ops`,
/// so that the first budget a verb computes refuses a VM any later wait would trip on.
pub fn op_budget(
    cib: &Cib,
    name: &str,
    ops: &[&str],
    missing: Duration,
) -> Result<Duration, BudgetError> {
    let Some(group) = cib.resource(name) else {
        return Ok(missing);
    };
    let mut total = MARGIN;
    for p in group.primitives() {
        for o in &p.operations {
            if let Some(t) = o.timeout.as_deref() {
                check(name, &p.id, &o.name, t)?;
            }
        }
        for op in ops {
            let t = p
                .operations
                .iter()
                .find(|o| o.name == *op)
                .and_then(|o| o.timeout.as_deref())
                .and_then(parse_op_timeout)
                .unwrap_or(DEFAULT_OP_TIMEOUT);
            total = total.saturating_add(t);
        }
    }
    Ok(total)
}

/// Refuses a timeout that is not a duration.
fn check(vm: &str, member: &str, op: &str, timeout: &str) -> Result<(), BudgetError> {
    shared::clock::parse_duration(timeout, shared::clock::Unit::Secs)
        .map(drop)
        .map_err(|source| BudgetError::Unreadable {
            vm: vm.to_owned(),
            member: member.to_owned(),
            op: op.to_owned(),
            source,
        })
}

/// Checks the op timeouts of a VM's resources before they are written (a stored fragment
/// that `enable` puts back): the group's primitives, or a lone primitive.
pub fn check_resources(vm: &str, resources: &[Element]) -> Result<(), BudgetError> {
    for r in resources {
        let lone = (r.name == "primitive").then_some(r);
        for p in lone.into_iter().chain(r.children_named("primitive")) {
            let member = p.attr("id").unwrap_or("?");
            for o in p
                .children_named("operations")
                .flat_map(|ops| ops.children_named("op"))
            {
                if let Some(t) = o.attr("timeout") {
                    check(vm, member, o.attr("name").unwrap_or("?"), t)?;
                }
            }
        }
    }
    Ok(())
}

/// How long to wait for `op` (start or stop) of the VM: its members' op timeouts (20 s for a
/// member without one, Pacemaker's default), plus a margin for the cluster to react.
pub fn wait_budget(cib: &Cib, name: &str, op: &str) -> Result<Duration, BudgetError> {
    op_budget(cib, name, &[op], Duration::from_secs(60))
}

/// How long a live migration of `name` may take: its members' migrate_to + migrate_from op
/// timeouts (20 s each when not set), plus a margin for the cluster to react.
pub fn migrate_budget(cib: &Cib, name: &str) -> Result<Duration, BudgetError> {
    op_budget(
        cib,
        name,
        &["migrate_to", "migrate_from"],
        Duration::from_secs(120),
    )
}

/// How long a drain may take to move `vms` off their node: their live migrations one after
/// the other ([`migrate_budget`] each), plus a margin.
pub fn drain_budget(cib: &Cib, vms: &[String]) -> Result<Duration, BudgetError> {
    let mut total = MARGIN;
    for v in vms {
        total = total.saturating_add(migrate_budget(cib, v)?);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_timeouts_in_cib_units() {
        assert_eq!(parse_op_timeout("120s"), Some(Duration::from_secs(120)));
        assert_eq!(parse_op_timeout("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_op_timeout("2min"), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_op_timeout("1500ms"),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(parse_op_timeout("x"), None);
    }

    const CIB: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/vm-mgr/placement/cib-3vms.xml"
    ));

    #[test]
    fn budgets_sum_the_members_op_timeouts_plus_the_margin() {
        let cib = Cib::parse(CIB).unwrap();
        // p1: the disk's stop 60 s + the domain's stop 30 s + 30 s margin.
        assert_eq!(
            wait_budget(&cib, "p1", "stop").unwrap(),
            Duration::from_secs(120)
        );
        // Not in the CIB: the caller's default.
        assert_eq!(
            wait_budget(&cib, "nope", "stop").unwrap(),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn an_unreadable_timeout_anywhere_in_the_vm_refuses_every_budget() {
        // The monitor's timeout is broken; the stop budget is refused all the same, so the
        // first budget a verb computes (before any write) catches it.
        let bad = CIB.replacen(
            r#"name="monitor" interval="10s" timeout="60s""#,
            r#"name="monitor" interval="10s" timeout="-5""#,
            1,
        );
        assert_ne!(bad, CIB);
        let cib = Cib::parse(&bad).unwrap();
        let e = wait_budget(&cib, "p1", "stop").unwrap_err().to_string();
        assert!(e.contains("monitor op of vmmgr-domain-p1"), "{e}");
        assert!(e.contains("Nothing was changed"), "{e}");
        assert!(migrate_budget(&cib, "p1").is_err());
        assert!(drain_budget(&cib, &["p1".to_owned()]).is_err());
    }

    #[test]
    fn a_stored_fragment_with_an_unreadable_timeout_is_refused_before_it_is_written() {
        let cib = Cib::parse(CIB).unwrap();
        let group = cib.element().find_id("p1").unwrap().clone();
        check_resources("p1", std::slice::from_ref(&group)).unwrap();
        let bad = CIB.replacen(
            r#"id="vmmgr-disk-p1.stop" name="stop" interval="0s" timeout="60s""#,
            r#"id="vmmgr-disk-p1.stop" name="stop" interval="0s" timeout="99999999999999999999h""#,
            1,
        );
        assert_ne!(bad, CIB);
        let tree = shared::pacemaker::xml::Element::parse(&bad, "CIB").unwrap();
        let group = tree.find_id("p1").unwrap().clone();
        let e = check_resources("p1", &[group]).unwrap_err().to_string();
        assert!(e.contains("stop op of vmmgr-disk-p1"), "{e}");
    }
}
