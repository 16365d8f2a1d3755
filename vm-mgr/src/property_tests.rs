//! Property tests (issue 13) for what vm-mgr itself reads from outside: its configuration file
//! and an export directory (manifest, metadata, domain XML, fragment), which may come from
//! anywhere. Arbitrary or corrupted input never panics, ends within a time bound (a guard
//! against runaway parsing, ~100x a real parse, not a performance goal), and is either
//! accepted or refused as invalid input (exit 2). The parsers of Pacemaker, libvirt, DRBD and
//! Ceph output are covered in `shared/tests/parsers_never_panic.rs`.

use std::path::Path;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::Config as RunnerConfig;

use crate::cli::{ExportArgs, ImportArgs};
use crate::commands::testing::{stored_vm, CibFile};
use crate::config::Config;
use crate::storage::Storage;

/// The configuration file the package installs, every setting uncommented.
fn shipped_config() -> String {
    include_str!("../../packaging/vm-mgr.conf")
        .lines()
        .map(|l| {
            match l
                .strip_prefix("# ")
                .and_then(|r| Some((r, r.split_once(" = ")?.0)))
            {
                Some((setting, key)) if key.chars().all(|c| c.is_ascii_lowercase() || c == '-') => {
                    setting
                }
                _ => l,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `base` changed at a place chosen by `a` and `b`: cut there, `piece` put in, or a stretch
/// taken out (`how`).
fn mutate(base: &str, (a, b, piece, how): (usize, usize, String, u8)) -> String {
    let floor = |i: usize| {
        let i = i % (base.len() + 1);
        (0..=i)
            .rev()
            .find(|&j| base.is_char_boundary(j))
            .unwrap_or(0)
    };
    let (lo, hi) = (floor(a).min(floor(b)), floor(a).max(floor(b)));
    match how {
        0 => base[..lo].to_owned(),
        1 => format!("{}{piece}{}", &base[..lo], &base[lo..]),
        _ => format!("{}{}", &base[..lo], &base[hi..]),
    }
}

fn mutation() -> impl Strategy<Value = (usize, usize, String, u8)> {
    (any::<usize>(), any::<usize>(), ".{0,24}", 0u8..3)
}

fn within_bound<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "{what} took {:?}",
        t.elapsed()
    );
    out
}

#[test]
fn the_shipped_config_uncommented_parses() {
    let text = shipped_config();
    assert!(text.lines().any(|l| l.starts_with("pool = ")), "{text}");
    Config::parse(&text, Path::new("vm-mgr.conf")).expect("shipped config");
}

proptest! {
    #![proptest_config(RunnerConfig { cases: 256, ..RunnerConfig::default() })]

    #[test]
    fn config_parse_never_panics(text in prop_oneof![
        ".{0,400}",
        mutation().prop_map(|m| mutate(&shipped_config(), m)),
    ]) {
        let parsed = within_bound("Config::parse", || Config::parse(&text, Path::new("c")));
        if let Err(e) = parsed {
            prop_assert_eq!(e.exit_code(), crate::error::EXIT_USAGE, "{}", e);
            prop_assert!(e.to_string().starts_with("c:"), "{}", e);
        }
    }

    #[test]
    fn config_values_are_kept_as_given(pool in "[a-zA-Z0-9_.-]{1,32}", id in "[a-z0-9]{1,16}") {
        let c = Config::parse(&format!("pool = {pool}\nceph-id={id} # c\n"), Path::new("c"))
            .expect("valid config");
        prop_assert_eq!(c.pool, pool);
        prop_assert_eq!(c.ceph_id, id);
    }
}

/// A real export of VM `g1` (in-memory storage, recorded CIB), as `import` finds it.
struct Export {
    cib: CibFile,
    files: Vec<(&'static str, String)>,
}

const EXPORT_FILES: [&str; 4] = [
    "manifest.json",
    "metadata.json",
    "domain.xml",
    "fragment.xml",
];

fn export_g1() -> Export {
    let cib = CibFile::new("cib-3nodes-idle.xml");
    let storage = stored_vm("g1", &Default::default());
    storage.create_group("g1").unwrap();
    storage.group_add("g1", "system_g1").unwrap();
    let ctx = cib.ctx(storage, false);
    let to = cib.dir.join("export");
    crate::commands::export::run(
        &ctx,
        &ExportArgs {
            name: "g1".into(),
            to: to.clone(),
        },
    )
    .expect("export g1");
    let files = EXPORT_FILES
        .iter()
        .map(|f| (*f, std::fs::read_to_string(to.join(f)).unwrap()))
        .collect();
    Export { cib, files }
}

/// A dry-run import, under a new name, of the export with `file` replaced by `text`.
fn import_with(x: &Export, file: &str, text: &str) -> Result<(), crate::error::Error> {
    let dir = x.cib.dir.join("export");
    for (f, original) in &x.files {
        let body = if *f == file { text } else { original.as_str() };
        std::fs::write(dir.join(f), body).unwrap();
    }
    let mut ctx = x.cib.ctx(crate::storage::mem::Memory::new(), true);
    ctx.config.secret_uuid = Some("a1f0c3e2-5b1d-4c3a-9e8f-5a4db0c0ffee".into());
    let a = ImportArgs {
        from: dir,
        name: Some("r1".into()),
        disable: false,
        nostart: true,
    };
    within_bound(file, || crate::commands::import::run(&ctx, &a)).map(drop)
}

#[test]
fn the_untouched_export_imports() {
    let x = export_g1();
    import_with(&x, "", "").expect("dry-run import of a real export");
}

proptest! {
    #![proptest_config(RunnerConfig { cases: 64, ..RunnerConfig::default() })]

    #[test]
    fn a_corrupted_export_is_imported_or_refused_as_invalid(
        which in 0..EXPORT_FILES.len(),
        m in mutation(),
    ) {
        thread_local!(static X: Export = export_g1());
        X.with(|x| {
            let text = mutate(&x.files[which].1, m);
            if let Err(e) = import_with(x, EXPORT_FILES[which], &text) {
                prop_assert_eq!(e.exit_code(), crate::error::EXIT_USAGE,
                    "{}: {}\n{}", EXPORT_FILES[which], e, text);
            }
            Ok(())
        })?;
    }
}
