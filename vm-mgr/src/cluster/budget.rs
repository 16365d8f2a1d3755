//! How long a wait may take: one rule, from the op timeouts of the VM's members.

use std::time::Duration;

use shared::pacemaker::Cib;

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
/// the VM is not in the CIB.
pub fn op_budget(cib: &Cib, name: &str, ops: &[&str], missing: Duration) -> Duration {
    let Some(group) = cib.resource(name) else {
        return missing;
    };
    let total: Duration = group
        .primitives()
        .iter()
        .flat_map(|p| {
            ops.iter().map(|op| {
                p.operations
                    .iter()
                    .find(|o| o.name == *op)
                    .and_then(|o| o.timeout.as_deref())
                    .and_then(parse_op_timeout)
                    .unwrap_or(DEFAULT_OP_TIMEOUT)
            })
        })
        .sum();
    total + MARGIN
}

/// How long to wait for `op` (start or stop) of the VM: its members' op timeouts (20 s for a
/// member without one, Pacemaker's default), plus a margin for the cluster to react.
pub fn wait_budget(cib: &Cib, name: &str, op: &str) -> Duration {
    op_budget(cib, name, &[op], Duration::from_secs(60))
}

/// How long a live migration of `name` may take: its members' migrate_to + migrate_from op
/// timeouts (20 s each when not set), plus a margin for the cluster to react.
pub fn migrate_budget(cib: &Cib, name: &str) -> Duration {
    op_budget(
        cib,
        name,
        &["migrate_to", "migrate_from"],
        Duration::from_secs(120),
    )
}

/// How long a drain may take to move `vms` off their node: their live migrations one after
/// the other ([`migrate_budget`] each), plus a margin.
pub fn drain_budget(cib: &Cib, vms: &[String]) -> Duration {
    vms.iter().map(|v| migrate_budget(cib, v)).sum::<Duration>() + MARGIN
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
}
