// raftcore adapter: the handlers of a connected server. They run as coroutines on the server's poll thread and
// answer at once: Node::handle_rpc waits only for raftcore's event loop (server.h, "The threading rule").
#include "../marshallable.h"
#include "service.h"
#include "server.h"

namespace janus {

RaftServiceImpl::RaftServiceImpl(TxLogServer *sched)
    : svr_((RaftServer*)sched), host_(svr_->HostLifeline()) {
  // The tests' unreliable network draws its cuts and delays from rand(); seeding here, as the lab's own
  // service does, makes each run draw differently.
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC_RAW, &now);
  srand(now.tv_nsec);
}

// A peer's raftcore request of `kind`: true with `reply` filled if the instance handled it, false if it could
// not (not started yet, gone, or it refused the bytes).
bool RaftServiceImpl::HandleRaft(uint32_t kind, const string& request, string* reply) {
  raftcore_dslabs::Lifeline::Entry host(host_);
  return host && host->HandleRpc(kind, request, reply);
}

void RaftServiceImpl::HandleRequestVote(const string& request,
                                        bool_t* served,
                                        string* reply,
                                        rrr::DeferredReply* defer) {
  *served = HandleRaft(RAFT_RPC_KIND_REQUEST_VOTE, request, reply);
  defer->reply();
}

void RaftServiceImpl::HandleAppendEntries(const string& request,
                                          bool_t* served,
                                          string* reply,
                                          rrr::DeferredReply* defer) {
  *served = HandleRaft(RAFT_RPC_KIND_APPEND_ENTRIES, request, reply);
  defer->reply();
}

void RaftServiceImpl::HandleInstallSnapshot(const string& request,
                                            bool_t* served,
                                            string* reply,
                                            rrr::DeferredReply* defer) {
  *served = HandleRaft(RAFT_RPC_KIND_INSTALL_SNAPSHOT, request, reply);
  defer->reply();
}

} // namespace janus
