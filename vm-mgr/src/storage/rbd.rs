//! Ceph RBD storage through the `rbd`, `ceph` and `qemu-img` command lines (JSON output where
//! they offer it). Command lines are built by pure functions and outputs read by pure parsers,
//! tested on real outputs recorded in `tests/fixtures/ceph/vm-mgr/`.
//!
//! Candidates for `shared::ceph` once it has them: the group calls, image-meta list/set/remove,
//! `rbd ls`, `rbd rm`/`snap purge`, the mon dump parser and the qemu-img import.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use shared::cmd::{Cmd, CmdError};

use super::{MonHost, Result, Storage, StorageError};

/// Time limit of one `rbd`/`ceph` call.
pub const RBD_TIMEOUT: Duration = Duration::from_secs(60);
/// Time limit of one image import.
pub const IMPORT_TIMEOUT: Duration = Duration::from_secs(4 * 3600);
/// Time limit of `qemu-img info`.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// util-linux's `setpriv`, which gives the import a parent-death signal (no `unsafe` here).
const SETPRIV: &str = "setpriv";

/// Exit code of `rbd` for "no such image/key" (ENOENT).
const RBD_ENOENT: i32 = 2;

/// Connection settings and the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rbd {
    pool: String,
    conf: Option<PathBuf>,
    id: String,
    mon_hosts: Option<Vec<MonHost>>,
}

fn check_word(what: &'static str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && !value.starts_with('-')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(StorageError::InvalidSetting {
            what,
            value: value.to_owned(),
            reason: "only letters, digits, '.', '_' and '-' are allowed",
        })
    }
}

impl Rbd {
    /// Storage in `pool`, with an optional Ceph configuration file, as client `id`; `mon_hosts`
    /// overrides what `ceph mon dump` says.
    pub fn new(
        pool: &str,
        conf: Option<PathBuf>,
        id: &str,
        mon_hosts: Option<Vec<MonHost>>,
    ) -> Result<Rbd> {
        check_word("pool name", pool)?;
        check_word("Ceph client id", id)?;
        if let Some(c) = &conf {
            let s = c.to_string_lossy();
            if !c.is_absolute() || s.contains(':') || s.contains('@') {
                return Err(StorageError::InvalidSetting {
                    what: "Ceph configuration file",
                    value: s.into_owned(),
                    reason: "it must be an absolute path without ':' or '@'",
                });
            }
        }
        Ok(Rbd {
            pool: pool.to_owned(),
            conf,
            id: id.to_owned(),
            mon_hosts,
        })
    }

    fn spec(&self, name: &str) -> String {
        format!("{}/{}", self.pool, name)
    }

    /// The argv of an `rbd` (or `ceph`) call with the connection options.
    pub fn argv(&self, program: &str, args: &[&str]) -> Vec<String> {
        let mut argv = vec![program.to_owned()];
        if let Some(c) = &self.conf {
            argv.push("--conf".into());
            argv.push(c.to_string_lossy().into_owned());
        }
        argv.push("--id".into());
        argv.push(self.id.clone());
        argv.extend(args.iter().map(|s| s.to_string()));
        argv
    }

    fn cmd(&self, program: &str, args: &[&str]) -> Cmd {
        let argv = self.argv(program, args);
        Cmd::new(&argv[0]).args(&argv[1..]).timeout(RBD_TIMEOUT)
    }

    /// Runs an rbd call; ENOENT becomes [`StorageError::NotFound`] naming `what`.
    fn run(&self, args: &[&str], what: impl FnOnce() -> String) -> Result<String> {
        match self.cmd("rbd", args).run() {
            Ok(out) => Ok(out.stdout_str()),
            Err(e) if is_enoent(&e) => Err(StorageError::NotFound { what: what() }),
            Err(e) => Err(e.into()),
        }
    }

    /// The argv importing `file` (in `format`) into `image`: `qemu-img convert` under
    /// `setpriv --pdeathsig KILL`, so that the import dies with vm-mgr. qemu-img runs in its own
    /// process group; without this, a `kill -9` of vm-mgr left it writing to the half-made
    /// image, whose watch made `create --force` and `remove` fail ("image still has
    /// watchers") until the orphan finished.
    pub fn import_argv(&self, file: &Path, format: &str, image: &str) -> Vec<OsString> {
        let mut argv: Vec<OsString> = [SETPRIV, "--pdeathsig", "KILL", "qemu-img", "convert"]
            .into_iter()
            .chain(["-p", "-f", format, "-O", "raw"])
            .map(OsString::from)
            .collect();
        argv.push(file.as_os_str().to_owned());
        argv.push(self.qemu_target(image).into());
        argv
    }

    /// The `qemu-img convert` target of `image`.
    pub fn qemu_target(&self, image: &str) -> String {
        let mut t = format!("rbd:{}/{}:id={}", self.pool, image, self.id);
        if let Some(c) = &self.conf {
            t.push_str(":conf=");
            t.push_str(&c.to_string_lossy());
        }
        t
    }
}

/// Whether `rbd` failed with ENOENT.
pub fn is_enoent(e: &CmdError) -> bool {
    match e {
        CmdError::Failed { code, stderr, .. } => {
            *code == Some(RBD_ENOENT) || stderr.contains("(2) No such file or directory")
        }
        _ => false,
    }
}

/// The fraction done (0.0 to 1.0) in what `qemu-img convert -p` has written so far: it rewrites
/// one line, `    (12.34/100%)\r`, as it goes; `None` before the first.
pub fn qemu_img_progress(stdout: &[u8]) -> Option<f64> {
    let text = String::from_utf8_lossy(stdout);
    text.rsplit(['\r', '\n'])
        .filter_map(|piece| {
            let inner = piece.trim().strip_prefix('(')?.strip_suffix("/100%)")?;
            inner.parse::<f64>().ok()
        })
        .next()
        .map(|pct| (pct / 100.0).clamp(0.0, 1.0))
}

/// Parses a JSON array of names (`rbd ls`, `rbd group ls`).
pub fn parse_names(json: &str, what: &str) -> Result<Vec<String>> {
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(json).map_err(|e| StorageError::Parse {
        what: what.to_owned(),
        detail: e.to_string(),
    })
}

/// Parses `rbd group image list --format json`: the images of `pool` in the group.
pub fn parse_group_images(json: &str, pool: &str) -> Result<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Entry {
        image: String,
        pool: String,
    }
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    let entries: Vec<Entry> = serde_json::from_str(json).map_err(|e| StorageError::Parse {
        what: "rbd group image list".into(),
        detail: e.to_string(),
    })?;
    Ok(entries
        .into_iter()
        .filter(|e| e.pool == pool)
        .map(|e| e.image)
        .collect())
}

/// Parses `rbd image-meta list --format json` (which prints nothing when there is no metadata).
pub fn parse_meta_list(json: &str) -> Result<BTreeMap<String, String>> {
    if json.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    serde_json::from_str(json).map_err(|e| StorageError::Parse {
        what: "rbd image-meta list".into(),
        detail: e.to_string(),
    })
}

/// Parses `ceph mon dump --format json`: each monitor's msgr v1 address (what QEMU uses).
pub fn parse_mon_dump(json: &str) -> Result<Vec<MonHost>> {
    let err = |detail: String| StorageError::Parse {
        what: "ceph mon dump".into(),
        detail,
    };
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| err(e.to_string()))?;
    let mons = v["mons"]
        .as_array()
        .ok_or_else(|| err("no \"mons\" array".into()))?;
    let mut hosts = Vec::new();
    for mon in mons {
        let v1 = mon["public_addrs"]["addrvec"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["type"] == "v1"))
            .and_then(|x| x["addr"].as_str())
            .map(str::to_owned)
            .or_else(|| {
                // Old format: "addr": "IP:PORT/NONCE".
                mon["addr"]
                    .as_str()
                    .map(|a| a.split('/').next().unwrap_or(a).to_owned())
            });
        if let Some(addr) = v1 {
            hosts.push(parse_host_port(&addr).ok_or_else(|| err(format!("bad address {addr:?}")))?);
        }
    }
    if hosts.is_empty() {
        return Err(err("no monitor has a v1 address".into()));
    }
    Ok(hosts)
}

/// Parses `HOST:PORT` (or `[V6]:PORT`, or `HOST` alone for port 6789).
pub fn parse_host_port(s: &str) -> Option<MonHost> {
    let s = s.trim();
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest.split_once(']')?;
        (h, p.strip_prefix(':').unwrap_or(""))
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, p),
            None => (s, ""),
        }
    };
    let port = if port.is_empty() {
        6789
    } else {
        port.parse().ok()?
    };
    let ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    ok.then(|| MonHost {
        host: host.to_owned(),
        port,
    })
}

/// Parses `qemu-img info --output=json`: the detected format.
pub fn parse_qemu_img_format(json: &str) -> Result<String> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| StorageError::Parse {
        what: "qemu-img info".into(),
        detail: e.to_string(),
    })?;
    v["format"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| StorageError::Parse {
            what: "qemu-img info".into(),
            detail: "no \"format\"".into(),
        })
}

impl Storage for Rbd {
    fn pool(&self) -> &str {
        &self.pool
    }

    fn client_id(&self) -> &str {
        &self.id
    }

    fn list_images(&self) -> Result<Vec<String>> {
        let out = self.run(&["ls", "--format", "json", &self.pool], || {
            format!("Pool {}", self.pool)
        })?;
        parse_names(&out, "rbd ls")
    }

    fn image_exists(&self, image: &str) -> Result<bool> {
        match self.run(
            &["info", "--format", "json", &self.spec(image)],
            String::new,
        ) {
            Ok(_) => Ok(true),
            Err(StorageError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn list_groups(&self) -> Result<Vec<String>> {
        let out = self.run(&["group", "ls", "--format", "json", &self.pool], || {
            format!("Pool {}", self.pool)
        })?;
        parse_names(&out, "rbd group ls")
    }

    fn create_group(&self, group: &str) -> Result<()> {
        self.run(&["group", "create", &self.spec(group)], || {
            format!("Pool {}", self.pool)
        })
        .map(drop)
    }

    fn remove_group(&self, group: &str) -> Result<()> {
        match self.run(&["group", "rm", &self.spec(group)], String::new) {
            Ok(_) | Err(StorageError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn group_images(&self, group: &str) -> Result<Vec<String>> {
        let spec = self.spec(group);
        match self.run(
            &["group", "image", "list", "--format", "json", &spec],
            String::new,
        ) {
            Ok(out) => parse_group_images(&out, &self.pool),
            Err(StorageError::NotFound { .. }) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    fn group_add(&self, group: &str, image: &str) -> Result<()> {
        let (g, i) = (self.spec(group), self.spec(image));
        self.run(&["group", "image", "add", &g, &i], || {
            format!("RBD group {g} or image {i}")
        })
        .map(drop)
    }

    fn group_remove(&self, group: &str, image: &str) -> Result<()> {
        let (g, i) = (self.spec(group), self.spec(image));
        self.run(&["group", "image", "remove", &g, &i], || {
            format!("Image {i} in RBD group {g}")
        })
        .map(drop)
    }

    fn probe_format(&self, path: &Path) -> Result<String> {
        let unreadable = |detail: String| StorageError::ImageUnreadable {
            path: path.to_owned(),
            detail,
        };
        let abs = std::fs::canonicalize(path).map_err(|e| unreadable(e.to_string()))?;
        std::fs::File::open(&abs).map_err(|e| unreadable(e.to_string()))?;
        if !abs.is_file() {
            return Err(unreadable("it is not a regular file".into()));
        }
        let out = Cmd::new("qemu-img")
            .args(["info", "--output=json"])
            .arg(&abs)
            .timeout(PROBE_TIMEOUT)
            .run()
            .map_err(|e| match e {
                CmdError::Failed { stderr, .. } => unreadable(stderr),
                other => StorageError::Command(other),
            })?;
        let format = parse_qemu_img_format(&out.stdout_str())?;
        if format != "qcow2" && format != "raw" {
            return Err(StorageError::UnsupportedFormat {
                path: path.to_owned(),
                format,
            });
        }
        Ok(format)
    }

    fn import(
        &self,
        path: &Path,
        format: &str,
        image: &str,
        progress: &mut dyn FnMut(Option<f64>),
    ) -> Result<()> {
        let abs = std::fs::canonicalize(path).map_err(|e| StorageError::ImageUnreadable {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
        let argv = self.import_argv(&abs, format, image);
        let cmd = |argv: &[OsString]| Cmd::new(&argv[0]).args(&argv[1..]).timeout(IMPORT_TIMEOUT);
        let mut observe = |stdout: &[u8]| progress(qemu_img_progress(stdout));
        let every = Duration::from_millis(200);
        match cmd(&argv).run_observed(every, &mut observe) {
            // Without setpriv (util-linux), qemu-img runs unguarded.
            Err(e) if e.is_not_installed() && argv[0] == SETPRIV => {
                cmd(&argv[3..]).run_observed(every, &mut observe)
            }
            other => other,
        }
        .map(drop)
        .map_err(StorageError::from)
    }

    fn remove_image(&self, image: &str) -> Result<()> {
        let spec = self.spec(image);
        let what = || format!("RBD image {spec}");
        self.run(&["snap", "purge", "--no-progress", &spec], what)?;
        self.run(&["rm", "--no-progress", &spec], what).map(drop)
    }

    fn meta_list(&self, image: &str) -> Result<BTreeMap<String, String>> {
        let spec = self.spec(image);
        let out = self.run(&["image-meta", "list", "--format", "json", &spec], || {
            format!("RBD image {spec}")
        })?;
        parse_meta_list(&out)
    }

    fn meta_get(&self, image: &str, key: &str) -> Result<Option<String>> {
        Ok(self.meta_list(image)?.remove(key))
    }

    fn meta_set(&self, image: &str, key: &str, value: &str) -> Result<()> {
        let spec = self.spec(image);
        self.run(&["image-meta", "set", &spec, key, value], || {
            format!("RBD image {spec}")
        })
        .map(drop)
    }

    fn meta_remove(&self, image: &str, key: &str) -> Result<()> {
        let spec = self.spec(image);
        match self.run(&["image-meta", "remove", &spec, key], String::new) {
            Ok(_) => Ok(()),
            Err(StorageError::NotFound { .. }) => {
                if self.image_exists(image)? {
                    Ok(())
                } else {
                    Err(StorageError::NotFound {
                        what: format!("RBD image {spec}"),
                    })
                }
            }
            Err(e) => Err(e),
        }
    }

    fn mon_hosts(&self) -> Result<Vec<MonHost>> {
        if let Some(h) = &self.mon_hosts {
            return Ok(h.clone());
        }
        let out = self
            .cmd("ceph", &["mon", "dump", "--format", "json"])
            .run()?;
        parse_mon_dump(&out.stdout_str())
    }
}

#[cfg(test)]
#[path = "rbd_tests.rs"]
mod tests;
