//! `history -n VM [--since T]`: the VM's timeline, oldest first (see [`crate::history`] for
//! the sources and what each one keeps): vm-mgr's own changes from the journal of this node
//! (`journalctl -t vm-mgr`), Pacemaker's operations and failures from the cluster status, and
//! the fencing of its nodes from the fencer's history. A source that cannot be read is named
//! in the output, and the others are still shown.

use serde_json::json;

use crate::cli_view::HistoryArgs;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::history::{self, Event};
use crate::output::Outcome;
use crate::state::VmState;

/// What each source is, as printed.
const PACEMAKER: &str = "cluster status (crm_mon): the last operation of each kind per node, \
                         and failed actions";
const FENCING: &str = "fencer history (crm_mon, as stonith_admin --history), every node's";
/// journald's socket: without it there is no journal to read vm-mgr's lines from.
const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

/// Runs `history`.
pub fn run(ctx: &Ctx, a: &HistoryArgs) -> Result<Outcome> {
    let name = a.name.as_str();
    let since = match &a.since {
        Some(s) => Some(
            shared::clock::parse_date(s).map_err(|e| Error::invalid(format!("--since: {e}")))?,
        ),
        None => None,
    };
    let (cib, mon) = crate::cluster::read_cluster(ctx)?;
    let st = crate::state::status_of(name, &cib, &mon, crate::cluster::in_storage(ctx, name)?);
    if st.state == VmState::Undefined {
        return Err(Error::NoSuchVm {
            name: name.to_owned(),
        });
    }
    let time: history::TimeParser = shared::clock::parse_pacemaker_time;
    let mut events = history::pacemaker_events(name, &mon, time);
    let nodes = history::nodes_of(name, &mon, &st.nodes);
    events.extend(history::fencing_events(&nodes, &mon, time));
    let journal = if ctx.offline {
        Err("not read with --cib-file".to_owned())
    } else if !std::path::Path::new(JOURNAL_SOCKET).exists() {
        Err(format!(
            "no systemd journal on this node ({JOURNAL_SOCKET} is missing); vm-mgr's lines \
             went to {} if a syslog daemon listens there",
            shared::ocf::syslog::DEV_LOG
        ))
    } else {
        shared::journal::read(crate::audit::IDENTIFIER, since).map_err(|e| e.to_string())
    };
    let vm_mgr_source = match &journal {
        Ok(entries) => {
            events.extend(history::vm_mgr_events(name, entries));
            "journal of this node (journalctl -t vm-mgr)".to_owned()
        }
        Err(e) => format!("unavailable: {e}"),
    };
    let events = history::timeline(events, since);
    let sources = json!({
        "vm-mgr": vm_mgr_source,
        "pacemaker": PACEMAKER,
        "fencing": FENCING,
    });
    let mut text =
        format!("# {name}: vm-mgr: {vm_mgr_source}; pacemaker: {PACEMAKER}; fencing: {FENCING}\n");
    for e in &events {
        text.push_str(&line(e));
    }
    if events.is_empty() {
        text.push_str("# no events\n");
    }
    Ok(Outcome::new(
        json!({"name": name, "since": since, "sources": sources, "events": events}),
        text,
    ))
}

/// One tab-separated line: time (UTC), source, node, event, detail.
fn line(e: &Event) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\n",
        shared::clock::utc_secs(u64::try_from(e.time).unwrap_or(0)),
        e.source,
        e.node.as_deref().unwrap_or("-"),
        e.event,
        e.detail
    )
}
