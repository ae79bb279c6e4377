//! Prometheus metrics: the text exposition format (version 0.0.4) of every bond, rendered on
//! the event loop from a control request, and an HTTP endpoint (`rbond daemon --metrics
//! ADDR`, off by default) on a thread of its own that asks the daemon over its control socket.
//!
//! Why hand-written and not `prometheus-client`: every value already lives in the bonds
//! (the core's counters, the slaves' data-path counters) and is read once per scrape; a
//! registry of metric objects would hold a second copy that the data path would have to keep
//! current, or a custom collector that rebuilds it each scrape. The format itself is a few
//! lines (`# HELP`, `# TYPE`, `name{labels} value`), and the end-to-end test parses it.
//!
//! Names: `node_bonding_slaves` and `node_bonding_active` are node_exporter's bonding
//! collector's (number of slaves, and of slaves whose MII status is up, per `master`), so
//! existing dashboards and alerts work unchanged; everything else is `rbond_*`.

use super::obs::SlaveCounters;
use super::BondRt;
use crate::ctl::{self, Request};
use rbond_core::LinkState;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

/// Label values escaped as the text format wants (backslash, double quote, newline).
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// One metric family: its header once, then its samples.
struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        let l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", esc(v))).collect();
        let _ = writeln!(self.0, "{name}{{{}}} {value}", l.join(","));
    }
}

/// The LACP port state bits (IEEE 802.1AX-2014 bond_main.c: bond_find_best_slave.2.3, Actor_State/Partner_State), bit 0
/// first, as label values.
const LACP_BITS: [&str; 8] =
    ["activity", "timeout", "aggregation", "synchronization", "collecting", "distributing", "defaulted", "expired"];

/// What one bond's metrics are made of: the status model, the core's counters and the
/// data path's.
pub struct BondView {
    pub status: rbond_core::status::BondStatus,
    pub counters: rbond_core::bond::CountersView,
    /// Per slave (in slave order): name and data-path counters.
    pub slaves: Vec<(String, SlaveCounters)>,
    pub tx_frames: u64,
    pub tx_dropped: u64,
    pub rx_frames: u64,
}

impl BondView {
    pub fn of(b: &BondRt) -> BondView {
        let (tx_frames, tx_dropped, rx_frames) = b.frame_totals();
        BondView {
            status: b.core.status(),
            counters: b.core.counters(),
            slaves: b.slaves.iter().map(|s| (s.name.clone(), s.counters())).collect(),
            tx_frames,
            tx_dropped,
            rx_frames,
        }
    }
}

/// Every bond of the daemon in the Prometheus text format.
pub fn render<'a>(bonds: impl Iterator<Item = &'a BondRt>) -> String {
    render_views(&bonds.map(BondView::of).collect::<Vec<_>>())
}

/// The text format of these bonds (families in a fixed order, each family's samples
/// together, as the format requires).
pub fn render_views(views: &[BondView]) -> String {
    let mut o = Out(String::new());
    let statuses: Vec<_> = views.iter().map(|v| (v, &v.status, &v.counters)).collect();

    o.family("node_bonding_slaves", "gauge", "Number of configured slaves per bonding interface.");
    for (_, st, _) in &statuses {
        o.sample("node_bonding_slaves", &[("master", &st.bond)], st.slaves.len());
    }
    o.family("node_bonding_active", "gauge", "Number of active slaves per bonding interface.");
    for (_, st, _) in &statuses {
        let up = st.slaves.iter().filter(|s| s.mii_status == LinkState::Up).count();
        o.sample("node_bonding_active", &[("master", &st.bond)], up);
    }
    o.family("rbond_bond_info", "gauge", "The bond's mode (always 1).");
    for (_, st, _) in &statuses {
        o.sample("rbond_bond_info", &[("master", &st.bond), ("mode", st.mode.name())], 1);
    }
    o.family("rbond_bond_mii_up", "gauge", "The bond's MII status (its carrier): 1 up, 0 down.");
    for (_, st, _) in &statuses {
        o.sample("rbond_bond_mii_up", &[("master", &st.bond)], u8::from(st.mii_status_up));
    }
    o.family("rbond_active_slave", "gauge", "1 for the bond's current active slave (modes active-backup, balance-tlb, balance-alb).");
    for (_, st, _) in &statuses {
        // Shown where /proc shows "Currently Active Slave" (modes 1, 5, 6).
        if let Some(a) = st.active_slave.as_ref().filter(|_| st.mode.uses_primary()) {
            o.sample("rbond_active_slave", &[("master", &st.bond), ("slave", a)], 1);
        }
    }
    o.family("rbond_failovers_total", "counter", "Changes of the active slave, by cause.");
    for (_, st, c) in &statuses {
        for (cause, n) in &c.failovers_by_cause {
            o.sample("rbond_failovers_total", &[("master", &st.bond), ("cause", cause)], n);
        }
    }
    o.family("rbond_slave_mii_up", "gauge", "A slave's MII status: 1 up, 0 down, going down or going back.");
    for (_, st, _) in &statuses {
        for s in &st.slaves {
            o.sample("rbond_slave_mii_up", &[("master", &st.bond), ("slave", &s.name), ("state", s.mii_status.proc_text())], u8::from(s.mii_status == LinkState::Up));
        }
    }
    o.family("rbond_slave_backup", "gauge", "A slave's sysfs state: 1 backup, 0 active.");
    for (_, st, _) in &statuses {
        for s in &st.slaves {
            o.sample("rbond_slave_backup", &[("master", &st.bond), ("slave", &s.name)], u8::from(s.state == "backup"));
        }
    }
    o.family("rbond_slave_link_failures_total", "counter", "A slave's link failures (Link Failure Count in /proc/net/bonding).");
    for (_, st, _) in &statuses {
        for s in &st.slaves {
            o.sample("rbond_slave_link_failures_total", &[("master", &st.bond), ("slave", &s.name)], s.link_failure_count);
        }
    }
    type Get = fn(&SlaveCounters) -> u64;
    let dp: [(&str, &str, Get); 9] = [
        ("rbond_slave_rx_packets_total", "Frames received on the slave.", |c| c.rx_packets),
        ("rbond_slave_rx_bytes_total", "Bytes received on the slave (Ethernet header on).", |c| c.rx_bytes),
        ("rbond_slave_rx_delivered_total", "Received frames handed to the bond device.", |c| c.rx_delivered),
        ("rbond_slave_rx_filtered_total", "Received frames refused by the bond's receive filter (inactive slave).", |c| c.rx_filtered),
        ("rbond_slave_rx_consumed_total", "Received frames taken by the bond itself (link monitor replies, LACPDUs).", |c| c.rx_consumed),
        ("rbond_slave_rx_dropped_total", "Accepted frames lost writing them to the bond device.", |c| c.rx_dropped),
        ("rbond_slave_tx_packets_total", "Frames of the bond device sent on the slave.", |c| c.tx_packets),
        ("rbond_slave_tx_bytes_total", "Bytes of the bond device handed to the slave.", |c| c.tx_bytes),
        ("rbond_slave_tx_dropped_total", "Frames the slave failed to send.", |c| c.tx_dropped),
    ];
    for (name, help, get) in dp {
        o.family(name, "counter", help);
        for (b, st, _) in &statuses {
            for (slave, c) in &b.slaves {
                o.sample(name, &[("master", &st.bond), ("slave", slave)], get(c));
            }
        }
    }
    o.family("rbond_tx_packets_total", "counter", "Frames the host sent into the bond device.");
    for (b, st, _) in &statuses {
        o.sample("rbond_tx_packets_total", &[("master", &st.bond)], b.tx_frames);
    }
    o.family("rbond_tx_dropped_total", "counter", "Frames from the bond device that no slave could send.");
    for (b, st, _) in &statuses {
        o.sample("rbond_tx_dropped_total", &[("master", &st.bond)], b.tx_dropped);
    }
    o.family("rbond_rx_packets_total", "counter", "Frames delivered to the bond device.");
    for (b, st, _) in &statuses {
        o.sample("rbond_rx_packets_total", &[("master", &st.bond)], b.rx_frames);
    }
    // 802.3ad: what the status model has (per port: aggregator, actor and partner state).
    o.family("rbond_lacp_aggregator_id", "gauge", "802.3ad: the aggregator a slave is attached to.");
    for (_, st, _) in &statuses {
        for s in &st.slaves {
            if let Some(id) = s.ad.as_ref().and_then(|a| a.aggregator_id) {
                o.sample("rbond_lacp_aggregator_id", &[("master", &st.bond), ("slave", &s.name)], id);
            }
        }
    }
    o.family("rbond_lacp_churned_total", "counter", "802.3ad: churn detections per port (IEEE 802.1AX churn detection machines), for the actor and the partner.");
    for (_, st, _) in &statuses {
        for s in &st.slaves {
            let Some(ad) = &s.ad else { continue };
            for (who, n) in [("actor", ad.actor_churned_count), ("partner", ad.partner_churned_count)] {
                o.sample("rbond_lacp_churned_total", &[("master", &st.bond), ("slave", &s.name), ("who", who)], n);
            }
        }
    }
    for (name, help, partner) in [
        ("rbond_lacp_actor_state", "802.3ad: the actor's port state bits (IEEE 802.1AX Actor_State).", false),
        ("rbond_lacp_partner_state", "802.3ad: the partner's port state bits (IEEE 802.1AX Partner_State).", true),
    ] {
        o.family(name, "gauge", help);
        for (_, st, _) in &statuses {
            for s in &st.slaves {
                let Some(ad) = &s.ad else { continue };
                let bits = if partner { ad.partner.port_state } else { ad.actor.port_state };
                for (k, bit) in LACP_BITS.iter().enumerate() {
                    o.sample(name, &[("master", &st.bond), ("slave", &s.name), ("bit", bit)], (bits >> k) & 1);
                }
            }
        }
    }
    o.0
}

/// Starts the HTTP endpoint: `GET /metrics` answers with the daemon's metrics, fetched over
/// its control socket `socket` (so this thread shares nothing with the event loop). Binds
/// now, so a bad address fails `rbond daemon` at once.
pub fn spawn(addr: SocketAddr, socket: PathBuf) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let bound = listener.local_addr()?;
    std::thread::Builder::new().name("rbond-metrics".into()).spawn(move || {
        for conn in listener.incoming().flatten() {
            // One scrape at a time: scrapes are seconds apart, and the timeouts keep a
            // stalled client from holding the endpoint.
            let _ = serve(conn, &socket);
        }
    })?;
    Ok(bound)
}

fn serve(mut conn: TcpStream, socket: &std::path::Path) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    conn.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut r = BufReader::new(conn.try_clone()?);
    let mut first = String::new();
    r.read_line(&mut first)?;
    // The headers are read and ignored (up to the empty line, at most 100 of them).
    for _ in 0..100 {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
    }
    let mut parts = first.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, ctype, body) = match (method, path.split('?').next().unwrap_or("")) {
        ("GET", "/metrics") => match ctl::call(socket, &Request::Metrics) {
            Ok(resp) if resp.ok => ("200 OK", "text/plain; version=0.0.4; charset=utf-8", resp.out),
            Ok(resp) => ("503 Service Unavailable", "text/plain", resp.error),
            Err(e) => ("503 Service Unavailable", "text/plain", format!("{e:#}\n")),
        },
        ("GET", "/") => ("200 OK", "text/html", "<html><body><a href=\"/metrics\">rbond metrics</a></body></html>\n".to_string()),
        ("GET", _) => ("404 Not Found", "text/plain", "only /metrics is here\n".to_string()),
        _ => ("405 Method Not Allowed", "text/plain", "GET only\n".to_string()),
    };
    write!(conn, "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())?;
    conn.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    use rbond_core::bond::Bond;
    use rbond_core::status::{LacpPduDetails, SlaveAdInfo};
    use rbond_core::{Duplex, LinkObservation, MacAddr, SlaveId};

    fn details(state: u8) -> LacpPduDetails {
        LacpPduDetails { system_priority: 65535, system_mac: MacAddr([2, 0, 0, 0, 0, 9]), key: 9, port_priority: 255, port_number: 1, port_state: state }
    }

    #[test]
    fn an_8023ad_bond_exposes_lacp_bits_and_churn() {
        let mut b = Bond::new("bond1", MacAddr([2, 0, 0, 0, 0, 1]), "6.1");
        b.set_option("mode", "802.3ad", 0).unwrap();
        b.set_option("miimon", "100", 0).unwrap();
        let up = LinkObservation { admin_up: true, carrier: true, speed_mbps: Some(1000), duplex: Duplex::Full };
        b.enslave(SlaveId(5), "eth0", MacAddr([2, 0, 0, 0, 1, 1]), up, 0).unwrap();
        b.set_admin_up(true, 0);
        let mut status = b.status();
        // Actor: activity, aggregation, in sync, collecting, distributing (0x3d); partner
        // the same plus short timeout (0x3f); as an 802.1AX port in the distributing state.
        status.slaves[0].ad = Some(SlaveAdInfo {
            aggregator_id: Some(1),
            actor_churn_state: "none",
            partner_churn_state: "churned",
            actor_churned_count: 0,
            partner_churned_count: 2,
            actor: details(0x3d),
            partner: details(0x3f),
        });
        let v = BondView { status, counters: b.counters(), slaves: vec![("eth0".into(), SlaveCounters::default())], tx_frames: 0, tx_dropped: 0, rx_frames: 0 };
        let text = render_views(&[v]);
        let has = |l: &str| assert!(text.lines().any(|x| x == l), "missing {l:?} in\n{text}");
        has("rbond_bond_info{master=\"bond1\",mode=\"802.3ad\"} 1");
        has("rbond_lacp_aggregator_id{master=\"bond1\",slave=\"eth0\"} 1");
        has("rbond_lacp_actor_state{master=\"bond1\",slave=\"eth0\",bit=\"activity\"} 1");
        has("rbond_lacp_actor_state{master=\"bond1\",slave=\"eth0\",bit=\"timeout\"} 0");
        has("rbond_lacp_actor_state{master=\"bond1\",slave=\"eth0\",bit=\"distributing\"} 1");
        has("rbond_lacp_actor_state{master=\"bond1\",slave=\"eth0\",bit=\"expired\"} 0");
        has("rbond_lacp_partner_state{master=\"bond1\",slave=\"eth0\",bit=\"timeout\"} 1");
        has("rbond_lacp_churned_total{master=\"bond1\",slave=\"eth0\",who=\"partner\"} 2");
        assert_eq!(text.matches("rbond_lacp_actor_state{").count(), 8);
        // No active slave gauge in 802.3ad (the kernel has no curr_active_slave there).
        assert!(!text.contains("rbond_active_slave{"));
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(esc(r#"a"b\c"#), r#"a\"b\\c"#);
        let mut o = Out(String::new());
        o.sample("x", &[("master", "bond0"), ("slave", "e\n")], 3);
        assert_eq!(o.0, "x{master=\"bond0\",slave=\"e\\n\"} 3\n");
    }
}
