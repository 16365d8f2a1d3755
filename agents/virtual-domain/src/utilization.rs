//! `autoset_utilization_*` / `unset_utilization_*`: the resource's utilization in the CIB,
//! written only when it differs from what this node last wrote (cached in the state
//! directory), so a steady-state monitor spawns nothing.
//!
//! Values as the heartbeat agent computes them: `cpu` = current vCPUs, `host_memory` and
//! `hv_memory` = maximum memory in MiB (KiB / 1024, truncated). On a cache miss each attribute
//! is read first and written only if different (`crm_resource --utilization`, through
//! `shared::pacemaker`). A cluster that cannot be reached is not an error (the monitor result
//! does not depend on utilization) and is retried at the next monitor; an instance that is not
//! a resource in the CIB (ocf-tester, a manual run) is cached like a success, so such monitors
//! stop spawning `crm_resource` too.

use std::time::Duration;

use shared::libvirt::DomainStatus;
use shared::pacemaker::{Target, Tools};

use crate::libvirt_ops::Vd;
use crate::params::UtilPolicy;

/// The wanted value of each managed attribute (`None`: delete it).
pub fn desired(
    policy: &[(&'static str, UtilPolicy); 3],
    st: &DomainStatus,
) -> Vec<(&'static str, Option<String>)> {
    policy
        .iter()
        .filter_map(|(attr, p)| {
            let value = match *attr {
                "cpu" => st.vcpus.to_string(),
                _ => (st.max_mem_kib / 1024).to_string(),
            };
            match p {
                UtilPolicy::Set => Some((*attr, Some(value))),
                UtilPolicy::Unset => Some((*attr, None)),
                UtilPolicy::Leave => None,
            }
        })
        .collect()
}

/// The cache text of a desired set (`name=value` lines, `name` alone for a deletion).
pub fn render(wanted: &[(&'static str, Option<String>)]) -> String {
    wanted
        .iter()
        .map(|(a, v)| match v {
            Some(v) => format!("{a}={v}\n"),
            None => format!("{a}\n"),
        })
        .collect()
}

/// Brings the CIB utilization in line with `st` if the cache says it may differ.
pub fn update(vd: &Vd<'_>, st: &DomainStatus) {
    let instance = vd.instance();
    if instance.is_empty() {
        return;
    }
    let wanted = desired(&vd.s.utilization, st);
    if wanted.is_empty() {
        return;
    }
    let text = render(&wanted);
    if vd.state.util_cache(instance).as_deref() == Some(text.as_str()) {
        return;
    }
    let deadline = vd.deadline_minus(Duration::from_secs(1));
    let tools = Tools::new(Target::from_env());
    for (attr, value) in &wanted {
        let result = match value {
            Some(v) => match tools.resource_utilization(instance, attr, deadline) {
                Ok(Some(cur)) if cur == *v => Ok(()),
                Ok(_) => tools.set_resource_utilization(instance, attr, v, deadline),
                Err(e) => Err(e),
            },
            None => tools.delete_resource_utilization(instance, attr, deadline),
        };
        match result {
            Ok(()) => {}
            // Not a cluster resource (ocf-tester, a manual run): nothing to write, ever.
            Err(shared::pacemaker::PacemakerError::ResourceNotFound { .. }) => {
                vd.ctx.logger.debug(format!(
                    "resource {instance} is not in the CIB: no utilization to write"
                ));
                break;
            }
            Err(e) => {
                if e.is_not_connected() {
                    vd.ctx
                        .logger
                        .debug("unable to set utilization attributes: the CIB is not available");
                } else {
                    vd.warn(format!(
                        "cannot update utilization attribute {attr}: {}",
                        shared::ocf::error_chain(&e)
                    ));
                }
                return;
            }
        }
    }
    if let Err(e) = vd.state.set_util_cache(instance, &text) {
        vd.warn(format!("cannot cache the utilization: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::libvirt::DomainState;

    #[test]
    fn desired_values_like_heartbeat() {
        let st = DomainStatus {
            state: DomainState::Running,
            vcpus: 2,
            max_mem_kib: 65536 + 1000,
        };
        let policy = [
            ("cpu", UtilPolicy::Set),
            ("host_memory", UtilPolicy::Unset),
            ("hv_memory", UtilPolicy::Set),
        ];
        let w = desired(&policy, &st);
        assert_eq!(
            w,
            [
                ("cpu", Some("2".to_owned())),
                ("host_memory", None),
                ("hv_memory", Some("64".to_owned()))
            ]
        );
        assert_eq!(render(&w), "cpu=2\nhost_memory\nhv_memory=64\n");
        let none = [
            ("cpu", UtilPolicy::Leave),
            ("host_memory", UtilPolicy::Leave),
            ("hv_memory", UtilPolicy::Leave),
        ];
        assert!(desired(&none, &st).is_empty());
    }
}
