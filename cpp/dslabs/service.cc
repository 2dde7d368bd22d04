// raftcore adapter: the handlers of a connected server. They run as coroutines on the server's poll thread and
// answer at once: Node::handle_rpc waits only for raftcore's event loop (server.h, "The threading rule").
#include "../marshallable.h"
#include "service.h"
#include "server.h"

namespace janus {

RaftServiceImpl::RaftServiceImpl(TxLogServer *sched)
    : svr_((RaftServer*)sched) {
  // The tests' unreliable network draws its cuts and delays from rand(); seeding here, as the lab's own
  // service does, makes each run draw differently.
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC_RAW, &now);
  srand(now.tv_nsec);
}

void RaftServiceImpl::HandleRequestVote(const string& request,
                                        bool_t* served,
                                        string* reply,
                                        rrr::DeferredReply* defer) {
  *served = svr_->HandleRaftRpc(RAFT_RPC_KIND_REQUEST_VOTE, request, reply);
  defer->reply();
}

void RaftServiceImpl::HandleAppendEntries(const string& request,
                                          bool_t* served,
                                          string* reply,
                                          rrr::DeferredReply* defer) {
  *served = svr_->HandleRaftRpc(RAFT_RPC_KIND_APPEND_ENTRIES, request, reply);
  defer->reply();
}

void RaftServiceImpl::HandleInstallSnapshot(const string& request,
                                            bool_t* served,
                                            string* reply,
                                            rrr::DeferredReply* defer) {
  *served = svr_->HandleRaftRpc(RAFT_RPC_KIND_INSTALL_SNAPSHOT, request, reply);
  defer->reply();
}

} // namespace janus
