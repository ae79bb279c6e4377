//! A UDP echo probe at a fixed interval (1 ms by default), the measuring stick of the seed's
//! "pull a cable while pinging" test.
//!
//! A responder thread in the peer namespace echoes every datagram. A sender in the host
//! namespace sends numbered datagrams at fixed deadlines over one or more flows (distinct UDP
//! source ports, which is what balance-xor with layer3+4 hashes on) while one receiver thread
//! per flow timestamps the replies. Each datagram carries a run token, so stray or late frames
//! from another run are never counted.

use super::netns::Netns;
use anyhow::{bail, Context, Result};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Bytes of a probe datagram: token (8), sequence number (8).
const PAYLOAD: usize = 16;

#[derive(Clone, Debug)]
pub struct ProbeConfig {
    pub source: Ipv4Addr,
    pub target: Ipv4Addr,
    /// The responder's UDP port.
    pub port: u16,
    /// Flow i uses source port `src_port_base + i`.
    pub src_port_base: u16,
    pub flows: u16,
    pub interval: Duration,
    pub duration: Duration,
    /// How long receivers keep listening after the last send.
    pub grace: Duration,
}

impl ProbeConfig {
    /// 1 ms, one flow, between the lab's host (198.18.0.1) and peer (198.18.0.2).
    pub fn new(duration: Duration) -> ProbeConfig {
        ProbeConfig {
            source: Ipv4Addr::new(198, 18, 0, 1),
            target: Ipv4Addr::new(198, 18, 0, 2),
            port: 7, // the echo service's port
            src_port_base: 40000,
            flows: 1,
            interval: Duration::from_millis(1),
            duration,
            grace: Duration::from_millis(300),
        }
    }

    pub fn flows(mut self, n: u16) -> Self {
        self.flows = n.max(1);
        self
    }
}

/// What one probe run saw. Times are offsets from the first send.
#[derive(Clone, Debug)]
pub struct ProbeResult {
    pub config: ProbeConfig,
    /// Send time of each sequence number (index = seq).
    pub sent_at: Vec<Duration>,
    /// Arrival times of the replies for each sequence number (more than one = duplicates).
    pub replies: Vec<Vec<Duration>>,
    /// Time the last datagram was sent.
    pub send_end: Duration,
    /// True if the run was cut short by a stop request (Ctrl-C).
    pub interrupted: bool,
}

/// Totals over a whole run or one time window of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
    pub duplicated: u64,
    /// Longest interval with no new reply, in the window (edges included).
    pub longest_gap: Duration,
}

impl Summary {
    pub fn loss_percent(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            100.0 * self.lost as f64 / self.sent as f64
        }
    }
}

impl ProbeResult {
    pub fn summary(&self) -> Summary {
        self.window(Duration::ZERO, self.send_end)
    }

    /// Packets sent in `[from, to)`, with their fate; the gap is measured between first
    /// arrivals of replies inside `[from, to]`, counting the window's edges, so a window where
    /// nothing came back has a gap equal to its length.
    pub fn window(&self, from: Duration, to: Duration) -> Summary {
        let mut s = Summary {
            sent: 0,
            received: 0,
            lost: 0,
            duplicated: 0,
            longest_gap: Duration::ZERO,
        };
        for (seq, &t) in self.sent_at.iter().enumerate() {
            if t < from || t >= to {
                continue;
            }
            s.sent += 1;
            let n = self.replies[seq].len() as u64;
            if n == 0 {
                s.lost += 1;
            } else {
                s.received += 1;
                s.duplicated += n - 1;
            }
        }
        let mut arrivals: Vec<Duration> = self
            .replies
            .iter()
            .filter_map(|r| r.iter().min().copied())
            .filter(|&t| t >= from && t <= to)
            .collect();
        arrivals.sort();
        let mut prev = from;
        for t in arrivals.into_iter().chain(std::iter::once(to)) {
            s.longest_gap = s.longest_gap.max(t.saturating_sub(prev));
            prev = t;
        }
        s
    }
}

/// A probe in progress; `wait` returns its result.
pub struct ProbeHandle {
    sender: Option<JoinHandle<Result<ProbeResult>>>,
    responder: Option<JoinHandle<Result<u64>>>,
    responder_stop: Arc<AtomicBool>,
    sender_stop: Arc<AtomicBool>,
}

impl ProbeHandle {
    pub fn wait(mut self) -> Result<ProbeResult> {
        let sender = self.sender.take().expect("waited once");
        let result = sender.join().map_err(|_| anyhow::anyhow!("probe sender panicked"));
        self.responder_stop.store(true, Ordering::Relaxed);
        let responder = self.responder.take().expect("waited once");
        let echoed = responder.join().map_err(|_| anyhow::anyhow!("responder panicked"))?;
        echoed.context("probe responder")?;
        result?
    }
}

impl Drop for ProbeHandle {
    /// A probe abandoned on an error path stops its threads instead of running on.
    fn drop(&mut self) {
        self.sender_stop.store(true, Ordering::Relaxed);
        self.responder_stop.store(true, Ordering::Relaxed);
        if let Some(s) = self.sender.take() {
            let _ = s.join();
        }
        if let Some(r) = self.responder.take() {
            let _ = r.join();
        }
    }
}

fn token() -> u64 {
    use std::hash::{Hash, Hasher};
    // Distinct per run, even for parallel runs in one process.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    super::netns::unique_id().hash(&mut h);
    std::time::SystemTime::now().hash(&mut h);
    h.finish()
}

/// Binds a UDP socket, retrying briefly while the address is in use. A socket from the
/// previous probe on the same port can outlive its close: a process forked at that moment by
/// another thread (e.g. an `ip` command of a parallel test) holds a copy of the fd until it
/// execs, which closes it (CLOEXEC).
fn bind(addr: SocketAddrV4) -> std::io::Result<UdpSocket> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match UdpSocket::bind(addr) {
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            r => return r,
        }
    }
}

/// Starts the responder in `peer` and the sender in `host`; returns at once. The sender stops
/// by itself after `duration`, or early when `stop` becomes true.
pub fn start(
    host: &Netns,
    peer: &Netns,
    config: ProbeConfig,
    stop: Option<Arc<AtomicBool>>,
) -> Result<ProbeHandle> {
    let responder_stop = Arc::new(AtomicBool::new(false));
    let (bound_tx, bound_rx) = mpsc::channel();
    let rs = responder_stop.clone();
    let port = config.port;
    let target = config.target;
    let responder = peer.spawn_thread(move || {
        let sock = bind(SocketAddrV4::new(target, port));
        let sock = match sock {
            Ok(s) => {
                let _ = bound_tx.send(Ok(()));
                s
            }
            Err(e) => {
                let _ = bound_tx.send(Err(e.to_string()));
                bail!("responder bind {target}:{port}: {e}");
            }
        };
        sock.set_read_timeout(Some(Duration::from_millis(50)))?;
        let mut buf = [0u8; 2048];
        let mut echoed = 0u64;
        while !rs.load(Ordering::Relaxed) {
            match sock.recv_from(&mut buf) {
                Ok((n, from)) => {
                    // Send errors (e.g. no route during a failover) are the probe's to count.
                    if sock.send_to(&buf[..n], from).is_ok() {
                        echoed += 1;
                    }
                }
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => return Err(e).context("responder recv"),
            }
        }
        Ok(echoed)
    });
    match bound_rx.recv_timeout(Duration::from_secs(5)) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            responder_stop.store(true, Ordering::Relaxed);
            let _ = responder.join();
            bail!("probe responder could not bind: {e}");
        }
        Err(_) => {
            responder_stop.store(true, Ordering::Relaxed);
            bail!("probe responder did not start");
        }
    }
    // The sender stops early on the caller's flag (Ctrl-C) or when the handle is dropped.
    let sender_stop = Arc::new(AtomicBool::new(false));
    let ss = sender_stop.clone();
    let sender = host.spawn_thread(move || {
        let stopped = move || {
            ss.load(Ordering::Relaxed) || stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed))
        };
        send_and_receive(config, stopped)
    });
    Ok(ProbeHandle {
        sender: Some(sender),
        responder: Some(responder),
        responder_stop,
        sender_stop,
    })
}

/// Runs a probe to completion.
pub fn run(host: &Netns, peer: &Netns, config: ProbeConfig) -> Result<ProbeResult> {
    start(host, peer, config, None)?.wait()
}

fn send_and_receive(config: ProbeConfig, stopped: impl Fn() -> bool) -> Result<ProbeResult> {
    let token = token();
    let dest = SocketAddrV4::new(config.target, config.port);
    let mut socks = Vec::new();
    for i in 0..config.flows {
        let sport = config.src_port_base + i;
        let s = bind(SocketAddrV4::new(config.source, sport))
            .with_context(|| format!("probe bind {}:{sport}", config.source))?;
        s.set_read_timeout(Some(Duration::from_millis(20)))?;
        socks.push(s);
    }
    let count = (config.duration.as_micros() / config.interval.as_micros().max(1)) as usize;
    let recv_stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut receivers = Vec::new();
    for s in &socks {
        let s = s.try_clone()?;
        let rs = recv_stop.clone();
        receivers.push(std::thread::spawn(move || {
            let mut got: Vec<(u64, Duration)> = Vec::new();
            let mut buf = [0u8; 2048];
            while !rs.load(Ordering::Relaxed) {
                match s.recv(&mut buf) {
                    Ok(n) if n == PAYLOAD => {
                        let tok = u64::from_be_bytes(buf[..8].try_into().unwrap());
                        let seq = u64::from_be_bytes(buf[8..16].try_into().unwrap());
                        if tok == token {
                            got.push((seq, start.elapsed()));
                        }
                    }
                    // Short datagrams and ICMP errors reported on the socket are not replies.
                    _ => {}
                }
            }
            got
        }));
    }
    let mut sent_at = Vec::with_capacity(count);
    let mut interrupted = false;
    let mut payload = [0u8; PAYLOAD];
    payload[..8].copy_from_slice(&token.to_be_bytes());
    for seq in 0..count {
        if stopped() {
            interrupted = true;
            break;
        }
        // Fixed deadlines: oversleeping one interval does not shift all later sends.
        let deadline = start + config.interval * seq as u32;
        let now = Instant::now();
        if deadline > now {
            std::thread::sleep(deadline - now);
        }
        payload[8..].copy_from_slice(&(seq as u64).to_be_bytes());
        let sock = &socks[seq % socks.len()];
        sent_at.push(start.elapsed());
        // A failed send (no neighbour, no carrier) is a lost probe, not an error of the tool.
        let _ = sock.send_to(&payload, dest);
    }
    let send_end = start.elapsed();
    std::thread::sleep(config.grace);
    recv_stop.store(true, Ordering::Relaxed);
    let mut replies = vec![Vec::new(); sent_at.len()];
    for r in receivers {
        for (seq, t) in r.join().map_err(|_| anyhow::anyhow!("probe receiver panicked"))? {
            if let Some(v) = replies.get_mut(seq as usize) {
                v.push(t);
            }
        }
    }
    Ok(ProbeResult { config, sent_at, replies, send_end, interrupted })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::netns::{unique_id, veth};

    /// Two namespaces joined by one veth, addressed like the lab's host and peer.
    fn pair() -> (Netns, Netns) {
        let id = unique_id();
        let h = Netns::new(&id, "h").unwrap();
        let p = Netns::new(&id, "p").unwrap();
        veth(&h, "eth0", &p, "eth0").unwrap();
        h.ip(&["addr", "add", "198.18.0.1/24", "dev", "eth0"]).unwrap();
        p.ip(&["addr", "add", "198.18.0.2/24", "dev", "eth0"]).unwrap();
        h.ip(&["link", "set", "eth0", "up"]).unwrap();
        p.ip(&["link", "set", "eth0", "up"]).unwrap();
        (h, p)
    }

    #[test]
    fn plain_veth_has_no_loss_and_no_duplicates() {
        let (h, p) = pair();
        let r = run(&h, &p, ProbeConfig::new(Duration::from_secs(2)).flows(4)).unwrap();
        let s = r.summary();
        assert!(s.sent >= 1900, "{s:?}");
        assert_eq!(s.lost, 0, "{s:?}");
        assert_eq!(s.duplicated, 0, "{s:?}");
        assert_eq!(s.received, s.sent);
        // Scheduling hiccups on a busy 2-vCPU host stay well under 100 ms.
        assert!(s.longest_gap < Duration::from_millis(100), "{s:?}");
    }

    #[test]
    fn pulling_the_link_shows_loss_and_a_gap() {
        let (h, p) = pair();
        let handle = start(&h, &p, ProbeConfig::new(Duration::from_secs(2)), None).unwrap();
        std::thread::sleep(Duration::from_millis(500));
        // Carrier down at the far end, as a pulled cable.
        p.ip(&["link", "set", "eth0", "down"]).unwrap();
        std::thread::sleep(Duration::from_millis(500));
        p.ip(&["link", "set", "eth0", "up"]).unwrap();
        let r = handle.wait().unwrap();
        let s = r.summary();
        // About 500 ms of 1 ms probes are lost; allow for the timing of the ip commands.
        assert!(s.lost >= 300 && s.lost < 1500, "{s:?}");
        assert!(s.longest_gap >= Duration::from_millis(300), "{s:?}");
        assert_eq!(s.duplicated, 0);
        // The first 400 ms, before the pull, were clean.
        let before = r.window(Duration::ZERO, Duration::from_millis(400));
        assert_eq!(before.lost, 0, "{before:?}");
    }

    #[test]
    fn window_math() {
        let ms = Duration::from_millis;
        let r = ProbeResult {
            config: ProbeConfig::new(ms(5)),
            sent_at: (0..5).map(ms).collect(),
            replies: vec![vec![ms(1)], vec![], vec![ms(3), ms(4)], vec![], vec![ms(9)]],
            send_end: ms(5),
            interrupted: false,
        };
        let s = r.summary();
        assert_eq!((s.sent, s.received, s.lost, s.duplicated), (5, 3, 2, 1));
        // Arrivals inside [0,5]: 1, 3; then the window end 5: gaps 1, 2, 2.
        assert_eq!(s.longest_gap, ms(2));
        let w = r.window(ms(3), ms(5));
        assert_eq!((w.sent, w.lost), (2, 1));
    }
}
