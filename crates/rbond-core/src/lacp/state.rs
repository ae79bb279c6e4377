//! LACP state bits, operational parameter sets and timer constants (IEEE 802.1AX-2014 6.4.2.3,
//! 6.4.4; the kernel's `bond_3ad.h`). All timers count engine ticks of 100 ms, as the kernel's
//! `bond_3ad_state_machine_handler` does (`AD_TIMER_INTERVAL`).

use crate::types::MacAddr;

/// Actor/Partner_Oper_Port_State bits (802.1AX 6.4.2.3 item m).
pub const LACP_ACTIVITY: u8 = 0x01;
pub const LACP_TIMEOUT: u8 = 0x02;
pub const AGGREGATION: u8 = 0x04;
pub const SYNCHRONIZATION: u8 = 0x08;
pub const COLLECTING: u8 = 0x10;
pub const DISTRIBUTING: u8 = 0x20;
pub const DEFAULTED: u8 = 0x40;
pub const EXPIRED: u8 = 0x80;

/// Is `bit` set in `state`?
pub fn has(state: u8, bit: u8) -> bool {
    state & bit != 0
}

/// Set or clear `bit` in `state`.
pub fn set(state: &mut u8, bit: u8, on: bool) {
    if on {
        *state |= bit;
    } else {
        *state &= !bit;
    }
}

/// Length of one engine tick.
pub const TICK_MS: u64 = 100;
/// Ticks per second (`ad_ticks_per_sec`).
pub const TICKS_PER_SEC: u16 = 10;
/// Fast_Periodic_Time 1 s / Slow_Periodic_Time 30 s, in ticks. The periodic machine loads one
/// tick less because PERIODIC_TX itself lasts one tick (kernel `ad_periodic_machine`).
pub const FAST_PERIODIC_TICKS: u16 = TICKS_PER_SEC;
pub const SLOW_PERIODIC_TICKS: u16 = 30 * TICKS_PER_SEC;
/// Short_Timeout_Time 3 s / Long_Timeout_Time 90 s (current_while).
pub const SHORT_TIMEOUT_TICKS: u16 = 3 * TICKS_PER_SEC;
pub const LONG_TIMEOUT_TICKS: u16 = 90 * TICKS_PER_SEC;
/// Churn detection time 60 s (802.1AX 6.4.17).
pub const CHURN_TICKS: u16 = 60 * TICKS_PER_SEC;
/// Aggregate_Wait_Time 2 s (wait_while).
pub const WAIT_WHILE_TICKS: u16 = 2 * TICKS_PER_SEC;
/// Hold-off after each LACPDU: ticks_per_sec / AD_MAX_TX_IN_SECOND = 3.
pub const TX_HOLDOFF_TICKS: u16 = TICKS_PER_SEC / 3;
/// At most this many LACPDUs in any Fast_Periodic_Time (802.1AX 6.4.16).
pub const MAX_TX_PER_FAST_PERIODIC: usize = 3;
/// Aggregator selection timer: first port added to an empty engine (8 s) / bond opened (1 tick).
pub const AGG_SELECT_ADD_TICKS: u32 = 8 * TICKS_PER_SEC as u32;
pub const AGG_SELECT_OPEN_TICKS: u32 = 1;

/// One side's operational parameters as carried in a LACPDU actor or partner TLV
/// (the kernel's `struct port_params`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PortParams {
    pub system_priority: u16,
    pub system: MacAddr,
    pub key: u16,
    pub port_priority: u16,
    pub port_number: u16,
    pub port_state: u8,
}

impl PortParams {
    /// Partner administrative defaults (kernel `ad_initialize_port` template, newest kernels:
    /// state 0 since the July 2025 passive-LACP change).
    pub const PARTNER_ADMIN_DEFAULT: PortParams = PortParams {
        system_priority: 0xffff,
        system: MacAddr::ZERO,
        key: 1,
        port_priority: 0xff,
        port_number: 1,
        port_state: 0,
    };
}

/// Receive machine states (802.1AX 6.4.12), numbered like the kernel's `rx_states_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxState {
    Dummy,
    Initialize,
    PortDisabled,
    LacpDisabled,
    Expired,
    Defaulted,
    Current,
}

/// Periodic Transmission machine states (802.1AX 6.4.13).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeriodicState {
    NoPeriodic,
    FastPeriodic,
    SlowPeriodic,
    PeriodicTx,
}

/// Mux machine states (802.1AX 6.4.15), coupled and independent control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MuxState {
    Dummy,
    Detached,
    Waiting,
    Attached,
    CollectingDistributing,
    Collecting,
    Distributing,
}

/// Churn Detection machine states (802.1AX 6.4.17).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChurnState {
    Monitor,
    Churn,
    NoChurn,
}

impl ChurnState {
    /// The word /proc prints (`bond_3ad_churn_desc`).
    pub fn text(self) -> &'static str {
        use crate::status::churn;
        match self {
            ChurnState::Monitor => churn::MONITORING,
            ChurnState::Churn => churn::CHURNED,
            ChurnState::NoChurn => churn::NONE,
        }
    }
}
