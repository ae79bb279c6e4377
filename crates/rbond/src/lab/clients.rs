//! Client hosts behind the switch, for the modes that balance per peer (balance-tlb and
//! balance-alb): a bond that talks to one peer only shows nothing of their balancing.
//!
//! ```text
//!  ns sw: br0 ├ swc0 ═══ veth ═══ eth0 198.18.0.11/24 (ns c0, MAC 02:00:00:00:cc:01)
//!             ├ swc1 ═══ veth ═══ eth0 198.18.0.12/24 (ns c1, MAC 02:00:00:00:cc:02)
//!             └ ...
//! ```
//!
//! Each client pings the bond with `ping` (iputils), whose summary gives sent, received and
//! duplicated echoes; its `icmp_seq` numbers give the longest outage.

use super::netns::{veth, Netns};
use super::topology::quiet_ipv6;
use anyhow::{bail, Context, Result};
use std::fmt::Write;
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

/// Client hosts of `rbond lab --mode balance-tlb|balance-alb`.
pub const LAB_CLIENTS: usize = 4;

/// Client k's address (198.18.0.11, .12, ...).
pub fn client_addr(k: usize) -> String {
    format!("198.18.0.{}", 11 + k)
}

/// Client k's MAC, fixed so that the clients fall into distinct tlb/alb table buckets.
pub fn client_mac(k: usize) -> String {
    format!("02:00:00:00:cc:{:02x}", k + 1)
}

/// Client k: its namespace, a cable to bridge port swcK, its address; up.
pub fn build_client(sw: &Netns, id: &str, k: usize) -> Result<Netns> {
    let ns = Netns::new(id, &format!("c{k}"))?;
    quiet_ipv6(&ns)?;
    let port = format!("swc{k}");
    veth(sw, &port, &ns, "eth0")?;
    sw.ip(&["link", "set", &port, "master", "br0"])?;
    sw.ip(&["link", "set", &port, "up"])?;
    ns.ip(&["link", "set", "eth0", "address", &client_mac(k)])?;
    ns.ip(&["addr", "add", &format!("{}/24", client_addr(k)), "dev", "eth0"])?;
    ns.ip(&["link", "set", "eth0", "up"])?;
    Ok(ns)
}

/// What one `ping` run saw.
#[derive(Clone, Debug, Default)]
pub struct PingResult {
    pub client: String,
    pub sent: u64,
    pub received: u64,
    /// Duplicated replies (`DUP!` lines).
    pub duplicates: u64,
    /// The longest run of consecutive unanswered echoes, times the interval.
    pub longest_gap: Duration,
}

impl PingResult {
    pub fn lost(&self) -> u64 {
        self.sent.saturating_sub(self.received)
    }
    pub fn loss_percent(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            100.0 * self.lost() as f64 / self.sent as f64
        }
    }
}

/// Starts `ping -c count -i interval` from namespace `ns` to `target` in a thread.
pub fn start_ping(ns: &Netns, target: &str, count: u64, interval: Duration) -> JoinHandle<Result<PingResult>> {
    let (name, target) = (ns.name().to_string(), target.to_string());
    std::thread::spawn(move || {
        let out = Command::new("ip")
            .args(["netns", "exec", &name, "ping", "-n", "-c", &count.to_string()])
            .args(["-i", &format!("{:.3}", interval.as_secs_f64()), "-W", "1", &target])
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running ping in {name}"))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        parse_ping(&name, &text, interval)
    })
}

/// Reads iputils ping output: the summary line and the `icmp_seq` of every reply.
pub fn parse_ping(client: &str, text: &str, interval: Duration) -> Result<PingResult> {
    let mut r = PingResult { client: client.to_string(), ..Default::default() };
    let Some(summary) = text.lines().find(|l| l.contains("packets transmitted")) else {
        bail!("no ping summary from {client}:\n{text}");
    };
    for part in summary.split(',') {
        let p = part.trim();
        let num = |s: &str| s.split_whitespace().next().and_then(|n| n.trim_start_matches('+').parse::<u64>().ok());
        if p.ends_with("packets transmitted") {
            r.sent = num(p).unwrap_or(0);
        } else if p.ends_with("received") {
            r.received = num(p).unwrap_or(0);
        } else if p.ends_with("duplicates") {
            r.duplicates = num(p).unwrap_or(0);
        }
    }
    let dup_lines = text.lines().filter(|l| l.contains("DUP!")).count() as u64;
    r.duplicates = r.duplicates.max(dup_lines);
    let mut seqs: Vec<u64> = text
        .lines()
        .filter(|l| !l.contains("DUP!"))
        .filter_map(|l| l.split("icmp_seq=").nth(1)?.split_whitespace().next()?.parse().ok())
        .collect();
    seqs.sort_unstable();
    // Unanswered echoes between two answered ones, and before the first / after the last.
    let mut gap = 0;
    let mut prev = 0; // icmp_seq starts at 1
    for &s in &seqs {
        gap = gap.max(s.saturating_sub(prev + 1));
        prev = s;
    }
    gap = gap.max(r.sent.saturating_sub(prev));
    r.longest_gap = interval * gap as u32;
    Ok(r)
}

/// The MAC a client's neighbour table holds for `ip`, if any.
pub fn neigh_mac(ns: &Netns, ip: &str) -> Option<String> {
    let out = ns.ip(&["neigh", "show", ip]).ok()?;
    let mut words = out.split_whitespace();
    while let Some(w) = words.next() {
        if w == "lladdr" {
            return words.next().map(|s| s.to_lowercase());
        }
    }
    None
}

/// The per-client ping table of the lab report.
pub fn ping_table(rows: &[PingResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:<28} {:>8} {:>9} {:>12} {:>10} {:>16}", "client", "sent", "received", "lost", "duplicated", "longest gap (ms)");
    for r in rows {
        let _ = writeln!(
            out,
            "{:<28} {:>8} {:>9} {:>12} {:>10} {:>16}",
            r.client,
            r.sent,
            r.received,
            format!("{} ({:.1}%)", r.lost(), r.loss_percent()),
            r.duplicates,
            r.longest_gap.as_millis()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_output_is_read() {
        let text = "PING 198.18.0.1 (198.18.0.1) 56(84) bytes of data.\n\
            64 bytes from 198.18.0.1: icmp_seq=1 ttl=64 time=0.1 ms\n\
            64 bytes from 198.18.0.1: icmp_seq=2 ttl=64 time=0.1 ms\n\
            64 bytes from 198.18.0.1: icmp_seq=2 ttl=64 time=0.2 ms (DUP!)\n\
            64 bytes from 198.18.0.1: icmp_seq=6 ttl=64 time=0.1 ms\n\n\
            --- 198.18.0.1 ping statistics ---\n\
            7 packets transmitted, 3 received, +1 duplicates, 57.1429% packet loss, time 60ms\n";
        let r = parse_ping("c0", text, Duration::from_millis(10)).unwrap();
        assert_eq!((r.sent, r.received, r.duplicates, r.lost()), (7, 3, 1, 4));
        // Echoes 3, 4, 5 unanswered: a 30 ms outage (7 after 6 is only one).
        assert_eq!(r.longest_gap, Duration::from_millis(30));
        assert!(parse_ping("c0", "ping: connect: Network is unreachable\n", Duration::from_millis(10)).is_err());
    }
}
