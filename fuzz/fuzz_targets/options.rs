//! The sysfs-style option parser: BondOptions::set with an arbitrary name and value, in any
//! state (slaves or not, up or down). Refusals are fine; panics are not, and a refusal must
//! leave the options exactly as they were (sysfs writes are all or nothing).
#![no_main]
use libfuzzer_sys::fuzz_target;
use rbond_core::options::{BondOptions, SetContext};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    // Several writes in a row, "name value" per line: a later write sees the earlier ones.
    let mut o = BondOptions::default();
    let ctx = SetContext { has_slaves: flags & 1 != 0, is_up: flags & 2 != 0 };
    for line in text.split('\n').take(16) {
        let (name, value) = line.split_once(' ').unwrap_or((line, ""));
        let before = o.clone();
        if o.set(name, value, &ctx).is_err() {
            assert!(o == before, "a refused write changed the options: {name:?} {value:?}");
        }
    }
});
