//! The persistent bond device (sys::tap): it outlives its fd, can be re-attached by name, is
//! held exclusively while attached (what `rbond cleanup` relies on to refuse a live bond),
//! and `Tap::delete` removes it.

mod common;
use common::*;
use rbond::lab::netns::{unique_id, Netns};
use rbond::sys::tap::Tap;

#[test]
fn persistent_tap_outlives_its_fd_reattaches_and_deletes() {
    require_root();
    let ns = Netns::new(&unique_id(), "tap").unwrap();
    let exists = |ns: &Netns| ns.ip(&["link", "show", "dev", "rbtp0"]).is_ok();
    ns.spawn_thread(|| {
        let (tap, existed) = Tap::create_or_attach("rbtp0")?;
        assert!(!existed);
        let index = tap.ifindex();
        drop(tap);
        // Still there, same device: attach by name finds it.
        let again = Tap::attach("rbtp0")?;
        assert_eq!(again.ifindex(), index);
        // A second attachment while one is held: EBUSY (single-queue TAP).
        let busy = Tap::attach("rbtp0").unwrap_err();
        assert_eq!(busy.raw_os_error(), Some(libc::EBUSY), "{busy}");
        assert_eq!(Tap::delete("rbtp0").unwrap_err().raw_os_error(), Some(libc::EBUSY));
        drop(again);
        let (t, existed) = Tap::create_or_attach("rbtp0")?;
        assert!(existed && t.ifindex() == index);
        drop(t);
        Ok(())
    })
    .join()
    .unwrap()
    .unwrap();
    assert!(exists(&ns), "the persistent TAP vanished with its fd");
    ns.spawn_thread(|| {
        assert!(Tap::delete("rbtp0")?);
        assert!(!Tap::delete("rbtp0")?, "a second delete finds nothing");
        // attach never creates.
        assert_eq!(Tap::attach("rbtp0").unwrap_err().kind(), std::io::ErrorKind::NotFound);
        Ok(())
    })
    .join()
    .unwrap()
    .unwrap();
    assert!(!exists(&ns), "Tap::delete left the device");
    // A plain (non-persistent) TAP still goes with its fd.
    ns.spawn_thread(|| {
        drop(Tap::create("rbtp1")?);
        Ok(())
    })
    .join()
    .unwrap()
    .unwrap();
    assert!(ns.ip(&["link", "show", "dev", "rbtp1"]).is_err());
}
