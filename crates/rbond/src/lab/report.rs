//! Text tables for the lab's results.

use super::probe::{ProbeResult, Summary};
use std::fmt::Write;
use std::time::Duration;

/// One row of the report: a named phase of the run and what the probe saw in it.
pub struct Phase {
    pub name: String,
    pub from: Duration,
    pub to: Duration,
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// The probe report: one line per phase, then the whole run.
pub fn probe_table(result: &ProbeResult, phases: &[Phase]) -> String {
    let c = &result.config;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Probe: UDP echo {} -> {}:{}, one datagram every {} ms over {} flow(s){}",
        c.source,
        c.target,
        c.port,
        ms(c.interval),
        c.flows,
        if result.interrupted { " (interrupted)" } else { "" }
    );
    let _ = writeln!(
        out,
        "{:<24} {:>9} {:>8} {:>9} {:>8} {:>10} {:>16}",
        "phase", "time (s)", "sent", "received", "lost", "duplicated", "longest gap (ms)"
    );
    let mut row = |name: &str, from: Duration, to: Duration, s: &Summary| {
        let _ = writeln!(
            out,
            "{:<24} {:>9} {:>8} {:>9} {:>8} {:>10} {:>16}",
            name,
            format!("{:.1}-{:.1}", from.as_secs_f64(), to.as_secs_f64()),
            s.sent,
            s.received,
            format!("{} ({:.1}%)", s.lost, s.loss_percent()),
            s.duplicated,
            ms(s.longest_gap)
        );
    };
    for p in phases {
        let to = p.to.min(result.send_end);
        if p.from < to {
            row(&p.name, p.from, to, &result.window(p.from, to));
        }
    }
    row("total", Duration::ZERO, result.send_end, &result.summary());
    out
}

/// One interface's (rx, tx) packet counters before and after a run.
pub type CounterRow = (String, (u64, u64), (u64, u64));

/// Per-interface packet counters over a run, as ifconfig's RX/TX packet lines.
pub fn counter_table(rows: &[CounterRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:<8} {:>12} {:>12}", "slave", "RX packets", "TX packets");
    for (name, (rx0, tx0), (rx1, tx1)) in rows {
        let _ = writeln!(out, "{:<8} {:>12} {:>12}", name, rx1 - rx0, tx1 - tx0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::probe::ProbeConfig;

    #[test]
    fn table_has_phases_and_total() {
        let d = Duration::from_millis;
        let r = ProbeResult {
            config: ProbeConfig::new(d(4)),
            sent_at: (0..4).map(d).collect(),
            replies: vec![vec![d(0)], vec![], vec![d(2)], vec![d(3), d(3)]],
            send_end: d(4),
            interrupted: false,
        };
        let t = probe_table(&r, &[Phase { name: "swp0 pulled".into(), from: d(1), to: d(2) }]);
        assert!(t.contains("swp0 pulled"), "{t}");
        let total = t.lines().last().unwrap();
        assert!(total.starts_with("total"), "{t}");
        // sent 4, received 3, lost 1 (25.0%), duplicated 1, gap 2.0 ms (0 -> 2)
        let cols: Vec<&str> = total.split_whitespace().collect();
        assert_eq!(cols[2..], ["4", "3", "1", "(25.0%)", "1", "2.0"], "{t}");
    }
}
