//! The planner on hand-made models: capacity, constraints, strategies, the bound, ties, and
//! the sandbox scenario of `vm_mgr_balance`.

use super::*;

/// A node with `cpu` and `mem` capacity (names: cpu, mem).
fn node(name: &str, cpu: i64, mem: i64) -> Node {
    Node {
        name: name.to_owned(),
        capacity: vec![cpu, mem],
        used: vec![0, 0],
        accepts: true,
    }
}

/// A movable VM on node `at` needing `cpu` and `mem`.
fn vm(name: &str, at: usize, cpu: i64, mem: i64) -> Vm {
    Vm {
        name: name.to_owned(),
        node: at,
        need: vec![cpu, mem],
        movable: true,
        allowed: Vec::new(),
        apart: Vec::new(),
    }
}

/// The model with `used` filled from the VMs and every node allowed where not said.
fn model(nodes: Vec<Node>, vms: Vec<Vm>) -> Model {
    let mut m = Model {
        names: vec!["cpu".into(), "mem".into()],
        enforce_capacity: true,
        nodes,
        vms,
    };
    for v in &mut m.vms {
        if v.allowed.is_empty() {
            v.allowed = vec![true; m.nodes.len()];
        }
    }
    for v in &m.vms {
        for (k, n) in v.need.iter().enumerate() {
            m.nodes[v.node].used[k] += n;
        }
    }
    m
}

/// The plan as "vm:from>to".
fn named(m: &Model, moves: &[Move]) -> Vec<String> {
    moves
        .iter()
        .map(|x| {
            format!(
                "{}:{}>{}",
                m.vms[x.vm].name, m.nodes[x.from].name, m.nodes[x.to].name
            )
        })
        .collect()
}

/// The model after the moves (VMs where the plan put them, use recomputed).
fn after(m: &Model, moves: &[Move]) -> Model {
    let mut vms = m.vms.clone();
    for x in moves {
        vms[x.vm].node = x.to;
    }
    let nodes = m
        .nodes
        .iter()
        .map(|n| Node {
            used: vec![0; n.used.len()],
            ..n.clone()
        })
        .collect();
    model(nodes, vms)
}

/// The 3-node sandbox of `vm_mgr_balance`: 1024, 1024 and 600 MiB, 4 threads; the 512 MiB VM
/// on sim1, the four 64 MiB ones two on sim2 and one on sim3, and `s0` migrated beside the big
/// one.
fn sandbox() -> Model {
    model(
        vec![
            node("sim1", 4, 1024),
            node("sim2", 4, 1024),
            node("sim3", 4, 600),
        ],
        vec![
            vm("big", 0, 1, 512),
            vm("s0", 0, 1, 64),
            vm("s1", 1, 1, 64),
            vm("s2", 1, 1, 64),
            vm("s3", 2, 1, 64),
        ],
    )
}

#[test]
fn the_sandbox_case_moves_the_small_vm_off_the_big_ones_node_and_converges() {
    let m = sandbox();
    let moves = plan(&m, 10);
    assert!(!moves.is_empty());
    assert_eq!(m.vms[moves[0].vm].name, "s0", "{:?}", named(&m, &moves));
    assert_eq!(m.nodes[moves[0].from].name, "sim1");
    let done = after(&m, &moves);
    // Nothing beside the big VM, and nothing more to do afterwards.
    assert!(done.vms.iter().all(|v| v.name == "big" || v.node != 0));
    assert_eq!(named(&done, &plan(&done, 10)), Vec::<String>::new());
    // The spread of memory use went down.
    let (before, later) = (spread(&m, &[]), spread(&m, &moves));
    assert_eq!(before[1].0, "mem");
    assert!(later[1].1 < before[1].1, "{before:?} {later:?}");
}

#[test]
fn a_balanced_cluster_gets_no_move() {
    let m = model(
        vec![node("a", 4, 1000), node("b", 4, 1000)],
        vec![vm("x", 0, 1, 300), vm("y", 1, 1, 300), vm("z", 1, 1, 100)],
    );
    // b uses 400 and a 300: moving z (100) would only swap the roles.
    assert_eq!(named(&m, &plan(&m, 10)), Vec::<String>::new());
}

#[test]
fn capacity_is_respected_on_every_name() {
    // c has room in memory but no free CPU (a VM that stays uses it): the VM goes to d,
    // fuller in memory but with CPU.
    let mut busy = vm("busy", 1, 1, 10);
    busy.movable = false;
    let mut m = model(
        vec![node("a", 8, 1000), node("c", 1, 1000), node("d", 8, 1000)],
        vec![
            busy,
            vm("big1", 0, 1, 400),
            vm("big2", 0, 1, 400),
            vm("d1", 2, 1, 300),
        ],
    );
    assert_eq!(named(&m, &plan(&m, 10)), ["big1:a>d"]);
    // Without room anywhere (d: 300 used of 650), nothing moves.
    m.nodes[2].capacity[1] = 650;
    assert_eq!(named(&m, &plan(&m, 10)), Vec::<String>::new());
    // Without a utilization strategy the figures only weigh: b takes 400 beyond its 390.
    let mut m = model(
        vec![node("a", 8, 1000), node("b", 8, 390)],
        vec![vm("big1", 0, 1, 400), vm("big2", 0, 1, 400)],
    );
    assert_eq!(named(&m, &plan(&m, 10)), Vec::<String>::new());
    m.enforce_capacity = false;
    assert_eq!(named(&m, &plan(&m, 10)), ["big1:a>b"]);
}

#[test]
fn locations_and_anti_colocations_are_respected() {
    let nodes = || vec![node("a", 8, 1000), node("b", 8, 1000), node("c", 8, 1000)];
    let vms = || vec![vm("p", 0, 1, 400), vm("q", 0, 1, 400), vm("r", 1, 1, 100)];
    let free = model(nodes(), vms());
    assert_eq!(named(&free, &plan(&free, 1)), ["p:a>c"]);
    // p may not go to c (a ban, or a preference elsewhere): the best left is q to c.
    let mut banned = vms();
    banned[0].allowed = vec![true, true, false];
    let banned = model(nodes(), banned);
    assert_eq!(named(&banned, &plan(&banned, 1)), ["q:a>c"]);
    // p and q both apart from a VM on c: they go to b.
    let mut apart = vms();
    apart.push(vm("s", 2, 1, 100));
    apart[0].apart = vec![3];
    apart[1].apart = vec![3];
    apart[3].apart = vec![0, 1];
    let apart = model(nodes(), apart);
    let moves = plan(&apart, 10);
    assert!(!moves.is_empty());
    for x in &moves {
        let (name, to) = (&apart.vms[x.vm].name, &apart.nodes[x.to].name);
        assert!(
            !(["p", "q"].contains(&name.as_str()) && to == "c"),
            "{moves:?}"
        );
        assert!(!(name == "s" && to == "a"), "{moves:?}");
    }
}

#[test]
fn vms_not_movable_and_nodes_not_accepting_stay_as_they_are() {
    let nodes = || vec![node("a", 8, 1000), node("b", 8, 1000), node("c", 8, 1000)];
    let mut vms = vec![vm("p", 0, 1, 400), vm("q", 0, 1, 400)];
    vms[0].movable = false;
    vms[1].movable = false;
    let m = model(nodes(), vms);
    assert_eq!(named(&m, &plan(&m, 10)), Vec::<String>::new());
    // A node that does not accept VMs (standby, offline) is no target, and what runs there
    // stays: Pacemaker is already moving it.
    let mut ns = nodes();
    ns[2].accepts = false;
    let m = model(ns, vec![vm("p", 0, 1, 400), vm("q", 0, 1, 400)]);
    assert_eq!(named(&m, &plan(&m, 10)), ["p:a>b"]);
    let mut ns = nodes();
    ns[0].accepts = false;
    let m = model(ns, vec![vm("p", 0, 1, 400), vm("q", 0, 1, 400)]);
    assert_eq!(named(&m, &plan(&m, 10)), Vec::<String>::new());
}

#[test]
fn max_moves_bounds_the_plan_and_each_vm_moves_once() {
    let mut vms: Vec<Vm> = (0..20).map(|i| vm(&format!("v{i:02}"), 0, 1, 10)).collect();
    vms.push(vm("w", 1, 1, 10));
    let m = model(
        vec![
            node("a", 64, 1000),
            node("b", 64, 1000),
            node("c", 64, 1000),
        ],
        vms,
    );
    assert_eq!(plan(&m, 0), Vec::new());
    assert_eq!(plan(&m, 3).len(), 3);
    let all = plan(&m, usize::MAX);
    assert!(all.len() <= m.vms.len(), "{}", all.len());
    let mut names = named(&m, &all);
    names.sort();
    names.dedup();
    assert_eq!(names.len(), all.len(), "a VM moved twice: {names:?}");
    // Every move lowered the imbalance, the first the most.
    assert!(all.iter().all(|x| x.gain > 0.0));
    assert!(all.windows(2).all(|w| w[0].gain >= w[1].gain - 1e-12));
    // All from a, spread over b and c: 7 each at the end.
    let done = after(&m, &all);
    let count = |n: usize| done.vms.iter().filter(|v| v.node == n).count();
    assert_eq!((count(0), count(1), count(2)), (7, 7, 7), "{names:?}");
}

#[test]
fn the_plan_is_deterministic_and_ties_go_by_name() {
    // Two equal VMs and two equal empty nodes: the first VM by name to the first node.
    let m = model(
        vec![node("a", 8, 1000), node("b", 8, 1000), node("c", 8, 1000)],
        vec![
            vm("v1", 0, 1, 300),
            vm("v2", 0, 1, 300),
            vm("v3", 0, 1, 300),
        ],
    );
    let first = plan(&m, 10);
    assert_eq!(named(&m, &first), ["v1:a>b", "v2:a>c"]);
    for _ in 0..5 {
        assert_eq!(plan(&m, 10), first);
    }
}
