//! Live views for the administrator, all clients of the control socket: `rbond events`
//! (the daemon's event log, optionally followed), `rbond status --watch` and `rbond top`.
//!
//! Plain ANSI (clear screen, cursor home) rather than a TUI library such as ratatui: the
//! views are one text block each, redrawn whole at a human pace; they need no input
//! handling, layout or widgets, and with `--count` (top) they print plain text for logs.

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

const HOME_CLEAR: &str = "\x1b[H\x1b[2J";

fn status_text(sock: &Path, bond: Option<String>, json: bool) -> Result<String> {
    let resp = ctl::call(sock, &Request::Status { bond, json })?;
    if !resp.ok {
        bail!("{}", resp.error);
    }
    Ok(resp.out)
}

/// `rbond status --watch`: the status redrawn in place every `interval_ms`.
pub fn watch_status(sock: &Path, bond: Option<String>, json: bool, interval_ms: u64) -> Result<i32> {
    let mut out = std::io::stdout();
    loop {
        let text = status_text(sock, bond.clone(), json)?;
        let head = format!("every {:.1}s: rbond status{}  ({})", interval_ms as f64 / 1000.0, bond.as_deref().map(|b| format!(" {b}")).unwrap_or_default(), crate::daemon::obs::utc(now_ms()));
        if write!(out, "{HOME_CLEAR}{head}\n\n{text}").and_then(|_| out.flush()).is_err() {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(interval_ms.max(100)));
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// One slave's counters at one time, from `rbond status --json`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlaveSample {
    pub bond: String,
    pub slave: String,
    pub mii: String,
    pub state: String,
    pub active: bool,
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub rx_filtered: u64,
}

/// Every slave of every bond (or of `bond`) with its counters, as the daemon reports now.
pub fn sample(sock: &Path, bond: Option<String>) -> Result<Vec<SlaveSample>> {
    let text = status_text(sock, bond.clone(), true)?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    let bonds = if bond.is_some() { vec![v] } else { v.as_array().cloned().unwrap_or_default() };
    let mut out = Vec::new();
    for b in &bonds {
        let name = b["bond"].as_str().unwrap_or("").to_string();
        let active = b["active_slave"].as_str().unwrap_or("");
        let counters = b["counters"]["slaves"].as_array().cloned().unwrap_or_default();
        for s in b["slaves"].as_array().into_iter().flatten() {
            let sname = s["name"].as_str().unwrap_or("");
            let c = counters.iter().find(|c| c["name"] == sname).cloned().unwrap_or_default();
            let n = |k: &str| c[k].as_u64().unwrap_or(0);
            out.push(SlaveSample {
                bond: name.clone(),
                slave: sname.to_string(),
                mii: s["mii_status"].as_str().unwrap_or("").to_string(),
                state: s["state"].as_str().unwrap_or("").to_string(),
                active: sname == active,
                rx_packets: n("rx_packets"),
                rx_bytes: n("rx_bytes"),
                tx_packets: n("tx_packets"),
                tx_bytes: n("tx_bytes"),
                rx_filtered: n("rx_filtered"),
            });
        }
    }
    Ok(out)
}

/// The table of `rbond top`: rates between two samples taken `secs` apart.
pub fn top_table(before: &[SlaveSample], after: &[SlaveSample], secs: f64) -> String {
    let mut t = format!(
        "{:<8} {:<10} {:<6} {:<7} {:>10} {:>10} {:>10} {:>10} {:>9}\n",
        "BOND", "SLAVE", "MII", "STATE", "RX pkt/s", "RX Mbit/s", "TX pkt/s", "TX Mbit/s", "filtered"
    );
    for a in after {
        let b = before.iter().find(|b| b.bond == a.bond && b.slave == a.slave).cloned().unwrap_or_else(|| a.clone());
        let rate = |x: u64, y: u64| x.saturating_sub(y) as f64 / secs.max(1e-3);
        let state = if a.active { "active*" } else { a.state.as_str() };
        t.push_str(&format!(
            "{:<8} {:<10} {:<6} {:<7} {:>10.0} {:>10.2} {:>10.0} {:>10.2} {:>9}\n",
            a.bond,
            a.slave,
            a.mii,
            state,
            rate(a.rx_packets, b.rx_packets),
            rate(a.rx_bytes, b.rx_bytes) * 8.0 / 1e6,
            rate(a.tx_packets, b.tx_packets),
            rate(a.tx_bytes, b.tx_bytes) * 8.0 / 1e6,
            a.rx_filtered.saturating_sub(b.rx_filtered),
        ));
    }
    t
}

/// `rbond top`: per-slave throughput, redrawn every `interval_ms` (`--count N`: N plain
/// tables, then exit).
pub fn top(sock: &Path, bond: Option<String>, interval_ms: u64, count: Option<u64>) -> Result<i32> {
    let mut out = std::io::stdout();
    let iv = Duration::from_millis(interval_ms.max(100));
    let mut prev = sample(sock, bond.clone())?;
    let mut t_prev = std::time::Instant::now();
    let mut n = 0;
    loop {
        std::thread::sleep(iv);
        let cur = sample(sock, bond.clone())?;
        let secs = t_prev.elapsed().as_secs_f64();
        t_prev = std::time::Instant::now();
        let table = top_table(&prev, &cur, secs);
        let ok = match count {
            Some(_) => writeln!(out, "{}\n{table}", crate::daemon::obs::utc(now_ms())),
            None => write!(out, "{HOME_CLEAR}rbond top: every {:.1}s, * = active slave\n\n{table}", iv.as_secs_f64()),
        };
        if ok.and_then(|_| out.flush()).is_err() {
            return Ok(0);
        }
        prev = cur;
        n += 1;
        if count.is_some_and(|c| n >= c) {
            return Ok(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_rates_are_deltas_over_time() {
        let s = |tx: u64, txb: u64| SlaveSample { bond: "bond0".into(), slave: "eth0".into(), mii: "up".into(), state: "active".into(), active: true, tx_packets: tx, tx_bytes: txb, ..Default::default() };
        let t = top_table(&[s(100, 1_000)], &[s(600, 1_251_000)], 0.5);
        let row = t.lines().nth(1).unwrap();
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cols, ["bond0", "eth0", "up", "active*", "0", "0.00", "1000", "20.00", "0"]);
    }
}
