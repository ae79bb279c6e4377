//! MAC handling of balance-tlb / balance-alb (bond_alb.c: alb_set_slave_mac_addr, alb_swap_mac_addr, bond_alb.c: alb_send_learning_packets), worked by hand.
//!
//! Slaves: id 1 = eth0 (permanent MAC a1 = 02:00:00:00:00:a1), id 2 = eth1 (a2), id 3 = eth2
//! (a3). The bond took eth0's MAC when eth0 was enslaved first, so the bond MAC is a1.

use proptest::prelude::*;
use rbond_core::alb_mac::*;
use rbond_core::types::SlaveId;
use rbond_core::types::MacAddr;

fn a(n: u8) -> MacAddr {
    MacAddr([2, 0, 0, 0, 0, 0xa0 + n])
}

const BOND: MacAddr = MacAddr([2, 0, 0, 0, 0, 0xa1]);

/// A slave not yet enslaved: its NIC and address are its permanent MAC.
fn fresh(id: SlaveId, perm: MacAddr) -> MacSlave {
    MacSlave { id, name: format!("eth{}", id.0 - 1), perm, addr: perm, nic: perm, usable: true }
}

/// A bond being driven through admin events, applying every plan, as the alb mode component
/// will. Active slave selection is the simple one of bond_main.c: bond_find_best_slave without a primary: keep the active
/// slave while it is usable, else the first usable slave.
struct Sim {
    mode: LbMode,
    bond_mac: MacAddr,
    slaves: Vec<MacSlave>,
    active: Option<SlaveId>,
    plans: Vec<MacPlan>,
}

impl Sim {
    fn new(mode: LbMode) -> Sim {
        Sim { mode, bond_mac: BOND, slaves: vec![], active: None, plans: vec![] }
    }

    fn enslave(&mut self, new: MacSlave) -> MacPlan {
        let p = plan_enslave(self.mode, self.bond_mac, &self.slaves, &new, self.active);
        if p.error.is_none() {
            self.slaves.push(new);
            p.apply(&mut self.slaves);
            self.reselect();
        }
        p
    }

    fn set_usable(&mut self, id: SlaveId, usable: bool) {
        self.slaves.iter_mut().find(|s| s.id == id).unwrap().usable = usable;
        self.reselect();
    }

    fn release(&mut self, id: SlaveId) -> (MacPlan, MacSlave) {
        if self.active == Some(id) {
            // The kernel clears the active slave first; the plan of that change is empty.
            assert!(plan_active_change(self.mode, self.bond_mac, &self.slaves, Some(id), None).is_empty());
            self.active = None;
        }
        let i = self.slaves.iter().position(|s| s.id == id).unwrap();
        let mut leaving = self.slaves.remove(i);
        let p = plan_release(self.mode, self.bond_mac, &self.slaves, &leaving);
        p.apply(&mut self.slaves);
        p.apply(std::slice::from_mut(&mut leaving));
        self.reselect();
        (p, leaving)
    }

    fn reselect(&mut self) {
        let keep = self.active.filter(|&a| self.slaves.iter().any(|s| s.id == a && s.usable));
        let new = keep.or_else(|| self.slaves.iter().find(|s| s.usable).map(|s| s.id));
        if new != self.active {
            let p = plan_active_change(self.mode, self.bond_mac, &self.slaves, self.active, new);
            p.apply(&mut self.slaves);
            self.plans.push(p);
            // With no active slave left the kernel leaves the MACs where they are (the plan
            // for `new = None` is empty).
            self.active = new;
        }
    }

    fn get(&self, id: SlaveId) -> &MacSlave {
        self.slaves.iter().find(|s| s.id == id).unwrap()
    }

    /// The invariants of bond_alb.c: alb_set_slave_mac_addr, alb_swap_mac_addr that must hold after every complete admin step.
    fn check(&self, what: &str) {
        let holders: Vec<SlaveId> = self.slaves.iter().filter(|s| s.addr == self.bond_mac).map(|s| s.id).collect();
        if let Some(act) = self.active {
            assert_eq!(holders, vec![act], "{what}: the bond MAC is on exactly the active slave");
        } else if !self.slaves.is_empty() {
            assert!(holders.len() <= 1, "{what}: bond MAC on {holders:?}");
        }
        let mut addrs: Vec<MacAddr> = self.slaves.iter().map(|s| s.addr).collect();
        addrs.sort();
        addrs.dedup();
        assert_eq!(addrs.len(), self.slaves.len(), "{what}: addresses are distinct: {:?}", self.slaves);
        for s in &self.slaves {
            match self.mode {
                LbMode::Alb => assert_eq!(s.nic, s.addr, "{what}: alb NIC = address"),
                LbMode::Tlb => assert_eq!(s.nic, self.bond_mac, "{what}: tlb NICs filter the bond MAC"),
            }
        }
    }
}

fn three(mode: LbMode) -> Sim {
    let mut b = Sim::new(mode);
    for id in 1..=3 {
        b.enslave(fresh(SlaveId(id), a(id as u8)));
    }
    assert_eq!(b.active, Some(SlaveId(1)));
    b
}

// ----- enslave ------------------------------------------------------------------------------

#[test]
fn alb_enslave_keeps_each_slave_on_its_own_mac() {
    let mut b = Sim::new(LbMode::Alb);
    // The first slave: the bond already took its MAC; nothing to program.
    assert!(b.enslave(fresh(SlaveId(1), a(1))).is_empty());
    // The first slave became active; it already holds the bond MAC.
    assert_eq!(b.plans.last().unwrap().assign, vec![]);
    // The second: its own permanent MAC, unique → nothing either.
    assert!(b.enslave(fresh(SlaveId(2), a(2))).is_empty());
    assert_eq!((b.get(SlaveId(1)).addr, b.get(SlaveId(2)).addr), (a(1), a(2)));
    b.check("two slaves");
}

#[test]
fn tlb_enslave_programs_the_bond_mac_and_keeps_the_own_mac_as_address() {
    let mut b = Sim::new(LbMode::Tlb);
    b.enslave(fresh(SlaveId(1), a(1)));
    let p = b.enslave(fresh(SlaveId(2), a(2)));
    // NIC of eth1 filters the bond MAC; its address (source of its frames) stays a2.
    assert_eq!(p.nic, vec![(SlaveId(2), BOND)]);
    assert_eq!(p.assign, vec![]);
    assert!(p.learning.is_empty() && p.logs.is_empty());
    assert_eq!((b.get(SlaveId(2)).nic, b.get(SlaveId(2)).addr), (BOND, a(2)));
    b.check("tlb two slaves");
}

#[test]
fn first_slave_of_a_bond_with_its_own_mac_gets_the_bond_mac_when_it_becomes_active() {
    let mut b = Sim::new(LbMode::Alb);
    b.bond_mac = MacAddr([2, 0, 0, 0, 0, 0xb0]);
    let p = b.enslave(fresh(SlaveId(1), a(1)));
    assert!(p.is_empty(), "alb: the slave is put back on its own MAC");
    // Becoming active: nobody holds the bond MAC, so eth0 takes it and announces it.
    let act = b.plans.last().unwrap();
    assert_eq!(act.assign, vec![(SlaveId(1), b.bond_mac)]);
    assert_eq!(act.nic, vec![(SlaveId(1), b.bond_mac)]);
    assert_eq!(act.learning, vec![Learning { slave: SlaveId(1), mac: b.bond_mac, strict: false }]);
    assert!(act.update_clients.is_empty());
    b.check("own bond MAC");
}

#[test]
fn enslaving_a_slave_whose_mac_is_the_bond_mac_gives_it_a_free_permanent_mac() {
    // eth0 (the bond's MAC donor) is released while active and enslaved again.
    let mut b = Sim::new(LbMode::Alb);
    b.enslave(fresh(SlaveId(1), a(1)));
    b.enslave(fresh(SlaveId(2), a(2)));
    let (p, gone) = b.release(SlaveId(1));
    assert_eq!(
        p.logs,
        vec![MacLog {
            level: LogLevel::Warn,
            slave: SlaveId(1),
            msg: "the permanent HWaddr of slave - 02:00:00:00:00:a1 - is still in use by bond - set the HWaddr of slave to a different address to avoid conflicts".into()
        }]
    );
    assert_eq!(gone.addr, a(1));
    // eth1 became active and took the bond MAC: a2 is now unused.
    assert_eq!(b.active, Some(SlaveId(2)));
    assert_eq!(b.get(SlaveId(2)).addr, BOND);
    b.check("after releasing the donor");

    let p = b.enslave(fresh(SlaveId(1), a(1)));
    assert_eq!(p.assign, vec![(SlaveId(1), a(2))]);
    assert_eq!(p.nic, vec![(SlaveId(1), a(2))]);
    assert_eq!(
        p.logs,
        vec![MacLog {
            level: LogLevel::Warn,
            slave: SlaveId(1),
            msg: "the slave hw address is in use by the bond; giving it the hw address of eth1".into()
        }]
    );
    assert_eq!(p.error, None);
    b.check("donor back");
}

#[test]
fn a_permanent_mac_taken_by_another_slave_is_replaced_too() {
    // eth0 active on a1, eth1 and eth2; eth0 fails (eth1 takes a1, eth0 gets a2); eth0 is
    // released (its permanent MAC is the bond's: no swap). a2 is now nobody's. A new NIC with
    // a duplicate MAC (a3, like eth2's) joins.
    let mut b = three(LbMode::Alb);
    b.set_usable(SlaveId(1), false);
    assert_eq!((b.get(SlaveId(1)).addr, b.get(SlaveId(2)).addr), (a(2), a(1)));
    b.release(SlaveId(1));
    b.check("released");
    let dup = MacSlave { id: SlaveId(4), name: "eth3".into(), perm: a(3), addr: a(3), nic: a(3), usable: true };
    let p = b.enslave(dup);
    // a3 is in use by eth2 → the bond MAC case → the first slave whose permanent MAC is free
    // is eth1 (a2 unused).
    assert_eq!(p.assign, vec![(SlaveId(4), a(2))]);
    assert_eq!(p.logs[0].msg, "the slave hw address is in use by the bond; giving it the hw address of eth1");
    b.check("duplicate joined");
}

#[test]
fn no_free_mac_fails_the_enslave_and_restores_the_slave() {
    // eth0 (a1, active, bond), eth1 on a2, eth2 on a3: every permanent MAC is in use. A NIC
    // with eth1's MAC joins.
    let b = three(LbMode::Alb);
    let dup = MacSlave { id: SlaveId(4), name: "eth3".into(), perm: a(2), addr: a(2), nic: a(2), usable: true };
    let p = plan_enslave(LbMode::Alb, BOND, &b.slaves, &dup, b.active);
    assert_eq!(p.error, Some(MacError::NoFreeAddress));
    assert_eq!(p.logs.len(), 1);
    assert_eq!(p.logs[0].level, LogLevel::Err);
    assert_eq!(
        p.logs[0].msg,
        "the slave hw address is in use by the bond; couldn't find a slave with a free hw address to give it (this should not have happened)"
    );
    // Restored: no net change to program.
    assert!(p.assign.is_empty() && p.nic.is_empty());
}

// ----- active change --------------------------------------------------------------------------

#[test]
fn alb_failover_swaps_macs_and_teaches_the_disabled_slaves_new_mac() {
    let mut b = three(LbMode::Alb);
    b.set_usable(SlaveId(1), false);
    assert_eq!(b.active, Some(SlaveId(2)));
    let p = b.plans.last().unwrap().clone();
    // Swap: the old active first (a2), then the new one (a1).
    assert_eq!(p.assign, vec![(SlaveId(1), a(2)), (SlaveId(2), a(1))]);
    assert_eq!(p.nic, p.assign);
    // Only the usable one announces and updates its clients; eth0 is down and now has a2,
    // so the new active slave must receive for a2.
    assert_eq!(p.learning, vec![Learning { slave: SlaveId(2), mac: a(1), strict: false }]);
    assert_eq!(p.update_clients, vec![SlaveId(2)]);
    assert_eq!(p.teach, Some(a(2)));
    b.check("failover 1→2");
}

#[test]
fn alb_admin_active_change_between_usable_slaves_announces_both() {
    let b = three(LbMode::Alb);
    let p = plan_active_change(LbMode::Alb, BOND, &b.slaves, Some(SlaveId(1)), Some(SlaveId(3)));
    assert_eq!(p.assign, vec![(SlaveId(1), a(3)), (SlaveId(3), a(1))]);
    assert_eq!(
        p.learning,
        vec![Learning { slave: SlaveId(1), mac: a(3), strict: false }, Learning { slave: SlaveId(3), mac: a(1), strict: false }]
    );
    assert_eq!(p.update_clients, vec![SlaveId(1), SlaveId(3)]);
    assert_eq!(p.teach, None);
    // Same slave, or no new slave: nothing.
    assert!(plan_active_change(LbMode::Alb, BOND, &b.slaves, Some(SlaveId(1)), Some(SlaveId(1))).is_empty());
    assert!(plan_active_change(LbMode::Alb, BOND, &b.slaves, Some(SlaveId(1)), None).is_empty());
}

#[test]
fn without_an_old_active_the_bond_mac_holder_swaps() {
    // All slaves go down: no active slave; the last active one (eth2) keeps the bond MAC.
    // Then eth0 comes back.
    let mut b = three(LbMode::Alb);
    for id in 1..=3 {
        b.set_usable(SlaveId(id), false);
    }
    // eth0 went down first: eth1 became active (swap), then eth1 down → eth2, then none.
    assert_eq!(b.active, None);
    let holder = b.slaves.iter().find(|s| s.addr == BOND).unwrap().id;
    assert_eq!(holder, SlaveId(3));
    b.set_usable(SlaveId(1), true);
    let p = b.plans.last().unwrap();
    // old = None → swap with the holder, eth2 (a1): eth2 takes eth0's a2, eth0 the bond MAC.
    // eth2 is down, so the new active slave must receive for a2.
    assert_eq!(p.assign, vec![(SlaveId(3), a(2)), (SlaveId(1), BOND)]);
    assert_eq!(p.learning, vec![Learning { slave: SlaveId(1), mac: BOND, strict: false }]);
    assert_eq!(p.update_clients, vec![SlaveId(1)]);
    assert_eq!(b.get(SlaveId(1)).addr, BOND);
    assert_eq!(p.teach, Some(a(2)));
    b.check("back from all down");
}

#[test]
fn tlb_failover_swaps_addresses_only() {
    let mut b = three(LbMode::Tlb);
    b.set_usable(SlaveId(1), false);
    let p = b.plans.last().unwrap();
    assert_eq!(p.assign, vec![(SlaveId(1), a(2)), (SlaveId(2), a(1))]);
    // Every NIC already filters the bond MAC: the "set the new active NIC to the bond MAC"
    // step changes nothing.
    assert!(p.nic.is_empty());
    assert_eq!(p.learning, vec![Learning { slave: SlaveId(2), mac: a(1), strict: false }]);
    assert!(p.update_clients.is_empty() && p.teach.is_none(), "no RLB in tlb");
    b.check("tlb failover");
}

#[test]
fn tlb_new_active_nic_is_forced_to_the_bond_mac() {
    // A tlb slave whose NIC lost the bond MAC (it flapped with its own address).
    let b = three(LbMode::Tlb);
    let mut s = b.slaves.clone();
    s[1].nic = a(2);
    let p = plan_active_change(LbMode::Tlb, BOND, &s, Some(SlaveId(1)), Some(SlaveId(2)));
    assert_eq!(p.nic, vec![(SlaveId(2), BOND)]);
}

// ----- sequences ---------------------------------------------------------------------------------

#[test]
fn bond_mac_stays_on_exactly_one_slave_through_a_sequence_of_failovers() {
    for mode in [LbMode::Alb, LbMode::Tlb] {
        let mut b = three(mode);
        b.check("start");
        let steps: &[(SlaveId, bool)] =
            &[(SlaveId(1), false), (SlaveId(1), true), (SlaveId(2), false), (SlaveId(3), false), (SlaveId(2), true), (SlaveId(3), true), (SlaveId(1), false), (SlaveId(2), false), (SlaveId(1), true), (SlaveId(2), true)];
        for &(id, up) in steps {
            b.set_usable(id, up);
            b.check(&format!("{mode:?}: slave {id} {}", if up { "up" } else { "down" }));
        }
        // The active slave was always the holder; the actives went 1, 2, 3, 2, 3, 1...
        let (p, gone) = b.release(SlaveId(3));
        b.check(&format!("{mode:?}: released 3"));
        assert_eq!((gone.addr, gone.nic), (a(3), a(3)), "{mode:?}: the leaving slave is back on its own MAC: {p:?}");
        b.enslave(fresh(SlaveId(3), a(3)));
        b.check(&format!("{mode:?}: 3 back"));
    }
}

#[test]
fn release_swaps_back_a_permanent_mac_used_by_another_slave() {
    // eth0 fails (→ eth1), eth1 fails (→ eth2), eth0 comes back (eth2 stays active):
    // eth0 a2, eth1 a3 (down), eth2 a1 (bond, active).
    let mut b = three(LbMode::Alb);
    b.set_usable(SlaveId(1), false);
    b.set_usable(SlaveId(2), false);
    b.set_usable(SlaveId(1), true);
    assert_eq!(b.active, Some(SlaveId(3)));
    assert_eq!((b.get(SlaveId(1)).addr, b.get(SlaveId(2)).addr, b.get(SlaveId(3)).addr), (a(2), a(3), a(1)));
    // Release eth1: its a2 is on eth0 → they swap (eth1 first), eth0 gets a3.
    let (p, gone) = b.release(SlaveId(2));
    assert_eq!(p.assign, vec![(SlaveId(2), a(2)), (SlaveId(1), a(3))]);
    assert_eq!(p.nic, vec![(SlaveId(2), a(2)), (SlaveId(1), a(3))]);
    // eth1 is down: it does not announce; eth0 does, and its clients are updated. The down
    // one's new MAC (a2) is taught to the active slave.
    assert_eq!(p.learning, vec![Learning { slave: SlaveId(1), mac: a(3), strict: false }]);
    assert_eq!(p.update_clients, vec![SlaveId(1)]);
    assert_eq!(p.teach, Some(a(2)));
    assert!(p.logs.is_empty());
    assert_eq!((gone.addr, gone.nic), (a(2), a(2)));
    b.check("released eth1");

    // Stop: everything back on its own MAC.
    let p = plan_release_all(LbMode::Alb, &b.slaves);
    assert_eq!(p.assign, vec![(SlaveId(1), a(1)), (SlaveId(3), a(3))]);
    assert_eq!(p.nic, vec![(SlaveId(1), a(1)), (SlaveId(3), a(3))]);
    let mut s = b.slaves.clone();
    p.apply(&mut s);
    assert!(s.iter().all(|x| x.addr == x.perm && x.nic == x.perm));
}

#[test]
fn tlb_release_restores_the_nic() {
    let mut b = three(LbMode::Tlb);
    let (p, gone) = b.release(SlaveId(2));
    assert_eq!(p.nic, vec![(SlaveId(2), a(2))]);
    assert!(p.assign.is_empty(), "its address was its own MAC already");
    assert_eq!((gone.addr, gone.nic), (a(2), a(2)));
    let p = plan_release_all(LbMode::Tlb, &b.slaves);
    // eth0's NIC has the bond MAC, which is its own (a1): only eth2's NIC changes.
    assert_eq!(p.nic, vec![(SlaveId(3), a(3))]);
    assert!(p.assign.is_empty());
}

// ----- bond MAC change ----------------------------------------------------------------------------

#[test]
fn bond_mac_change_moves_the_new_mac_onto_the_active_slave() {
    let b = three(LbMode::Alb);
    let new = MacAddr([2, 0, 0, 0, 0, 0xb0]);
    let p = plan_bond_mac_change(LbMode::Alb, new, &b.slaves, b.active);
    assert_eq!(p.assign, vec![(SlaveId(1), new)]);
    assert_eq!(p.nic, vec![(SlaveId(1), new)]);
    assert_eq!(p.learning, vec![Learning { slave: SlaveId(1), mac: new, strict: false }]);
    assert_eq!(p.update_clients, vec![SlaveId(1)]);

    // To a MAC another slave has: swap with the active slave.
    let p = plan_bond_mac_change(LbMode::Alb, a(3), &b.slaves, b.active);
    assert_eq!(p.assign, vec![(SlaveId(3), a(1)), (SlaveId(1), a(3))]);
    assert_eq!(p.update_clients, vec![SlaveId(3), SlaveId(1)]);

    // tlb: every NIC takes the new MAC; the active slave's address too.
    let t = three(LbMode::Tlb);
    let p = plan_bond_mac_change(LbMode::Tlb, new, &t.slaves, t.active);
    assert_eq!(p.nic, vec![(SlaveId(1), new), (SlaveId(2), new), (SlaveId(3), new)]);
    assert_eq!(p.assign, vec![(SlaveId(1), new)]);
    assert!(p.update_clients.is_empty());

    // Invalid addresses are refused.
    for bad in [MacAddr::ZERO, MacAddr::BROADCAST, MacAddr([1, 0, 0x5e, 0, 0, 1])] {
        let p = plan_bond_mac_change(LbMode::Alb, bad, &b.slaves, b.active);
        assert_eq!(p.error, Some(MacError::InvalidAddress));
        assert!(p.assign.is_empty() && p.nic.is_empty());
    }
    // No active slave: nothing moves in alb.
    assert!(plan_bond_mac_change(LbMode::Alb, new, &b.slaves, None).is_empty());
}

// ----- learning packets -------------------------------------------------------------------------

#[test]
fn learning_packet_bytes() {
    let m = MacAddr([0x02, 0x00, 0x5e, 0x10, 0x20, 0x30]);
    let f = learning_packet(m);
    let mut want = vec![0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, 0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, 0x90, 0x00];
    want.resize(60, 0);
    assert_eq!(f.to_vec(), want);

    let t = learning_packet_tagged(m, TPID_8021Q, 0x000a);
    assert_eq!(t.len(), 64);
    assert_eq!(&t[..12], &want[..12]);
    assert_eq!(&t[12..18], &[0x81, 0x00, 0x00, 0x0a, 0x90, 0x00]);
    assert!(t[18..].iter().all(|&b| b == 0));
    let q = learning_packet_tagged(m, TPID_8021AD, 0x0064);
    assert_eq!(&q[12..16], &[0x88, 0xa8, 0x00, 0x64]);
}

#[test]
fn periodic_learning_is_strict_except_for_the_tlb_active_slave() {
    let b = three(LbMode::Alb);
    let l = periodic_learning(LbMode::Alb, &b.slaves, b.active);
    assert_eq!(l.iter().map(|x| (x.slave, x.mac, x.strict)).collect::<Vec<_>>(), vec![(SlaveId(1), a(1), true), (SlaveId(2), a(2), true), (SlaveId(3), a(3), true)]);
    let t = three(LbMode::Tlb);
    let l = periodic_learning(LbMode::Tlb, &t.slaves, t.active);
    assert_eq!(l.iter().map(|x| x.strict).collect::<Vec<_>>(), vec![false, true, true]);
}

#[test]
fn set_mac_failure_log_text() {
    let l = set_mac_failed_log(SlaveId(2));
    assert_eq!(l.level, LogLevel::Err);
    assert_eq!(
        l.msg,
        "dev_set_mac_address on slave failed! ALB mode requires that the base driver support setting the hw address also when the network device's interface is open"
    );
}

// ----- random sequences ------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Flip(usize),
    Release(usize),
    Enslave,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Any sequence of link changes, releases and enslaves keeps the bond MAC on exactly the
    /// active slave, every address distinct, and every released slave on its own MAC.
    #[test]
    fn random_sequences_keep_the_invariants(
        alb in any::<bool>(),
        ops in proptest::collection::vec(
            prop_oneof![(0usize..5).prop_map(Op::Flip), (0usize..5).prop_map(Op::Release), Just(Op::Enslave)],
            1..40,
        ),
    ) {
        let mode = if alb { LbMode::Alb } else { LbMode::Tlb };
        let mut b = three(mode);
        // Fresh NICs get new permanent MACs; released ones may come back.
        let mut pool: Vec<MacSlave> = vec![];
        let mut next = 4u32;
        for op in ops {
            match op {
                Op::Flip(i) => {
                    if let Some(s) = b.slaves.get(i) {
                        let (id, u) = (s.id, s.usable);
                        b.set_usable(id, !u);
                    }
                }
                Op::Release(i) => {
                    if let Some(s) = b.slaves.get(i) {
                        let id = s.id;
                        let (_, gone) = b.release(id);
                        prop_assert_eq!(gone.addr, gone.perm);
                        prop_assert_eq!(gone.nic, gone.perm);
                        pool.push(gone);
                    }
                }
                Op::Enslave => {
                    let s = match pool.pop() {
                        Some(mut s) => { s.usable = true; s }
                        None => {
                            let s = fresh(SlaveId(next), a(next as u8));
                            next += 1;
                            s
                        }
                    };
                    let p = b.enslave(s);
                    prop_assert_eq!(p.error, None);
                }
            }
            b.check(&format!("{mode:?}"));
        }
    }
}
