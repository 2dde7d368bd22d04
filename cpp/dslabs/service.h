// raftcore adapter: the RPC handlers of raft_rpc.rpc. Each hands raftcore's request bytes to this server's
// instance and sends back its reply. The body after each RpcHandler(...) is what a server cut off by the tests'
// Disconnect answers instead (macros.h): not served, which the sender reports to raftcore as a lost call, so a
// cut-off server neither hears nor is heard.
#pragma once

#include "__dep__.h"
#include "constants.h"
#include "../rcc/graph.h"
#include "../rcc/graph_marshaler.h"
#include "../command.h"
#include "deptran/procedure.h"
#include "../command_marshaler.h"
#include "raft_rpc.h"
#include "server.h"
#include "macros.h"

class SimpleCommand;
namespace janus {

class TxLogServer;
class RaftServer;
class RaftServiceImpl : public RaftService {
 public:
  RaftServer* svr_;
  RaftServiceImpl(TxLogServer* sched);

 private:
  // The handlers reach the server's instance through this, never through svr_, since they may be dispatched
  // to a server being destroyed.
  std::shared_ptr<raftcore_dslabs::Lifeline> host_;
  bool HandleRaft(uint32_t kind, const string& request, string* reply);

 public:

  RpcHandler(RequestVote, 3,
             const string&, request,
             bool_t*, served,
             string*, reply) {
    *served = false;
  }

  RpcHandler(AppendEntries, 3,
             const string&, request,
             bool_t*, served,
             string*, reply) {
    *served = false;
  }

  RpcHandler(InstallSnapshot, 3,
             const string&, request,
             bool_t*, served,
             string*, reply) {
    *served = false;
  }
};

} // namespace janus
