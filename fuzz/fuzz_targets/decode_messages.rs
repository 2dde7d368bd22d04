//! RPC decoding: any bytes decode to a request or reply, or to an error; a decoded message re-encodes to bytes that
//! decode to the same message; and a fresh core handed any decoded message answers or refuses it without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use raftcore::core::{Config, Raft, Reply, Request};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the receiving peer's view: which of 5 peers it is and who a reply comes from.
    let (me, from) = match data.first() {
        Some(&b) => (u32::from(b % 5), u32::from(b / 5 % 5)),
        None => (0, 1),
    };
    let mut core = Raft::new(Config::new(me, 5, 1), &[], &[]).expect("a fresh core starts");
    if let Ok(request) = Request::decode(data) {
        let again = Request::decode(&request.encode()).expect("an encoded request decodes");
        assert_eq!(again, request);
        let _ = core.handle_request(request);
    }
    if let Ok(reply) = Reply::decode(data) {
        let again = Reply::decode(&reply.encode()).expect("an encoded reply decodes");
        assert_eq!(again, reply);
        let _ = core.handle_reply(from, reply);
    }
    let _ = core.take_ready();
});
