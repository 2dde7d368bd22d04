//! Persisted-state decoding: any state and snapshot bytes restore a core or give a `RestoreError`; a restored core
//! holds no term or index past the bounds a message may carry, and persists a record that restores to the same
//! status.
#![no_main]

use libfuzzer_sys::fuzz_target;
use raftcore::core::{Config, PersistedState, Raft, MAX_INDEX, MAX_TERM};

fuzz_target!(|data: &[u8]| {
    // The first byte says how many of the remaining bytes are the snapshot (from the end).
    let Some((&split, rest)) = data.split_first() else { return };
    let (state, snapshot) = rest.split_at(rest.len() - usize::from(split).min(rest.len()));
    let _ = PersistedState::decode(state, snapshot);
    let cfg = Config::new(0, 3, 9);
    if let Ok(core) = Raft::new(cfg.clone(), state, snapshot) {
        let status = core.status();
        assert!(status.term <= MAX_TERM && status.last_index <= MAX_INDEX, "restored past the bounds: {status:?}");
        let again = Raft::new(cfg, core.persisted_state(), core.snapshot_data()).expect("its own record restores");
        assert_eq!(again.status(), core.status());
    }
});
