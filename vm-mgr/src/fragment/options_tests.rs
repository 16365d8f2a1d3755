use super::*;
use crate::fragment::{build, CephAccess, Fragment};

fn vm(settings: &Settings) -> (VmIds, Element) {
    let ids = VmIds::new("t1");
    let ceph = CephAccess {
        pool: "rbd".into(),
        user: "admin".into(),
        conf: None,
    };
    let f: Fragment = build(&ids, settings, &ceph, "Started");
    (ids, f.scratch_cib())
}

fn op_timeout(tree: &Element, prim: &str, name: &str) -> Option<String> {
    let p = tree.find_id(prim)?;
    p.child("operations")?
        .children_named("op")
        .find(|o| o.attr("name") == Some(name))
        .and_then(|o| o.attr("timeout"))
        .map(str::to_owned)
}

#[test]
fn each_option_lands_where_create_puts_it() {
    let (ids, mut tree) = vm(&Settings::default());
    let o = Options {
        stop_timeout: Some(90),
        migrate_to_timeout: Some(300),
        priority: Some(-5),
        live_migration: Some(true),
        migration_user: Some("mig".into()),
        params: [("migration_transport".to_owned(), "tcp".to_owned())].into(),
        meta: [("resource-stickiness".to_owned(), "100".to_owned())].into(),
    };
    assert!(apply(&mut tree, &ids, &o).unwrap());
    let d = ids.domain();
    assert_eq!(op_timeout(&tree, &d, "stop").as_deref(), Some("90s"));
    assert_eq!(op_timeout(&tree, &d, "migrate_to").as_deref(), Some("300s"));
    let dom = tree.find_id(&d).unwrap();
    assert_eq!(
        tree::nvpair(dom, SetKind::Instance, "migration_user"),
        Some("mig")
    );
    assert_eq!(
        tree::nvpair(dom, SetKind::Instance, "migration_transport"),
        Some("tcp")
    );
    assert_eq!(
        tree::nvpair(dom, SetKind::Meta, "allow-migrate"),
        Some("true")
    );
    let guard = tree.find_id(&ids.guard()).unwrap();
    assert_eq!(
        tree::nvpair(guard, SetKind::Meta, "allow-migrate"),
        Some("true")
    );
    assert_eq!(
        op_timeout(&tree, &ids.guard(), "migrate_from").as_deref(),
        Some("60s")
    );
    let group = tree.find_id("t1").unwrap();
    assert_eq!(tree::nvpair(group, SetKind::Meta, "priority"), Some("-5"));
    assert_eq!(
        tree::nvpair(group, SetKind::Meta, "resource-stickiness"),
        Some("100")
    );
    assert_eq!(
        tree::nvpair(group, SetKind::Meta, "target-role"),
        Some("Started")
    );
    // The same options again change nothing; the result is what create builds from the
    // settings these options give.
    assert!(!apply(&mut tree, &ids, &o).unwrap());
    let settings = o.apply_settings(&Settings::default());
    let (_, built) = vm(&settings);
    for id in [d.as_str(), "t1"] {
        let (a, b) = (tree.find_id(id).unwrap(), built.find_id(id).unwrap());
        for kind in [SetKind::Meta, SetKind::Instance] {
            for k in [
                "priority",
                "migration_user",
                "migration_transport",
                "allow-migrate",
            ] {
                assert_eq!(
                    tree::nvpair(a, kind, k),
                    tree::nvpair(b, kind, k),
                    "{id} {k}"
                );
            }
        }
    }
}

#[test]
fn disabling_live_migration_and_empty_values_remove() {
    let settings = Settings {
        live_migration: true,
        migration_user: Some("mig".into()),
        pacemaker_meta: [("is-managed".to_owned(), "true".to_owned())].into(),
        ..Settings::default()
    };
    let (ids, mut tree) = vm(&settings);
    let o = Options {
        live_migration: Some(false),
        migration_user: Some(String::new()),
        meta: [("is-managed".to_owned(), String::new())].into(),
        ..Options::default()
    };
    assert!(apply(&mut tree, &ids, &o).unwrap());
    let dom = tree.find_id(&ids.domain()).unwrap();
    assert_eq!(
        tree::nvpair(dom, SetKind::Meta, "allow-migrate"),
        Some("false")
    );
    assert_eq!(tree::nvpair(dom, SetKind::Instance, "migration_user"), None);
    assert_eq!(op_timeout(&tree, &ids.guard(), "migrate_to"), None);
    let group = tree.find_id("t1").unwrap();
    assert_eq!(tree::nvpair(group, SetKind::Meta, "is-managed"), None);
    let s = o.apply_settings(&settings);
    assert!(!s.live_migration && s.migration_user.is_none() && s.pacemaker_meta.is_empty());
}

#[test]
fn control_characters_and_a_missing_vm_are_refused() {
    let (ids, mut tree) = vm(&Settings::default());
    let o = Options {
        params: [("x".to_owned(), "a\nb".to_owned())].into(),
        ..Options::default()
    };
    let e = apply(&mut tree, &ids, &o).unwrap_err();
    assert!(matches!(e, FragmentError::ControlCharacter { .. }), "{e}");
    assert_eq!(e.exit_code(), 2);
    let e = apply(&mut tree, &VmIds::new("other"), &Options::default()).unwrap_err();
    assert_eq!(e.exit_code(), 3, "{e}");
}
