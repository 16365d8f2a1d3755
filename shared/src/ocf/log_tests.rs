//! Tests of exit reasons, routing and log lines (unit tests of `log.rs`).

use super::*;

#[test]
fn exit_reason_is_one_line() {
    assert_eq!(
        exit_reason_line("cannot read /etc/vm.xml:\npermission denied\n"),
        "ocf-exit-reason:cannot read /etc/vm.xml: permission denied\n"
    );
    assert_eq!(exit_reason_line("a\r\nb\rc"), "ocf-exit-reason:a b c\n");
    let mut buf = Vec::new();
    write_exit_reason(&mut buf, "x").unwrap();
    assert_eq!(buf, b"ocf-exit-reason:x\n");
}

#[test]
fn lines_and_debug_switch() {
    let quiet = Logger::new("vm1", false, None);
    let mut buf = Vec::new();
    quiet.emit(&mut buf, Level::Debug, "hidden");
    quiet.emit(&mut buf, Level::Info, "started\ndomain");
    quiet.emit(&mut buf, Level::Warning, "w");
    quiet.emit(&mut buf, Level::Error, "e");
    assert_eq!(
        String::from_utf8(buf).unwrap(),
        "vm1: INFO: started domain\nvm1: WARNING: w\nvm1: ERROR: e\n"
    );
    let loud = Logger::new("vm1", true, None);
    let mut buf = Vec::new();
    loud.emit(&mut buf, Level::Debug, "shown");
    assert_eq!(String::from_utf8(buf).unwrap(), "vm1: DEBUG: shown\n");
}

#[test]
fn tag_from_env() {
    let e = OcfEnv::from_vars([
        ("OCF_RESOURCE_INSTANCE", "drbd0:1"),
        ("HA_debug", "1"),
        ("HA_LOGFILE", "/tmp/ha.log"),
    ]);
    let by_hand = io::stdin().is_terminal();
    assert_eq!(
        Logger::from_env(&e),
        Logger::new("drbd0:1", true, Some(PathBuf::from("/tmp/ha.log"))).interactive(by_hand)
    );
    let t = OcfEnv::from_vars([("OCF_RESOURCE_TYPE", "rbd")]);
    assert_eq!(
        Logger::from_env(&t).format_line(Level::Info, "m"),
        "rbd: INFO: m"
    );
    let none = OcfEnv::from_vars(Vec::<(String, String)>::new());
    assert_eq!(
        Logger::from_env(&none),
        Logger::new("ocf", false, None).interactive(by_hand)
    );
    let full = OcfEnv::from_vars([
        ("OCF_RESOURCE_INSTANCE", "vm1"),
        ("HA_LOGFACILITY", "daemon"),
        ("HA_DEBUGLOG", "/tmp/d.log"),
    ]);
    let pid = std::process::id();
    assert_eq!(
        Logger::for_agent(&full, "VirtualDomain"),
        Logger::new("vm1", false, None)
            .with_syslog(Some(Syslog::new(
                3,
                format!("VirtualDomain(vm1)[{pid}]"),
                super::super::syslog::DEV_LOG
            )))
            .with_debuglog(Some(PathBuf::from("/tmp/d.log")))
            .interactive(by_hand)
    );
}

fn route(stderr: bool, syslog: bool, logfile: bool, debuglog: bool) -> Option<Route> {
    Some(Route {
        stderr,
        syslog,
        logfile,
        debuglog,
    })
}

#[test]
fn routes_like_ocf_log() {
    let sys = || Some(Syslog::new(3, "t[1]", "/nowhere"));
    let file = || Some(PathBuf::from("/tmp/a.log"));
    let other = || Some(PathBuf::from("/tmp/b.log"));
    let plain = Logger::new("vm1", false, None);
    assert_eq!(plain.route(Level::Info), route(true, false, false, false));
    assert_eq!(plain.route(Level::Debug), None);
    let pcmk = Logger::new("vm1", true, file()).with_syslog(sys());
    assert_eq!(pcmk.route(Level::Error), route(false, true, true, false));
    assert_eq!(pcmk.route(Level::Debug), route(false, true, false, false));
    let same = pcmk.clone().with_debuglog(file());
    assert_eq!(same.route(Level::Notice), route(false, true, true, false));
    assert_eq!(same.route(Level::Debug), route(false, true, false, true));
    let split = Logger::new("vm1", true, file()).with_debuglog(other());
    assert_eq!(split.route(Level::Warning), route(false, false, true, true));
    assert_eq!(split.route(Level::Debug), route(false, false, false, true));
    let syslog_only = Logger::new("vm1", true, None).with_syslog(sys());
    assert_eq!(
        syslog_only.route(Level::Info),
        route(false, true, false, false)
    );
    let by_hand = pcmk.clone().interactive(true);
    assert_eq!(by_hand.route(Level::Info), route(true, false, false, false));
    assert_eq!(
        by_hand.route(Level::Debug),
        route(true, false, false, false)
    );
    assert_eq!(
        Logger::new("vm1", false, None)
            .interactive(true)
            .route(Level::Debug),
        None
    );
}

#[test]
fn syslog_gets_the_lines_and_the_exit_reason_not_stderr() {
    let dir = crate::tempdir::PrivateDir::new("log-test").unwrap();
    let path = dir.path().join("log");
    let rx = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    rx.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let l = Logger::new("vm1", false, None).with_syslog(Some(Syslog::new(
        3,
        "VirtualDomain(vm1)[5]",
        &path,
    )));
    let mut err = Vec::new();
    l.emit(&mut err, Level::Info, "domain vm1 started");
    l.emit(&mut err, Level::Debug, "hidden");
    l.log_exit_reason("cannot reach libvirt");
    assert!(err.is_empty(), "{}", String::from_utf8_lossy(&err));
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    for _ in 0..2 {
        let n = rx.recv(&mut buf).unwrap();
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(got[0].starts_with("<30>"), "{got:?}");
    assert!(
        got[0].ends_with(" VirtualDomain(vm1)[5]: INFO: domain vm1 started"),
        "{got:?}"
    );
    assert!(got[1].starts_with("<27>"), "{got:?}");
    assert!(got[1].ends_with(": ERROR: cannot reach libvirt"), "{got:?}");
    drop(rx);
    // The socket is gone: the line is not lost, it goes to stderr.
    l.emit(&mut err, Level::Warning, "w");
    assert_eq!(String::from_utf8(err).unwrap(), "vm1: WARNING: w\n");
}

#[test]
fn appends_to_logfile() {
    let path = std::env::temp_dir().join(format!("ocf-log-test-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let l = Logger::new("vm1", false, Some(path.clone()));
    l.emit(&mut io::sink(), Level::Info, "one");
    l.emit(&mut io::sink(), Level::Debug, "skipped");
    l.emit(&mut io::sink(), Level::Error, "two");
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let suffix = format!(" vm1[{}]: INFO: one", std::process::id());
    assert!(lines[0].ends_with(&suffix), "{text}");
    assert!(lines[1].ends_with(": ERROR: two"), "{text}");
    assert!(
        lines[0].starts_with("20") && lines[0].contains('T'),
        "{text}"
    );
}
