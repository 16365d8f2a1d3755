//! Making a VM from a domain XML and disk images: what `create` does, and `add-to-cluster`
//! with the XML and disks of a libvirt domain. Check everything first (name, XML, images,
//! nodes, duplicates), then import the images into an RBD group (or the dir backend's
//! directory), rewrite the XML's disks, validate it, store XML, settings and CIB fragment in
//! the system image's metadata, and enable the VM unless `--disable`. A failure after the
//! first change undoes everything done so far.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::json;

use super::{copying, enabling, teardown};
use crate::cli::CreateArgs;
use crate::ctx::Ctx;
use crate::domain;
use crate::error::{Error, Result};
use crate::fragment::{self, Fragment};
use crate::output::Outcome;
use crate::storage::StorageError;
use crate::vm::{self, Settings, VmIds};

/// A checked create request: everything needed, nothing changed yet.
struct Plan {
    ids: VmIds,
    /// (file, format, image), system disk first.
    disks: Vec<(PathBuf, String, String)>,
    final_xml: String,
    /// The system image's metadata, in the order it is written (the XML last).
    meta: Vec<(String, String)>,
    user_keys: Vec<String>,
    fragment: Fragment,
    replace: bool,
    warnings: Vec<String>,
    /// The CIB patch checked before any work: in a dry run that enables, the enable's own
    /// patch (shown as is); otherwise the fragment's, inserted Stopped.
    patch: Option<String>,
}

/// Makes the VM `a` describes (`create`).
pub fn create(ctx: &Ctx, a: &CreateArgs) -> Result<Outcome> {
    let plan = check(ctx, a)?;
    for w in &plan.warnings {
        ctx.progress.say(&format!("warning: {w}"));
    }
    let name = plan.ids.name().to_owned();
    if ctx.dry_run {
        return Ok(dry_run(ctx, a, &plan));
    }
    if plan.replace {
        ctx.progress
            .say(&format!("{name}: replacing the existing VM (--force)"));
        teardown::remove_vm(ctx, &name)?;
    }
    let mut done = Done::default();
    if let Err(e) = store(ctx, &plan, &mut done) {
        let undo = undo(ctx, &plan.ids, &done);
        return Err(Error::Undone {
            what: format!("Creating VM {name}"),
            undo,
            source: Box::new(e),
        });
    }
    if a.vm.disable {
        return Ok(Outcome::new(
            json!({"name": name, "state": crate::state::VmState::Disabled, "node": null, "created": true}),
            format!("{name}: created (disabled)\n"),
        ));
    }
    let enabled = enabling::enable_or_remove(
        ctx,
        &name,
        &plan.fragment,
        a.vm.nostart,
        format!("Enabling the new VM {name}"),
        "the VM was removed again",
    )?;
    Ok(enabled.new_vm_outcome(&name, "created"))
}

/// The new VM's settings, from the flags and the configuration.
fn settings_of(ctx: &Ctx, a: &CreateArgs) -> Result<Settings> {
    if let Some(u) = &a.vm.migration_user {
        vm::validate_migration_user(u)?;
    }
    let pacemaker_meta = vm::parse_pairs("--pacemaker-meta", &a.vm.pacemaker_meta)?;
    vm::refuse_own_meta(&pacemaker_meta)?;
    Ok(Settings {
        live_migration: a.vm.enable_live_migration,
        migration_user: a.vm.migration_user.clone(),
        migration_transport: ctx.config.migration_transport.clone(),
        migrate_to_timeout: a.vm.migrate_to_timeout,
        stop_timeout: a.vm.stop_timeout,
        migration_downtime: a.vm.migration_downtime,
        priority: a.vm.priority,
        pinned_host: a.vm.pinned_host.clone(),
        preferred_host: a.vm.preferred_host.clone(),
        disk_bus: a.vm.disk_bus.clone(),
        additional_disks: a.additional_disk.len(),
        // on the dir backend QEMU's image locks do the guard's job
        disk_guard: ctx.config.disk_guard && ctx.storage.dir().is_none(),
        hypervisor: ctx.config.hypervisor.clone(),
        pacemaker_params: vm::parse_pairs("--pacemaker-params", &a.vm.pacemaker_params)?,
        pacemaker_meta,
        pacemaker_utilization: vm::parse_pairs(
            "--pacemaker-utilization",
            &a.vm.pacemaker_utilization,
        )?,
        ..Settings::default()
    })
}

/// Checks the request and computes everything; changes nothing.
fn check(ctx: &Ctx, a: &CreateArgs) -> Result<Plan> {
    let ids = VmIds::new(&a.name);
    for node in a.vm.pinned_host.iter().chain(&a.vm.preferred_host) {
        vm::validate_node_name(node)?;
    }
    let user_meta = vm::parse_pairs("--metadata", &a.vm.metadata)?;
    for k in user_meta.keys() {
        vm::validate_user_key(k)?;
    }
    let mut settings = settings_of(ctx, a)?;
    let base_xml =
        shared::fsread::read_text(&a.xml, shared::fsread::XML_CAP).map_err(|source| {
            Error::ReadFile {
                path: a.xml.clone(),
                source,
            }
        })?;
    let what = a.xml.display().to_string();
    shared::pacemaker::xml::Element::parse(&base_xml, &what).map_err(|e| Error::DomainXml {
        what: what.clone(),
        detail: e.to_string(),
    })?;
    // The utilization the agent will write, known from the first placement on (a cluster
    // that places by load needs it then); what --pacemaker-utilization says wins.
    if let Some(u) = shared::libvirt::DomainXml::parse(&base_xml)
        .ok()
        .and_then(|d| crate::placement::capacity::utilization_of(&d))
    {
        for (k, v) in u {
            settings.pacemaker_utilization.entry(k).or_insert(v);
        }
    }
    if !ctx.storage.available() {
        return Err(StorageError::Disabled.into());
    }
    let mut disks = Vec::new();
    for (i, path) in std::iter::once(&a.image)
        .chain(&a.additional_disk)
        .enumerate()
    {
        let format = ctx.storage.probe_format(path)?;
        let image = if i == 0 {
            ids.system_image()
        } else {
            ids.data_image(i - 1)
        };
        disks.push((path.clone(), format, image));
    }
    // The CIB alone: a pin is judged on the status derived from it, crm_mon's only when the
    // CIB does not decide it (issue 17: on 1,000 VMs crm_mon costs twice the CIB's read).
    let cib = ctx.tools.cib_query(ctx.cib_deadline())?;
    for node in a.vm.pinned_host.iter().chain(&a.vm.preferred_host) {
        if cib.node(node).is_none() {
            return Err(Error::invalid(format!(
                "Node {node} is not a node of the cluster."
            )));
        }
    }
    if let Some(node) = &a.vm.pinned_host {
        let mon = crate::cluster::status_of_cib(ctx, &cib)?;
        crate::placement::nodes::refuse_pin(&cib, &mon, &a.name, node)?;
    }
    copying::refuse_foreign_ids(&cib, &a.name)?;
    let replace = fragment::in_cib(cib.element(), &a.name)
        || ctx.storage.image_exists(&ids.system_image())?
        || ctx.storage.list_groups()?.contains(&ids.rbd_group());
    if replace && !a.vm.force {
        return Err(Error::AlreadyExists {
            name: a.name.clone(),
        });
    }
    let images: Vec<String> = disks.iter().map(|d| d.2.clone()).collect();
    let final_xml = copying::storage_xml(ctx, &base_xml, &what, &a.name, &images, &a.vm.disk_bus)?;
    let warnings = domain::validate(&final_xml, &what)?.into_iter().collect();
    let mut fragment = copying::new_fragment(ctx, &cib, &ids, &settings)?;
    add_crm_constraints(ctx, &cib, &mut fragment, &a.vm.add_crm_config_cmd)?;
    let meta = meta_of(
        &a.name, base_xml, &settings, &fragment, &user_meta, &final_xml,
    );
    // The real run checks the fragment inserted Stopped, then enables it; a dry run checks
    // once what the enable would write, and shows that patch.
    let role = match (ctx.dry_run && !replace, a.vm.disable, a.vm.nostart) {
        (true, false, false) => "Started",
        _ => "Stopped",
    };
    let patch = copying::check_writes_as(ctx, &cib, &fragment, replace, &meta, role)?;
    Ok(Plan {
        ids,
        disks,
        final_xml,
        meta,
        user_keys: user_meta.into_keys().collect(),
        fragment,
        replace,
        warnings,
        patch,
    })
}

/// `--add-crm-config-cmd`: crm shell makes the constraints on a private copy of the CIB
/// holding the new VM; those it made join the VM's fragment ([`fragment::added_constraints`]).
fn add_crm_constraints(
    ctx: &Ctx,
    cib: &shared::pacemaker::Cib,
    fragment: &mut Fragment,
    commands: &[String],
) -> Result<()> {
    if commands.is_empty() {
        return Ok(());
    }
    let name = fragment.name.clone();
    let words = commands
        .iter()
        .map(|c| fragment::parse_crm_command(&name, c))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let mut before = cib.element().clone();
    if fragment::in_cib(&before, &name) {
        fragment::remove(&mut before, &name)?;
    }
    fragment::insert(&mut before, fragment, "Stopped")?;
    let after =
        shared::pacemaker::crm::configure_on_copy(&before.to_xml(), &words, ctx.cib_deadline())
            .map_err(|e| match e {
                // crm shell refused a command: the operator's input.
                shared::pacemaker::PacemakerError::ToolFailed { errors, .. } => {
                    Error::from(fragment::FragmentError::CrmCommand {
                        name: name.clone(),
                        command: commands.join("; ").chars().take(160).collect(),
                        reason: format!("crm shell refused it: {}", errors.join("; ")),
                    })
                }
                other => other.into(),
            })?;
    let after = shared::pacemaker::xml::Element::parse(&after, "the CIB crm shell wrote")
        .map_err(shared::pacemaker::PacemakerError::from)?;
    let ids = shared::pacemaker::cib::tree::resource_ids(&fragment.resources[0]);
    let added = fragment::added_constraints(&name, &before, &after, &ids)?;
    fragment.constraints.extend(added);
    Ok(())
}

fn dry_run(ctx: &Ctx, a: &CreateArgs, plan: &Plan) -> Outcome {
    let pool = ctx.storage.pool();
    let name = plan.ids.name();
    let group = plan.ids.rbd_group();
    let mut actions = Vec::new();
    if plan.replace {
        actions.push(format!("remove the existing VM {name} (--force)"));
    }
    let dir = ctx.storage.dir();
    match dir {
        Some(d) => actions.push(format!("create directory {}", d.vm_dir(name).display())),
        None => actions.push(format!("create RBD group {pool}/{group}")),
    }
    for (path, format, image) in &plan.disks {
        actions.push(format!(
            "import {} ({format}) into {}",
            path.display(),
            ctx.storage.image_label(image)
        ));
        if dir.is_none() {
            actions.push(format!("add {pool}/{image} to group {pool}/{group}"));
        }
    }
    let mut keys = vec![
        vm::META_XML,
        vm::META_VM_NAME,
        vm::META_BASE_XML,
        vm::META_SETTINGS,
        vm::META_FRAGMENT,
    ];
    keys.extend(plan.user_keys.iter().map(String::as_str));
    actions.push(format!(
        "set metadata {} on {pool}/{}",
        keys.join(", "),
        plan.ids.system_image()
    ));
    let patch = if a.vm.disable {
        None
    } else if plan.replace {
        actions.push(format!(
            "enable {name} (CIB patch computed after the replacement)"
        ));
        None
    } else {
        // Checked by `check` on the CIB it read, with the role the enable gives.
        plan.patch.clone()
    };
    let mut out = crate::output::dry_run_outcome(name, "create", &actions, patch.as_deref());
    if let Some(o) = out.json.as_object_mut() {
        o.insert("domain_xml".into(), json!(plan.final_xml));
    }
    out
}

/// What has been changed so far (for the undo).
#[derive(Debug, Default)]
struct Done {
    group: bool,
    images: Vec<String>,
}

/// The storage part of create.
fn store(ctx: &Ctx, plan: &Plan, done: &mut Done) -> Result<()> {
    let s = &ctx.storage;
    let group = plan.ids.rbd_group();
    s.create_group(&group)?;
    done.group = true;
    for (path, format, image) in &plan.disks {
        // Recorded first: a failed import may leave a partial image behind.
        done.images.push(image.clone());
        copying::import(ctx, path, format, image)?;
        s.group_add(&group, image)?;
    }
    let system = plan.ids.system_image();
    for (k, v) in &plan.meta {
        s.meta_set(&system, k, v)?;
    }
    Ok(())
}

/// The new VM's metadata, the XML last: an image with `xml` is a complete VM.
fn meta_of(
    name: &str,
    base_xml: String,
    settings: &Settings,
    fragment: &Fragment,
    user_meta: &BTreeMap<String, String>,
    final_xml: &str,
) -> Vec<(String, String)> {
    let mut meta = vec![
        (vm::META_VM_NAME.to_owned(), name.to_owned()),
        (vm::META_BASE_XML.to_owned(), base_xml),
        (vm::META_SETTINGS.to_owned(), settings.to_json()),
        (vm::META_FRAGMENT.to_owned(), fragment.to_xml()),
    ];
    meta.extend(user_meta.iter().map(|(k, v)| (k.clone(), v.clone())));
    meta.push((vm::META_XML.to_owned(), final_xml.to_owned()));
    meta
}

/// Undoes the storage part (after an interrupt too: a cleanup); returns what was done, for
/// the message.
fn undo(ctx: &Ctx, ids: &VmIds, done: &Done) -> String {
    let _cleanup = crate::cluster::interrupt::cleanup();
    let s = &ctx.storage;
    let group = ids.rbd_group();
    let mut problems = Vec::new();
    for image in done.images.iter().rev() {
        let _ = s.group_remove(&group, image);
        match s.remove_image(image) {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => problems.push(format!("image {image}: {e}")),
        }
    }
    if done.group {
        if let Err(e) = s.remove_group(&group) {
            problems.push(format!("group {group}: {e}"));
        }
    }
    if problems.is_empty() {
        format!(
            "removed {} image(s){}",
            done.images.len(),
            if done.group { " and the RBD group" } else { "" }
        )
    } else {
        format!("cleaning up failed: {}", problems.join("; "))
    }
}
