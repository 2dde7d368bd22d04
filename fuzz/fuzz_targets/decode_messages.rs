//! RPC decoding and what a core accepts: any bytes decode to a request or reply, or to an error; a decoded
//! message re-encodes to bytes that decode to the same message; and a core handed any messages answers or refuses
//! each without panicking, never holds a term or index past the bounds no correct peer exceeds, and never changes
//! an entry it knows committed.
//!
//! The whole input is one message for a fresh core. Read again from its second byte, it is a sequence of frames
//! (a length byte, then that many bytes: a request, else a reply) for one core that lives through them all, one
//! tick apart, and then waits long enough to campaign, so a term accepted at the bound meets an election.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use raftcore::core::{Config, Index, PeerId, Raft, Reply, Request, Term, MAX_INDEX, MAX_TERM};

/// Checks one core after each input against what it showed before.
struct Watch {
    /// Terms of entries the core reported committed, by index.
    committed: BTreeMap<Index, Term>,
    /// Ticks so far: each can start at most one election, the only way a term passes what messages carried.
    ticks: u64,
}

impl Watch {
    fn check(&mut self, core: &mut Raft) {
        let _ = core.take_ready();
        let status = core.status();
        assert!(status.term <= MAX_TERM + self.ticks, "term {} past the bound", status.term);
        assert!(status.last_index <= MAX_INDEX, "log ends at {}, past the bound", status.last_index);
        // Committed entries still in the log keep their terms (Log Matching with Leader Completeness).
        for index in status.snapshot_index + 1..=status.commit_index {
            let term = core.log().term_at(index).expect("committed entries after the snapshot are in the log");
            let known = *self.committed.entry(index).or_insert(term);
            assert_eq!(known, term, "committed entry {index} changed its term");
        }
    }
}

fn step(core: &mut Raft, from: PeerId, bytes: &[u8]) {
    if let Ok(request) = Request::decode(bytes) {
        let again = Request::decode(&request.encode()).expect("an encoded request decodes");
        assert_eq!(again, request);
        let _ = core.handle_request(request);
    } else if let Ok(reply) = Reply::decode(bytes) {
        let again = Reply::decode(&reply.encode()).expect("an encoded reply decodes");
        assert_eq!(again, reply);
        let _ = core.handle_reply(from, reply);
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the receiving peer's view: which of 5 peers it is and who a reply comes from.
    let (me, from) = match data.first() {
        Some(&b) => (u32::from(b % 5), u32::from(b / 5 % 5)),
        None => (0, 1),
    };
    let cfg = Config::new(me, 5, 1);

    let mut core = Raft::new(cfg.clone(), &[], &[]).expect("a fresh core starts");
    let mut watch = Watch { committed: BTreeMap::new(), ticks: 0 };
    if let Ok(request) = Request::decode(data) {
        let again = Request::decode(&request.encode()).expect("an encoded request decodes");
        assert_eq!(again, request);
        let _ = core.handle_request(request);
        watch.check(&mut core);
    }
    if let Ok(reply) = Reply::decode(data) {
        let again = Reply::decode(&reply.encode()).expect("an encoded reply decodes");
        assert_eq!(again, reply);
        let _ = core.handle_reply(from, reply);
        watch.check(&mut core);
    }

    let mut core = Raft::new(cfg.clone(), &[], &[]).expect("a fresh core starts");
    let mut watch = Watch { committed: BTreeMap::new(), ticks: 0 };
    let mut rest = data.get(1..).unwrap_or_default();
    while let Some((&len, tail)) = rest.split_first() {
        let (frame, tail) = tail.split_at(usize::from(len).min(tail.len()));
        rest = tail;
        step(&mut core, from, frame);
        watch.check(&mut core);
        core.tick();
        watch.ticks += 1;
        watch.check(&mut core);
    }
    for _ in 0..=cfg.election_ticks_max {
        core.tick();
        watch.ticks += 1;
        watch.check(&mut core);
    }
});
