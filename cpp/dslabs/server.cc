// raftcore adapter: RaftServer. Starts one raftcore::Node per server, implements its callbacks as hand-overs to
// the poll thread, and maps the lab's Start/GetState/Disconnect onto it (server.h states the threading rule).
#include "server.h"
#include "exec.h"
#include "frame.h"
#include "coordinator.h"
#include "../classic/tpc_command.h"

#include <string>

namespace janus {

namespace {

// raftcore's bytes as the framework's strings: always a copy, since what a callback receives lives only during
// the call.
std::string ToString(raftcore::ByteView bytes) {
  return std::string(bytes.begin(), bytes.end());
}

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

// A call whose reply has not come within this long is reported lost. The lab's network never loses a reply on
// a live connection (a cut-off peer answers at once, not served), so this only covers a failed connection.
constexpr auto kCallTimeout = std::chrono::seconds(1);
constexpr auto kExpiryCheck = std::chrono::milliseconds(50);

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
  constructed_here = this;
}

RaftServer::~RaftServer() {
  // The lab's process never destroys its servers; a destroyed one must still not leave callbacks behind, so the
  // instance is killed (its threads joined) before any member its callbacks use goes away.
  started_.store(false);
  raft_ = raftcore::Node();
}

raftcore::Node* RaftServer::Raft() {
  return started_.load(std::memory_order_acquire) ? &raft_ : nullptr;
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
  std::lock_guard<std::mutex> lock(start_mtx_);
  if (started_.load()) {
    return;
  }
  raftcore::Config config;
  config.me = me_;
  config.peers = peers_.size();
  // Timing left at 0 takes raftcore's defaults, 150 ms heartbeats and 450-750 ms elections, which fit the lab's
  // RPC budget: a leader's heartbeat costs one RPC per follower, about 27 per idle second with 4 followers (the
  // limit is 60), and the test allows 5 s for an election. Seed 0 draws the jitter from entropy.
  try {
    raft_ = raftcore::Node(config, MakeCallbacks());
  } catch (const raftcore::Error& e) {
    Log_fatal("raftcore adapter: starting peer %u of %zu failed: " RAFTCORE_TEXT "%s", me_, peers_.size(),
              e.what(), e.code() == raftcore::LOAD_FAILED ? " (set RAFTCORE_LIBRARY to libraftcore.so's path)" : "");
  }
  // raftcore calls back no sooner than its first election timeout, long after this store; until then the
  // callbacks touch only the work queue and the persisted bytes, never raft_.
  started_.store(true, std::memory_order_release);
}

raftcore::Callbacks RaftServer::MakeCallbacks() {
  raftcore::Callbacks callbacks;
  callbacks.send_rpc = [this](uint32_t peer, uint32_t kind, uint64_t req_id, raftcore::ByteView request) {
    std::string bytes = ToString(request);
    Post([this, peer, kind, req_id, bytes]() { SendOnPollThread(peer, kind, req_id, bytes); });
  };
  callbacks.persist = [this](raftcore::ByteView state, raftcore::ByteView snapshot) {
    // The lab never restarts a server, so memory is stable storage enough; kept so a host could restart from it.
    std::lock_guard<std::mutex> lock(persist_mtx_);
    raft_state_ = ToString(state);
    raft_snapshot_ = ToString(snapshot);
    return true;
  };
  callbacks.apply = [this](const raftcore::ApplyMsg& msg) {
    if (!msg.command_valid) {
      return true;  // no snapshot is ever taken in this lab, so none is ever installed
    }
    uint64_t index = msg.index;
    std::string command = ToString(msg.data);
    Post([this, index, command]() { Deliver(index, command); });
    return true;
  };
  callbacks.log = [this](RaftLogLevel level, raftcore::TextView message) {
    if (level > RAFT_LOG_LEVEL_WARN) {
      return;
    }
    Log_warn("raftcore peer %u: " RAFTCORE_TEXT, me_, message.to_string().c_str());
  };
  return callbacks;
}

void RaftServer::Setup() {
  // Nothing to start here: Raft starts with the last local transport (server.h, "When Raft starts"), which
  // came before this, and starting earlier would let this server campaign before its peers listen.
  verify(transport_.load() == commo());
}

void RaftServer::Post(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(work_mtx_);
  work_.push_back(std::move(task));
  has_work_.store(true, std::memory_order_release);
}

bool RaftServer::HasWork() {
  return has_work_.load(std::memory_order_acquire) || Clock::now() >= next_expiry_check_;
}

void RaftServer::RunWork() {
  std::deque<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(work_mtx_);
    batch.swap(work_);
    has_work_.store(false, std::memory_order_release);
  }
  for (auto& task : batch) {
    task();
  }
  auto now = Clock::now();
  if (now >= next_expiry_check_) {
    next_expiry_check_ = now + kExpiryCheck;
    ExpireCalls(now);
  }
}

void RaftServer::SendOnPollThread(uint32_t peer, uint32_t kind, uint64_t req_id, const std::string& request) {
  RaftCommo* transport = transport_.load();
  bool sent = false;
  if (transport != nullptr && peer < peers_.size()) {
    {
      std::lock_guard<std::mutex> lock(calls_mtx_);
      calls_[req_id] = Clock::now() + kCallTimeout;
    }
    std::lock_guard<std::recursive_mutex> lock(mtx_);
    sent = transport->SendRaftRpc(par_id_, peers_[peer], kind, request,
                                  [this, req_id](bool ok, const std::string& reply) {
                                    FinishCall(req_id, ok, reply);
                                  });
  }
  if (!sent) {
    // Cut off: nothing leaves, and raftcore hears at once that the call is lost.
    FinishCall(req_id, false, std::string());
  }
}

void RaftServer::FinishCall(uint64_t req_id, bool ok, const std::string& reply) {
  {
    std::lock_guard<std::mutex> lock(calls_mtx_);
    auto it = calls_.find(req_id);
    if (it == calls_.end()) {
      return;  // already reported lost by ExpireCalls
    }
    calls_.erase(it);
  }
  raftcore::Node* raft = Raft();
  if (raft == nullptr) {
    return;
  }
  try {
    // False (killed meanwhile) needs nothing more: nobody is left to tell.
    raft->rpc_reply(req_id, ok, ok ? raftcore::ByteView(reply) : raftcore::ByteView());
  } catch (const raftcore::Error& e) {
    Log_error("raftcore adapter: " RAFTCORE_TEXT, e.what());
  }
}

void RaftServer::ExpireCalls(Clock::time_point now) {
  std::vector<uint64_t> lost;
  {
    std::lock_guard<std::mutex> lock(calls_mtx_);
    for (auto& call : calls_) {
      if (call.second <= now) {
        lost.push_back(call.first);
      }
    }
  }
  for (uint64_t req_id : lost) {
    FinishCall(req_id, false, std::string());
  }
}

bool RaftServer::HandleRaftRpc(uint32_t kind, const std::string& request, std::string* reply) {
  raftcore::Node* raft = Raft();
  if (raft == nullptr) {
    return false;
  }
  try {
    *reply = ToString(raft->handle_rpc(kind, request));
    return true;
  } catch (const raftcore::Error& e) {
    if (e.code() != RAFT_STATUS_CLOSED) {
      Log_error("raftcore adapter: " RAFTCORE_TEXT, e.what());
    }
    return false;
  }
}

void RaftServer::Deliver(uint64_t index, const std::string& command) {
  verify(index == next_apply_);
  next_apply_++;
  shared_ptr<Marshallable> cmd = CommandFromBytes(command);
  if (app_next_) {
    app_next_(*cmd);
  }
}

bool RaftServer::Start(shared_ptr<Marshallable> &cmd,
                       uint64_t *index,
                       uint64_t *term) {
  *index = 0;
  *term = 0;
  raftcore::Node* raft = Raft();
  if (raft == nullptr) {
    return false;
  }
  try {
    raftcore::StartResult started = raft->start(CommandToBytes(cmd));
    *term = started.term;
    *index = started.is_leader ? started.index : 0;
    return started.is_leader;
  } catch (const raftcore::Error& e) {
    Log_error("raftcore adapter: " RAFTCORE_TEXT, e.what());
    return false;
  }
}

void RaftServer::GetState(bool *is_leader, uint64_t *term) {
  *is_leader = false;
  *term = 0;
  raftcore::Node* raft = Raft();
  if (raft == nullptr) {
    return;
  }
  try {
    raftcore::State state = raft->state();
    *is_leader = state.is_leader;
    *term = state.term;
  } catch (const raftcore::Error&) {
    // Stopped (killed, or a failed callback): neither leading nor in any term the tests could use.
  }
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
