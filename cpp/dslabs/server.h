// raftcore adapter: the dslabs-cpp Raft lab's RaftServer as a thin host of one libraftcore instance.
// All of Raft (elections, replication, commitment) is raftcore's; this class carries its messages over the
// framework's RPCs, keeps its persisted state in memory (the lab never restarts a server) and hands committed
// commands to the lab's learner action (app_next_). The instance is a raftcore::Node of include/raftcore.hpp
// in dynamic mode: the framework's build cannot gain -lraftcore, so the header loads the library at run time
// (RAFTCORE_LIBRARY), and its C++14 floor matches the framework's -std=c++14.
//
// The threading rule
//   Three kinds of threads meet here, and work crosses between them only in these ways:
//   1. The server's poll thread (its rrr::PollMgr, which also runs its RPC handlers and Setup as coroutines)
//      is the only thread that touches the framework: proxies and Call_Async, futures' callbacks, app_next_.
//   2. raftcore's own threads (per instance an event loop calling send_rpc and persist, and an applier calling
//      apply: the Node's Callbacks) never touch the framework and never wait for it: send_rpc and apply only
//      push a task onto this server's work queue (a mutex-protected deque) and return; persist copies the bytes
//      under a mutex.
//   3. A job that RaftCommo's constructor registers on the poll manager (rrr::Job; the poll loop asks it
//      Ready() about once a millisecond and runs Work() in a coroutine) drains that queue on the poll thread:
//      it sends each request with Call_Async, delivers each committed command to app_next_, in order, and
//      times out calls that never completed. A future's callback (poll thread) reports the reply to raftcore.
//   The instance, the queue, the calls and the persisted bytes live in a raftcore_dslabs::PollHost
//   (raftcore_host.h, free of the framework so that cpp/tests can test it); this class gives it the framework's
//   transport and learner. The poll job, the futures' callbacks and the RPC handlers hold the host's Lifeline,
//   never the server, so destroying a server with work in flight is safe (raftcore_host.h, "Teardown").
//   Calls into raftcore that wait for its event loop (Node::start, handle_rpc, rpc_reply) are made from
//   framework threads only (the tests' threads, raw pthreads included, and the poll thread), never from a
//   raftcore callback, and never while holding the queue's mutex or mtx_; the event loop never waits for a
//   framework thread, so no cycle of waits exists. An RPC handler calls Node::handle_rpc synchronously in its
//   coroutine: it waits only for that event loop (it persists in memory, so well under a millisecond), and the
//   reply leaves with defer->reply() on the same thread. The Node is made once, before it is published
//   (started_); from then on its member functions may be called from any of these threads at once.
//
// When Raft starts
//   The framework builds a site's RaftServer and then its RaftCommo on the same setup thread, so the commo
//   finds its server through a thread-local pointer and attaches itself. Every instance starts when the last
//   server of the partition hosted in this process has attached its transport (the lab's five share one
//   process, and its test coroutine starts at that same moment), so that no early server spends the initial
//   election's RPC budget campaigning alone (in a deployment of one process per site, that is each site's own
//   transport). Setup() starts nothing: a site's Setup() runs as soon as its own transport exists, before its
//   peers have theirs, and site 0's only after the test's first yield, when test 1 has checked every term.
#pragma once

#include "../__dep__.h"
#include "../constants.h"
#include "../scheduler.h"
#include "../classic/tpc_command.h"
#include "commo.h"

// Before the include, in the one header through which every translation unit sees raftcore.hpp, so that all of
// them agree on the mode.
#ifndef RAFTCORE_HPP_DYNAMIC
#define RAFTCORE_HPP_DYNAMIC
#endif
#include "raftcore.hpp"
#include "raftcore_host.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace janus {

class RaftServer : public TxLogServer {
 public:
  // The RaftServer most recently constructed on the calling thread, if any.
  static RaftServer* ConstructedOnThisThread();

  // Called by RaftCommo's constructor: attaches the server's transport, and starts the instances of the
  // partition once all local servers have one.
  void AttachTransport(RaftCommo* commo);

  // What the poll-thread job and the RPC handlers hold instead of the server: it outlives it.
  std::shared_ptr<raftcore_dslabs::Lifeline> HostLifeline() const;

 private:
  void StartRaft();
  raftcore_dslabs::PollHost::Hooks MakeHooks();
  bool SendOnPollThread(uint32_t peer, uint32_t kind, const std::string& request,
                        raftcore_dslabs::PollHost::Done done);
  void Deliver(const std::string& command);

  // Fixed at construction: the partition's sites in raftcore's peer order, and this server's place in it.
  parid_t par_id_ = 0;
  std::vector<siteid_t> peers_;
  uint32_t me_ = 0;

  std::atomic<RaftCommo*> transport_{nullptr};

  // Made in the constructor, destroyed first in the destructor; its hooks use the members above.
  std::unique_ptr<raftcore_dslabs::PollHost> host_;

  /* do not modify this class below here */

 public:
  RaftServer(Frame *frame) ;
  ~RaftServer() ;

  bool Start(shared_ptr<Marshallable> &cmd, uint64_t *index, uint64_t *term);
  void GetState(bool *is_leader, uint64_t *term);

 private:
  std::atomic<bool> disconnected_{false};
  void Setup();

 public:
  void Disconnect(const bool disconnect = true);
  void Reconnect() {
    Disconnect(false);
  }
  bool IsDisconnected();

  virtual bool HandleConflicts(Tx& dtxn,
                               innid_t inn_id,
                               vector<string>& conflicts) {
    verify(0);
    return false;
  };
  RaftCommo* commo() {
    return (RaftCommo*)commo_;
  }
};
} // namespace janus
