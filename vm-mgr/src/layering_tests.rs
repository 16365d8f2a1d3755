//! Floors that only look down: no module of vm-mgr imports from a module that imports it.
//!
//! The modules are the top-level modules of `src/` (a directory counts as one module) and,
//! inside `commands/`, each verb's file. A file depends on module `M` where its code (comments
//! left out) names `crate::M`; a verb's file also where it names `super::V` (the verb `V`, or
//! `commands` itself for anything else; a `super::` inside an inline module such as `mod tests`
//! names the file itself). `commands/mod.rs` depends on every verb it declares.
//! `cli*.rs` are one module, `cli` (the flags, split in files).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The identifiers that follow each `prefix` in `code` (e.g. `crate::` → `cluster`).
fn names_after<'a>(code: &'a str, prefix: &str) -> Vec<&'a str> {
    let mut names = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        names.push(&rest[..end]);
        // `super::{a, b}` and `crate::{a, b}`: every name in the braces.
        if end == 0 && rest.starts_with('{') {
            let close = rest.find('}').unwrap_or(rest.len());
            for part in rest[1..close].split(',') {
                let part = part.trim();
                let end = part
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(part.len());
                names.push(&part[..end]);
            }
        }
    }
    names
}

/// `cli_placement` and `cli_tests` are parts of `cli`.
fn floor_one(module: &str) -> &str {
    if module.starts_with("cli") {
        "cli"
    } else {
        module
    }
}

/// The module graph of `src/`: module → the modules it uses.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let verbs: BTreeSet<String> = std::fs::read_dir(src.join("commands"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            let stem = p.file_stem()?.to_str()?.to_owned();
            (stem != "mod").then_some(stem)
        })
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap();
        let parts: Vec<&str> = rel.iter().map(|p| p.to_str().unwrap()).collect();
        let top = floor_one(parts[0].trim_end_matches(".rs"));
        if top == "main" || top == "lib" || top == "layering_tests" {
            continue;
        }
        let stem = rel.file_stem().unwrap().to_str().unwrap();
        let module = match parts.as_slice() {
            ["commands", f] if *f != "mod.rs" => format!("commands::{stem}"),
            _ => top.to_owned(),
        };
        let text = std::fs::read_to_string(&file).unwrap();
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let deps = graph.entry(module.clone()).or_default();
        let verb_of = |n: &str| {
            if verbs.contains(n) {
                format!("commands::{n}")
            } else {
                "commands".to_owned()
            }
        };
        for name in names_after(&code, "crate::") {
            match name {
                "commands" => {
                    for sub in names_after(&code, "crate::commands::") {
                        deps.insert(verb_of(sub));
                    }
                }
                "" | "self" => {}
                n => {
                    deps.insert(floor_one(n).to_owned());
                }
            }
        }
        if module.starts_with("commands::") {
            // In an inline module (`mod tests { use super::x; }`), `super` is the file itself.
            let outer = code.find("\nmod ").map_or(code.as_str(), |at| &code[..at]);
            for name in names_after(outer, "super::") {
                if name != "super" && !name.is_empty() {
                    deps.insert(verb_of(name));
                }
            }
        }
        if module == "commands" {
            for v in &verbs {
                if code.contains(&format!("mod {v};")) {
                    deps.insert(format!("commands::{v}"));
                }
            }
        }
        deps.remove(&module);
    }
    graph
}

/// A cycle in `graph`, as the path of modules around it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_module_imports_from_one_that_imports_it() {
    let graph = module_graph(&src());
    assert!(graph.contains_key("cluster") && graph.contains_key("commands::create"));
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn error_is_a_leaf() {
    let graph = module_graph(&src());
    assert_eq!(graph.get("error"), Some(&BTreeSet::new()));
}

#[test]
fn verbs_do_not_call_verbs() {
    let graph = module_graph(&src());
    for (module, deps) in &graph {
        if module.starts_with("commands::")
            && !module.ends_with("tests")
            && module != "commands::testing"
        {
            let verbs: Vec<&String> = deps.iter().filter(|d| d.starts_with("commands")).collect();
            assert!(verbs.is_empty(), "{module} uses {verbs:?}");
        }
    }
}

#[test]
fn the_check_finds_a_cycle() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    assert_eq!(find_cycle(&g), None);
    g.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        find_cycle(&g),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    assert_eq!(
        names_after(
            "use crate::{cli, ctx}; x::crate::no; crate::error::E",
            "crate::"
        ),
        vec!["", "cli", "ctx", "error"]
    );
}
