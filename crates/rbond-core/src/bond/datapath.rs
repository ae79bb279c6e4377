//! The per-frame decisions: where a frame from the bond goes (§6, §3, §5) and what
//! happens to a frame received on a slave (§6.2). Nothing here allocates.

use super::*;

impl Bond {
    // ----- the per-frame path ----------------------------------------------------------

    pub(super) fn rr_next_id(&mut self) -> u32 {
        match self.opts.packets_per_slave {
            0 => self.next_random(),
            1 => {
                self.rr_counter = self.rr_counter.wrapping_add(1);
                self.rr_counter
            }
            n => {
                self.rr_counter = self.rr_counter.wrapping_add(1);
                self.rr_counter / n
            }
        }
    }

    /// The transmit decision for a frame from the bond device (§6).
    pub fn tx_target(&mut self, frame: &[u8]) -> TxTarget {
        match self.opts.mode {
            Mode::BalanceRr => {
                let n = self.slaves.len();
                if n == 0 {
                    return TxTarget::Drop;
                }
                if frame::is_igmp(frame) {
                    // IGMP stays on the current active slave (§6.3).
                    if let Some(a) = self.curr_active.filter(|&a| self.slaves[a].can_tx()) {
                        return TxTarget::Slave(a);
                    }
                    return self.first_can_tx_from(0);
                }
                let id = self.rr_next_id() as usize % n;
                self.first_can_tx_from(id)
            }
            Mode::ActiveBackup => match self.curr_active {
                Some(a) if self.slaves[a].can_tx() => TxTarget::Slave(a),
                _ => TxTarget::Drop,
            },
            Mode::BalanceXor | Mode::Ieee8023ad => {
                if self.usable.is_empty() {
                    return TxTarget::Drop;
                }
                let h = xmit_hash(self.opts.xmit_hash_policy, frame);
                TxTarget::Slave(self.usable[h as usize % self.usable.len()])
            }
            Mode::Broadcast => {
                if self.usable.is_empty() {
                    TxTarget::Drop
                } else {
                    TxTarget::AllUsable
                }
            }
            Mode::BalanceTlb | Mode::BalanceAlb => self.tlb_target(frame),
        }
    }

    pub(super) fn first_can_tx_from(&self, start: usize) -> TxTarget {
        let n = self.slaves.len();
        (start..n)
            .chain(0..start)
            .find(|&i| self.slaves[i].can_tx())
            .map_or(TxTarget::Drop, TxTarget::Slave)
    }

    pub(super) fn tlb_target(&mut self, frame: &[u8]) -> TxTarget {
        let alb = self.opts.mode == Mode::BalanceAlb;
        let active = self.curr_active;
        match self.tlb.transmit(alb, self.opts.xmit_hash_policy, self.opts.tlb_dynamic_lb, frame, &self.tlb_slaves, active) {
            crate::tlb::TxVerdict::Send { slave, .. } => TxTarget::Slave(slave),
            crate::tlb::TxVerdict::Drop => TxTarget::Drop,
        }
    }

    /// The MAC a frame sent on `slave` must carry as its source (tlb/alb rewrite frames that
    /// leave on a slave other than the active one; §5.2). None: leave the frame as it is.
    pub fn tx_source_rewrite(&self, slave: SlaveIdx) -> Option<MacAddr> {
        if self.opts.mode.is_tlb() && crate::tlb::needs_src_rewrite(slave, self.curr_active) {
            Some(self.slaves[slave].perm_hwaddr)
        } else {
            None
        }
    }

    /// The receive decision for a frame that arrived on slave `i` (§6.2).
    pub fn rx_verdict(&mut self, i: SlaveIdx, frame: &[u8], now: Millis) -> RxVerdict {
        let mode = self.opts.mode;
        if self.opts.arp_interval > 0 {
            crate::bond::arpmon_rx(self, i, frame, now);
        }
        if mode == Mode::Ieee8023ad && frame::is_lacp(frame) {
            return RxVerdict::Lacp;
        }
        if self.slaves[i].inactive {
            if mode == Mode::BalanceAlb {
                if let Some(m) = frame::parse_eth(frame) {
                    if !m.dst.is_multicast() {
                        return RxVerdict::Deliver;
                    }
                }
            }
            // Link-local frames are "passed on the slave" by the kernel; the slave's own
            // stack is isolated here, so they are dropped like everything else.
            return RxVerdict::Drop;
        }
        RxVerdict::Deliver
    }

    /// A sysfs read of `/sys/class/net/<bond>/bonding/<option>` (§1.4), without the
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

    /// The status model (reference §2) of this bond.
    pub fn status(&self) -> crate::status::BondStatus {
        status::build(self)
    }

    pub(crate) fn ad_aggregator(&self) -> Option<&crate::status::AggregatorInfo> {
        self.ad_aggregator.as_ref()
    }

}
