//! `remove -n NAME [--purge] [--yes]`: stop the VM and take it out of the CIB (one
//! transaction), then move its images to the RBD trash for `trash-days`, its CIB fragment kept
//! in its system image's metadata (see `steps::trash`); or, with `--purge`, delete its images
//! (with their snapshots) and its RBD group at once, leaving nothing that mentions the VM. On
//! a terminal it first asks for the VM's name (unless `--yes`).

use std::io::{BufRead, IsTerminal, Read};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;
use shared::pacemaker::Edit;

use crate::cli_trash::RemoveArgs;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::fragment;
use crate::output::Outcome;
use crate::state::VmState;
use crate::steps::{teardown, trash};
use crate::vm::{VmIds, META_FRAGMENT};

/// How long the confirmation waits for the operator.
const CONFIRM_WAIT: Duration = Duration::from_secs(300);
/// The longest answer read.
const ANSWER_MAX: u64 = 256;

/// Runs `remove`.
pub fn run(ctx: &Ctx, a: &RemoveArgs) -> Result<Outcome> {
    let name = a.name.as_str();
    let r = teardown::find(ctx, name)?;
    if ctx.dry_run {
        return dry_run(ctx, a, &r);
    }
    if !a.yes && std::io::stdin().is_terminal() {
        confirm(name, a.purge)?;
    }
    let system = VmIds::new(name).system_image();
    let expires = if a.purge {
        teardown::remove(ctx, name, &r)?;
        None
    } else {
        if r.in_cib {
            let keep = r.images.contains(&system).then_some(system.as_str());
            teardown::take_out(ctx, name, r.stop_budget, keep)?;
        }
        // trash-days from when the images go, not from before the stop
        let at = trash::expiry(ctx);
        trash::to_trash(ctx, name, &r, at)?;
        Some(at)
    };
    let expires_text = expires.map(|at| shared::clock::utc_secs(u64::try_from(at).unwrap_or(0)));
    let text = match &expires_text {
        Some(t) => format!(
            "{name}: removed; its images are in the trash until {t} (vm-mgr restore -n {name})\n"
        ),
        None => format!("{name}: removed\n"),
    };
    Ok(Outcome::new(
        json!({"name": name, "state": VmState::Undefined, "node": null, "removed_images": r.images,
               "was_enabled": r.in_cib, "purged": a.purge, "trash_expires_at": expires_text}),
        text,
    ))
}

/// Asks for the VM's name on the terminal; anything else (or nothing within
/// [`CONFIRM_WAIT`]) refuses, with nothing changed. An interrupt ends the wait.
fn confirm(name: &str, purge: bool) -> Result<()> {
    let what = if purge {
        "delete it and its disks now (--purge: no restore)"
    } else {
        "move its disks to the trash"
    };
    eprint!("Type the VM's name ({name}) to stop it, take it out of the cluster and {what}: ");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = std::io::stdin()
            .lock()
            .take(ANSWER_MAX)
            .read_line(&mut line);
        let _ = tx.send(read.map(|_| line));
    });
    let end = Instant::now() + CONFIRM_WAIT;
    let answer = loop {
        if crate::cluster::interrupt::interrupted() {
            return Err(Error::Interrupted {
                during: "asking for confirmation".into(),
            });
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Ok(line)) => break line,
            Ok(Err(_)) | Err(mpsc::RecvTimeoutError::Disconnected) => break String::new(),
            Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() >= end => break String::new(),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    };
    check_answer(name, &answer)
}

/// Whether the operator's `answer` confirms removing `name`.
fn check_answer(name: &str, answer: &str) -> Result<()> {
    if answer.trim_end_matches(['\n', '\r']) == name {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "Not confirmed (the answer was not {name:?}); nothing was changed. Give --yes to \
         remove without asking."
    )))
}

/// `--dry-run`: what [`teardown::remove`] or [`trash::to_trash`] would do.
fn dry_run(ctx: &Ctx, a: &RemoveArgs, r: &teardown::Removal) -> Result<Outcome> {
    let name = a.name.as_str();
    let pool = ctx.storage.pool().to_owned();
    let ids = VmIds::new(name);
    let group = ids.rbd_group();
    let mut actions = Vec::new();
    let mut patch = None;
    if r.in_cib {
        actions.push(format!("stop {name} and wait until it is stopped"));
        if !a.purge && r.images.contains(&ids.system_image()) {
            actions.push(format!(
                "keep the CIB fragment in metadata {META_FRAGMENT} of {pool}/{}",
                ids.system_image()
            ));
        }
        patch = crate::cluster::change(ctx, |_cib, tree| {
            Ok(Edit::Change(fragment::remove(tree, name)?))
        })?
        .patch;
    }
    if r.has_group {
        actions.push(format!("remove the group snapshots of {pool}/{group}"));
    }
    actions.extend(
        r.grouped
            .iter()
            .map(|i| format!("take {pool}/{i} out of group {pool}/{group}")),
    );
    if a.purge {
        actions.extend(
            r.images
                .iter()
                .map(|i| format!("delete image {pool}/{i} and its snapshots")),
        );
    } else {
        actions.push(format!(
            "remove the snapshots of {} (a trashed image with snapshots cannot be deleted)",
            r.images.join(", ")
        ));
        let until = shared::clock::utc_secs(u64::try_from(trash::expiry(ctx)).unwrap_or(0));
        actions.extend(r.images.iter().map(|i| {
            format!("move image {pool}/{i} to the trash until {until} (data, snapshots and metadata kept)")
        }));
    }
    if r.has_group {
        actions.push(format!("delete group {pool}/{group}"));
    }
    Ok(crate::output::dry_run_outcome(
        name,
        "remove",
        &actions,
        patch.as_deref(),
    ))
}

#[cfg(test)]
mod tests {
    use super::check_answer;

    #[test]
    fn only_the_exact_name_confirms() {
        assert!(check_answer("web1", "web1\n").is_ok());
        assert!(check_answer("web1", "web1\r\n").is_ok());
        for no in [
            "", "\n", "y\n", "yes\n", "web\n", "web1 \n", "WEB1\n", "web12\n",
        ] {
            let e = check_answer("web1", no).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{no:?}");
            assert!(e.to_string().contains("nothing was changed"), "{e}");
        }
    }
}
