//! Slave isolation: while rbond drives a slave through its AF_PACKET socket, the slave's
//! own network stack must neither see the bond's traffic (no duplicate delivery, no ARP or
//! ICMP answers from the slave) nor send anything of its own (IPv6 DAD/RS/MLD, ARP ...).
//!
//! Choice: one nftables `netdev` table per slave, with
//! - an **ingress** chain dropping every frame. In __netif_receive_skb_core the packet taps
//!   (ptype_all, where our AF_PACKET socket sits) get the frame *before* the tc and
//!   netfilter ingress hooks, so rbond still receives everything while the slave's IP/ARP
//!   stack receives nothing. (The test proves it: ARP gets exactly one reply, ping works.)
//! - an **egress** chain dropping every frame whose skb mark is not `packet::TX_MARK`.
//!   Our PacketSocket sets SO_MARK=TX_MARK, so its frames pass; anything the slave's stack
//!   generates has another mark and dies. Unlike PACKET_QDISC_BYPASS plus a drop-all, this
//!   keeps qdiscs (tbf/htb shaping in the lab) working on the slave.
//!
//! Why not tc: this kernel lacks gact/matchall, and a cls_bpf program would need a BPF
//! toolchain. Why not XDP: it runs before the packet taps, so it would hide frames from us
//! too. Why not sysctl disable_ipv6: it deletes the slave's IPv6 addresses, which could
//! not be restored as they were; it is only the fallback when the kernel has no netdev
//! egress hook (< 5.16), then the original value is written back on removal.
//!
//! The isolation remembers its network namespace: `remove`/Drop work from any thread.
//!
//! Note: netfilter ingress rules that someone else puts on the slave cannot impair what
//! rbond receives (the taps run first); impair frames on the link partner's side instead.

use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};

use super::packet::TX_MARK;

/// Isolation of one slave; `Drop` (or `remove`) restores exactly what was there before.
#[derive(Debug)]
pub struct SlaveIsolation {
    ifname: String,
    table: String,
    /// (sysctl path, original value) when the disable_ipv6 fallback was used.
    ipv6_sysctl: Option<(String, String)>,
    /// The network namespace the slave was in at `apply`.
    netns: OwnedFd,
    active: bool,
}

/// The calling thread's network namespace, as an fd for setns(2).
fn current_netns() -> io::Result<OwnedFd> {
    // SAFETY: valid C string; we own the returned fd.
    let fd = super::cvt(unsafe { libc::open(c"/proc/thread-self/ns/net".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) })?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Runs `f` on a helper thread that has joined network namespace `ns` (nft children and
/// /proc/sys/net writes act on the namespace of the thread doing them).
fn in_netns<T: Send>(ns: &OwnedFd, f: impl FnOnce() -> io::Result<T> + Send) -> io::Result<T> {
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: plain syscall on a valid namespace fd; only this thread moves.
            super::cvt(unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) })?;
            f()
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("isolation helper thread panicked")))
    })
}

/// Runs `nft -f -` with `script` in the calling thread's netns.
fn nft(script: &str) -> io::Result<()> {
    let spawn = |prog: &str| {
        Command::new(prog)
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
    };
    let mut child = match spawn("nft") {
        Err(e) if e.kind() == io::ErrorKind::NotFound => spawn("/usr/sbin/nft")?,
        r => r?,
    };
    child.stdin.take().expect("piped stdin").write_all(script.as_bytes())?;
    let out = child.wait_with_output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("nft failed: {}", String::from_utf8_lossy(&out.stderr).trim())))
    }
}

/// A table name that is a valid nft identifier and unique per interface: `rbond_<name>`
/// with anything but [A-Za-z0-9_] turned into '_', plus the ifindex against collisions.
pub fn table_name(ifname: &str, ifindex: u32) -> String {
    let clean: String = ifname.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    format!("rbond_{clean}_{ifindex}")
}

fn script(table: &str, ifname: &str, egress: bool) -> String {
    // "add; delete; add" replaces a table left by a crashed daemon in one transaction.
    let mut s = format!(
        "table netdev {table} {{\n}}\ndelete table netdev {table}\ntable netdev {table} {{\n\
         \tchain ingress {{\n\t\ttype filter hook ingress device \"{ifname}\" priority -500; policy accept;\n\
         \t\tcounter drop\n\t}}\n"
    );
    if egress {
        s += &format!(
            "\tchain egress {{\n\t\ttype filter hook egress device \"{ifname}\" priority -500; policy accept;\n\
             \t\tmeta mark != {TX_MARK:#x} counter drop\n\t}}\n"
        );
    }
    s += "}\n";
    s
}

/// Deletes netdev table `table` in the calling thread's netns, whether or not it exists
/// (what `rbond cleanup` does with the table a dead daemon left).
pub fn remove_table(table: &str) -> io::Result<()> {
    if !table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bad nft table name {table:?}")));
    }
    nft(&format!("table netdev {table} {{\n}}\ndelete table netdev {table}\n"))
}

impl SlaveIsolation {
    /// Isolates `ifname` (in the calling thread's netns) as described in the module docs.
    pub fn apply(ifname: &str) -> io::Result<Self> {
        Self::apply_with(ifname, true)
    }

    /// `apply` with a choice of mechanism for the slave's own transmissions:
    /// `egress_hook=true` is the nft egress chain; false is the disable_ipv6 fallback
    /// (what `apply` uses by itself when the kernel rejects the egress hook).
    pub fn apply_with(ifname: &str, egress_hook: bool) -> io::Result<Self> {
        if ifname.contains(['"', '\\', '\n']) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "interface name unusable in nft"));
        }
        let idx = super::ifindex(ifname)?;
        let table = table_name(ifname, idx);
        let mut iso =
            SlaveIsolation { ifname: ifname.to_owned(), table, ipv6_sysctl: None, netns: current_netns()?, active: true };
        let egress = egress_hook && nft(&script(&iso.table, ifname, true)).is_ok();
        if !egress {
            nft(&script(&iso.table, ifname, false))?;
            // From here on Drop undoes what is done.
            let path = format!("/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6");
            if let Ok(orig) = std::fs::read_to_string(&path) {
                let orig = orig.trim().to_owned();
                if orig != "1" {
                    std::fs::write(&path, "1")?;
                    iso.ipv6_sysctl = Some((path, orig));
                }
            }
        }
        Ok(iso)
    }

    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// The nftables table (family netdev) holding the isolation chains.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Checks that the table is still whole (someone may have run `nft delete table` or
    /// `nft flush ruleset`) and puts it back if not. Returns whether it had to. Called when
    /// nftables reports a deletion in this table (`netlink::NftEvents`), so it costs one
    /// `nft list` only then.
    pub fn restore_if_broken(&mut self) -> io::Result<bool> {
        if !self.active {
            return Ok(false);
        }
        let listed = Command::new("nft")
            .args(["list", "table", "netdev", &self.table])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let egress = self.ipv6_sysctl.is_none();
        // Every chain (ingress, and egress unless the fallback is used) still has its drop.
        let chains: Vec<&str> = listed.split("\tchain ").skip(1).collect();
        let whole = chains.len() == 1 + egress as usize && chains.iter().all(|c| c.contains("drop"));
        if whole {
            return Ok(false);
        }
        nft(&script(&self.table, &self.ifname, egress))?;
        Ok(true)
    }

    /// Undoes the isolation; a second call does nothing. A table that is already gone (the
    /// interface or the namespace went away) is not an error.
    pub fn remove(&mut self) -> io::Result<()> {
        if !self.active {
            return Ok(());
        }
        self.active = false;
        let t = self.table.clone();
        let sysctl = self.ipv6_sysctl.take();
        in_netns(&self.netns, move || {
            // "add; delete" succeeds whether or not the table still exists.
            let r1 = nft(&format!("table netdev {t} {{\n}}\ndelete table netdev {t}\n"));
            let r2 = match sysctl {
                // The interface may be gone: then there is nothing to restore.
                Some((path, orig)) => match std::fs::write(&path, &orig) {
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                    r => r,
                },
                None => Ok(()),
            };
            r1.and(r2)
        })
    }
}

impl Drop for SlaveIsolation {
    fn drop(&mut self) {
        let _ = self.remove();
    }
}
