//! `rbond lab --mode 802.3ad --bench`: LACP timings from real runs (BENCHMARKS.md), rbond
//! against rbond over veths in namespaces:
//! - link-up to distributing: a cable is plugged back in; time until both ends distribute on
//!   it again (fast and slow lacp_rate);
//! - silent partner: an nftables egress rule drops the switch side's LACPDUs on one cable
//!   (carrier up); time until the host's port leaves distribution (fast rate);
//! - a pulled cable: the 1 ms probe (one flow, on the pulled cable) and what it lost.

use super::probe::ProbeConfig;
use super::{Lab, LabConfig, Mode};
use anyhow::{bail, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const ROUNDS: usize = 3;

/// Is `slave` in the transmit set of this end (sysfs state active, actor Distributing)?
fn distributing(status: &Value, slave: &str) -> bool {
    status["slaves"].as_array().into_iter().flatten().any(|s| {
        s["name"] == slave && s["state"] == "active" && s["ad"]["actor"]["port_state"].as_u64().unwrap_or(0) & 0x20 != 0
    })
}

fn all_distributing(status: &Value) -> bool {
    status["slaves"].as_array().is_some_and(|v| v.iter().all(|s| distributing(status, s["name"].as_str().unwrap_or(""))))
}

fn wait(what: &str, timeout: Duration, mut f: impl FnMut() -> Result<bool>) -> Result<Duration> {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if f()? {
            return Ok(t0.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    bail!("{what}: not within {timeout:?}")
}

fn both_aggregated(lab: &Lab) -> Result<bool> {
    Ok(all_distributing(&lab.status_json()?) && all_distributing(&lab.switch_status_json()?))
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

fn summary(v: &mut [Duration]) -> String {
    v.sort();
    let all: Vec<String> = v.iter().map(|&d| ms(d)).collect();
    format!("median {} ms (runs: {})", ms(v[v.len() / 2]), all.join(", "))
}

fn build(bin: &Path, rate: &str) -> Result<Lab> {
    let cfg = LabConfig::new(Mode::Ieee8023ad, bin)
        .slaves(2)
        .option("lacp_rate", rate)
        .switch_option("lacp_rate", rate);
    let lab = Lab::build(cfg)?;
    wait("both ends aggregated", Duration::from_secs(30), || both_aggregated(&lab))?;
    Ok(lab)
}

/// Pull cable 0, let both ends notice, plug it back: time until both distribute on it.
fn link_up_to_distributing(lab: &Lab) -> Result<Duration> {
    lab.pull(0)?;
    wait("eth0 out", Duration::from_secs(5), || Ok(!distributing(&lab.status_json()?, "eth0")))?;
    std::thread::sleep(Duration::from_millis(500));
    lab.plug(0)?;
    wait("eth0 and swp0 distributing again", Duration::from_secs(40), || {
        Ok(distributing(&lab.status_json()?, "eth0") && distributing(&lab.switch_status_json()?, "swp0"))
    })
}

fn silent_partner(lab: &Lab, round: usize) -> Result<Duration> {
    let table = format!("rbbench{round}");
    let rules = format!(
        "table netdev {table} {{\n  chain c {{\n    type filter hook egress device \"swp0\" priority 0;\n    ether type 0x8809 counter drop\n  }}\n}}\n"
    );
    let file = std::env::temp_dir().join(format!("{table}-{}.nft", std::process::id()));
    std::fs::write(&file, rules)?;
    let r = lab.switch().exec_ok(&["nft", "-f", &file.display().to_string()]);
    let _ = std::fs::remove_file(&file);
    r?;
    let t = wait("eth0 out after the silence", Duration::from_secs(10), || Ok(!distributing(&lab.status_json()?, "eth0")));
    lab.switch().exec_ok(&["nft", "delete", "table", "netdev", &table])?;
    let t = t?;
    wait("re-aggregated", Duration::from_secs(30), || both_aggregated(lab))?;
    Ok(t)
}

/// One 1 ms flow; the cable it uses is pulled 1 s in. (lost, longest gap).
fn pulled_cable(lab: &Lab) -> Result<(u64, u64, Duration)> {
    // Which cable carries the probe's flow (layer2 hash: one slave for all of it)?
    let before = lab.slave_counters()?;
    lab.probe(ProbeConfig::new(Duration::from_millis(300)))?;
    let after = lab.slave_counters()?;
    let k = (0..before.len()).max_by_key(|&i| after[i].tx_packets - before[i].tx_packets).unwrap_or(0);
    let h = lab.start_probe(ProbeConfig::new(Duration::from_secs(3)), None)?;
    std::thread::sleep(Duration::from_secs(1));
    lab.pull(k)?;
    let r = h.wait()?;
    lab.plug(k)?;
    wait("re-aggregated", Duration::from_secs(30), || both_aggregated(lab))?;
    let s = r.summary();
    Ok((s.sent, s.lost, s.longest_gap))
}

pub fn run(bin: PathBuf) -> Result<()> {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("rbond LACP benchmark: rbond <-> rbond, 2 veth cables, miimon 100; load average at start: {}", load.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    for rate in ["fast", "slow"] {
        let lab = build(&bin, rate)?;
        let mut v = Vec::new();
        for _ in 0..ROUNDS {
            v.push(link_up_to_distributing(&lab)?);
        }
        println!("link-up to distributing on both ends, lacp_rate {rate}: {}", summary(&mut v));
        if rate == "fast" {
            let mut v = Vec::new();
            for round in 0..ROUNDS {
                v.push(silent_partner(&lab, round)?);
            }
            println!("silent partner (LACPDUs dropped, carrier up) to out of distribution, lacp_rate fast: {}", summary(&mut v));
            for round in 0..ROUNDS {
                let (sent, lost, gap) = pulled_cable(&lab)?;
                println!("pulled cable, 1 ms probe on it, run {}: {lost} of {sent} lost, longest gap {} ms", round + 1, ms(gap));
            }
        }
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at end: {}", load.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    Ok(())
}
