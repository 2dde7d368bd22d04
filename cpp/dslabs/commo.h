// raftcore adapter: RaftCommo, the transport of one server. It carries raftcore's requests to the other servers
// over the framework's RPC layer (raft_rpc.rpc) and, from its constructor, gives its server a job on the
// server's poll thread, where everything that touches the framework runs (server.h states the rule).
#pragma once

#include "../__dep__.h"
#include "../constants.h"
#include "../communicator.h"

#include <cstdint>
#include <functional>
#include <string>

namespace janus {

class TxData;

class RaftCommo : public Communicator {

 public:
  RaftCommo() = delete;
  RaftCommo(PollMgr*);

  // Sends raftcore's `request` of `kind` (a RaftRpcKind) to `site_id` and counts one RPC. `done(ok, reply)` runs
  // on this server's poll thread when the call ends: ok with the peer's raftcore reply, or !ok when the peer did
  // not serve it or the connection failed. Returns false, and `done` never runs, when there is no proxy for the
  // site: this server is disconnected. Poll thread only, with the server's mtx_ held (Disconnect swaps the
  // proxies under it).
  bool SendRaftRpc(parid_t par_id,
                   siteid_t site_id,
                   uint32_t kind,
                   const std::string& request,
                   std::function<void(bool ok, const std::string& reply)> done);

  /* Do not modify this class below here */

  friend class FpgaRaftProxy;
 public:
#ifdef RAFT_TEST_CORO
  std::recursive_mutex rpc_mtx_ = {};
  uint64_t rpc_count_ = 0;
#endif
};

} // namespace janus
