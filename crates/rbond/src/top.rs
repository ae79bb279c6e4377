//! Live views for the administrator, all clients of the control socket: `rbond events`
//! (the daemon's event log, optionally followed).

use crate::ctl::{self, Request};
use crate::daemon::obs::{event_line, Event};
use anyhow::{bail, Result};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// Events after `since`, from the daemon.
pub fn fetch_events(sock: &Path, bond: Option<&str>, since: u64) -> Result<Vec<Event>> {
    let resp = ctl::call(sock, &Request::Events { bond: bond.map(str::to_string), since })?;
    if !resp.ok {
        bail!("{}", resp.error);
    }
    Ok(serde_json::from_str(&resp.out)?)
}

/// `rbond events [bond] [--follow] [--json]`: the log, oldest first; with `--follow` it
/// polls every 200 ms for newer events (the daemon keeps no client state; a `seq` gap says
/// the ring dropped events meanwhile).
pub fn events(sock: &Path, bond: Option<String>, follow: bool, json: bool) -> Result<i32> {
    let mut since = 0;
    let mut out = std::io::stdout();
    loop {
        for e in fetch_events(sock, bond.as_deref(), since)? {
            if since != 0 && e.seq > since + 1 && bond.is_none() {
                eprintln!("rbond: {} events were dropped from the log", e.seq - since - 1);
            }
            since = e.seq;
            let line = if json { serde_json::to_string(&e)? } else { event_line(&e) };
            if writeln!(out, "{line}").is_err() {
                return Ok(0); // the reader went away (`| head`)
            }
        }
        let _ = out.flush();
        if !follow {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
