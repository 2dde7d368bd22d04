// raftcore adapter: the half of RaftServer that knows nothing of the framework. It owns the raftcore::Node, the
// work its callbacks hand to the poll thread, the calls in flight and the persisted bytes, and it is what makes
// tearing a server down safe. It needs only raftcore.hpp and the standard library, so cpp/tests builds it with a
// fake poll manager and destroys hosts with work in flight (teardown_test.cpp); server.h gives it the framework's
// transport and learner through Hooks. C++14, like the framework.
//
// Teardown
//   The framework gives a server's poll-thread job and the callbacks of its calls no way to be withdrawn safely
//   (a job may be mid-Work in a coroutine, a reply may be on its way), and RPC handlers may still be dispatched
//   to a server being destroyed. So none of them holds the host: they hold its Lifeline, shared and outliving
//   it, and use the host only inside a Lifeline::Entry. ~PollHost, in this order:
//   1. kills the Node: raftcore's threads are joined, so no callback comes any more, and whatever was waiting
//      for its event loop (an entry's handle_rpc or rpc_reply, a test's start) returns at once;
//   2. ends the Lifeline: it waits for the entries running now, which no longer wait for anything, and every
//      later one finds the host gone and does nothing (the job's Ready() is false and its Done() true);
//   3. drops the work still queued, whose tasks point into the host.
//   It must not run inside one of its own entries (from a hook), which would wait for itself.
#pragma once

#include "raftcore.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace raftcore_dslabs {

class PollHost;

// A call whose reply has not come within this long is reported lost to raftcore. The lab's network never loses
// a reply on a live connection (a cut-off peer answers at once, not served), so this only covers a failed one.
constexpr std::chrono::milliseconds kCallTimeout{1000};
constexpr std::chrono::milliseconds kExpiryCheck{50};

// The part of a host that everything reaching it from the poll thread holds instead of the host.
class Lifeline {
 public:
  explicit Lifeline(PollHost* host) : host_(host) {}
  Lifeline(const Lifeline&) = delete;
  Lifeline& operator=(const Lifeline&) = delete;

  // One use of the host: empty once the host is being destroyed, else the host outlives the Entry.
  class Entry {
   public:
    explicit Entry(const std::shared_ptr<Lifeline>& line) : line_(line.get()) {
      std::lock_guard<std::mutex> lock(line_->mtx_);
      if (line_->host_ != nullptr) {
        line_->users_++;
        host_ = line_->host_;
      }
    }
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;
    ~Entry() {
      if (host_ == nullptr) {
        return;
      }
      std::lock_guard<std::mutex> lock(line_->mtx_);
      if (--line_->users_ == 0) {
        line_->idle_.notify_all();
      }
    }
    explicit operator bool() const { return host_ != nullptr; }
    PollHost* operator->() const { return host_; }

   private:
    Lifeline* line_;
    PollHost* host_ = nullptr;
  };

  bool alive() {
    std::lock_guard<std::mutex> lock(mtx_);
    return host_ != nullptr;
  }

  // Refuses every later Entry and waits until none is left.
  void End() {
    std::unique_lock<std::mutex> lock(mtx_);
    host_ = nullptr;
    idle_.wait(lock, [this] { return users_ == 0; });
  }

 private:
  std::mutex mtx_;
  std::condition_variable idle_;
  PollHost* host_;
  int users_ = 0;
};

// The poll-thread job's logic; commo.cc wraps it in the framework's rrr::Job.
class PollJob {
 public:
  explicit PollJob(std::shared_ptr<Lifeline> line) : line_(std::move(line)) {}
  inline bool Ready();
  inline void Work();
  // True once the host is gone: the job has nothing more to do, if the poll manager asks.
  bool Done() { return !line_->alive(); }

 private:
  std::shared_ptr<Lifeline> line_;
};

class PollHost {
 public:
  using Clock = std::chrono::steady_clock;
  using Done = std::function<void(bool ok, const std::string& reply)>;

  // What the host needs from its environment. send and deliver run on the poll thread, inside an entry, so
  // never after ~PollHost has begun its step 2; report may also run on raftcore's threads.
  struct Hooks {
    // Sends `request` of `kind` to peer `peer` (raftcore's numbering); `done` runs later on the poll thread.
    // False: nothing was sent (cut off), and `done` never runs.
    std::function<bool(uint32_t peer, uint32_t kind, const std::string& request, Done done)> send;
    // The command committed at `index`: each index once, in order from 1.
    std::function<void(uint64_t index, const std::string& command)> deliver;
    // raftcore's warnings and the host's errors, as one line each.
    std::function<void(bool error, const std::string& text)> report;
  };

  // `peers` servers in all; `hooks` as above.
  PollHost(uint32_t peers, Hooks hooks)
      : peers_(peers), hooks_(std::move(hooks)), lifeline_(std::make_shared<Lifeline>(this)) {}
  PollHost(const PollHost&) = delete;
  PollHost& operator=(const PollHost&) = delete;

  ~PollHost() {
    if (started_.load(std::memory_order_acquire)) {
      try {
        raft_.kill();
      } catch (const raftcore::Error&) {
        // A panicked instance is stopped all the same, which is all teardown needs.
      }
    }
    lifeline_->End();
    std::lock_guard<std::mutex> lock(work_mtx_);
    work_.clear();
    has_work_.store(false, std::memory_order_release);
  }

  std::shared_ptr<Lifeline> lifeline() const { return lifeline_; }

  // Makes the instance (once). Throws raftcore::Error if it cannot start. Must not race ~PollHost.
  void Start(const raftcore::Config& config) {
    std::lock_guard<std::mutex> lock(start_mtx_);
    if (started_.load()) {
      return;
    }
    // The callbacks touch only the work queue and the persisted bytes, never raft_, so they may come before
    // started_ publishes it.
    raft_ = raftcore::Node(config, MakeCallbacks());
    started_.store(true, std::memory_order_release);
  }

  // The poll-thread job: whether there is work, and doing it.
  bool HasWork() {
    return has_work_.load(std::memory_order_acquire) || Clock::now() >= next_expiry_check_.load();
  }

  void RunWork() {
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
    if (now >= next_expiry_check_.load()) {
      next_expiry_check_.store(now + kExpiryCheck);
      ExpireCalls(now);
    }
  }

  // A peer's request, inside an RPC handler: true with `reply` filled if the instance handled it, false if it
  // could not (not started, killed, or it refused the bytes).
  bool HandleRpc(uint32_t kind, const std::string& request, std::string* reply) {
    raftcore::Node* raft = Raft();
    if (raft == nullptr) {
      return false;
    }
    try {
      std::vector<uint8_t> answer = raft->handle_rpc(kind, raftcore::ByteView(request));
      reply->assign(answer.begin(), answer.end());
      return true;
    } catch (const raftcore::Error& e) {
      if (e.code() != RAFT_STATUS_CLOSED) {
        Report(true, e.what());
      }
      return false;
    }
  }

  // The lab's Start: false (index and term 0 unless known) when not leading or not running.
  bool StartCommand(const std::string& command, uint64_t* index, uint64_t* term) {
    *index = 0;
    *term = 0;
    raftcore::Node* raft = Raft();
    if (raft == nullptr) {
      return false;
    }
    try {
      raftcore::StartResult started = raft->start(raftcore::ByteView(command));
      *term = started.term;
      *index = started.is_leader ? started.index : 0;
      return started.is_leader;
    } catch (const raftcore::Error& e) {
      if (e.code() != RAFT_STATUS_CLOSED) {
        Report(true, e.what());
      }
      return false;
    }
  }

  void GetState(bool* is_leader, uint64_t* term) {
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
      // Stopped (killed, or a failed callback): neither leading nor in any term a caller could use.
    }
  }

 private:
  static std::string ToString(raftcore::ByteView bytes) { return std::string(bytes.begin(), bytes.end()); }

  raftcore::Node* Raft() { return started_.load(std::memory_order_acquire) ? &raft_ : nullptr; }

  void Report(bool error, const std::string& text) {
    if (hooks_.report) {
      hooks_.report(error, text);
    }
  }

  raftcore::Callbacks MakeCallbacks() {
    raftcore::Callbacks callbacks;
    callbacks.send_rpc = [this](uint32_t peer, uint32_t kind, uint64_t req_id, raftcore::ByteView request) {
      std::string bytes = ToString(request);
      Post([this, peer, kind, req_id, bytes]() { Send(peer, kind, req_id, bytes); });
    };
    callbacks.persist = [this](raftcore::ByteView state, raftcore::ByteView snapshot) {
      // The lab never restarts a server, so memory is stable storage enough; kept so a host could restart.
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
      if (level <= RAFT_LOG_LEVEL_WARN) {
        Report(false, message.to_string());
      }
    };
    return callbacks;
  }

  void Post(std::function<void()> task) {
    std::lock_guard<std::mutex> lock(work_mtx_);
    work_.push_back(std::move(task));
    has_work_.store(true, std::memory_order_release);
  }

  void Send(uint32_t peer, uint32_t kind, uint64_t req_id, const std::string& request) {
    bool sent = false;
    if (peer < peers_ && hooks_.send) {
      {
        std::lock_guard<std::mutex> lock(calls_mtx_);
        calls_[req_id] = Clock::now() + kCallTimeout;
      }
      // The reply may come after this host is gone: it reaches the host only through the lifeline.
      std::shared_ptr<Lifeline> line = lifeline_;
      sent = hooks_.send(peer, kind, request, [line, req_id](bool ok, const std::string& reply) {
        Lifeline::Entry host(line);
        if (host) {
          host->FinishCall(req_id, ok, reply);
        }
      });
    }
    if (!sent) {
      // Cut off: nothing left, and raftcore hears at once that the call is lost.
      FinishCall(req_id, false, std::string());
    }
  }

  void FinishCall(uint64_t req_id, bool ok, const std::string& reply) {
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
      Report(true, e.what());
    }
  }

  void ExpireCalls(Clock::time_point now) {
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

  void Deliver(uint64_t index, const std::string& command) {
    if (index != next_apply_) {
      Report(true, "raftcore applied index " + std::to_string(index) + " where " + std::to_string(next_apply_) +
                       " was due");
      std::abort();
    }
    next_apply_++;
    if (hooks_.deliver) {
      hooks_.deliver(index, command);
    }
  }

  const uint32_t peers_;
  const Hooks hooks_;
  const std::shared_ptr<Lifeline> lifeline_;

  std::mutex start_mtx_;
  std::atomic<bool> started_{false};  // raft_ holds the instance

  std::mutex work_mtx_;
  std::deque<std::function<void()>> work_;
  std::atomic<bool> has_work_{false};

  // Calls sent and not yet reported to raftcore, by request id, with the time they count as lost.
  std::mutex calls_mtx_;
  std::map<uint64_t, Clock::time_point> calls_;
  std::atomic<Clock::time_point> next_expiry_check_{Clock::time_point{}};

  std::mutex persist_mtx_;
  std::string raft_state_;
  std::string raft_snapshot_;

  uint64_t next_apply_ = 1;  // poll thread only

  // Declared after everything its callbacks touch, so that it is destroyed (killed) before them even where
  // ~PollHost did not kill it.
  raftcore::Node raft_;
};

inline bool PollJob::Ready() {
  Lifeline::Entry host(line_);
  return host && host->HasWork();
}

inline void PollJob::Work() {
  Lifeline::Entry host(line_);
  if (host) {
    host->RunWork();
  }
}

}  // namespace raftcore_dslabs
