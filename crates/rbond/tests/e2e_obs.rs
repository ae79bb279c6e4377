//! Observability end to end, in namespaces (needs root): the Prometheus endpoint scraped
//! from inside the host namespace during a cable pull (counters move, the active slave
//! changes, the text parses as the Prometheus text format), `rbond events --json` holding
//! the link change and the failover with its cause in order, the counters in
//! `rbond status --json`, and the aliases `ip link` shows, restored on release.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

const METRICS: &str = "127.0.0.1:9469";

/// One sample of the text format.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn valid_name(n: &str) -> bool {
    let mut c = n.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == ':')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == ':')
}

/// Parses the Prometheus text exposition format (version 0.0.4) strictly enough to catch
/// what a Prometheus server would refuse: metric and label names, quoted and escaped label
/// values, numeric values, one TYPE per family given before its samples, and every
/// family's samples in one group.
fn parse_prometheus(text: &str) -> Vec<Sample> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut done: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    let mut out = Vec::new();
    for (no, line) in text.lines().enumerate() {
        let at = |why: &str| format!("line {}: {why}: {line:?}", no + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut w = rest.splitn(3, ' ');
            let (kw, name, tail) = (w.next().unwrap(), w.next().unwrap_or(""), w.next().unwrap_or(""));
            assert!(valid_name(name), "{}", at("bad metric name in comment"));
            match kw {
                "HELP" => assert!(!tail.is_empty(), "{}", at("empty HELP")),
                "TYPE" => {
                    assert!(["counter", "gauge", "histogram", "summary", "untyped"].contains(&tail), "{}", at("bad TYPE"));
                    assert!(types.insert(name.to_string(), tail.to_string()).is_none(), "{}", at("second TYPE"));
                }
                _ => panic!("{}", at("unknown comment keyword")),
            }
            continue;
        }
        let (name, rest) = match line.find('{') {
            Some(i) => (&line[..i], &line[i..]),
            None => line.split_once(' ').unwrap_or_else(|| panic!("{}", at("no value"))),
        };
        assert!(valid_name(name), "{}", at("bad metric name"));
        let mut labels = BTreeMap::new();
        let value_part = if let Some(body) = rest.strip_prefix('{') {
            // label="value",... with \\ \" \n escapes
            let b = body.as_bytes();
            let mut i = 0;
            loop {
                if b[i] == b'}' {
                    i += 1;
                    break;
                }
                let eq = body[i..].find('=').unwrap_or_else(|| panic!("{}", at("label without ="))) + i;
                let lname = &body[i..eq];
                assert!(valid_name(lname) && !lname.starts_with("__"), "{}", at("bad label name"));
                assert_eq!(b[eq + 1], b'"', "{}", at("unquoted label value"));
                let mut j = eq + 2;
                let mut v = String::new();
                while b[j] != b'"' {
                    if b[j] == b'\\' {
                        v.push(match b[j + 1] {
                            b'\\' => '\\',
                            b'"' => '"',
                            b'n' => '\n',
                            _ => panic!("{}", at("bad escape")),
                        });
                        j += 2;
                    } else {
                        let ch = body[j..].chars().next().unwrap();
                        v.push(ch);
                        j += ch.len_utf8();
                    }
                }
                labels.insert(lname.to_string(), v);
                i = j + 1;
                if b[i] == b',' {
                    i += 1;
                }
            }
            &body[i..]
        } else {
            rest
        };
        let value: f64 = value_part.trim().parse().unwrap_or_else(|_| panic!("{}", at("value is not a number")));
        assert!(types.contains_key(name), "{}", at("sample before its TYPE"));
        if current.as_deref() != Some(name) {
            assert!(!done.contains(&name.to_string()), "{}", at("family split in two groups"));
            if let Some(c) = current.take() {
                done.push(c);
            }
            current = Some(name.to_string());
        }
        if types[name] == "counter" {
            assert!(name.ends_with("_total") && value >= 0.0, "{}", at("counter name or value"));
        }
        out.push(Sample { name: name.to_string(), labels, value });
    }
    out
}

/// GET /metrics from a thread inside the host namespace (the endpoint listens on the host
/// namespace's loopback).
fn scrape(lab: &Lab) -> String {
    let addr: SocketAddr = METRICS.parse().unwrap();
    let h = lab.host().spawn_thread(move || {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: text/plain\r\n\r\n")?;
        let mut resp = String::new();
        s.read_to_string(&mut resp)?;
        Ok(resp)
    });
    let resp = h.join().unwrap().expect("scraping the metrics endpoint");
    let (head, body) = resp.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("Content-Type: text/plain; version=0.0.4"), "{head}");
    body.to_string()
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v)))
        .map(|s| s.value)
}

fn alias_of(lab: &Lab, dev: &str) -> Option<String> {
    let out = lab.host().ip(&["-o", "link", "show", "dev", dev]).unwrap();
    out.split(" alias ").nth(1).map(|a| a.split('\\').next().unwrap_or(a).trim().to_string())
}

#[test]
fn metrics_events_and_aliases_follow_a_cable_pull() {
    if !root_or_skip() {
        return;
    }
    let lab = build(config(Mode::ActiveBackup).miimon(100).metrics(METRICS.parse().unwrap()));
    let slaves = lab.slaves().to_vec();
    let first = lab.active_slave().unwrap().expect("an active slave");
    let k = slaves.iter().position(|s| *s == first).unwrap();
    let other = slaves[1 - k].clone();
    let bond = "bond0";

    // Before: traffic goes through the first active slave.
    lab.probe(ProbeConfig::new(Duration::from_millis(500))).unwrap();
    let m1 = parse_prometheus(&scrape(&lab));
    assert_eq!(value(&m1, "node_bonding_slaves", &[("master", bond)]), Some(2.0));
    assert_eq!(value(&m1, "node_bonding_active", &[("master", bond)]), Some(2.0));
    assert_eq!(value(&m1, "rbond_active_slave", &[("master", bond), ("slave", &first)]), Some(1.0));
    assert_eq!(value(&m1, "rbond_bond_mii_up", &[("master", bond)]), Some(1.0));
    let tx1 = value(&m1, "rbond_slave_tx_packets_total", &[("slave", &first)]).unwrap();
    let rx1 = value(&m1, "rbond_slave_rx_delivered_total", &[("slave", &first)]).unwrap();
    assert!(tx1 >= 400.0 && rx1 >= 400.0, "the probe's ~500 frames each way: tx {tx1} rx {rx1}");
    assert_eq!(alias_of(&lab, bond).as_deref(), Some(format!("rbond bond0 active-backup, active {first}").as_str()));
    assert_eq!(alias_of(&lab, &other).as_deref(), Some("rbond slave of bond0 (backup)"));

    // Pull the active slave's cable under traffic.
    let probe = lab.start_probe(ProbeConfig::new(Duration::from_millis(1500)), None).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    lab.pull(k).unwrap();
    let during = parse_prometheus(&scrape(&lab));
    let r = probe.wait().unwrap();
    println!("probe over the pull: {:?}", r.summary());
    wait_status(&lab, "the failover", Duration::from_secs(5), |s| {
        status_field(s, "Currently Active Slave").as_deref() == Some(other.as_str())
    });
    let m2 = parse_prometheus(&scrape(&lab));
    println!("metrics during the pull: {} samples; after:\n{}", during.len(), scrape(&lab));
    assert_eq!(value(&m2, "rbond_active_slave", &[("master", bond), ("slave", &other)]), Some(1.0));
    assert_eq!(value(&m2, "rbond_active_slave", &[("master", bond), ("slave", &first)]), None);
    assert_eq!(value(&m2, "node_bonding_active", &[("master", bond)]), Some(1.0));
    assert_eq!(value(&m2, "node_bonding_slaves", &[("master", bond)]), Some(2.0));
    assert_eq!(value(&m2, "rbond_failovers_total", &[("master", bond), ("cause", "link_failure")]), Some(1.0));
    assert_eq!(value(&m2, "rbond_slave_link_failures_total", &[("slave", &first)]), Some(1.0));
    assert_eq!(value(&m2, "rbond_slave_mii_up", &[("slave", &first)]), Some(0.0));
    let tx2 = value(&m2, "rbond_slave_tx_packets_total", &[("slave", &other)]).unwrap();
    let tx_other1 = value(&m1, "rbond_slave_tx_packets_total", &[("slave", &other)]).unwrap();
    assert!(tx2 - tx_other1 >= 500.0, "traffic moved to {other}: {tx_other1} -> {tx2}");
    assert!(value(&m2, "rbond_slave_tx_packets_total", &[("slave", &first)]).unwrap() >= tx1);

    // The event log: the link going down, then the failover with its cause.
    let out = rbond_ok(&lab, &["events", "--json"]);
    let evs: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    println!("events:\n{out}");
    assert!(evs.windows(2).all(|w| w[1]["seq"].as_u64() > w[0]["seq"].as_u64()), "in order");
    let pos = |f: &dyn Fn(&serde_json::Value) -> bool| evs.iter().position(f);
    let down = pos(&|e| e["kind"] == "link" && e["slave"] == first.as_str() && e["to"] == "down").expect("link down event");
    let fo = pos(&|e| e["kind"] == "failover" && e["cause"] == "link_failure").expect("failover event");
    assert!(down < fo, "the link change comes before the failover it caused");
    assert_eq!(evs[fo]["from"], first.as_str());
    assert_eq!(evs[fo]["to"], other.as_str());
    assert_eq!(evs[fo]["bond"], bond);
    let enslaved = evs.iter().filter(|e| e["kind"] == "enslave").count();
    assert_eq!(enslaved, 2);
    // And as text.
    let text = rbond_ok(&lab, &["events", "bond0"]);
    assert!(text.contains(&format!("bond0: failover from {first} to {other} (link_failure)")), "{text}");
    // The daemon wrote the same events on stderr, in the kernel's line format.
    let log = lab.daemon_log().join("\n");
    assert!(log.contains(&format!("bond0: (slave {first}): link up -> down")), "{log}");

    // status --json carries the counters.
    let st: serde_json::Value = serde_json::from_str(&rbond_ok(&lab, &["status", "bond0", "--json"])).unwrap();
    let c = &st["counters"];
    assert_eq!(c["failovers_by_cause"]["link_failure"], 1);
    assert_eq!(c["last_failover"]["from"], first.as_str());
    let sc = c["slaves"].as_array().unwrap().iter().find(|s| s["name"] == other.as_str()).unwrap();
    assert!(sc["tx_packets"].as_u64().unwrap() >= tx2 as u64);
    assert!(sc["rx_packets"].as_u64().unwrap() > 0);

    // Aliases follow the failover.
    assert_eq!(alias_of(&lab, bond).as_deref(), Some(format!("rbond bond0 active-backup, active {other}").as_str()));
    assert_eq!(alias_of(&lab, &first).as_deref(), Some("rbond slave of bond0 (backup)"));
    assert_eq!(alias_of(&lab, &other).as_deref(), Some("rbond slave of bond0 (active)"));

    // Release restores the alias found at enslave time (none here; then one of our own).
    rbond_ok(&lab, &["release", "bond0", &first]);
    assert_eq!(alias_of(&lab, &first), None);
    lab.host().ip(&["link", "set", "dev", &first, "alias", "cable one"]).unwrap();
    rbond_ok(&lab, &["enslave", "bond0", &first]);
    assert_eq!(alias_of(&lab, &first).as_deref(), Some("rbond slave of bond0 (backup)"));
    rbond_ok(&lab, &["release", "bond0", &first]);
    assert_eq!(alias_of(&lab, &first).as_deref(), Some("cable one"));
    let evs = rbond_ok(&lab, &["events", "--json"]);
    assert_eq!(evs.lines().filter(|l| l.contains("\"kind\":\"release\"")).count(), 2, "{evs}");
    // Releasing the active slave with no other slave up: a failover to none, naming it.
    rbond_ok(&lab, &["release", "bond0", &other]);
    let last: serde_json::Value = serde_json::from_str(rbond_ok(&lab, &["events", "--json"]).lines().last().unwrap()).unwrap();
    assert_eq!((&last["kind"], &last["from"], &last["to"], &last["cause"]), (&"failover".into(), &other.as_str().into(), &"none".into(), &"released".into()));
    teardown(lab);
}

#[test]
fn prometheus_parser_rejects_what_prometheus_would() {
    // The checker above must not pass everything.
    let ok = "# HELP a_total x\n# TYPE a_total counter\na_total{m=\"b\\\"q\"} 3\n";
    assert_eq!(parse_prometheus(ok)[0].labels["m"], "b\"q");
    for bad in [
        "a 1\n",                                              // no TYPE
        "# TYPE a gauge\na{m=b} 1\n",                         // unquoted
        "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n",    // split family
        "# TYPE a gauge\na x\n",                              // not a number
        "# TYPE a counter\na 1\n",                            // counter without _total
    ] {
        assert!(std::panic::catch_unwind(|| parse_prometheus(bad)).is_err(), "accepted {bad:?}");
    }
}

/// Columns of `pix` where at least `min` pixels are close to `rgb`.
fn columns_with(pix: &resvg::tiny_skia::Pixmap, rgb: (u8, u8, u8), min: usize) -> Vec<u32> {
    (0..pix.width())
        .filter(|&x| {
            (0..pix.height())
                .filter(|&y| {
                    let p = pix.pixel(x, y).unwrap();
                    (p.red() as i32 - rgb.0 as i32).abs() < 40
                        && (p.green() as i32 - rgb.1 as i32).abs() < 40
                        && (p.blue() as i32 - rgb.2 as i32).abs() < 40
                        && p.alpha() > 200
                })
                .count()
                >= min
        })
        .collect()
}

/// Groups of adjacent columns: one per drawn vertical line.
fn runs(cols: &[u32]) -> usize {
    cols.windows(2).filter(|w| w[1] > w[0] + 3).count() + usize::from(!cols.is_empty())
}

#[test]
fn lab_plot_shows_the_pulls_and_failovers() {
    if !root_or_skip() {
        return;
    }
    let _slot = Slot::take();
    let dir = std::env::temp_dir().join(format!("rbt-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("lab.svg");
    let out = std::process::Command::new(rbond_bin())
        .args(["lab", "--duration", "4", "--plot"])
        .arg(&svg)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&format!("plot written to {}", svg.display())), "{stdout}");

    // Valid SVG: usvg parses it; rendered to PNG with resvg.
    let data = std::fs::read(&svg).unwrap();
    let tree = resvg::usvg::Tree::from_data(&data, &resvg::usvg::Options::default()).expect("a valid SVG");
    let size = tree.size().to_int_size();
    let mut pix = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    resvg::render(&tree, resvg::tiny_skia::Transform::default(), &mut pix.as_mut());
    let png = dir.join("lab.png");
    pix.save_png(&png).unwrap();
    let reread = resvg::tiny_skia::Pixmap::load_png(&png).unwrap();
    assert_eq!((reread.width(), reread.height()), (1000, 600));

    // Two cables pulled and plugged: two red and two green lines (in both panels, so at
    // least 200 pixels high), one blue mark (the panels' top fifth) per failover, both
    // slaves' lines drawn.
    let pulls = columns_with(&reread, (220, 0, 0), 200);
    let plugs = columns_with(&reread, (0, 160, 0), 200);
    let failovers = columns_with(&reread, (0, 0, 230), 40);
    assert_eq!(runs(&pulls), 2, "pull lines at {pulls:?}");
    assert_eq!(runs(&plugs), 2, "plug lines at {plugs:?}");
    assert!(runs(&failovers) >= 2, "failover lines at {failovers:?}");
    // The first failover follows the first pull, within the MII monitor's reaction time.
    // Within ~250 ms (60 px of a 4 s run): the MII monitor's 100 ms plus scheduling.
    assert!(failovers[0] + 2 >= pulls[0] && failovers[0] < pulls[0] + 60, "pull {pulls:?} failover {failovers:?}");
    for rgb in [(120, 0, 160), (0, 150, 170)] {
        assert!(columns_with(&reread, rgb, 1).len() > 100, "slave line {rgb:?} missing");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn top_and_watch_show_the_live_bond() {
    if !root_or_skip() {
        return;
    }
    let lab = build(config(Mode::ActiveBackup).miimon(100));
    let active = lab.active_slave().unwrap().expect("an active slave");
    let backup = lab.slaves().iter().find(|s| **s != active).unwrap().clone();
    let sock = lab.host_daemon().socket.clone();

    // `rbond top --count 3` while the 1 ms probe runs: ~1000 packets/s each way on the
    // active slave, none sent on the backup.
    let probe = lab.start_probe(ProbeConfig::new(Duration::from_millis(2500)), None).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let out = std::process::Command::new(rbond_bin())
        .arg("--socket")
        .arg(&sock)
        .args(["top", "bond0", "--count", "3", "--interval", "500"])
        .output()
        .unwrap();
    probe.wait().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    assert!(out.status.success());
    assert!(!text.contains('\x1b'), "--count prints plainly");
    let rows: Vec<Vec<&str>> = text.lines().filter(|l| l.starts_with("bond0 ")).map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), 6, "3 tables of 2 slaves");
    for r in &rows {
        let tx: f64 = r[6].parse().unwrap();
        if r[1] == active {
            assert_eq!(r[3], "active*");
            // Loose bounds: a loaded machine delays the probe's sends and top's samples.
            assert!((300.0..2000.0).contains(&tx), "active tx {tx}/s: {r:?}");
            assert!(r[4].parse::<f64>().unwrap() > 300.0, "active rx: {r:?}");
        } else {
            assert_eq!((r[1], r[3]), (backup.as_str(), "backup"));
            assert!(tx < 5.0, "backup tx: {r:?}");
        }
    }

    // `rbond status --watch`: the status redrawn in place (clear + home) until stopped.
    let mut child = std::process::Command::new(rbond_bin())
        .arg("--socket")
        .arg(&sock)
        .args(["status", "bond0", "--watch", "--interval", "200"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let frames = text.matches("\x1b[H\x1b[2J").count();
    assert!((2..=7).contains(&frames), "{frames} redraws in 1.1 s at 200 ms");
    assert_eq!(text.matches("Currently Active Slave: ").count(), frames);

    // `rbond events --follow --json` prints what happens after it started.
    let mut child = std::process::Command::new(rbond_bin())
        .arg("--socket")
        .arg(&sock)
        .args(["events", "--follow", "--json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for l in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(400));
    rbond_ok(&lab, &["set", "bond0", "primary", &backup]);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    while std::time::Instant::now() < deadline && !seen.iter().any(|l: &String| l.contains("\"kind\":\"option\"")) {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push(l);
        }
    }
    child.kill().unwrap();
    let _ = child.wait();
    let kinds: Vec<serde_json::Value> = seen.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    // The history first (create, enslaves ...), then the new events: the primary's takeover
    // (a reselection) and the option write.
    assert_eq!(kinds[0]["kind"], "create", "{seen:?}");
    let fo = kinds.iter().position(|e| e["kind"] == "failover" && e["cause"] == "reselect").expect("the reselection");
    assert_eq!((&kinds[fo]["from"], &kinds[fo]["to"]), (&active.as_str().into(), &backup.as_str().into()));
    assert!(kinds.iter().any(|e| e["kind"] == "option" && e["to"] == backup.as_str()), "{seen:?}");
    teardown(lab);
}

#[test]
fn netlink_sets_reads_and_clears_an_alias() {
    if !root_or_skip() {
        return;
    }
    use rbond::lab::netns::{unique_id, Netns};
    use rbond::sys::netlink;
    let ns = Netns::new(&unique_id(), "alias").unwrap();
    ns.ip(&["link", "add", "rbtal0", "type", "veth", "peer", "name", "rbtal1"]).unwrap();
    let shown = |ns: &Netns| ns.ip(&["-o", "link", "show", "dev", "rbtal0"]).unwrap();
    let long = "x".repeat(300);
    let h = ns.spawn_thread(move || {
        let ix = netlink::link_by_name("rbtal0")?.expect("the veth").index;
        let none = netlink::alias(ix)?;
        netlink::set_alias(ix, "rbond slave of bond0 (backup)")?;
        let set = netlink::alias(ix)?;
        // Longer than the kernel's IFALIASZ - 1: cut, not refused.
        netlink::set_alias(ix, &long)?;
        let cut = netlink::alias(ix)?.map(|a| a.len());
        netlink::set_alias(ix, "ünïcode ok")?;
        let utf8 = netlink::alias(ix)?;
        Ok((ix, none, set, cut, utf8))
    });
    let (ix, none, set, cut, utf8) = h.join().unwrap().unwrap();
    assert_eq!(none, None);
    assert_eq!(set.as_deref(), Some("rbond slave of bond0 (backup)"));
    assert_eq!(cut, Some(255));
    assert_eq!(utf8.as_deref(), Some("ünïcode ok"));
    assert!(shown(&ns).contains("alias ünïcode ok"), "{}", shown(&ns));
    // An empty alias removes it; an unknown interface reads as none.
    let h = ns.spawn_thread(move || {
        netlink::set_alias(ix, "")?;
        Ok((netlink::alias(ix)?, netlink::alias(999_999)?))
    });
    assert_eq!(h.join().unwrap().unwrap(), (None, None));
    assert!(!shown(&ns).contains("alias"), "{}", shown(&ns));
}
