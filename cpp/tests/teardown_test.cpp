// teardown_test.cpp: the dslabs-cpp adapter's hosts (cpp/dslabs/raftcore_host.h) destroyed with work in flight.
// The framework cannot be built here, so its poll manager is faked the way the adapter meets it: one thread per
// server running queued tasks (RPC handlers, the callbacks of finished calls) and asking every registered job
// Ready() about every millisecond, with jobs never withdrawn. Calls are delivered after a random delay, and the
// learner sometimes dawdles, so that a host dies with tasks queued, calls out, replies on their way, handlers
// running and its job mid-Work. What must hold: nothing the host handed out touches it after its destructor
// returns (built with AddressSanitizer, a use after free is fatal; besides, no hook runs after that), the poll
// threads go on serving the other hosts, and a new cluster on the same poll threads works.
//
// Usage: teardown_test [rounds]   (6 by default). Exits 1 on a failure.
#include "../dslabs/raftcore_host.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using raftcore_dslabs::Lifeline;
using raftcore_dslabs::PollHost;
using raftcore_dslabs::PollJob;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kServers = 5;

// A random int in [lo, hi], from the calling thread's own generator.
int Random(int lo, int hi) {
  thread_local std::mt19937 rng(std::random_device{}());
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

std::chrono::microseconds Delay() { return std::chrono::microseconds(Random(0, 20000)); }

#define CHECK(cond, ...)                                                     \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::fprintf(stderr, "teardown_test: FAIL at line %d: ", __LINE__);    \
      std::fprintf(stderr, __VA_ARGS__);                                     \
      std::fprintf(stderr, "\n");                                            \
      std::exit(1);                                                          \
    }                                                                        \
  } while (0)

// A server's poll thread: due tasks first, then every job that is Ready().
class FakePoll {
 public:
  FakePoll() : thread_([this] { Loop(); }) {}
  ~FakePoll() {
    stop_.store(true);
    thread_.join();
  }

  void Add(std::shared_ptr<PollJob> job) {
    std::lock_guard<std::mutex> lock(mtx_);
    jobs_.push_back(std::move(job));
  }

  void Post(std::chrono::microseconds delay, std::function<void()> task) {
    std::lock_guard<std::mutex> lock(mtx_);
    tasks_.emplace(Clock::now() + delay, std::move(task));
  }

  // Turns on which a job was asked while its host was gone.
  uint64_t dead_polls() const { return dead_polls_.load(); }

 private:
  void Loop() {
    while (!stop_.load()) {
      std::vector<std::function<void()>> due;
      std::vector<std::shared_ptr<PollJob>> jobs;
      {
        std::lock_guard<std::mutex> lock(mtx_);
        auto now = Clock::now();
        while (!tasks_.empty() && tasks_.begin()->first <= now) {
          due.push_back(std::move(tasks_.begin()->second));
          tasks_.erase(tasks_.begin());
        }
        jobs = jobs_;
      }
      for (auto& task : due) {
        task();
      }
      for (auto& job : jobs) {
        if (job->Ready()) {
          job->Work();
        } else if (job->Done()) {
          dead_polls_++;
        }
      }
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  }

  std::mutex mtx_;
  std::multimap<Clock::time_point, std::function<void()>> tasks_;
  std::vector<std::shared_ptr<PollJob>> jobs_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> dead_polls_{0};
  std::thread thread_;
};

// What one host's hooks share with the test: whether the host is gone, and what reached it afterwards.
struct Probe {
  std::atomic<bool> gone{false};
  std::atomic<uint64_t> hooks_after_death{0};
  std::atomic<uint64_t> replies_after_death{0};
  std::atomic<uint64_t> outstanding{0};  // calls sent whose reply has not been handed back yet
  std::atomic<uint64_t> delivered{0};
};

class Cluster {
 public:
  explicit Cluster(std::vector<std::unique_ptr<FakePoll>>& polls) : polls_(polls) {}

  // A fresh host for every server, its job registered on the server's poll thread beside the dead ones.
  void StartAll() {
    for (uint32_t s = 0; s < kServers; s++) {
      auto probe = std::make_shared<Probe>();
      auto host = std::make_shared<PollHost>(kServers, MakeHooks(s, probe));
      polls_[s]->Add(std::make_shared<PollJob>(host->lifeline()));
      std::lock_guard<std::mutex> lock(mtx_);
      slots_[s].host = host;
      slots_[s].line = host->lifeline();
      slots_[s].probe = probe;
    }
    for (uint32_t s = 0; s < kServers; s++) {
      raftcore::Config config;
      config.me = s;
      config.peers = kServers;
      std::shared_ptr<PollHost> host;
      {
        std::lock_guard<std::mutex> lock(mtx_);
        host = slots_[s].host;
      }
      host->Start(config);
    }
  }

  // Offers `command` to every live host until one leads; true if one took it.
  bool Propose(const std::string& command) {
    for (uint32_t s = 0; s < kServers; s++) {
      std::shared_ptr<PollHost> host;
      {
        std::lock_guard<std::mutex> lock(mtx_);
        host = slots_[s].host;
      }
      uint64_t index = 0, term = 0;
      if (host && host->StartCommand(command, &index, &term)) {
        return true;
      }
    }
    return false;
  }

  uint64_t MinDelivered() {
    std::lock_guard<std::mutex> lock(mtx_);
    uint64_t least = UINT64_MAX;
    for (auto& slot : slots_) {
      least = std::min<uint64_t>(least, slot.probe ? slot.probe->delivered.load() : 0);
    }
    return least;
  }

  // Destroys server s's host; returns its probe, and how many of its calls were out when it died.
  std::pair<std::shared_ptr<Probe>, uint64_t> Destroy(uint32_t s) {
    std::shared_ptr<PollHost> host;
    std::shared_ptr<Probe> probe;
    {
      std::lock_guard<std::mutex> lock(mtx_);
      host.swap(slots_[s].host);
      probe = slots_[s].probe;
    }
    uint64_t out = probe->outstanding.load();
    while (host.use_count() > 1) {
      std::this_thread::yield();  // the client is proposing to it
    }
    host.reset();
    probe->gone.store(true);
    return {probe, out};
  }

 private:
  struct Slot {
    std::shared_ptr<PollHost> host;
    std::shared_ptr<Lifeline> line;  // outlives the host: how other servers' handlers reach it
    std::shared_ptr<Probe> probe;
  };

  PollHost::Hooks MakeHooks(uint32_t me, std::shared_ptr<Probe> probe) {
    PollHost::Hooks hooks;
    // What the posted tasks capture outlives this Cluster: the poll threads, the probe and the lifelines.
    hooks.send = [this, me, probe](uint32_t peer, uint32_t kind, const std::string& request, PollHost::Done done) {
      if (probe->gone.load()) {
        probe->hooks_after_death++;
      }
      std::shared_ptr<Lifeline> target;
      {
        std::lock_guard<std::mutex> lock(mtx_);
        target = slots_[peer].line;
      }
      probe->outstanding++;
      FakePoll* mine = polls_[me].get();
      // The handler on the peer's poll thread, then its reply on ours, as the framework's futures deliver it.
      polls_[peer]->Post(Delay(), [mine, probe, target, kind, request, done]() {
        std::string reply;
        bool ok = false;
        {
          Lifeline::Entry host(target);
          ok = host && host->HandleRpc(kind, request, &reply);
        }
        mine->Post(Delay(), [probe, done, ok, reply]() {
          probe->outstanding--;
          if (probe->gone.load()) {
            probe->replies_after_death++;
          }
          done(ok, reply);
        });
      });
      return true;
    };
    hooks.deliver = [probe](uint64_t, const std::string&) {
      if (probe->gone.load()) {
        probe->hooks_after_death++;
      }
      probe->delivered++;
      if (Random(0, 3) == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(3));
      }
    };
    hooks.report = [probe](bool error, const std::string& text) {
      if (probe->gone.load()) {
        probe->hooks_after_death++;
      }
      if (error) {
        std::fprintf(stderr, "teardown_test: host error: %s\n", text.c_str());
      }
    };
    return hooks;
  }

  std::vector<std::unique_ptr<FakePoll>>& polls_;
  std::mutex mtx_;
  Slot slots_[kServers];
};

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 6;
  auto started = Clock::now();
  std::vector<std::unique_ptr<FakePoll>> polls;
  for (uint32_t s = 0; s < kServers; s++) {
    polls.emplace_back(new FakePoll());
  }
  uint64_t out_at_death = 0, replies_after_death = 0;

  {
    // A host that never started, and one destroyed at once after Start, with its job registered.
    auto idle = std::make_shared<PollHost>(kServers, PollHost::Hooks{});
    polls[0]->Add(std::make_shared<PollJob>(idle->lifeline()));
    idle.reset();
    auto brief = std::make_shared<PollHost>(kServers, PollHost::Hooks{});
    polls[1]->Add(std::make_shared<PollJob>(brief->lifeline()));
    raftcore::Config config;
    config.me = 1;
    config.peers = kServers;
    brief->Start(config);
    brief.reset();
  }

  std::vector<std::shared_ptr<Probe>> dead;
  for (int round = 1; round <= rounds; round++) {
    Cluster cluster(polls);
    cluster.StartAll();
    std::atomic<bool> stop{false};
    std::thread client([&] {
      for (int i = 0; !stop.load(); i++) {
        if (!cluster.Propose("cmd-" + std::to_string(round) + "-" + std::to_string(i))) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
      }
    });
    // The cluster works: every server delivers commands before any dies.
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (cluster.MinDelivered() < 20) {
      CHECK(Clock::now() < deadline, "round %d: the servers delivered only %llu commands each within 10 s", round,
            (unsigned long long)cluster.MinDelivered());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::vector<uint32_t> order = {0, 1, 2, 3, 4};
    for (size_t i = order.size() - 1; i > 0; i--) {
      std::swap(order[i], order[Random(0, static_cast<int>(i))]);
    }
    for (uint32_t s : order) {
      std::this_thread::sleep_for(std::chrono::milliseconds(Random(0, 15)));
      auto gone = cluster.Destroy(s);
      out_at_death += gone.second;
      dead.push_back(gone.first);
    }
    stop.store(true);
    client.join();
  }
  // Replies and handlers still queued for the dead hosts come due within the largest delays.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  uint64_t dead_polls = 0;
  for (auto& poll : polls) {
    dead_polls += poll->dead_polls();
  }
  for (size_t i = 0; i < dead.size(); i++) {
    CHECK(dead[i]->hooks_after_death.load() == 0, "host %zu's hooks ran %llu times after its destructor returned", i,
          (unsigned long long)dead[i]->hooks_after_death.load());
    replies_after_death += dead[i]->replies_after_death.load();
  }
  // The situations the test is about must have occurred, or it proved nothing.
  CHECK(out_at_death > 0, "no host died with calls out");
  CHECK(replies_after_death > 0, "no reply reached a host after it died");
  CHECK(dead_polls > 0, "no poll thread asked a dead host's job");
  polls.clear();
  std::printf("teardown_test: %d rounds of 5 hosts destroyed with work in flight (%llu calls out at their deaths, "
              "%llu replies came after) in %.1f s: passed\n",
              rounds, (unsigned long long)out_at_death, (unsigned long long)replies_after_death,
              std::chrono::duration<double>(Clock::now() - started).count());
  return 0;
}
