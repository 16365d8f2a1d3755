//! One module per verb (floor 2); each reads top to bottom: check the input, load the VM, do
//! the storage work, build the CIB change, apply it as one transaction, wait, report. A verb
//! never calls another verb: what verbs share is in the floor below ([`crate::cluster`],
//! `steps`, [`crate::placement`], [`crate::storage`]). Here: the dispatch.

use crate::cli::{Cli, Command};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::output::Outcome;

pub mod add_to_cluster;
pub mod create;
pub mod disable;
pub mod enable;
pub mod info;
pub mod list;
pub mod metadata;
pub mod remove;
pub mod start;
pub mod status;
pub mod stop;
// Issue 6: snapshots, rollback, purge, clone, export/import.
pub mod clone;
pub mod export;
pub mod import;
pub mod purge;
pub mod rollback;
pub mod snapshot;
// Issue 7: placement and mobility.
pub mod colocation;
pub mod drain;
pub mod migrate;
pub mod placement;
// Issue 15: day two.
pub mod console;
pub mod edit;
pub mod history;
pub mod set_xml;
// Issue 20: pacemaker-remote guest nodes.
pub mod add_disk;
pub mod doctor;
pub mod pacemaker_remote;
pub mod remove_disk;
pub mod restore;
pub mod set_options;
pub mod set_resources;
// Issue 17: load-aware placement.
pub mod balance;
pub mod rebalance;
// Issue 14: what the dir backend does not do yet.
pub mod backend_check;

/// Runs the verb of `cli`.
pub fn run(cli: &Cli, ctx: &Ctx) -> Result<Outcome> {
    if let Some(name) = cli.vm_name() {
        crate::vm::validate_name(name)?;
    }
    backend_check::refuse(cli, ctx)?;
    match &cli.command {
        Command::Create(a) => create::run(ctx, a),
        Command::AddToCluster(a) => add_to_cluster::run(ctx, a),
        Command::Remove(a) => remove::run(ctx, a),
        Command::Enable(a) => enable::run(ctx, &a.name, a.nostart),
        Command::Disable(a) => disable::run(ctx, &a.name),
        Command::Start(a) => start::run(ctx, &a.name),
        Command::Stop(a) => stop::run(ctx, &a.name, a.force),
        Command::Status(a) => status::run(ctx, &a.name),
        Command::List(a) if a.removed => list::removed(ctx),
        Command::List(_) => list::run(ctx),
        Command::GetMetadata(a) => metadata::get(ctx, &a.name, &a.metadata_name),
        Command::SetMetadata(a) => metadata::set(ctx, &a.name, &a.metadata_name, &a.metadata_value),
        Command::ListMetadata(a) => metadata::list(ctx, &a.name, a.all),
        Command::Info => info::run(ctx),
        Command::CreateSnapshot(a) => snapshot::create(ctx, &a.name, &a.snap_name),
        Command::ListSnapshots(a) => snapshot::list(ctx, &a.name),
        Command::ListSnapshotsSeapath(a) => snapshot::list_seapath(ctx, &a.name),
        Command::RemoveSnapshot(a) => snapshot::remove(ctx, &a.name, &a.snap_name),
        Command::Rollback(a) => rollback::run(ctx, &a.name, &a.snap_name),
        Command::Purge(a) => purge::run(ctx, a),
        Command::Clone(a) => clone::run(ctx, a),
        Command::Export(a) => export::run(ctx, a),
        Command::Import(a) => import::run(ctx, a),
        Command::AddColocation(a) => colocation::add(ctx, a),
        Command::RemoveColocation(a) => colocation::remove(ctx, a),
        Command::SetPlacement(a) => placement::run(ctx, a),
        Command::Migrate(a) => migrate::run(ctx, a),
        Command::Drain(a) => drain::drain(ctx, a),
        Command::Undrain(a) => drain::undrain(ctx, a),
        Command::Doctor(a) => doctor::run(ctx, a),
        Command::SetXml(a) => set_xml::run(ctx, a),
        Command::Edit(a) => edit::run(ctx, &a.name),
        Command::Console(a) => console::run(ctx, a),
        Command::History(a) => history::run(ctx, a),
        Command::AddPacemakerRemote(a) => pacemaker_remote::add(ctx, a),
        Command::RemovePacemakerRemote(a) => pacemaker_remote::remove(ctx, &a.name),
        Command::SetResources(a) => set_resources::run(ctx, a),
        Command::SetOptions(a) => set_options::run(ctx, a),
        Command::AddDisk(a) => add_disk::run(ctx, a),
        Command::RemoveDisk(a) => remove_disk::run(ctx, a),
        Command::Restore(a) => restore::run(ctx, &a.name),
        Command::Balance(a) => balance::run(ctx, a),
        Command::Rebalance(a) => rebalance::run(ctx, a),
    }
}

/// What the verb of `cli` prints on stdout when it fails with `e` (text output only): SEAPATH's
/// `Undefined` for `status` of an unknown VM. The error still goes to stderr.
pub fn text_on_error(cli: &Cli, e: &Error) -> Option<String> {
    match &cli.command {
        Command::Status(_) if cli.output == crate::cli::OutputFormat::Text => {
            status::undefined_text(e)
        }
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod placement_tests;

#[cfg(test)]
mod doctor_tests;

#[cfg(test)]
mod dir_tests;

#[cfg(test)]
mod xml_tests;

#[cfg(test)]
mod guest_tests;

#[cfg(test)]
mod trash_tests;

#[cfg(test)]
mod dir_snap_tests;

#[cfg(test)]
mod balance_tests;

#[cfg(test)]
mod view_tests;
