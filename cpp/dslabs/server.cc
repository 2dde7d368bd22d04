// raftcore adapter: RaftServer. Gives each server's PollHost (raftcore_host.h: the instance and the work handed to
// the poll thread) the framework's transport and learner, and maps the lab's Start/GetState/Disconnect onto it
// (server.h states the threading rule).
#include "server.h"
#include "exec.h"
#include "frame.h"
#include "coordinator.h"
#include "../classic/tpc_command.h"

#include <algorithm>
#include <string>

namespace janus {

namespace {

// The framework's logging formats a line into a 1000-byte buffer without bounds, so raftcore's text is cut.
#define RAFTCORE_TEXT "%.700s"

// A Marshallable as bytes that travel in raftcore's log, and back: the framework's own encoding, the one its
// RPCs use for a MarshallDeputy, so the object comes back as the type the test gave Start().
std::string CommandToBytes(const shared_ptr<Marshallable>& cmd) {
  Marshal m;
  MarshallDeputy deputy(cmd);
  m << deputy;
  std::string bytes(m.content_size(), '\0');
  if (!bytes.empty()) {
    verify(m.read(&bytes[0], bytes.size()) == bytes.size());
  }
  return bytes;
}

shared_ptr<Marshallable> CommandFromBytes(const std::string& bytes) {
  Marshal m;
  if (!bytes.empty()) {
    verify(m.write(bytes.data(), bytes.size()) == bytes.size());
  }
  MarshallDeputy deputy;
  m >> deputy;
  return deputy.sp_data_;
}

thread_local RaftServer* constructed_here = nullptr;

// The servers of one partition in this process, until all of them have a transport.
struct LocalPartition {
  size_t expected = 0;
  std::vector<RaftServer*> waiting;
};
std::mutex partitions_mtx;
std::map<parid_t, LocalPartition> partitions;

}  // namespace

RaftServer* RaftServer::ConstructedOnThisThread() {
  return constructed_here;
}

RaftServer::RaftServer(Frame * frame) {
  frame_ = frame ;
  // Runs on the site's setup thread, before loc_id_ and site_id_ are assigned; the frame's site is known.
  auto config = Config::GetConfig();
  const auto* site = frame_->site_info_;
  verify(site != nullptr);
  par_id_ = site->partition_id_;
  for (auto& info : config->SitesByPartitionId(par_id_)) {
    peers_.push_back(info.id);
  }
  size_t here = peers_.size();
  for (size_t i = 0; i < peers_.size(); i++) {
    if (peers_[i] == site->id) {
      here = i;
    }
  }
  verify(here < peers_.size());
  me_ = here;
  size_t local = 0;
  for (auto& info : config->GetMyServers()) {
    local += info.partition_id_ == par_id_;
  }
  {
    std::lock_guard<std::mutex> lock(partitions_mtx);
    partitions[par_id_].expected = local;
  }
  host_.reset(new raftcore_dslabs::PollHost(peers_.size(), MakeHooks()));
  constructed_here = this;
}

RaftServer::~RaftServer() {
  // The lab's process never destroys its servers, but a host may. The host goes first: it kills the instance,
  // waits for what the poll thread is doing in it, and leaves its job, the calls' callbacks and the handlers
  // nothing to reach (raftcore_host.h, "Teardown"); its hooks use this server's members, which are still here.
  host_.reset();
  std::lock_guard<std::mutex> lock(partitions_mtx);
  auto& waiting = partitions[par_id_].waiting;
  waiting.erase(std::remove(waiting.begin(), waiting.end(), this), waiting.end());
}

std::shared_ptr<raftcore_dslabs::Lifeline> RaftServer::HostLifeline() const {
  return host_->lifeline();
}

void RaftServer::AttachTransport(RaftCommo* commo) {
  RaftCommo* before = nullptr;
  if (!transport_.compare_exchange_strong(before, commo)) {
    verify(before == commo);
    return;
  }
  std::vector<RaftServer*> ready;
  {
    std::lock_guard<std::mutex> lock(partitions_mtx);
    LocalPartition& partition = partitions[par_id_];
    partition.waiting.push_back(this);
    if (partition.waiting.size() >= partition.expected) {
      ready.swap(partition.waiting);
    }
  }
  for (RaftServer* server : ready) {
    server->StartRaft();
  }
}

void RaftServer::StartRaft() {
  raftcore::Config config;
  config.me = me_;
  config.peers = peers_.size();
  // Timing left at 0 takes raftcore's defaults, 150 ms heartbeats and 450-750 ms elections, which fit the lab's
  // RPC budget: a leader's heartbeat costs one RPC per follower, about 27 per idle second with 4 followers (the
  // limit is 60), and the test allows 5 s for an election. Seed 0 draws the jitter from entropy.
  try {
    host_->Start(config);
  } catch (const raftcore::Error& e) {
    Log_fatal("raftcore adapter: starting peer %u of %zu failed: " RAFTCORE_TEXT "%s", me_, peers_.size(),
              e.what(), e.code() == raftcore::LOAD_FAILED ? " (set RAFTCORE_LIBRARY to libraftcore.so's path)" : "");
  }
}

raftcore_dslabs::PollHost::Hooks RaftServer::MakeHooks() {
  raftcore_dslabs::PollHost::Hooks hooks;
  hooks.send = [this](uint32_t peer, uint32_t kind, const std::string& request,
                      raftcore_dslabs::PollHost::Done done) {
    return SendOnPollThread(peer, kind, request, std::move(done));
  };
  hooks.deliver = [this](uint64_t, const std::string& command) { Deliver(command); };
  hooks.report = [this](bool error, const std::string& text) {
    if (error) {
      Log_error("raftcore adapter, peer %u: " RAFTCORE_TEXT, me_, text.c_str());
    } else {
      Log_warn("raftcore peer %u: " RAFTCORE_TEXT, me_, text.c_str());
    }
  };
  return hooks;
}

void RaftServer::Setup() {
  // Nothing to start here: Raft starts with the last local transport (server.h, "When Raft starts"), which
  // came before this, and starting earlier would let this server campaign before its peers listen.
  verify(transport_.load() == commo());
}

bool RaftServer::SendOnPollThread(uint32_t peer, uint32_t kind, const std::string& request,
                                  raftcore_dslabs::PollHost::Done done) {
  RaftCommo* transport = transport_.load();
  if (transport == nullptr) {
    return false;
  }
  std::lock_guard<std::recursive_mutex> lock(mtx_);
  return transport->SendRaftRpc(par_id_, peers_[peer], kind, request, std::move(done));
}

void RaftServer::Deliver(const std::string& command) {
  shared_ptr<Marshallable> cmd = CommandFromBytes(command);
  if (app_next_) {
    app_next_(*cmd);
  }
}

bool RaftServer::Start(shared_ptr<Marshallable> &cmd,
                       uint64_t *index,
                       uint64_t *term) {
  return host_->StartCommand(CommandToBytes(cmd), index, term);
}

void RaftServer::GetState(bool *is_leader, uint64_t *term) {
  host_->GetState(is_leader, term);
}

/* Do not modify any code below here */

void RaftServer::Disconnect(const bool disconnect) {
  std::lock_guard<std::recursive_mutex> lock(mtx_);
  verify(disconnected_ != disconnect);
  // A cut-off server's proxies wait here, by partition and locale, while its commo has none: it can send
  // nothing, and its handlers answer not served (service.h).
  static std::mutex stash_mtx;
  static map<parid_t, map<locid_t, map<parid_t, vector<SiteProxyPair>>>> stash;
  std::lock_guard<std::mutex> stash_lock(stash_mtx);
  RaftCommo* c = transport_.load();
  verify(c != nullptr);
  auto& mine = stash[partition_id_][loc_id_];
  if (disconnect) {
    verify(mine.empty());
    verify(!c->rpc_par_proxies_.empty());
    mine.swap(c->rpc_par_proxies_);
    verify(c->rpc_par_proxies_.empty());
  } else {
    verify(!mine.empty());
    c->rpc_par_proxies_.clear();
    c->rpc_par_proxies_.swap(mine);
    verify(mine.empty());
  }
  disconnected_ = disconnect;
}

bool RaftServer::IsDisconnected() {
  return disconnected_;
}

} // namespace janus
