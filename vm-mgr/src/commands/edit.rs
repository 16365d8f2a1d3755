//! `edit -n VM`: the VM's stored domain XML in the user's editor (`$VISUAL`, else `$EDITOR`,
//! else `vi`), then as `set-xml` with the result: checked, the diff printed, stored (not with
//! `--dry-run`), applied at the VM's next start. The editor variable is split on whitespace
//! only (`EDITOR="code --wait"` works; no shell, so no quoting) and run on the terminal. An
//! edit that is refused is kept in a file named in the message, for `set-xml --xml`.

use std::path::PathBuf;

use shared::cmd::Cmd;
use shared::tempdir::PrivateDir;

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::output::Outcome;
use crate::steps::xml_change;

/// The editor's argv from the values of `VISUAL` and `EDITOR`: the first non-blank one,
/// split on whitespace; `vi` when both are unset or blank.
pub fn editor_argv(visual: Option<&str>, editor: Option<&str>) -> Vec<String> {
    [visual, editor]
        .into_iter()
        .flatten()
        .map(|v| v.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .find(|argv| !argv.is_empty())
        .unwrap_or_else(|| vec!["vi".to_owned()])
}

/// Runs `edit`.
pub fn run(ctx: &Ctx, name: &str) -> Result<Outcome> {
    let var = |k: &str| std::env::var(k).ok();
    let argv = editor_argv(var("VISUAL").as_deref(), var("EDITOR").as_deref());
    run_with(ctx, name, &argv)
}

/// `edit` with the editor `argv` (the file is added last).
pub fn run_with(ctx: &Ctx, name: &str, argv: &[String]) -> Result<Outcome> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::invalid("No editor to run."));
    };
    let current = xml_change::current(ctx, name)?;
    let dir = PrivateDir::new("vmmgr-edit").map_err(|source| Error::WriteFile {
        path: std::env::temp_dir().join("vmmgr-edit-*"),
        source,
    })?;
    let file = format!("{name}.xml");
    let path = dir
        .write(&file, &current.xml)
        .map_err(|source| Error::WriteFile {
            path: dir.path().join(&file),
            source,
        })?;
    // The path is absolute and ours, so it cannot be taken for an option: no `--` (which
    // not every editor knows).
    Cmd::new(program)
        .args(args)
        .arg(&path)
        .run_interactive()
        .map_err(|e| {
            Error::invalid(format!(
                "The editor did not end well ({e}); nothing was changed."
            ))
        })?;
    let text = shared::fsread::read_text(&path, shared::fsread::XML_CAP).map_err(|source| {
        Error::ReadFile {
            path: path.clone(),
            source,
        }
    })?;
    let what = format!("the edited XML of {name}");
    match xml_change::propose(ctx, current, &text, &what) {
        Ok(p) => xml_change::store(ctx, &p, "edit"),
        Err(e) => {
            if let Some(kept) = keep(name, &text) {
                ctx.progress.say(&format!(
                    "your edit is kept in {}; fix it and run: vm-mgr set-xml -n {name} --xml {}",
                    kept.display(),
                    kept.display()
                ));
            }
            Err(e)
        }
    }
}

/// Writes a refused edit where the user can take it up again (mode 0600; it may name the
/// cephx secret's UUID). `None` if it cannot be written.
fn keep(name: &str, text: &str) -> Option<PathBuf> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let stamp = shared::clock::unix_secs();
    let path = std::env::temp_dir().join(format!("vm-mgr-edit-{name}-{stamp}.xml"));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .ok()?;
    Some(path)
}
