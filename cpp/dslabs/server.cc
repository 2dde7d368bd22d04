// raftcore adapter: RaftServer. Starts one raftcore instance per server, implements its callbacks as hand-overs
// to the poll thread, and maps the lab's Start/GetState/Disconnect onto it (server.h states the threading rule).
#include "server.h"
#include "exec.h"
#include "frame.h"
#include "coordinator.h"
#include "../classic/tpc_command.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>

namespace janus {

namespace {

// The library's functions, resolved at run time from RAFTCORE_LIBRARY (else "libraftcore.so" on the loader's
// path): the framework's build cannot be given -lraftcore without editing it. This is raftcore.h's C ABI used
// directly, because the framework compiles with -std=c++14 and raftcore.hpp needs C++17.
struct RaftcoreApi {
  decltype(&raft_abi_version) abi_version;
  decltype(&raft_make) make;
  decltype(&raft_start) start;
  decltype(&raft_get_state) get_state;
  decltype(&raft_handle_rpc) handle_rpc;
  decltype(&raft_rpc_reply) rpc_reply;
  decltype(&raft_kill) kill;
  decltype(&raft_buf_free) buf_free;
};

template <typename Fn>
void Resolve(void* library, const std::string& path, const char* symbol, Fn& out) {
  void* address = dlsym(library, symbol);
  if (address == nullptr) {
    Log_fatal("raftcore adapter: %s has no symbol %s", path.c_str(), symbol);
  }
  static_assert(sizeof(Fn) == sizeof(void*), "function and object pointers differ in size");
  memcpy(&out, &address, sizeof out);
}

RaftcoreApi LoadApi() {
  const char* from_env = getenv("RAFTCORE_LIBRARY");
  const std::string path = from_env != nullptr && *from_env != '\0' ? from_env : "libraftcore.so";
  void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* why = dlerror();
    Log_fatal("raftcore adapter: cannot load %s (set RAFTCORE_LIBRARY to libraftcore.so's path): %s",
              path.c_str(), why != nullptr ? why : "dlopen failed");
  }
  RaftcoreApi api{};
  Resolve(library, path, "raft_abi_version", api.abi_version);
  Resolve(library, path, "raft_make", api.make);
  Resolve(library, path, "raft_start", api.start);
  Resolve(library, path, "raft_get_state", api.get_state);
  Resolve(library, path, "raft_handle_rpc", api.handle_rpc);
  Resolve(library, path, "raft_rpc_reply", api.rpc_reply);
  Resolve(library, path, "raft_kill", api.kill);
  Resolve(library, path, "raft_buf_free", api.buf_free);
  if (api.abi_version() != RAFT_ABI_VERSION) {
    Log_fatal("raftcore adapter: %s implements ABI version %u, the adapter was built for %u", path.c_str(),
              api.abi_version(), (unsigned)RAFT_ABI_VERSION);
  }
  return api;
}

const RaftcoreApi& Api() {
  static const RaftcoreApi api = LoadApi();
  return api;
}

// A RaftBuf the library filled, released once.
class OwnedBuf {
 public:
  OwnedBuf() = default;
  OwnedBuf(const OwnedBuf&) = delete;
  OwnedBuf& operator=(const OwnedBuf&) = delete;
  ~OwnedBuf() { Api().buf_free(buf_); }
  RaftBuf* out() { return &buf_; }
  std::string bytes() const { return std::string(reinterpret_cast<const char*>(buf_.ptr), buf_.len); }

 private:
  RaftBuf buf_{nullptr, 0, 0};
};

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
  // The lab's process never destroys its servers; a destroyed one must still not leave callbacks behind.
  uint64_t raft = raft_.exchange(0);
  if (raft != 0) {
    Api().kill(raft, nullptr);
  }
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
  if (raft_.load() != 0) {
    return;
  }
  RaftConfig cfg{};
  cfg.me = me_;
  cfg.peers = peers_.size();
  // 0 takes raftcore's defaults, 150 ms heartbeats and 450-750 ms elections, which fit the lab's RPC budget:
  // a leader's heartbeat costs one RPC per follower, about 27 per idle second with 4 followers (the limit is
  // 60), and the test allows 5 s for an election.
  cfg.heartbeat_ms = 0;
  cfg.election_timeout_min_ms = 0;
  cfg.election_timeout_max_ms = 0;
  cfg.seed = 0;
  RaftCallbacks callbacks{};
  callbacks.user = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(this));
  callbacks.send_rpc = &RaftServer::OnSendRpc;
  callbacks.persist = &RaftServer::OnPersist;
  callbacks.apply = &RaftServer::OnApply;
  callbacks.log = &RaftServer::OnLog;
  uint64_t handle = 0;
  OwnedBuf err;
  int32_t status = Api().make(&cfg, &callbacks, &handle, err.out());
  if (status != RAFT_STATUS_OK) {
    Log_fatal("raftcore adapter: raft_make for peer %u of %zu failed (%d): %s", me_, peers_.size(), status,
              err.bytes().c_str());
  }
  // raftcore calls back no sooner than its first election timeout, long after this store.
  raft_.store(handle);
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

void RaftServer::OnSendRpc(uint64_t user, uint32_t peer, uint32_t kind, uint64_t req_id, const uint8_t* req,
                           size_t len) {
  auto* server = reinterpret_cast<RaftServer*>(static_cast<uintptr_t>(user));
  std::string request(reinterpret_cast<const char*>(req), len);
  server->Post([server, peer, kind, req_id, request]() {
    server->SendOnPollThread(peer, kind, req_id, request);
  });
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
  uint64_t raft = raft_.load();
  if (raft == 0) {
    return;
  }
  OwnedBuf err;
  int32_t status = Api().rpc_reply(raft, req_id, ok, reinterpret_cast<const uint8_t*>(reply.data()),
                                   ok ? reply.size() : 0, err.out());
  if (status != RAFT_STATUS_OK && status != RAFT_STATUS_CLOSED) {
    Log_error("raftcore adapter: raft_rpc_reply failed (%d): %s", status, err.bytes().c_str());
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
  uint64_t raft = raft_.load();
  if (raft == 0) {
    return false;
  }
  OwnedBuf out;
  OwnedBuf err;
  int32_t status = Api().handle_rpc(raft, kind, reinterpret_cast<const uint8_t*>(request.data()), request.size(),
                                    out.out(), err.out());
  if (status != RAFT_STATUS_OK) {
    if (status != RAFT_STATUS_CLOSED) {
      Log_error("raftcore adapter: raft_handle_rpc failed (%d): %s", status, err.bytes().c_str());
    }
    return false;
  }
  *reply = out.bytes();
  return true;
}

int32_t RaftServer::OnPersist(uint64_t user, const uint8_t* state, size_t state_len, const uint8_t* snapshot,
                              size_t snapshot_len) {
  // The lab never restarts a server, so memory is stable storage enough; kept so a host could restart from it.
  auto* server = reinterpret_cast<RaftServer*>(static_cast<uintptr_t>(user));
  std::lock_guard<std::mutex> lock(server->persist_mtx_);
  server->raft_state_.assign(reinterpret_cast<const char*>(state), state_len);
  server->raft_snapshot_.assign(reinterpret_cast<const char*>(snapshot), snapshot_len);
  return 0;
}

int32_t RaftServer::OnApply(uint64_t user, const RaftApplyMsg* msg) {
  auto* server = reinterpret_cast<RaftServer*>(static_cast<uintptr_t>(user));
  if (!msg->command_valid) {
    return 0;  // no snapshot is ever taken in this lab, so none is ever installed
  }
  uint64_t index = msg->index;
  std::string command(reinterpret_cast<const char*>(msg->data), msg->len);
  server->Post([server, index, command]() { server->Deliver(index, command); });
  return 0;
}

void RaftServer::Deliver(uint64_t index, const std::string& command) {
  verify(index == next_apply_);
  next_apply_++;
  shared_ptr<Marshallable> cmd = CommandFromBytes(command);
  if (app_next_) {
    app_next_(*cmd);
  }
}

void RaftServer::OnLog(uint64_t user, int32_t level, const uint8_t* msg, size_t len) {
  if (level > RAFT_LOG_LEVEL_WARN) {
    return;
  }
  auto* server = reinterpret_cast<RaftServer*>(static_cast<uintptr_t>(user));
  std::string text(reinterpret_cast<const char*>(msg), len);
  Log_warn("raftcore peer %u: %s", server->me_, text.c_str());
}

bool RaftServer::Start(shared_ptr<Marshallable> &cmd,
                       uint64_t *index,
                       uint64_t *term) {
  *index = 0;
  *term = 0;
  uint64_t raft = raft_.load();
  if (raft == 0) {
    return false;
  }
  std::string bytes = CommandToBytes(cmd);
  int64_t at = -1;
  int64_t in_term = 0;
  bool is_leader = false;
  OwnedBuf err;
  int32_t status = Api().start(raft, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &at, &in_term,
                               &is_leader, err.out());
  if (status != RAFT_STATUS_OK) {
    Log_error("raftcore adapter: raft_start failed (%d): %s", status, err.bytes().c_str());
    return false;
  }
  *term = in_term;
  *index = is_leader ? at : 0;
  return is_leader;
}

void RaftServer::GetState(bool *is_leader, uint64_t *term) {
  *is_leader = false;
  *term = 0;
  uint64_t raft = raft_.load();
  if (raft == 0) {
    return;
  }
  int64_t current = 0;
  bool leader = false;
  if (Api().get_state(raft, &current, &leader, nullptr) == RAFT_STATUS_OK) {
    *is_leader = leader;
    *term = current;
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
