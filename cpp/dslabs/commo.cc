// raftcore adapter: RaftCommo. Sends raftcore's requests as the RPCs of raft_rpc.rpc and registers its server's
// poll-thread job (server.h, "The threading rule").
#include "commo.h"
#include "../rcc/graph.h"
#include "../rcc/graph_marshaler.h"
#include "../command.h"
#include "../procedure.h"
#include "../command_marshaler.h"
#include "raft_rpc.h"
#include "macros.h"
#include "server.h"

namespace janus {

namespace {

// Runs the server's queued work in a coroutine on the poll thread: the poll loop asks Ready() on every turn. It
// holds the server's lifeline, not the server, so it may outlive it (raftcore_host.h, "Teardown").
class RaftWorkJob : public Job {
 public:
  explicit RaftWorkJob(std::shared_ptr<raftcore_dslabs::Lifeline> line) : job_(std::move(line)) {}
  bool Ready() override { return job_.Ready(); }
  void Work() override { job_.Work(); }
  bool Done() override { return job_.Done(); }

 private:
  raftcore_dslabs::PollJob job_;
};

}  // namespace

RaftCommo::RaftCommo(PollMgr* poll) : Communicator(poll) {
  // Registered from here, not from Setup(): Setup() itself runs inside a job, where adding one would deadlock
  // on the poll manager's job lock, and site 0's Setup() comes only after the test's first yield.
  RaftServer* server = RaftServer::ConstructedOnThisThread();
  if (server == nullptr) {
    Log_fatal("raftcore adapter: a RaftCommo was built on a thread that built no RaftServer");
  }
  rpc_poll_->add(std::make_shared<RaftWorkJob>(server->HostLifeline()));
  server->AttachTransport(this);
}

bool RaftCommo::SendRaftRpc(parid_t par_id,
                            siteid_t site_id,
                            uint32_t kind,
                            const std::string& request,
                            std::function<void(bool ok, const std::string& reply)> done) {
  // Disconnect() empties the whole map, so a cut-off server finds no proxy and sends (and counts) nothing.
  auto partition = rpc_par_proxies_.find(par_id);
  if (partition == rpc_par_proxies_.end()) {
    return false;
  }
  RaftProxy* proxy = nullptr;
  for (auto& site_proxy : partition->second) {
    if (site_proxy.first == site_id) {
      // The framework keeps every proxy as a ClassicProxy; any generated proxy is the same client handle.
      proxy = (RaftProxy*) site_proxy.second;
      break;
    }
  }
  if (proxy == nullptr) {
    return false;
  }
  FutureAttr fuattr;
  fuattr.callback = [done](Future* fu) {
    if (fu->get_error_code() != 0) {
      done(false, std::string());
      return;
    }
    bool_t served = 0;
    std::string reply;
    fu->get_reply() >> served;
    fu->get_reply() >> reply;
    done(served != 0, reply);
  };
  switch (kind) {
    case RAFT_RPC_KIND_REQUEST_VOTE:
      Call_Async(proxy, RequestVote, request, fuattr);
      break;
    case RAFT_RPC_KIND_APPEND_ENTRIES:
      Call_Async(proxy, AppendEntries, request, fuattr);
      break;
    case RAFT_RPC_KIND_INSTALL_SNAPSHOT:
      Call_Async(proxy, InstallSnapshot, request, fuattr);
      break;
    default:
      return false;
  }
  return true;
}

} // namespace janus
