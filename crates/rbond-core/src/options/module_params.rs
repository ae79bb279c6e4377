//! Module parameters (`options bonding mode=4 miimon=100 max_bonds=2`): checked together at
//! load time the way the bonding module checks them (bond_options.c option setters; bond_check_params): some values fail the
//! whole load, out-of-range numbers are reset with a warning, and the monitors are
//! reconciled (802.3ad/tlb/alb force miimon 100, miimon wins over arp_interval, ...).
//!
//! A load has two phases, and so do we:
//! 1. parameter parsing, in command-line order: unknown names are ignored with a warning,
//!    integer parameters must be integers (else the load fails), `arp_ip_target` takes at
//!    most 16 items;
//! 2. the module's own checks of the values, in its fixed order (not the command-line order).
//!
//! Texts the reference gives are used as given. The others (resets, "has no effect", the
//! per-option "Invalid ..." errors) follow the module's messages; the reference only says
//! that these cases warn or fail.

use super::*;

/// The result of a module load: per-bond defaults and the module-only values.
#[derive(Clone, Debug, PartialEq)]
pub struct ModuleParams {
    pub opts: BondOptions,
    pub max_bonds: u32,
    pub tx_queues: u16,
    /// The kernel's warnings and notes, in order.
    pub warnings: Vec<String>,
}

fn load_error(name: &str, line: String) -> OptError {
    OptError::new(name, Errno::EINVAL, vec![line])
}

/// How the module declares a parameter, which decides how its text is parsed.
#[derive(Clone, Copy, PartialEq)]
enum ParamType {
    Int,
    Uint,
    Str,
    /// A comma-separated array of strings (`arp_ip_target`).
    StrArray,
}

fn param_type(id: Opt) -> ParamType {
    match id {
        Opt::MaxBonds
        | Opt::TxQueues
        | Opt::NumPeerNotif
        | Opt::Miimon
        | Opt::Updelay
        | Opt::Downdelay
        | Opt::UseCarrier
        | Opt::ArpInterval
        | Opt::AllSlavesActive
        | Opt::PacketsPerSlave
        | Opt::ResendIgmp
        | Opt::MinLinks => ParamType::Int,
        Opt::LpInterval => ParamType::Uint,
        Opt::ArpIpTarget => ParamType::StrArray,
        _ => ParamType::Str,
    }
}

/// The kernel's integer syntax for parameters (base auto-detected: `0x` hex, leading `0`
/// octal, else decimal; one sign; a trailing newline is allowed).
fn parse_c_integer(text: &str) -> Option<i128> {
    let s = text.strip_suffix('\n').unwrap_or(text);
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (16, h)
    } else if s.len() > 1 && s.starts_with('0') {
        (8, &s[1..])
    } else {
        (10, s)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let n = i128::from_str_radix(digits, radix).ok()?;
    Some(if neg { -n } else { n })
}

/// A parameter value after phase 1.
#[derive(Clone)]
enum Parsed<'a> {
    Int(i64),
    Str(&'a str),
    List(Vec<&'a str>),
}

impl BondOptions {
    /// Module-parameter semantics: see [`ModuleParams::load`].
    pub fn from_module_params(params: &[(&str, &str)]) -> Result<(BondOptions, Vec<String>), OptError> {
        let p = ModuleParams::load(params)?;
        Ok((p.opts, p.warnings))
    }
}

impl ModuleParams {
    /// Loads the module with `params` (name, value) in command-line order. `Err` is a failed
    /// load (EINVAL) with the line the kernel logs.
    pub fn load(params: &[(&str, &str)]) -> Result<ModuleParams, OptError> {
        let mut w: Vec<String> = Vec::new();

        // Phase 1: parameter parsing, in order. A later occurrence replaces an earlier one;
        // num_grat_arp and num_unsol_na are one variable.
        let mut got: Vec<(Opt, Parsed)> = Vec::new();
        for &(name, value) in params {
            let Some(d) = lookup(name).filter(|d| d.module_param) else {
                w.push(format!("bonding: unknown parameter '{name}' ignored"));
                continue;
            };
            let invalid = || load_error(name, format!("bonding: '{value}' invalid for parameter '{name}'"));
            let parsed = match param_type(d.id) {
                ParamType::Int => {
                    let n = parse_c_integer(value).filter(|n| i32::try_from(*n).is_ok()).ok_or_else(invalid)?;
                    Parsed::Int(n as i64)
                }
                ParamType::Uint => {
                    let n = parse_c_integer(value)
                        .filter(|n| u32::try_from(*n).is_ok() && !value.starts_with('-'))
                        .ok_or_else(invalid)?;
                    Parsed::Int(n as i64)
                }
                ParamType::Str => Parsed::Str(value),
                ParamType::StrArray => {
                    let items: Vec<&str> = value.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
                    if items.len() > MAX_ARP_TARGETS {
                        return Err(load_error(name, format!("{name}: can only take {MAX_ARP_TARGETS} arguments")));
                    }
                    Parsed::List(items)
                }
            };
            got.retain(|(id, _)| *id != d.id);
            got.push((d.id, parsed));
        }
        let get = |id: Opt| got.iter().find(|(i, _)| *i == id).map(|(_, p)| p.clone());
        let int = |id: Opt| match get(id) {
            Some(Parsed::Int(n)) => Some(n),
            _ => None,
        };
        let text = |id: Opt| match get(id) {
            Some(Parsed::Str(s)) => Some(s),
            _ => None,
        };
        // A named value, or the load fails with `<what> "<value>"`.
        let named = |id: Opt, what: &str| -> Result<Option<u64>, OptError> {
            match text(id) {
                None => Ok(None),
                Some(v) => parse_table_value(def(id), v)
                    .map(Some)
                    .map_err(|_| load_error(def(id).name, format!("{what} \"{v}\""))),
            }
        };

        // Phase 2: the module's checks, in its order.
        let mut o = BondOptions::default();
        if let Some(m) = named(Opt::Mode, "Error: Invalid bonding mode")? {
            o.mode = Mode::from_num(m).expect("the mode table holds modes 0-6");
        }
        let mode = o.mode;
        if text(Opt::XmitHashPolicy).is_some() {
            if matches!(mode, Mode::BalanceXor | Mode::Ieee8023ad | Mode::BalanceTlb | Mode::BalanceAlb) {
                let n = named(Opt::XmitHashPolicy, "Error: Invalid xmit_hash_policy")?.unwrap();
                o.xmit_hash_policy = XmitHashPolicy::from_num(n).unwrap();
            } else {
                w.push(format!("xmit_hash_policy param is irrelevant in mode {}", mode.proc_text()));
            }
        }
        if text(Opt::LacpRate).is_some() {
            if mode == Mode::Ieee8023ad {
                let n = named(Opt::LacpRate, "Error: Invalid lacp rate")?.unwrap();
                o.lacp_rate = LacpRate::from_num(n).unwrap();
            } else {
                w.push(format!("lacp_rate param is irrelevant in mode {}", mode.proc_text()));
            }
        }
        if let Some(v) = named(Opt::AdSelect, "Error: Invalid ad_select")? {
            o.ad_select = AdSelect::from_num(v).unwrap();
        }

        let int_max = i32::MAX as i64;
        let max_bonds = match int(Opt::MaxBonds) {
            Some(v) if v < 0 => {
                w.push(format!("Warning: max_bonds ({v}) not in range 0-{int_max}, so it was reset to 1"));
                1
            }
            Some(v) => v as u32,
            None => 1,
        };
        // miimon, updelay, downdelay, arp_interval: negative → 0.
        let nonneg = |w: &mut Vec<String>, id: Opt| -> i64 {
            match int(id) {
                Some(v) if v < 0 => {
                    w.push(format!(
                        "Warning: {} module parameter ({v}), not in range 0-{int_max}, so it was reset to 0",
                        def(id).name
                    ));
                    0
                }
                Some(v) => v,
                None => 0,
            }
        };
        let mut miimon = nonneg(&mut w, Opt::Miimon);
        let updelay = nonneg(&mut w, Opt::Updelay);
        let downdelay = nonneg(&mut w, Opt::Downdelay);
        if let Some(v) = int(Opt::UseCarrier) {
            o.use_carrier = match v {
                0 | 1 => v == 1,
                _ => {
                    w.push(format!(
                        "Warning: use_carrier module parameter ({v}), not of valid value (0/1), so it was set to 1"
                    ));
                    true
                }
            };
        }
        if let Some(v) = int(Opt::NumPeerNotif) {
            o.num_peer_notif = if (0..=255).contains(&v) {
                v as u8
            } else {
                w.push(format!("Warning: num_grat_arp/num_unsol_na ({v}) not in range 0-255 so it was reset to 1"));
                1
            };
        }
        // 802.3ad, tlb and alb need link speed and state: no monitor means MII at 100 ms.
        if matches!(mode, Mode::Ieee8023ad | Mode::BalanceTlb | Mode::BalanceAlb) && miimon == 0 {
            w.push("Warning: miimon must be specified, otherwise bonding will not detect link failure, speed and duplex which are essential for 802.3ad operation".into());
            w.push("Forcing miimon to 100msec".into());
            miimon = 100;
        }
        let tx_queues = match int(Opt::TxQueues) {
            Some(v) if !(1..=255).contains(&v) => {
                w.push(format!("Warning: tx_queues ({v}) should be between 1 and 255, resetting to 16"));
                16
            }
            Some(v) => v as u16,
            None => 16,
        };
        if let Some(v) = int(Opt::AllSlavesActive) {
            o.all_slaves_active = match v {
                0 | 1 => v == 1,
                _ => {
                    w.push(format!(
                        "Warning: all_slaves_active module parameter ({v}), not of valid value (0/1), so it was set to 0"
                    ));
                    false
                }
            };
        }
        if let Some(v) = int(Opt::ResendIgmp) {
            o.resend_igmp = if (0..=255).contains(&v) {
                v as u8
            } else {
                w.push(format!("Warning: resend_igmp ({v}) should be between 0 and 255, resetting to 1"));
                1
            };
        }
        if let Some(v) = int(Opt::PacketsPerSlave) {
            o.packets_per_slave = if (0..=65535).contains(&v) {
                v as u32
            } else {
                w.push(format!("Warning: packets_per_slave ({v}) should be between 0 and 65535 resetting to 1"));
                1
            };
        }
        if mode == Mode::BalanceAlb {
            w.push(format!(
                "In ALB mode you might experience client disconnections upon reconnection of a link if the bonding module updelay parameter ({updelay} msec) is incompatible with the forwarding delay time of the switch"
            ));
        }

        let mut arp_interval = nonneg(&mut w, Opt::ArpInterval);
        if miimon == 0 {
            if updelay != 0 || downdelay != 0 {
                w.push(format!(
                    "Warning: miimon module parameter not set and updelay ({updelay}) or downdelay ({downdelay}) module parameter is set; updelay and downdelay have no effect unless miimon is set"
                ));
            }
        } else {
            if arp_interval != 0 {
                w.push(format!(
                    "Warning: miimon ({miimon}) and arp_interval ({arp_interval}) can't be used simultaneously, disabling ARP monitoring"
                ));
                arp_interval = 0;
            }
            // Delays are kept in miimon ticks (bond_options.c option setters; bond_check_params).
            for (name, v, slot) in [("updelay", updelay, &mut o.updelay), ("downdelay", downdelay, &mut o.downdelay)] {
                if v % miimon != 0 {
                    w.push(format!(
                        "Warning: {name} ({v}) is not a multiple of miimon ({miimon}), {name} rounded to {} ms",
                        v / miimon * miimon
                    ));
                }
                *slot = (v / miimon) as u32;
            }
        }
        o.miimon = miimon as u32;

        // arp_ip_target: a bad address turns ARP monitoring off, a duplicate is skipped.
        if let Some(Parsed::List(items)) = get(Opt::ArpIpTarget) {
            for it in items {
                match it.parse::<Ipv4Addr>() {
                    Ok(a) if !a.is_broadcast() && !a.is_unspecified() => {
                        if o.arp_ip_targets.contains(&a) {
                            w.push(format!("Warning: duplicate address {a} in arp_ip_target, skipping"));
                        } else {
                            o.arp_ip_targets.push(a);
                        }
                    }
                    _ => {
                        w.push(format!(
                            "Warning: bad arp_ip_target module parameter ({it}), ARP monitoring will not be performed"
                        ));
                        arp_interval = 0;
                    }
                }
            }
        }
        if arp_interval != 0 && o.arp_ip_targets.is_empty() {
            w.push(format!("Warning: arp_interval module parameter ({arp_interval}) specified without providing an arp_ip_target parameter, arp_interval was reset to 0"));
            arp_interval = 0;
        }
        o.arp_interval = arp_interval as u32;
        if let Some(v) = text(Opt::ArpValidate) {
            // Any arp_validate, even `none`, needs ARP monitoring left on.
            if o.arp_interval == 0 {
                return Err(load_error("arp_validate", "arp_validate requires arp_interval".into()));
            }
            let n = parse_table_value(def(Opt::ArpValidate), v)
                .map_err(|_| load_error("arp_validate", format!("Error: invalid arp_validate \"{v}\"")))?;
            o.arp_validate = ArpValidate::from_num(n).unwrap();
        }
        if let Some(v) = text(Opt::ArpAllTargets) {
            match parse_table_value(def(Opt::ArpAllTargets), v) {
                Ok(n) => o.arp_all_targets = ArpAllTargets::from_num(n).unwrap(),
                Err(_) => w.push(format!("Error: invalid arp_all_targets_value \"{v}\"")),
            }
        }
        if o.miimon == 0 && o.arp_interval == 0 && max_bonds != 0 {
            w.push("Warning: either miimon or arp_interval and arp_ip_target module parameters must be specified, otherwise bonding will not detect link failures! see bonding.txt for details".into());
        }

        // primary only in 1/5/6; primary_reselect is read only together with a primary.
        if let Some(p) = text(Opt::Primary) {
            if mode.uses_primary() {
                if !p.trim().is_empty() {
                    o.primary = Some(p.trim().to_string());
                }
                if let Some(v) = named(Opt::PrimaryReselect, "Error: Invalid primary_reselect")? {
                    o.primary_reselect = PrimaryReselect::from_num(v).unwrap();
                }
            } else {
                w.push(format!(
                    "Warning: {p} primary device specified but has no effect in {} mode",
                    mode.proc_text()
                ));
            }
        }
        if let Some(v) = named(Opt::FailOverMac, "Error: invalid fail_over_mac")? {
            o.fail_over_mac = FailOverMac::from_num(v).unwrap();
            if mode != Mode::ActiveBackup {
                w.push("Warning: fail_over_mac only affects active-backup mode".into());
            }
        }
        if let Some(v) = int(Opt::LpInterval) {
            o.lp_interval = if v == 0 {
                w.push(format!("Warning: lp_interval must be between 1 and {int_max}, so it was reset to 1"));
                1
            } else {
                v as u32
            };
        }
        if let Some(v) = int(Opt::MinLinks) {
            o.min_links = v.max(0) as u32;
        }
        Ok(ModuleParams { opts: o, max_bonds, tx_queues, warnings: w })
    }
}
