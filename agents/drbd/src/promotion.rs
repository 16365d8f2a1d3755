//! Setting the promotion score with `crm_attribute --promotion` (through
//! `shared::pacemaker::Tools`), only when it changes.
//!
//! The last value written is cached per resource instance in
//! `$HA_RSCTMP/vmmgr-drbd-<instance>.promotion` (`HA_RSCTMP` defaults to
//! `/run/resource-agents`, a tmpfs that a reboot clears together with the `reboot`-lifetime
//! attribute). A recurring monitor writes only when the wanted value differs from the cache;
//! every other action (start, promote, demote, stop, notify, probes) and a cache older than
//! [`MAX_CACHE_AGE`] write anyway, so a score Pacemaker dropped (for instance when the node
//! rejoined) is restored by the next probe or within that age. Every write is bounded by the
//! action's deadline; a failed write is logged, never fatal (as in drbd.ocf), and clears the
//! cache so the next action retries.

use std::path::PathBuf;
use std::time::Duration;

use shared::clock;
use shared::drbd::ScoreAction;
use shared::ocf::{log, Context};
use shared::pacemaker::{Score, Tools};

/// How long a cached value is trusted by recurring monitors.
pub const MAX_CACHE_AGE: Duration = Duration::from_secs(300);

/// Where the cache of `instance` lives.
pub fn cache_path(ctx: &Context, instance: &str) -> PathBuf {
    let dir = std::env::var_os("HA_RSCTMP")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/run/resource-agents"));
    let _ = ctx;
    let safe: String = instance
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("vmmgr-drbd-{safe}.promotion"))
}

/// The cache entry text of an action: `set 10000` or `removed`.
fn entry(action: ScoreAction) -> Option<String> {
    match action {
        ScoreAction::Set(v) => Some(format!("set {v}")),
        ScoreAction::Remove => Some("removed".to_owned()),
        ScoreAction::Keep => None,
    }
}

/// Returns the cached entry and its age, if any.
fn read_cache(path: &std::path::Path) -> Option<(String, Duration)> {
    let text = shared::fsread::read_text(path, 4096).ok()?;
    let (stamp, value) = text.trim().split_once(' ')?;
    let at: u64 = stamp.parse().ok()?;
    Some((
        value.to_owned(),
        Duration::from_secs(clock::unix_secs().saturating_sub(at)),
    ))
}

/// Applies the wanted score. `force` skips the cache comparison (every action except
/// recurring monitors).
pub fn apply(ctx: &Context, action: ScoreAction, force: bool) {
    let Some(want) = entry(action) else {
        return;
    };
    let instance = ctx.instance();
    if instance.is_empty() {
        log::debug("no OCF_RESOURCE_INSTANCE: promotion score not touched");
        return;
    }
    let path = cache_path(ctx, instance);
    if !force {
        if let Some((cached, age)) = read_cache(&path) {
            if cached == want && age < MAX_CACHE_AGE {
                return;
            }
        }
    }
    let tools = Tools::live();
    let result = match action {
        ScoreAction::Set(v) => tools.set_promotion_score(instance, None, Score(v), ctx.deadline),
        _ => tools.delete_promotion_score(instance, None, ctx.deadline),
    };
    match result {
        Ok(()) => {
            log::debug(format!("promotion score of {instance}: {want}"));
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let tmp = path.with_extension("tmp");
            let ok = std::fs::write(&tmp, format!("{} {want}\n", clock::unix_secs()))
                .and_then(|()| std::fs::rename(&tmp, &path));
            if let Err(e) = ok {
                log::warn(format!(
                    "cannot cache the promotion score in {}: {e}",
                    path.display()
                ));
            }
        }
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            log::warn(format!(
                "cannot update the promotion score of {instance} ({want}): {}",
                shared::ocf::error_chain(&e)
            ));
        }
    }
}
