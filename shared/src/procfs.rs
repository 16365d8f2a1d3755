//! Processes as `/proc` shows them, for the tests that check that no child outlives its
//! command: live processes found by an argument (a marker a test gave them), a process's group,
//! and the members of a group. Zombies (ended, not yet reaped) count as gone.

/// The ids of the processes in `/proc` now.
pub fn pids() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .collect()
}

/// The arguments of process `pid` (lossy UTF-8); `None` when it is gone. A zombie has none.
pub fn cmdline(pid: i32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

/// Live processes with `arg` as one of their arguments.
pub fn with_arg(arg: &str) -> Vec<i32> {
    pids()
        .into_iter()
        .filter(|p| cmdline(*p).is_some_and(|args| args.iter().any(|a| a == arg)))
        .collect()
}

/// The process group of `pid` (field 5 of `/proc/PID/stat`); `None` when it is gone or a
/// zombie.
pub fn pgid(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold anything: count after it.
    let mut rest = stat[stat.rfind(')')? + 1..].split_whitespace();
    if rest.next()? == "Z" {
        return None;
    }
    rest.nth(1)?.parse().ok()
}

/// The live (not zombie) members of process group `group`.
pub fn group_members(group: i32) -> Vec<i32> {
    pids()
        .into_iter()
        .filter(|p| pgid(*p) == Some(group))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_found_with_its_group() {
        let me = i32::try_from(std::process::id()).unwrap();
        assert!(pids().contains(&me));
        let args = cmdline(me).expect("our own command line");
        let first = args.first().expect("argv[0]");
        assert!(with_arg(first).contains(&me));
        let g = pgid(me).expect("our process group");
        assert!(group_members(g).contains(&me));
        assert_eq!(cmdline(i32::MAX), None);
        assert_eq!(pgid(i32::MAX), None);
    }
}
