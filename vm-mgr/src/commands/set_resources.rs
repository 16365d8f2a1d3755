//! `set-resources -n VM [--vcpus N] [--memory SIZE]`: plan the change on the stored domain XML
//! ([`crate::resources::plan`]), validate the new XML like create, apply what the running
//! guest allows through libvirt on its node, then one storage update (XML, settings, and the
//! fragment of a disabled VM) and one CIB transaction (the domain's utilization). What the
//! guest cannot take live is reported as applying at next start; a live change libvirt refuses
//! is reported so too, with libvirt's reason.

use serde_json::json;
use shared::pacemaker::cib::tree::{self, NvpairId, SetKind};
use shared::pacemaker::xml::Element;

use crate::cli_change::SetResourcesArgs;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::fragment::FragmentError;
use crate::output::Outcome;
use crate::resources::{self, Live, Plan, Sizes};
use crate::steps::changing::{self, Vm, LIVE_TIMEOUT};

/// The utilization attributes vm-mgr keeps in step, with the VirtualDomain parameter that lets
/// the agent set each (as the agent computes them: current vCPUs, `<memory>` in MiB).
const UTILIZATION: [(&str, &str); 3] = [
    ("cpu", "autoset_utilization_cpu"),
    ("hv_memory", "autoset_utilization_hv_memory"),
    ("host_memory", "autoset_utilization_host_memory"),
];

/// Runs `set-resources`.
pub fn run(ctx: &Ctx, a: &SetResourcesArgs) -> Result<Outcome> {
    if a.vcpus.is_none() && a.memory.is_none() {
        return Err(Error::invalid(
            "set-resources needs --vcpus, --memory or both.",
        ));
    }
    let memory = a
        .memory
        .as_deref()
        .map(resources::parse_memory)
        .transpose()?;
    let vm = changing::load(ctx, &a.name)?;
    let name = vm.ids.name();
    let mut plan = resources::plan(&vm.xml, a.vcpus, memory, vm.node.is_some())?;
    if let Some(w) = crate::domain::validate(&plan.xml, "the changed domain XML")? {
        ctx.progress.say(&format!("warning: {w}"));
    }
    let mut refused = Vec::new();
    if !ctx.dry_run && !plan.live.is_empty() {
        refused = apply_live(ctx, &vm, &plan.live);
        if !refused.is_empty() {
            // What libvirt refused waits for the next start: the XML kept is the offline one.
            plan = resources::plan(&vm.xml, a.vcpus, memory, false)?;
            plan.next_start.extend(refused.iter().cloned());
        }
    }
    let util = utilization(&plan.after);
    let mut settings = vm.settings.clone();
    for (k, v) in &util {
        // the user's own utilization (create --pacemaker-utilization) follows
        if let Some(old) = settings.pacemaker_utilization.get_mut(*k) {
            old.clone_from(v);
        }
    }
    let apply = |t: &mut Element| set_utilization(t, &vm, &util);
    let (keys, edited) = changing::commit(ctx, &vm, Some(&plan.xml), &settings, &apply)?;
    if ctx.dry_run {
        let mut actions: Vec<String> = plan.live.iter().map(describe_live).collect();
        actions.push(format!(
            "set metadata {} on {}",
            keys.join(", "),
            ctx.storage.image_label(&vm.ids.system_image())
        ));
        let mut out = crate::output::dry_run_outcome(
            name,
            "set-resources",
            &actions,
            edited.patch.as_deref(),
        );
        if let Some(o) = out.json.as_object_mut() {
            o.insert("domain_xml".into(), json!(plan.xml));
            o.insert("next_start".into(), json!(plan.next_start));
        }
        return Ok(out);
    }
    Ok(outcome(&vm, &plan, &refused))
}

/// Applies the live changes on the guest's node; libvirt's refusals, as "what (why)".
fn apply_live(ctx: &Ctx, vm: &Vm, live: &[Live]) -> Vec<String> {
    let Some(node) = vm.node.as_deref() else {
        return Vec::new();
    };
    let uri = changing::node_uri(ctx, vm, node);
    let name = vm.ids.name();
    let mut refused = Vec::new();
    for l in live {
        ctx.progress
            .say(&format!("{name}: {} ({uri})", describe_live(l)));
        let res = match l {
            Live::Vcpus(n) => changing::virsh(
                &uri,
                &["setvcpus", "--live", "--", name, &n.to_string()],
                LIVE_TIMEOUT,
            ),
            Live::Balloon(kib) => changing::virsh(
                &uri,
                &["setmem", "--live", "--", name, &format!("{kib}KiB")],
                LIVE_TIMEOUT,
            ),
            Live::Dimm(xml) => changing::attach(&uri, name, xml),
        };
        if let Err(why) = res {
            refused.push(format!("{} (libvirt: {why})", describe_live(l)));
        }
    }
    refused
}

fn describe_live(l: &Live) -> String {
    match l {
        Live::Vcpus(n) => format!("{n} vCPUs now (vCPU hotplug)"),
        Live::Balloon(kib) => format!("{} MiB of memory now (balloon)", kib / 1024),
        Live::Dimm(_) => "more memory now (a hotplugged DIMM)".into(),
    }
}

/// The utilization values the agent would set for `s`.
fn utilization(s: &Sizes) -> Vec<(&'static str, String)> {
    let mib = (s.total_kib / 1024).to_string();
    vec![
        ("cpu", s.vcpus.to_string()),
        ("hv_memory", mib.clone()),
        ("host_memory", mib),
    ]
}

/// Sets the domain primitive's utilization: each attribute already there, or that the agent
/// sets itself (its `autoset_utilization_*` parameter is not false).
fn set_utilization(
    t: &mut Element,
    vm: &Vm,
    util: &[(&'static str, String)],
) -> std::result::Result<bool, FragmentError> {
    let d = vm.ids.domain();
    let p = tree::primitive_mut(t, &d).ok_or_else(|| FragmentError::NotInCib {
        name: vm.ids.name().to_owned(),
    })?;
    let mut changed = false;
    for (key, value) in util {
        let there = tree::nvpair(p, SetKind::Utilization, key).is_some();
        let autoset = UTILIZATION
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, param)| tree::nvpair(p, SetKind::Instance, param))
            .is_none_or(|v| !is_false(v));
        if !(there || autoset) {
            continue;
        }
        changed |= tree::set_nvpair(
            p,
            SetKind::Utilization,
            &format!("{d}.utilization"),
            NvpairId::Dot,
            key,
            Some(value),
        );
    }
    Ok(changed)
}

/// A false OCF boolean (as the agent reads it).
fn is_false(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "false" | "no" | "0" | "off" | "n" | "f"
    )
}

fn outcome(vm: &Vm, plan: &Plan, refused: &[String]) -> Outcome {
    let name = vm.ids.name();
    let a = &plan.after;
    let mut text = format!(
        "{name}: {} vCPUs (maximum {}), {} MiB of memory",
        a.vcpus,
        a.max_vcpus,
        a.memory_kib / 1024
    );
    if !plan.live.is_empty() && refused.len() < plan.live.len() {
        text.push_str(", applied to the running guest");
    } else if vm.node.is_none() {
        text.push_str(" (not running: from its next start)");
    }
    text.push('\n');
    if !plan.next_start.is_empty() {
        text.push_str(&format!(
            "{name}: applies at next start: {}\n",
            plan.next_start.join(", ")
        ));
    }
    Outcome::new(
        json!({
            "name": name,
            "node": vm.node,
            "before": plan.before,
            "after": plan.after,
            "live": plan.live.iter().map(describe_live).collect::<Vec<_>>(),
            "next_start": plan.next_start,
        }),
        text,
    )
}
