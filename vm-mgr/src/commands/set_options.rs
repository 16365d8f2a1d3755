//! `set-options -n VM [--stop-timeout S] [--migrate-to-timeout S] [--priority P]
//! [--enable-live-migration | --disable-live-migration] [--migration-user U]
//! [--pacemaker-params K=V...] [--pacemaker-meta K=V...]`: create's options, checked as create
//! checks them, changed in one CIB transaction ([`crate::fragment::options`]) or, for a
//! disabled VM, in its stored fragment; the stored settings follow, so that disable/enable,
//! clone and export keep them.

use serde_json::json;

use crate::cli_change::SetOptionsArgs;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::fragment::options::{self, Options};
use crate::output::Outcome;
use crate::steps::changing;
use crate::vm;

/// Runs `set-options`.
pub fn run(ctx: &Ctx, a: &SetOptionsArgs) -> Result<Outcome> {
    let o = options_of(a)?;
    if o.is_empty() {
        return Err(Error::invalid(
            "set-options needs at least one option to change (see --help).",
        ));
    }
    let vm = changing::load(ctx, &a.name)?;
    let name = vm.ids.name();
    let settings = o.apply_settings(&vm.settings);
    let apply = |t: &mut shared::xml::Element| options::apply(t, &vm.ids, &o);
    let (keys, edited) = changing::commit(ctx, &vm, None, &settings, &apply)?;
    if ctx.dry_run {
        let actions = match keys.is_empty() {
            true => Vec::new(),
            false => vec![format!(
                "set metadata {} on {}",
                keys.join(", "),
                ctx.storage.image_label(&vm.ids.system_image())
            )],
        };
        return Ok(crate::output::dry_run_outcome(
            name,
            "set-options",
            &actions,
            edited.patch.as_deref(),
        ));
    }
    let changed = edited.changed || !keys.is_empty();
    let place = if vm.in_cib {
        "in the cluster"
    } else {
        "in the stored fragment (disabled)"
    };
    Ok(Outcome::new(
        json!({
            "name": name,
            "changed": changed,
            "enabled": vm.in_cib,
            "stop_timeout": settings.stop_timeout,
            "migrate_to_timeout": settings.migrate_to_timeout,
            "priority": settings.priority,
            "live_migration": settings.live_migration,
            "migration_user": settings.migration_user,
            "pacemaker_params": settings.pacemaker_params,
            "pacemaker_meta": settings.pacemaker_meta,
        }),
        match changed {
            true => format!("{name}: options changed {place}\n"),
            false => format!("{name}: options unchanged\n"),
        },
    ))
}

/// The options given, checked as create checks them.
fn options_of(a: &SetOptionsArgs) -> Result<Options> {
    if let Some(u) = a.migration_user.as_deref().filter(|u| !u.is_empty()) {
        vm::validate_migration_user(u)?;
    }
    let meta = vm::parse_pairs("--pacemaker-meta", &a.pacemaker_meta)?;
    vm::refuse_own_meta(&meta)?;
    let live_migration = match (a.enable_live_migration, a.disable_live_migration) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    Ok(Options {
        stop_timeout: a.stop_timeout,
        migrate_to_timeout: a.migrate_to_timeout,
        priority: a.priority,
        live_migration,
        migration_user: a.migration_user.clone(),
        params: vm::parse_pairs("--pacemaker-params", &a.pacemaker_params)?,
        meta,
    })
}
