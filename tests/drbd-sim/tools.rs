//! The simulated tools (DRBD SIMULATOR; see main.rs): command-line handling and DRBD
//! semantics on top of [`crate::model`].

use std::fmt::Write as _;
use std::fs;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use shared::clock;
use shared::drbd::adm::parse_dump_xml;

use crate::model::{
    beat, connected, effective, node_name, res_dir, sync_all, Config, Lock, NodeState,
    HEARTBEAT_EVERY,
};

/// The kernel version the simulated module reports (9.2.2).
const KERNEL_VERSION_CODE: u32 = 0x090202;

fn real_drbdadm() -> String {
    std::env::var("DRBD_SIM_REAL_DRBDADM").unwrap_or_else(|_| "/usr/sbin/drbdadm".to_owned())
}

fn fail(code: u8, msg: &str) -> u8 {
    eprintln!("{msg}");
    code
}

/// `drbdadm` command line: global options, the command, its options and the resource.
#[derive(Debug, Default)]
struct AdmArgs {
    config: Option<String>,
    command: String,
    options: Vec<String>,
    resource: Option<String>,
    dry_run: bool,
}

fn parse_adm(args: &[String]) -> Result<AdmArgs, String> {
    let mut a = AdmArgs::default();
    let mut it = args.iter().peekable();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-c" | "--config-file" => {
                a.config = Some(it.next().ok_or("missing file after -c")?.clone());
            }
            s if s.starts_with("--config-file=") => {
                a.config = Some(s["--config-file=".len()..].to_owned());
            }
            "-S" | "--stacked" | "-v" | "--verbose" | "--" => {}
            "-d" | "--dry-run" => a.dry_run = true,
            s if s.starts_with('-') && a.command.is_empty() && s != "--version" => {}
            s if s.starts_with('-') => a.options.push(s.to_owned()),
            s if a.command.is_empty() => a.command = s.to_owned(),
            s => a.resource = Some(s.split(':').next().unwrap_or(s).to_owned()),
        }
    }
    if args.iter().any(|s| s == "--version") {
        a.command = "--version".to_owned();
    }
    Ok(a)
}

/// Reads the resource's configuration through the real drbdadm (`dump-xml`).
fn load_config(config: Option<&str>, res: &str) -> Result<Config, (u8, String)> {
    let mut cmd = Command::new(real_drbdadm());
    if let Some(c) = config {
        cmd.args(["-c", c]);
    }
    let out = cmd
        .args(["dump-xml", res])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| (20, format!("drbd-sim: cannot run {}: {e}", real_drbdadm())))?;
    if !out.status.success() {
        let code = out.status.code().unwrap_or(1).clamp(1, 255) as u8;
        return Err((code, String::from_utf8_lossy(&out.stderr).trim().to_owned()));
    }
    let parsed = parse_dump_xml(&String::from_utf8_lossy(&out.stdout), res)
        .map_err(|e| (10, format!("drbd-sim: {e}")))?;
    Ok(Config {
        hosts: parsed.hosts,
        volumes: parsed.volumes.max(1),
        allow_two_primaries: parsed.allow_two_primaries,
    })
}

/// Gives this node a new "kernel" token for `res` and a fresh heartbeat; the caller saves the
/// state, then calls [`spawn_kernel`] (in that order, so the kernel finds its token).
fn new_kernel(res: &str, node: &str, state: &mut NodeState) {
    state.kernel = format!("{}-{}", std::process::id(), clock::since_epoch().as_nanos());
    beat(res, node);
}

/// Starts the background heartbeat process of this node's kernel.
fn spawn_kernel(res: &str, node: &str, token: &str) {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let _ = Command::new(exe)
        .args(["kernel", res, node, token])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
}

/// `drbd-sim kernel RES NODE TOKEN`: keeps the heartbeat fresh while the node's state says the
/// resource is up with this kernel.
pub fn kernel(args: &[String]) -> u8 {
    let [res, node, token] = args else {
        return fail(2, "usage: drbd-sim kernel RES NODE TOKEN");
    };
    loop {
        if !res_dir(res).is_dir() {
            return 0;
        }
        let s = NodeState::load(res, node);
        if !s.up || s.kernel != *token {
            return 0;
        }
        beat(res, node);
        std::thread::sleep(HEARTBEAT_EVERY);
    }
}

/// `drbd-sim set RES NODE key=value...` (disk=, gen=) or `drbd-sim set RES NODE crash`
/// (the node's kernel dies as in a power failure).
pub fn set(args: &[String]) -> u8 {
    let [res, node, rest @ ..] = args else {
        return fail(2, "usage: drbd-sim set RES NODE disk=STATE|gen=N|crash ...");
    };
    let _lock = Lock::take(res);
    let mut s = NodeState::load(res, node);
    for kv in rest {
        match kv.split_once('=') {
            Some(("disk", v)) => s.disk = v.to_owned(),
            Some(("gen", v)) => s.gen = v.parse().unwrap_or(s.gen),
            None if kv == "crash" => {
                s.kernel = "crashed".to_owned();
                let _ = fs::remove_file(crate::model::heartbeat_path(res, node));
            }
            _ => return fail(2, &format!("drbd-sim set: bad argument {kv:?}")),
        }
    }
    s.save(res, node);
    0
}

fn version_text() -> String {
    let k = KERNEL_VERSION_CODE;
    format!(
        "DRBDADM_BUILDTAG=drbd-sim\\ (DRBD\\ SIMULATOR)\nDRBDADM_API_VERSION=2\n\
         DRBD_KERNEL_VERSION_CODE=0x{k:06x}\nDRBD_KERNEL_VERSION={}.{}.{}\n\
         DRBDADM_VERSION_CODE=0x091600\nDRBDADM_VERSION=9.22.0\n",
        k >> 16,
        (k >> 8) & 0xff,
        k & 0xff
    )
}

/// `drbdadm` (simulated).
pub fn drbdadm(args: &[String]) -> u8 {
    let a = match parse_adm(args) {
        Ok(a) => a,
        Err(e) => return fail(20, &format!("drbdadm (drbd-sim): {e}")),
    };
    match a.command.as_str() {
        "--version" => {
            print!("{}", version_text());
            return 0;
        }
        // Configuration queries: the real drbdadm parses drbd.conf without the module.
        "sh-dev" | "dump-xml" | "dump" | "sh-minor" | "sh-resources" | "sh-mod-parms" => {
            let err = Command::new(real_drbdadm()).args(args).exec();
            return fail(
                20,
                &format!("drbd-sim: cannot exec {}: {err}", real_drbdadm()),
            );
        }
        _ => {}
    }
    let Some(res) = a.resource.clone() else {
        return fail(20, "drbdadm (drbd-sim): no resource given");
    };
    let cfg = match load_config(a.config.as_deref(), &res) {
        Ok(c) => c,
        Err((code, msg)) => return fail(code, &msg),
    };
    if a.dry_run {
        return 0;
    }
    let node = node_name();
    if !cfg.hosts.contains(&node) {
        return fail(
            10,
            &format!("'{res}' not defined in your config (for this host {node})."),
        );
    }
    let _lock = Lock::take(&res);
    remember_config(&res, &cfg);
    let rc = adm_command(&a, &res, &node, &cfg);
    sync_all(&res, &cfg);
    rc
}

fn adm_command(a: &AdmArgs, res: &str, node: &str, cfg: &Config) -> u8 {
    let mut me = effective(res, node);
    let skip_net = a.options.iter().any(|o| o == "--skip-net");
    match a.command.as_str() {
        "up" | "adjust" => {
            let fresh = !me.up;
            if fresh {
                me.up = true;
                me.primary = false;
                me.net = false;
                new_kernel(res, node, &mut me);
            }
            if a.command == "up" || !skip_net {
                me.net = true;
            }
            me.save(res, node);
            if fresh {
                spawn_kernel(res, node, &me.kernel);
            }
            0
        }
        "down" => {
            me.up = false;
            me.net = false;
            me.primary = false;
            me.save(res, node);
            0
        }
        "secondary" => {
            if !me.up {
                return fail(10, &format!("{res}: No such resource"));
            }
            me.primary = false;
            me.save(res, node);
            0
        }
        "primary" => primary(res, node, cfg, me),
        "outdate" => {
            if me.primary {
                return fail(
                    17,
                    &format!("{res}: State change failed: (-7) Refusing to be Primary while peer is not outdated"),
                );
            }
            if me.disk == "UpToDate" || me.disk == "Consistent" {
                me.disk = "Outdated".to_owned();
            }
            me.save(res, node);
            0
        }
        "unfence-peer" | "wait-connect" | "connect" | "disconnect" | "check-resize" => 0,
        other => fail(
            20,
            &format!("drbdadm (drbd-sim): command '{other}' is not simulated"),
        ),
    }
}

fn primary(res: &str, node: &str, cfg: &Config, mut me: NodeState) -> u8 {
    if !me.up {
        return fail(10, &format!("{res}: No such resource"));
    }
    if me.primary {
        return 0;
    }
    let peers: Vec<NodeState> = cfg
        .hosts
        .iter()
        .filter(|h| *h != node)
        .map(|h| effective(res, h))
        .filter(|p| connected(cfg, &me, p))
        .collect();
    if peers.iter().any(|p| p.primary) && !cfg.allow_two_primaries {
        eprintln!("{res}: State change failed: (-1) Multiple primaries not allowed by config");
        eprintln!("Command 'drbdsetup primary {res}' terminated with exit code 11");
        return 11;
    }
    let good_peer = peers.iter().any(|p| p.disk == "UpToDate");
    if me.disk != "UpToDate" && !good_peer {
        eprintln!("{res}: State change failed: (-2) Need access to UpToDate data");
        eprintln!("Command 'drbdsetup primary {res}' terminated with exit code 17");
        return 17;
    }
    if peers.is_empty() {
        me.gen += 1; // new current UUID: the peers' data is now older
    }
    me.primary = true;
    me.save(res, node);
    0
}

/// `drbdsetup` (simulated): `events2 --now`, `down`, `primary`, `secondary`.
pub fn drbdsetup(args: &[String]) -> u8 {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let positional: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| !w.starts_with('-'))
        .collect();
    match positional.as_slice() {
        ["events2", rest @ ..] => {
            if !words.contains(&"--now") {
                return fail(20, "drbdsetup (drbd-sim): only events2 --now is simulated");
            }
            let res = rest.first().copied().unwrap_or("all");
            let stamp = words.contains(&"--timestamps");
            print!("{}", events2(res, stamp));
            0
        }
        ["down", res] => {
            let _lock = Lock::take(res);
            let mut me = NodeState::load(res, &node_name());
            me.up = false;
            me.net = false;
            me.primary = false;
            me.save(res, &node_name());
            0
        }
        [cmd, ..] => fail(
            20,
            &format!("drbdsetup (drbd-sim): command '{cmd}' is not simulated"),
        ),
        [] => fail(20, "drbdsetup (drbd-sim): no command"),
    }
}

/// The hosts of a resource as recorded by earlier commands (`hosts` file), for events2, which
/// gets no configuration file.
fn known_hosts(res: &str) -> Vec<String> {
    let mut hosts: Vec<String> = fs::read_dir(res_dir(res))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".state"))
                .map(str::to_owned)
        })
        .collect();
    hosts.sort();
    hosts
}

fn cfg_file(res: &str) -> std::path::PathBuf {
    res_dir(res).join("config")
}

/// Remembers the configuration seen by drbdadm so that drbdsetup (which gets none) can use it.
pub fn remember_config(res: &str, cfg: &Config) {
    let text = format!(
        "hosts={}\nvolumes={}\nallow-two-primaries={}\n",
        cfg.hosts.join(" "),
        cfg.volumes,
        u8::from(cfg.allow_two_primaries)
    );
    let _ = fs::write(cfg_file(res), text);
}

fn recall_config(res: &str) -> Config {
    let text = fs::read_to_string(cfg_file(res)).unwrap_or_default();
    let get = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")).map(str::to_owned))
    };
    Config {
        hosts: get("hosts")
            .map(|h| h.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_else(|| known_hosts(res)),
        volumes: get("volumes").and_then(|v| v.parse().ok()).unwrap_or(1),
        allow_two_primaries: get("allow-two-primaries").as_deref() == Some("1"),
    }
}

/// `drbdsetup events2 --now RES`: the exists lines of this node's view, then `exists -`.
fn events2(res: &str, stamp: bool) -> String {
    let node = node_name();
    let mut out = String::new();
    let prefix = if stamp {
        "2000-01-01T00:00:00.000000+00:00 "
    } else {
        ""
    };
    if res == "all" || !res_dir(res).is_dir() {
        let _ = writeln!(out, "{prefix}exists -");
        return out;
    }
    let cfg = recall_config(res);
    {
        let _lock = Lock::take(res);
        sync_all(res, &cfg);
    }
    let me = effective(res, &node);
    if !me.up {
        let _ = writeln!(out, "{prefix}exists -");
        return out;
    }
    let role = if me.primary { "Primary" } else { "Secondary" };
    let _ = writeln!(
        out,
        "{prefix}exists resource name:{res} role:{role} suspended:no force-io-failures:no"
    );
    let peers: Vec<(usize, &String, NodeState)> = cfg
        .hosts
        .iter()
        .enumerate()
        .filter(|(_, h)| **h != node)
        .map(|(i, h)| (i, h, effective(res, h)))
        .collect();
    for (id, host, p) in &peers {
        let (state, prole) = if !me.net {
            ("StandAlone", "Unknown")
        } else if connected(&cfg, &me, p) {
            ("Connected", if p.primary { "Primary" } else { "Secondary" })
        } else if p.up && p.net && p.primary && me.primary {
            ("StandAlone", "Unknown") // refused: two Primaries without allow-two-primaries
        } else {
            ("Connecting", "Unknown")
        };
        let _ = writeln!(
            out,
            "{prefix}exists connection name:{res} peer-node-id:{id} conn-name:{host} \
             connection:{state} role:{prole} congested:no ap-in-flight:0 rs-in-flight:0"
        );
    }
    for v in 0..cfg.volumes {
        let _ = writeln!(
            out,
            "{prefix}exists device name:{res} volume:{v} minor:{v} disk:{} client:no \
             quorum:yes size:1048576 read:0 written:0 al-writes:0 bm-writes:0 upper-pending:0 \
             lower-pending:0 al-suspended:no blocked:no",
            me.disk
        );
    }
    for (id, host, p) in &peers {
        let conn = connected(&cfg, &me, p);
        for v in 0..cfg.volumes {
            let _ = writeln!(
                out,
                "{prefix}exists peer-device name:{res} peer-node-id:{id} conn-name:{host} \
                 volume:{v} replication:{} peer-disk:{} peer-client:no resync-suspended:no",
                if conn { "Established" } else { "Off" },
                if conn { p.disk.as_str() } else { "DUnknown" }
            );
        }
    }
    let _ = writeln!(out, "{prefix}exists -");
    out
}
