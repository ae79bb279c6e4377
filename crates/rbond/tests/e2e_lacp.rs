//! Issue 15: 802.3ad with real frames. rbond against rbond (the lab's switch-side po0 in mode
//! 802.3ad) and against Open vSwitch (userspace datapath, started by the test in the switch
//! namespace): one aggregator with every port on both ends, traffic (ping, the 1 ms probe,
//! iperf3) spread over all slaves, cable pulls, a silent partner whose carrier stays up, and
//! every LACPDU and marker rbond sends decoded by tshark.
//!
//! Timing bounds come from IEEE 802.1AX and the (bond_3ad.c: bond_3ad_state_machine_handler): fast periodic 1 s, short
//! timeout 3 s, aggregate wait 2 s. Margins allow for a loaded 2-core machine.

mod common;
use common::*;
use rbond::lab::ovs::{self, OvsLacp};
use serde_json::Value;
use std::time::Instant;

const COLLECTING: u64 = 0x10;
const DISTRIBUTING: u64 = 0x20;

/// The 802.3ad picture of one end, from `rbond status --json`.
#[derive(Debug)]
struct AdView {
    /// (id, number of ports, partner MAC) of the active aggregator.
    active: Option<(u64, u64, String)>,
    /// Per slave: (name, aggregator id, actor port state, partner system MAC, in the transmit
    /// set: sysfs `state` is `active`).
    ports: Vec<(String, Option<u64>, u64, String, bool)>,
    system_mac: String,
}

fn ad_view(v: &Value) -> AdView {
    let ad = &v["ad"];
    let agg = &ad["active_aggregator"];
    let active = agg.is_object().then(|| {
        (agg["id"].as_u64().unwrap(), agg["num_ports"].as_u64().unwrap(), agg["partner_mac"].as_str().unwrap().to_string())
    });
    let ports = v["slaves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let a = &s["ad"];
            (
                s["name"].as_str().unwrap().to_string(),
                a["aggregator_id"].as_u64(),
                a["actor"]["port_state"].as_u64().unwrap_or(0),
                a["partner"]["system_mac"].as_str().unwrap_or("").to_string(),
                s["state"] == "active",
            )
        })
        .collect();
    AdView { active, ports, system_mac: ad["system_mac"].as_str().unwrap_or("").to_string() }
}

/// Every port of this end distributes in the one active aggregator of `n` ports.
fn all_in_one(v: &AdView, n: usize) -> bool {
    match &v.active {
        Some((id, num, _)) => {
            *num == n as u64
                && v.ports.len() == n
                && v.ports.iter().all(|(_, agg, st, _, on)| *on && *agg == Some(*id) && st & (COLLECTING | DISTRIBUTING) == COLLECTING | DISTRIBUTING)
        }
        None => false,
    }
}

/// The slave is in the transmit set (after a link loss the kernel, and rbond, keep the old
/// actor state bits until the link returns; what counts is that the port is disabled).
fn distributing(v: &AdView, slave: &str) -> bool {
    v.ports.iter().any(|(n, _, st, _, on)| n == slave && *on && st & DISTRIBUTING != 0)
}

/// Polls `f` (which reads the ends' status) until it holds; returns the time it took.
fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> (bool, String)) -> Duration {
    let t0 = Instant::now();
    loop {
        let (ok, info) = f();
        if ok {
            return t0.elapsed();
        }
        if t0.elapsed() > timeout {
            panic!("{what}: not within {timeout:?}\n{info}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn lacp_config(n: usize, rate: &str) -> LabConfig {
    config(Mode::Ieee8023ad)
        .slaves(n)
        .option("lacp_rate", rate)
        .option("xmit_hash_policy", "layer3+4")
        .switch_option("lacp_rate", rate)
        .switch_option("xmit_hash_policy", "layer3+4")
}

/// Both rbond ends show one aggregator with all `n` ports, each the other's partner.
fn wait_rbond_aggregated(lab: &Lab, n: usize, timeout: Duration) -> Duration {
    wait_for("one aggregator with every port on both ends", timeout, || {
        let (h, s) = (lab.status_json().unwrap(), lab.switch_status_json().unwrap());
        let (hv, sv) = (ad_view(&h), ad_view(&s));
        let ok = all_in_one(&hv, n)
            && all_in_one(&sv, n)
            && hv.active.as_ref().unwrap().2 == sv.system_mac
            && sv.active.as_ref().unwrap().2 == hv.system_mac
            && hv.ports.iter().all(|p| p.3 == sv.system_mac);
        (ok, format!("host: {hv:?}\nswitch: {sv:?}\n{}", lab.status().unwrap_or_default()))
    })
}

/// iperf3 from the host to the peer through bond0: `streams` TCP streams for `secs` seconds.
/// Returns the received rate in Gbit/s.
fn iperf3(lab: &Lab, streams: u32, secs: u32) -> f64 {
    let log = lab
        .peer()
        .spawn("iperf3 server", std::path::Path::new("/usr/bin/iperf3"), &["-s", "-1", "-B", "198.18.0.2", "--forceflush"])
        .unwrap();
    log.wait_for("Server listening", Duration::from_secs(10)).unwrap();
    let out = lab
        .host()
        .exec(&["iperf3", "-c", "198.18.0.2", "-P", &streams.to_string(), "-t", &secs.to_string(), "-J"])
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "iperf3 failed: {text}\n{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_str(&text).unwrap();
    v["end"]["sum_received"]["bits_per_second"].as_f64().unwrap() / 1e9
}

fn rbond_to_rbond(n: usize) {
    if !root_or_skip() {
        return;
    }
    let lab = build(lacp_config(n, "fast"));
    let t = wait_rbond_aggregated(&lab, n, Duration::from_secs(20));
    println!("{n} ports aggregated on both ends {t:?} after the first reply");
    println!("{}", lab.status().unwrap());
    assert!(wait_ping(lab.host(), "198.18.0.2", Duration::from_secs(5)), "ping through the aggregate");

    // iperf3: many TCP streams, hashed layer3+4 over the ports. 32 streams over 4 ports leave
    // a port without any stream with probability below 1e-3.
    let lacpdus = |v: &Value| -> Vec<u64> {
        v["slaves"].as_array().unwrap().iter().map(|s| s["lacp_counters"]["lacpdu_rx"].as_u64().unwrap()).collect()
    };
    let (h0, s0) = (lacpdus(&lab.status_json().unwrap()), lacpdus(&lab.switch_status_json().unwrap()));
    let before = lab.slave_counters().unwrap();
    let t_load = Instant::now();
    let gbps = iperf3(&lab, 32, 3);
    let load_secs = t_load.elapsed().as_secs();
    let d = deltas(&before, &lab.slave_counters().unwrap());
    let (h1, s1) = (lacpdus(&lab.status_json().unwrap()), lacpdus(&lab.switch_status_json().unwrap()));
    // LACPDUs went out on time under load: at the fast rate one per second per port, each
    // way (a starved periodic machine would show as a gap here, and expire ports).
    for k in 0..n {
        let (h, s) = (h1[k] - h0[k], s1[k] - s0[k]);
        assert!(h + 1 >= load_secs && s + 1 >= load_secs, "port {k}: LACPDUs received during {load_secs} s of iperf3: host {h}, switch {s}");
    }
    println!("iperf3 {gbps:.2} Gbit/s; per-slave deltas (name, rx, tx): {d:?}");
    assert!(gbps > 0.05, "iperf3 moved almost nothing: {gbps} Gbit/s");
    let total_tx: u64 = d.iter().map(|x| x.2).sum();
    for (name, rx, tx) in &d {
        assert!(*tx * 50 >= total_tx, "{name} sent {tx} of {total_tx} frames: the aggregate must use every port");
        assert!(*rx > 0, "{name} received nothing: the partner must distribute over it too");
    }
    // LACPDUs kept flowing under load: nothing left the aggregate.
    assert!(all_in_one(&ad_view(&lab.status_json().unwrap()), n), "{}", lab.status().unwrap());

    // Pull a cable during a multi-flow probe: the port leaves, traffic goes on.
    let probe = lab.start_probe(ProbeConfig::new(Duration::from_secs(4)).flows(16), None).unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    lab.pull(0).unwrap();
    let pulled_at = Duration::from_millis(1000);
    wait_for("eth0 out of distribution", Duration::from_secs(2), || {
        let v = ad_view(&lab.status_json().unwrap());
        let num = v.active.as_ref().map_or(0, |a| a.1);
        (!distributing(&v, "eth0") && num == n as u64 - 1, format!("{v:?}"))
    });
    let r = probe.wait().unwrap();
    let after = r.window(pulled_at + Duration::from_millis(600), Duration::from_secs(4));
    println!("{}", rbond::lab::report::probe_table(&r, &[]));
    assert!(after.sent > 500 && after.loss_percent() <= 5.0, "traffic after the pull: {after:?}");
    assert!(r.summary().longest_gap < Duration::from_millis(800), "{:?}", r.summary());

    // Plug it back: the port rejoins the same aggregator on both ends and carries traffic.
    lab.plug(0).unwrap();
    let t = wait_rbond_aggregated(&lab, n, Duration::from_secs(10));
    println!("eth0 rejoined {t:?} after the plug");
    assert!(t < Duration::from_secs(6), "rejoin took {t:?} (aggregate wait 2 s + fast exchange)");
    let (r, d) = probe_with_counters(&lab, ProbeConfig::new(Duration::from_secs(2)).flows(32));
    assert!(r.summary().loss_percent() <= 5.0, "{:?}", r.summary());
    assert!(d[0].2 > 0, "eth0 carries traffic again: {d:?}");
    teardown(lab);
}

#[test]
fn rbond_to_rbond_two_ports() {
    rbond_to_rbond(2);
}

#[test]
fn rbond_to_rbond_four_ports() {
    rbond_to_rbond(4);
}

/// The OVS bond's members, all `current attached`, and rbond's partner = OVS's system id.
fn wait_ovs_aggregated(lab: &Lab, n: usize, timeout: Duration) -> Duration {
    let o = lab.ovs().unwrap();
    wait_for("OVS members current and attached, rbond aggregated with OVS", timeout, || {
        let show = o.lacp_show().unwrap_or_default();
        let members = ovs::members(&show);
        let sys = ovs::system_id(&show).unwrap_or_default();
        let hv = ad_view(&lab.status_json().unwrap());
        let ok = members.len() == n
            && members.iter().all(|(_, st)| st.contains("current") && st.contains("attached"))
            && all_in_one(&hv, n)
            && hv.active.as_ref().unwrap().2 == sys
            && hv.ports.iter().all(|p| p.3 == sys);
        (ok, format!("{show}\nrbond: {hv:?}"))
    })
}

fn rbond_to_ovs(lacp: OvsLacp, rate: &str, pull: bool) {
    if !root_or_skip() {
        return;
    }
    if !ovs::available() {
        panic!("Open vSwitch is not installed: scripts/setup.sh installs openvswitch-switch");
    }
    let n = 2;
    let lab = build(config(Mode::Ieee8023ad).slaves(n).option("lacp_rate", rate).option("xmit_hash_policy", "layer3+4").ovs(lacp));
    let t = wait_ovs_aggregated(&lab, n, Duration::from_secs(25));
    println!("OVS {lacp:?}, rbond lacp_rate {rate}: aggregated {t:?} after the first reply");
    println!("{}", lab.switch_status().unwrap().unwrap());
    println!("{}", lab.status().unwrap());
    assert!(wait_ping(lab.host(), "198.18.0.2", Duration::from_secs(5)));
    let (r, d) = probe_with_counters(&lab, ProbeConfig::new(Duration::from_secs(2)).flows(16));
    assert!(r.summary().loss_percent() <= 5.0, "{:?}", r.summary());
    assert!(d.iter().all(|x| x.2 > 0), "rbond hashes the flows over both ports: {d:?}");
    if pull {
        let probe = lab.start_probe(ProbeConfig::new(Duration::from_secs(3)).flows(16), None).unwrap();
        std::thread::sleep(Duration::from_millis(800));
        lab.pull(0).unwrap();
        let o = lab.ovs().unwrap();
        wait_for("eth0 out, swp0 not attached in OVS", Duration::from_secs(3), || {
            let hv = ad_view(&lab.status_json().unwrap());
            let show = o.lacp_show().unwrap_or_default();
            let swp0 = ovs::members(&show).into_iter().find(|m| m.0 == "swp0").map(|m| m.1).unwrap_or_default();
            (!distributing(&hv, "eth0") && !swp0.contains("current attached"), format!("{hv:?}\n{show}"))
        });
        let r = probe.wait().unwrap();
        let after = r.window(Duration::from_millis(1600), Duration::from_secs(3));
        println!("{}", rbond::lab::report::probe_table(&r, &[]));
        assert!(after.sent > 500 && after.loss_percent() <= 5.0, "traffic after the pull: {after:?}");
        lab.plug(0).unwrap();
        let t = wait_ovs_aggregated(&lab, n, Duration::from_secs(if rate == "fast" { 10 } else { 40 }));
        println!("swp0/eth0 rejoined {t:?} after the plug");
    }
    teardown(lab);
}

#[test]
fn rbond_to_ovs_active_fast_with_cable_pull() {
    rbond_to_ovs(OvsLacp { active: true, fast: true }, "fast", true);
}

#[test]
fn rbond_to_ovs_active_slow() {
    rbond_to_ovs(OvsLacp { active: true, fast: false }, "slow", true);
}

#[test]
fn rbond_to_ovs_passive() {
    rbond_to_ovs(OvsLacp { active: false, fast: true }, "fast", false);
}

/// Per flow (seq % flows), the datagrams sent in `[from, to)` that got no reply.
fn lost_per_flow(r: &ProbeResult, flows: usize, from: Duration, to: Duration) -> Vec<u64> {
    let mut lost = vec![0; flows];
    for (seq, &t) in r.sent_at.iter().enumerate() {
        if t >= from && t < to && r.replies[seq].is_empty() {
            lost[seq % flows] += 1;
        }
    }
    lost
}

/// LACPDUs stop on one link while its carrier stays up: an nftables egress rule on the switch
/// side of cable 0 drops EtherType 0x8809 as it leaves po0 (an ingress rule on the host side
/// would not do: packet sockets see frames before the ingress hook).
///
/// The host's port expires 3 s after the last LACPDU and leaves distribution; flows on the
/// other ports are untouched. (As 802.1AX and the kernel have it, the host keeps announcing
/// Synchronization while EXPIRED, so the switch side goes on sending on that link until the
/// host's port defaults 3 s later and tells it; after that every flow is back.)
#[test]
fn silent_partner_leaves_distribution_within_3s() {
    if !root_or_skip() {
        return;
    }
    let n = 3;
    let flows = 16;
    let lab = build(lacp_config(n, "fast"));
    wait_rbond_aggregated(&lab, n, Duration::from_secs(20));
    let probe = lab.start_probe(ProbeConfig::new(Duration::from_secs(10)).flows(flows as u16), None).unwrap();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    let rules = "table netdev rbt_silent {\n  chain c {\n    type filter hook egress device \"swp0\" priority 0;\n    ether type 0x8809 counter drop\n  }\n}\n";
    let file = std::env::temp_dir().join(format!("rbt-silent-{}.nft", std::process::id()));
    std::fs::write(&file, rules).unwrap();
    lab.switch().exec_ok(&["nft", "-f", file.to_str().unwrap()]).unwrap();
    let _ = std::fs::remove_file(&file);
    let silenced_at = t0.elapsed();
    let detect = wait_for("eth0 out of distribution after its partner went silent", Duration::from_secs(8), || {
        let v = ad_view(&lab.status_json().unwrap());
        (!distributing(&v, "eth0"), format!("{v:?}"))
    });
    println!("silent partner detected after {detect:?}");
    // 802.1AX: short timeout 3 s after the last LACPDU, which came at most 1 s before the rule.
    // 3.6 s leaves room for the status round trip on a loaded machine.
    assert!(detect <= Duration::from_millis(3600), "detection took {detect:?}");
    let hv = ad_view(&lab.status_json().unwrap());
    assert!(lab.host().exec_ok(&["ip", "link", "show", "eth0"]).unwrap().contains("LOWER_UP"), "carrier stayed up");
    for s in ["eth1", "eth2"] {
        assert!(distributing(&hv, s), "{s} keeps distributing: {hv:?}");
    }
    let r = probe.wait().unwrap();
    println!("{}", rbond::lab::report::probe_table(&r, &[]));
    // Right after the detection, the flows that use neither end of cable 0 lose nothing.
    let out_at = silenced_at + detect;
    let lost = lost_per_flow(&r, flows, out_at + Duration::from_millis(300), out_at + Duration::from_millis(2300));
    println!("lost per flow after the detection: {lost:?}");
    let clean = lost.iter().filter(|&&l| l == 0).count();
    assert!(clean >= 3, "flows on the other ports keep flowing: {lost:?}");
    // Once the host's port has defaulted (3 s later) and said so, the switch side stops
    // using the link too: every flow is back.
    let after = r.window(out_at + Duration::from_millis(3800), Duration::from_secs(10));
    assert!(after.sent > 500 && after.loss_percent() <= 5.0, "traffic once the port defaulted: {after:?}");
    let counted = lab.switch().exec_ok(&["nft", "list", "table", "netdev", "rbt_silent"]).unwrap();
    assert!(!counted.contains("packets 0 "), "the rule dropped LACPDUs: {counted}");
    teardown(lab);
}

/// A Marker Information PDU (802.1AX 6.5.3) as a partner would send it, 124 bytes.
fn marker_information(src: [u8; 6], port: u16, transaction: u32) -> Vec<u8> {
    let mut f = vec![0x01, 0x80, 0xc2, 0x00, 0x00, 0x02];
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0x88, 0x09, 0x02, 0x01]); // Slow Protocols, subtype Marker, version 1
    f.extend_from_slice(&[0x01, 0x10]); // Marker Information, length 16
    f.extend_from_slice(&port.to_be_bytes());
    f.extend_from_slice(&src);
    f.extend_from_slice(&transaction.to_be_bytes());
    f.extend_from_slice(&[0, 0]); // pad
    f.extend_from_slice(&[0x00, 0x00]); // Terminator
    f.resize(124, 0);
    f
}

#[test]
fn every_lacpdu_and_marker_decodes_cleanly_in_tshark() {
    if !root_or_skip() {
        return;
    }
    assert!(std::path::Path::new("/usr/bin/tshark").exists(), "tshark is not installed: scripts/setup.sh installs it");
    let lab = build(lacp_config(2, "fast"));
    let pcap = std::env::temp_dir().join(format!("rbt-lacp-{}.pcap", std::process::id()));
    let _ = std::fs::remove_file(&pcap);
    // Capture at the switch end of both cables everything the host's rbond sends: the
    // LACPDUs of a whole negotiation (the host's slaves are re-plugged while capturing) and
    // its Marker Responses.
    let mut args: Vec<String> = vec!["-q".into(), "-f".into(), "ether proto 0x8809".into(), "-a".into(), "duration:10".into(), "-w".into(), pcap.display().to_string()];
    for p in lab.ports() {
        args.push("-i".into());
        args.push(p.clone());
    }
    let _cap = lab.switch().spawn("tshark", std::path::Path::new("/usr/bin/tshark"), &args).unwrap();
    // dumpcap writes the file header once it captures (tshark says so on stderr only).
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::fs::metadata(&pcap).map_or(true, |m| m.len() == 0) {
        assert!(Instant::now() < deadline, "tshark did not start capturing");
        std::thread::sleep(Duration::from_millis(50));
    }
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(1000));
    // A renegotiation: cable 1 out and back in.
    lab.pull(1).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    lab.plug(1).unwrap();
    // Three Marker Information PDUs towards the host on cable 0, from the switch side.
    let sw_path = lab.switch().path();
    let sent = std::thread::spawn(move || -> anyhow::Result<usize> {
        rbond::lab::netns::enter(&sw_path)?;
        let info = rbond::sys::netlink::link_by_name("swp0")?.expect("swp0");
        let sock = rbond::sys::packet::PacketSocket::bind(info.index)?;
        let mut n = 0;
        for t in 1..=3u32 {
            sock.send_plain(&marker_information(info.mac, 1, t))?;
            n += 1;
            std::thread::sleep(Duration::from_millis(300));
        }
        Ok(n)
    })
    .join()
    .unwrap()
    .unwrap();
    assert_eq!(sent, 3);
    assert!(started.elapsed() < Duration::from_secs(8), "the capture must still be running");
    // The capture stops by itself after 10 s; wait for the file to be complete.
    let deadline = Instant::now() + Duration::from_secs(20);
    while lab.switch().check_processes().is_ok() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let hv: Value = lab.status_json().unwrap();
    let macs: Vec<String> = hv["slaves"].as_array().unwrap().iter().map(|s| s["perm_hwaddr"].as_str().unwrap().to_string()).collect();
    let filter = macs.iter().map(|m| format!("eth.src == {m}")).collect::<Vec<_>>().join(" || ");
    let out = lab.host().exec(&["tshark", "-r", pcap.to_str().unwrap(), "-V", "-Y", &filter]).unwrap();
    let _ = std::fs::remove_file(&pcap);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "tshark -r failed: {}", String::from_utf8_lossy(&out.stderr));
    let frames = text.matches("\nFrame ").count() + text.starts_with("Frame ") as usize;
    // The protocol headers of the decode tree (unindented lines).
    let lacpdus = text.lines().filter(|l| *l == "Link Aggregation Control Protocol").count();
    let markers = text.lines().filter(|l| *l == "Marker Protocol").count();
    println!("tshark decoded {frames} frames from rbond: {lacpdus} LACPDUs, {markers} marker PDUs");

    assert!(lacpdus >= 10, "too few LACPDUs captured ({lacpdus}):\n{text}");
    assert!(markers >= 3, "the three Marker Responses ({markers}):\n{text}");
    assert_eq!(text.matches("TLV Type: Marker Response Information (0x02)").count(), markers, "Marker Responses:\n{text}");
    assert_eq!(lacpdus + markers, frames, "every frame is a LACPDU or a marker:\n{text}");
    for bad in ["Malformed", "Expert Info"] {
        assert!(!text.contains(bad), "tshark flags `{bad}`:\n{text}");
    }
    let counters = &hv["slaves"][0]["lacp_counters"];
    assert_eq!(counters["marker_response_tx"].as_u64(), Some(3), "{counters}");
    assert_eq!(counters["marker_rx"].as_u64(), Some(3), "{counters}");
    assert_eq!(counters["bad_pdu_rx"].as_u64(), Some(0), "{counters}");
    teardown(lab);
}

/// rbond's lacp_fallback active-backup: the switch ports are plain bridge ports (nobody
/// configured LACP), so no partner ever answers. The bond runs active-backup: the first port
/// carries everything, and when its cable is pulled the next one takes over.
#[test]
fn lacp_fallback_runs_active_backup_on_a_switch_without_lacp() {
    if !root_or_skip() {
        return;
    }
    let lab = build(
        config(Mode::Ieee8023ad)
            .slaves(2)
            .option("lacp_rate", "fast")
            .option("lacp_fallback", "active-backup")
            .unconfigured_switch(),
    );
    // Without a partner the ports expire (3 s) and default (3 s more): then the fallback.
    let t = wait_for("the fallback", Duration::from_secs(15), || {
        let v = ad_view(&lab.status_json().unwrap());
        let on: Vec<&str> = v.ports.iter().filter(|p| p.4).map(|p| p.0.as_str()).collect();
        let log = lab.daemon_log();
        let fell_back = log.iter().any(|l| l.contains("(slave eth0): lacp_fallback: no 802.3ad partner on any port"));
        (on == ["eth0"] && fell_back, format!("{v:?}\n{}", log.join("\n")))
    });
    println!("fallback after {t:?}");
    let (r, d) = probe_with_counters(&lab, ProbeConfig::new(Duration::from_secs(2)).flows(16));
    assert!(r.summary().loss_percent() <= 5.0, "{:?}", r.summary());
    assert!(d[0].2 >= r.summary().sent && d[1].2 == 0, "only eth0 transmits: {d:?}");
    let probe = lab.start_probe(ProbeConfig::new(Duration::from_secs(3)).flows(4), None).unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    lab.pull(0).unwrap();
    let r = probe.wait().unwrap();
    println!("{}", rbond::lab::report::probe_table(&r, &[]));
    let after = r.window(Duration::from_millis(1500), Duration::from_secs(3));
    assert!(after.loss_percent() <= 5.0, "eth1 took over: {after:?}");
    let v = ad_view(&lab.status_json().unwrap());
    assert!(v.ports.iter().any(|p| p.0 == "eth1" && p.4), "{v:?}");
    teardown(lab);
}

/// The lab as a user runs it: `rbond lab --mode 802.3ad --switch ovs --lacp-rate fast`. Both
/// ends' status before the pulls shows one aggregator with every port; the report shows the
/// traffic went on; nothing is left behind (namespaces, Open vSwitch daemons).
#[test]
fn rbond_lab_8023ad_against_ovs_shows_the_aggregate_and_cleans_up() {
    if !root_or_skip() {
        return;
    }
    let _slot = Slot::take();
    let run = run_lab(&["--mode", "802.3ad", "--switch", "ovs", "--lacp-rate", "fast", "--duration", "15"]);
    let (pid, stdout) = (run.pid, &run.stdout);
    assert!(run.status.success(), "rbond lab failed: {}", run.stderr);
    let before = stdout.split("==== status before ====").nth(1).unwrap().split("==== switch port-channel status ====").next().unwrap();
    assert!(before.contains("Bonding Mode: IEEE 802.3ad Dynamic link aggregation"), "{before}");
    assert!(before.contains("\tNumber of ports: 2\n"), "every port in the aggregator: {before}");
    let switch = stdout.split("==== switch port-channel status ====").nth(1).unwrap().split("====").next().unwrap();
    assert_eq!(ovs::members(switch).iter().filter(|m| m.1 == "current attached").count(), 2, "{switch}");
    let partner = status_field(before, "\tPartner Mac Address").expect("a partner");
    assert_eq!(Some(partner), ovs::system_id(switch), "rbond's partner is OVS's system id");
    let total = stdout.lines().find(|l| l.starts_with("total")).expect("a total line");
    let cols: Vec<&str> = total.split_whitespace().collect();
    let (sent, lost): (u64, u64) = (cols[2].parse().unwrap(), cols[4].parse().unwrap());
    assert!(sent >= 10_000 && lost * 20 < sent, "{total}");
    let left = namespaces_of(pid);
    assert!(left.is_empty(), "left behind: {left:?}");
}
