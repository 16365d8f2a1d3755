//! The chaos run's record (a journal of timestamped events) and its report: faults by kind,
//! operations by result, recovery times, and every broken invariant with the timeline around
//! it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Timestamped events of a run, also printed as they happen.
#[derive(Debug)]
pub struct Journal {
    t0: Instant,
    wall0: SystemTime,
    events: Mutex<Vec<(Duration, String)>>,
}

impl Journal {
    /// A journal starting now.
    pub fn new() -> Journal {
        Journal {
            t0: Instant::now(),
            wall0: SystemTime::now(),
            events: Mutex::new(Vec::new()),
        }
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.t0.elapsed()
    }

    /// Records (and prints) an event.
    pub fn note(&self, what: impl Into<String>) {
        let at = self.elapsed();
        let what = what.into();
        eprintln!("[chaos {:>7.1}s] {what}", at.as_secs_f64());
        if let Ok(mut e) = self.events.lock() {
            e.push((at, what));
        }
    }

    /// The events between `from` and `to` (times since the start).
    pub fn between(&self, from: Duration, to: Duration) -> Vec<(Duration, String)> {
        self.events
            .lock()
            .map(|e| {
                e.iter()
                    .filter(|(t, _)| *t >= from && *t <= to)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The UTC wall-clock "HH:MM" of a time since the start (the nodes' logs are in UTC).
    pub fn wall_minute(&self, at: Duration) -> String {
        let secs = self
            .wall0
            .checked_add(at)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        let day = secs % 86_400;
        format!("{:02}:{:02}", day / 3600, (day % 3600) / 60)
    }
}

impl Default for Journal {
    fn default() -> Self {
        Journal::new()
    }
}

/// One broken invariant.
#[derive(Debug, Clone)]
pub struct Broken {
    /// When it was first seen (since the start).
    pub at: Duration,
    /// The VM.
    pub vm: String,
    /// What was seen.
    pub what: String,
    /// How many samples saw it.
    pub samples: u64,
    /// The run's events around it, and the nodes' log lines naming the VM.
    pub timeline: Vec<String>,
}

/// What a run found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The seed.
    pub seed: u64,
    /// The planned minutes of faults.
    pub minutes: u64,
    /// The VMs.
    pub vms: Vec<String>,
    /// Faults injected, by kind.
    pub faults: BTreeMap<String, u32>,
    /// vm-mgr operations: verb → result → count.
    pub ops: BTreeMap<String, BTreeMap<String, u32>>,
    /// Per fault that had VMs on its node, its recovery.
    pub recoveries: Vec<Recovery>,
    /// Broken invariants (during the run and at its end).
    pub broken: Vec<Broken>,
    /// QEMU samples taken and the longest gap between two.
    pub samples: u64,
    /// The longest gap between two QEMU samples.
    pub max_gap: Duration,
    /// Guard lock samples taken.
    pub guard_samples: u64,
    /// The whole run's length.
    pub took: Duration,
}

/// The recovery from one fault that had VMs on its node, timed from the fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// The fault's kind.
    pub kind: String,
    /// Until every one of those VMs ran again, after one stopped (`None`: none stopped).
    pub back: Option<Duration>,
    /// Until they ran and the cluster settled: its DC idle, after the heal (`None`: not
    /// within 240 s).
    pub settled: Option<Duration>,
}

/// Median and worst of some durations (`None` when empty).
pub fn median_and_worst(ds: &[Duration]) -> Option<(Duration, Duration)> {
    let mut v = ds.to_vec();
    v.sort();
    let worst = *v.last()?;
    let mid = v.len() / 2;
    let median = if v.len().is_multiple_of(2) {
        let lo = v.get(mid.checked_sub(1)?)?;
        (*lo + *v.get(mid)?) / 2
    } else {
        *v.get(mid)?
    };
    Some((median, worst))
}

/// The recovery lines: VMs back, then cluster settled, each over all faults and by kind.
fn recovery_lines(
    s: &mut String,
    title: &str,
    rs: &[Recovery],
    time: fn(&Recovery) -> Option<Duration>,
    kinds: &[&String],
) {
    let _ = writeln!(s, "{title}");
    let of = |kind: Option<&str>| -> String {
        let chosen: Vec<&Recovery> = rs
            .iter()
            .filter(|r| kind.is_none_or(|k| r.kind == k))
            .collect();
        let ds: Vec<Duration> = chosen.iter().filter_map(|r| time(r)).collect();
        match chosen.len() - ds.len() {
            0 => recovery_text(&ds),
            without if ds.is_empty() => format!("{without} without"),
            without => format!("{}; {without} without", recovery_text(&ds)),
        }
    };
    let _ = writeln!(s, "  all: {}", of(None));
    for kind in kinds {
        let _ = writeln!(s, "  {kind}: {}", of(Some(kind)));
    }
}

fn recovery_text(ds: &[Duration]) -> String {
    match median_and_worst(ds) {
        Some((m, w)) => format!(
            "median {:.1} s, worst {:.1} s ({} faults)",
            m.as_secs_f64(),
            w.as_secs_f64(),
            ds.len()
        ),
        None => "no fault with VMs on its node".into(),
    }
}

impl Report {
    /// Whether every invariant held.
    pub fn ok(&self) -> bool {
        self.broken.is_empty()
    }

    /// Records one broken invariant (true), or counts it again when the same was seen before
    /// (false).
    pub fn broke(&mut self, at: Duration, vm: &str, what: &str) -> bool {
        if let Some(b) = self
            .broken
            .iter_mut()
            .find(|b| b.vm == vm && b.what == what)
        {
            b.samples = b.samples.saturating_add(1);
            return false;
        }
        self.broken.push(Broken {
            at,
            vm: vm.to_string(),
            what: what.to_string(),
            samples: 1,
            timeline: Vec::new(),
        });
        true
    }

    /// VMs back, then cluster settled, after the faults that had VMs on their node.
    fn render_recoveries(&self, s: &mut String) {
        let kinds: Vec<&String> = self.faults.keys().collect();
        recovery_lines(
            s,
            "VMs back after a fault (until every VM that was on its node runs again; \
             without: none of them stopped):",
            &self.recoveries,
            |r| r.back,
            &kinds,
        );
        recovery_lines(
            s,
            "cluster settled after a fault (those VMs run and the DC is idle, after the heal; \
             without: not within 240 s):",
            &self.recoveries,
            |r| r.settled,
            &kinds,
        );
    }

    /// The report as text.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "chaos run: seed {}, {} min of faults, {} VMs, {:.0} s in all",
            self.seed,
            self.minutes,
            self.vms.len(),
            self.took.as_secs_f64()
        );
        let total: u32 = self.faults.values().sum();
        let kinds: Vec<String> = self
            .faults
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let _ = writeln!(s, "faults: {total} ({})", kinds.join(", "));
        let _ = writeln!(s, "operations:");
        for (verb, results) in &self.ops {
            let r: Vec<String> = results.iter().map(|(k, n)| format!("{k} {n}")).collect();
            let _ = writeln!(s, "  {verb}: {}", r.join(", "));
        }
        self.render_recoveries(&mut s);
        let _ = writeln!(
            s,
            "QEMU samples: {} (longest gap {} ms); guard lock samples: {}",
            self.samples,
            self.max_gap.as_millis(),
            self.guard_samples
        );
        if self.broken.is_empty() {
            let _ = writeln!(s, "invariants: all held");
        }
        for b in &self.broken {
            let _ = writeln!(
                s,
                "BROKEN at {:.1} s: {}: {} ({} samples)",
                b.at.as_secs_f64(),
                b.vm,
                b.what,
                b.samples
            );
            for l in &b.timeline {
                let _ = writeln!(s, "    {l}");
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_worst_of_odd_even_and_empty() {
        let s = Duration::from_secs;
        assert_eq!(median_and_worst(&[]), None);
        assert_eq!(median_and_worst(&[s(9), s(1), s(5)]), Some((s(5), s(9))));
        assert_eq!(median_and_worst(&[s(4), s(2)]), Some((s(3), s(4))));
    }

    #[test]
    fn a_broken_invariant_is_counted_once_and_fails_the_report() {
        let mut r = Report::default();
        assert!(r.ok());
        assert!(r.broke(Duration::from_secs(3), "vm1", "two running copies"));
        assert!(!r.broke(Duration::from_secs(4), "vm1", "two running copies"));
        assert!(r.broke(Duration::from_secs(5), "vm2", "two running copies"));
        assert!(!r.ok());
        assert_eq!(r.broken.len(), 2);
        assert_eq!(r.broken[0].samples, 2);
        assert_eq!(r.broken[0].at, Duration::from_secs(3));
        let text = r.render();
        assert!(text.contains("BROKEN at 3.0 s: vm1: two running copies (2 samples)"));
        assert!(!text.contains("all held"));
        r.broken.clear();
        let rec = |kind: &str, back: Option<u64>, settled: Option<u64>| Recovery {
            kind: kind.into(),
            back: back.map(Duration::from_secs),
            settled: settled.map(Duration::from_secs),
        };
        r.recoveries = vec![
            rec("kill-node", Some(10), Some(40)),
            rec("kill-node", Some(30), Some(60)),
            rec("link-down", Some(50), None),
            rec("libvirtd-kill", None, Some(20)),
        ];
        r.faults.insert("kill-node".into(), 2);
        r.faults.insert("link-down".into(), 1);
        r.faults.insert("libvirtd-kill".into(), 1);
        let text = r.render();
        assert!(text.contains("invariants: all held"), "{text}");
        let (back, settled) = text.split_once("cluster settled").expect("both parts");
        assert!(
            back.contains("all: median 30.0 s, worst 50.0 s (3 faults); 1 without"),
            "{text}"
        );
        assert!(
            back.contains("kill-node: median 20.0 s, worst 30.0 s (2 faults)"),
            "{text}"
        );
        assert!(back.contains("libvirtd-kill: 1 without\n"), "{text}");
        assert!(
            settled.contains("all: median 40.0 s, worst 60.0 s (3 faults); 1 without"),
            "{text}"
        );
        assert!(settled.contains("link-down: 1 without\n"), "{text}");
        assert!(
            settled.contains("libvirtd-kill: median 20.0 s, worst 20.0 s (1 faults)"),
            "{text}"
        );
        assert!(
            text.contains("faults: 4 (kill-node 2, libvirtd-kill 1, link-down 1)"),
            "{text}"
        );
    }

    #[test]
    fn the_journal_keeps_events_in_a_window() {
        let j = Journal::new();
        j.note("one");
        let all = j.between(Duration::ZERO, Duration::from_secs(3600));
        assert_eq!(all.len(), 1);
        assert!(j
            .between(Duration::from_secs(3600), Duration::MAX)
            .is_empty());
        let m = j.wall_minute(Duration::ZERO);
        assert_eq!(m.len(), 5);
        assert_eq!(&m[2..3], ":");
    }
}
