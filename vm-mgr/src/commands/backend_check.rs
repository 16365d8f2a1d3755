//! Which verbs the dir backend supports so far (issue 14's first slice, snapshots,
//! export/import, clone with and without `--full`), and the check
//! `commands::run` makes before any verb runs: a verb not supported there exits 6 ("not
//! supported on the dir backend yet", nothing changed), and a verb on a VM's stored data run
//! with the other backend than the VM's exits 2.

use crate::cli::{Cli, Command};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::storage::Backend;

/// Whether `command` works on the dir backend (issue 14's slices so far). The dir backend has
/// no trash: `remove` there needs `--purge`; `list --removed` and `restore` exit 6.
pub fn supported_on_dir(command: &Command) -> bool {
    match command {
        Command::Remove(a) => return a.purge,
        Command::List(a) if a.removed => return false,
        _ => {}
    }
    matches!(
        command,
        Command::Create(_)
            | Command::AddToCluster(_)
            | Command::Enable(_)
            | Command::Disable(_)
            | Command::Start(_)
            | Command::Stop(_)
            | Command::Status(_)
            | Command::List(_)
            | Command::Info
            | Command::GetMetadata(_)
            | Command::SetMetadata(_)
            | Command::ListMetadata(_)
            | Command::Migrate(_)
            | Command::AddColocation(_)
            | Command::RemoveColocation(_)
            | Command::SetPlacement(_)
            | Command::Drain(_)
            | Command::Undrain(_)
            | Command::SetXml(_)
            | Command::Edit(_)
            | Command::Console(_)
            | Command::History(_)
            | Command::Import(_)
            | Command::Balance(_)
            | Command::Rebalance(_)
    ) || snapshots_or_copies(command)
}

/// The snapshot verbs, clone and export: on dir since issue 14's second slice (copy-on-write
/// clones since its third); they work on the VM's stored data.
fn snapshots_or_copies(command: &Command) -> bool {
    matches!(
        command,
        Command::CreateSnapshot(_)
            | Command::ListSnapshots(_)
            | Command::ListSnapshotsSeapath(_)
            | Command::RemoveSnapshot(_)
            | Command::Rollback(_)
            | Command::Purge(_)
            | Command::Export(_)
            | Command::Clone(_)
    )
}

/// Whether `command` works on the VM's stored data, so that the backend must be the VM's own.
fn needs_vm_storage(command: &Command) -> bool {
    matches!(
        command,
        Command::Remove(_)
            | Command::Disable(_)
            | Command::GetMetadata(_)
            | Command::SetMetadata(_)
            | Command::ListMetadata(_)
            | Command::SetPlacement(_)
            | Command::SetXml(_)
            | Command::Edit(_)
    ) || snapshots_or_copies(command)
}

/// Refuses (exit 6, nothing changed) a verb the dir backend does not support yet, when the
/// storage is the dir backend or the VM named is a dir VM in the CIB (whatever `--storage`
/// says: a snapshot of it must not be looked for in RBD). Refuses (exit 2) a verb working on
/// the VM's storage when the VM in the CIB is on the other backend (a remove would otherwise
/// leave its disks behind).
pub fn refuse(cli: &Cli, ctx: &Ctx) -> Result<()> {
    let supported = supported_on_dir(&cli.command);
    if !supported && ctx.storage.backend() == Backend::Dir {
        return Err(Error::NotOnDir {
            verb: cli.command.verb(),
        });
    }
    let Some(name) = cli.vm_name() else {
        return Ok(());
    };
    if supported && !(needs_vm_storage(&cli.command) && ctx.storage.available()) {
        return Ok(());
    }
    let cib = ctx.tools.cib_query(ctx.cib_deadline())?;
    match crate::fragment::storage_of(cib.element(), name) {
        Some(Backend::Dir) if !supported => Err(Error::NotOnDir {
            verb: cli.command.verb(),
        }),
        Some(b) if b != ctx.storage.backend() => Err(Error::invalid(format!(
            "VM {name} is stored on the {b} backend, but vm-mgr runs with storage {}; give \
             --storage {b} (and --dir PATH for dir) or set it in the configuration file. \
             Nothing was changed.",
            ctx.storage.backend()
        ))),
        _ => Ok(()),
    }
}
