//! The per-frame calls: where a frame from the bond goes (bonding.rst, Bonding Driver Options: mode, bond_main.c: bond_xmit_hash, bond_alb.c) and what happens to a
//! frame received on a slave (bond_main.c: bond_should_deliver_exact_match). Nothing here allocates.

use super::*;

impl Bond {
    /// The transmit decision for one frame from the bond device: the mode's choice of slave
    /// (or slaves), with any source-MAC rewrite the mode needs (tlb/alb, bond_alb.c: tlb_choose_channel) already
    /// applied to `frame`.
    #[inline]
    pub fn tx(&mut self, frame: &mut [u8]) -> TxDecision<'_> {
        let (mode, v, _) = self.parts();
        mode.tx(&v, frame)
    }

    /// A frame arrived on slave `id` (an event): the receive side of the ARP/NS monitor sees
    /// it, then the mode's hook (LACP takes its PDUs, alb snoops ARP), then the inactive-slave
    /// filter of bond_main.c: bond_should_deliver_exact_match decides whether the bond device gets it. A frame to deliver is made
    /// ready for the bond device in place: in alb a slave keeps its own MAC, so a frame sent
    /// to it (or, for 10 s after a failure, to a failed slave's MAC the active slave took
    /// over) gets the bond MAC as its destination, as the kernel's receive path treats it as
    /// the host's (PACKET_HOST on the slave). One call per received frame.
    pub fn rx(&mut self, id: SlaveId, frame: &mut [u8], now: Millis) -> RxDecision {
        let Some(i) = self.pos(id) else { return RxDecision::Drop };
        let d = self.rx_decide(i, frame, now);
        if d == RxDecision::Deliver {
            self.mode.ops().rx_deliver_fixup(&self.view(), i, frame);
        }
        d
    }

    fn rx_decide(&mut self, i: SlaveIdx, frame: &[u8], now: Millis) -> RxDecision {
        if self.opts.arp_interval > 0 {
            arpmon::arpmon_rx(self, i, frame, now);
        }
        let (mode, v, out) = self.parts();
        if let Some(d) = mode.ops_mut().rx_hook(&v, i, frame, now, out) {
            if d == RxDecision::Consumed {
                // LACP may have changed the port's state (IEEE 802.1AX-2020 6.4.12).
                self.mode_sync();
            }
            return d;
        }
        if self.slaves[i].inactive {
            // Link-local frames are "passed on the slave" by the kernel; the slave's own
            // stack is isolated here, so they are dropped like everything else.
            return self.mode.ops().rx_inactive(frame);
        }
        RxDecision::Deliver
    }

    /// A sysfs read of `/sys/class/net/<bond>/bonding/<option>` (bond_sysfs.c), without the
    /// trailing newline; None for an unknown file.
    pub fn show(&self, option: &str) -> Option<String> {
        let names = |f: &dyn Fn(&Slave) -> String| self.slaves.iter().map(f).collect::<Vec<_>>().join(" ");
        Some(match option {
            "slaves" => names(&|s| s.name.clone()),
            "queue_id" => names(&|s| format!("{}:{}", s.name, s.queue_id)),
            "active_slave" => self.curr_active.map(|i| self.slaves[i].name.clone()).unwrap_or_default(),
            // Only an enslaved primary is shown.
            "primary" => self.primary_idx().map(|i| self.slaves[i].name.clone()).unwrap_or_default(),
            "mii_status" => (if self.carrier { "up" } else { "down" }).to_string(),
            o => return self.opts.show(o),
        })
    }

    /// The status model (bond_procfs.c) of this bond.
    pub fn status(&self) -> crate::status::BondStatus {
        status::build(self, true)
    }

    /// The `/proc/net/bonding/<bond>` text (as read with CAP_NET_ADMIN). Cheaper than
    /// `status().render_proc(true)`: the option map, which the text does not show, is not
    /// built (the daemon renders this at every monitor tick to keep its status file current).
    pub fn proc_text(&self) -> String {
        status::build(self, false).render_proc(true)
    }
}
