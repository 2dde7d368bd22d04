// scenarios.cpp: the 11 Raft tests of the dslabs-cpp lab, written again over raftcore.hpp and our loopback network
// (cluster.hpp), with what the framework's tests assert. Each test gets a fresh 5-server cluster, so a failure
// cannot spill into the next test, and index expectations count from 1 in every test. Figure 8 runs the
// framework's disconnect schedule and then the crash schedule of the simulator's suite (rust/sim/tests/cpp.rs).
//
// Usage: scenarios [test number ...]   (all 11 by default). Prints a PASS/FAIL line per test with its time and
// RPC count, then the totals; exits 1 if any test failed.
#include "cluster.hpp"

#include <raftcore.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace scenarios {
namespace {

/// dslabs' COMMITRPCS(n): (n + 1) RPCs per server for n agreements.
constexpr uint64_t commit_rpcs(uint64_t n) { return (n + 1) * kServers; }
/// The crash rounds of the Figure 8 crash schedule, as in the simulator's suite (about 10 s of real time).
constexpr int kFigure8CrashRounds = 300;
/// Iterations of the unreliable test, as in dslabs (1 to 49, each with 4 concurrent agreements besides its own).
constexpr int kUnreliableIterations = 49;

int peer(int server, int offset) { return (server + offset) % kServers; }

void settle() { std::this_thread::sleep_for(kSettle); }

/// Threads of a test: joined however the test ends, and an exception in one becomes the test's failure.
class ThreadGroup {
public:
    ThreadGroup() = default;
    ThreadGroup(const ThreadGroup&) = delete;
    ThreadGroup& operator=(const ThreadGroup&) = delete;
    ~ThreadGroup() { join(); }

    template <typename Body>
    void spawn(Body body) {
        threads_.emplace_back([this, body] {
            try {
                body();
            } catch (const std::exception& e) {
                std::lock_guard<std::mutex> lock(mu_);
                if (error_.empty()) {
                    error_ = e.what();
                }
            }
        });
    }

    /// Joins every thread, then fails the test if one of them threw.
    void join_and_check() {
        join();
        std::lock_guard<std::mutex> lock(mu_);
        REQUIRE(error_.empty(), "a test thread failed: %s", error_.c_str());
    }

private:
    void join() {
        for (auto& t : threads_) {
            if (t.joinable()) {
                t.join();
            }
        }
    }

    std::vector<std::thread> threads_;
    std::mutex mu_;
    std::string error_;
};

void require_none_committed(Cluster& c, uint64_t index) {
    int nc = c.n_committed(index);
    REQUIRE(nc == 0, "%d servers unexpectedly committed index %llu", nc, (unsigned long long)index);
}

void require_n_committed(Cluster& c, uint64_t index, int expected) {
    int nc = c.n_committed(index);
    REQUIRE(nc == expected, "%d servers committed index %llu (%d expected)", nc, (unsigned long long)index, expected);
}

Started require_start(Cluster& c, int server, int64_t cmd) {
    Started s = c.start(server, cmd);
    REQUIRE(s.ok, "unexpected leader change during Start(%lld) at server %d", (long long)cmd, server);
    return s;
}

/// DoAgreeAndAssertIndex: one attempt, which must commit on `n` servers at exactly `index`.
void agree_at(Cluster& c, int64_t cmd, int n, uint64_t index) {
    uint64_t got = c.do_agreement(cmd, n, false);
    REQUIRE(got > 0, "failed to reach agreement for command %lld among %d servers", (long long)cmd, n);
    REQUIRE(got == index, "agreement index incorrect: got %llu, expected %llu", (unsigned long long)got,
            (unsigned long long)index);
}

/// DoAgreeAndAssertWaitSuccess: retried agreement on `n` servers; returns its index.
uint64_t agree(Cluster& c, int64_t cmd, int n) {
    uint64_t got = c.do_agreement(cmd, n, true);
    REQUIRE(got > 0, "failed to reach agreement for command %lld among %d servers", (long long)cmd, n);
    return got;
}

// ----- the tests ---------------------------------------------------------------------------------------------

void initial_election(Cluster& c) {
    c.one_leader();
    std::optional<int64_t> term = c.one_term();
    REQUIRE(term, "servers disagree on term number");
    // dslabs waits 5 s here; 3 s is several election timeouts without failures.
    std::this_thread::sleep_for(3 * kSettle);
    REQUIRE(c.one_term() == term, "unexpected term change without failures");
}

void re_election(Cluster& c) {
    int leader = c.one_leader();
    c.disconnect(leader);
    int old_leader = leader;
    settle();
    leader = c.one_leader();
    REQUIRE(leader != old_leader, "no re-election despite leader %d being disconnected", old_leader);

    // The old leader comes back and must not disturb the new one.
    c.reconnect(old_leader);
    settle();
    c.one_leader(leader);

    // Without a quorum, nobody may be elected.
    c.disconnect(peer(leader, 1));
    c.disconnect(peer(leader, 2));
    c.disconnect(leader);
    REQUIRE(c.no_leader(), "leader elected despite lack of quorum");

    c.reconnect(peer(leader, 2));
    settle();
    c.one_leader();

    c.reconnect(peer(leader, 1));
    c.reconnect(leader);
    settle();
    c.one_leader();
}

void basic_agreement(Cluster& c) {
    for (uint64_t index = 1; index <= 3; index++) {
        require_none_committed(c, index);
        agree_at(c, static_cast<int64_t>(index + 300), kServers, index);
    }
}

void agreement_despite_follower_disconnection(Cluster& c) {
    uint64_t index = 1;
    int leader = c.one_leader();
    c.disconnect(peer(leader, 1));
    c.disconnect(peer(leader, 2));
    agree_at(c, 401, kServers - 2, index++);
    agree_at(c, 402, kServers - 2, index++);
    settle();
    agree_at(c, 403, kServers - 2, index++);
    agree_at(c, 404, kServers - 2, index++);

    c.reconnect(peer(leader, 1));
    c.reconnect(peer(leader, 2));
    settle();
    agree(c, 405, kServers);
    agree(c, 406, kServers);
}

void no_agreement_without_majority(Cluster& c) {
    int leader = c.one_leader();
    for (int k = 1; k <= 3; k++) {
        c.disconnect(peer(leader, k));
    }
    Started s = require_start(c, leader, 501);
    REQUIRE(s.index == 1 && s.term > 0, "Start() returned index %llu (expected 1) and term %llu (expected > 0)",
            (unsigned long long)s.index, (unsigned long long)s.term);
    settle();
    require_none_committed(c, s.index);

    for (int k = 1; k <= 3; k++) {
        c.reconnect(peer(leader, k));
    }
    settle();
    agree(c, 502, kServers);
}

void rejoin_of_disconnected_leader(Cluster& c) {
    agree_at(c, 601, kServers, 1);

    int leader1 = c.one_leader();
    c.disconnect(leader1);
    settle();
    // The cut-off leader still takes entries, which must never commit.
    require_start(c, leader1, 602);
    require_start(c, leader1, 603);
    require_start(c, leader1, 604);

    agree(c, 605, kServers - 1);
    agree(c, 606, kServers - 1);

    int leader2 = c.one_leader();
    REQUIRE(leader2 != leader1, "no re-election despite leader %d being disconnected", leader1);
    c.disconnect(leader2);
    c.reconnect(leader1);
    settle();
    int leader3 = c.one_leader();
    REQUIRE(leader3 != leader2, "no re-election despite leader %d being disconnected", leader2);

    agree(c, 607, kServers - 1);
    agree(c, 608, kServers - 1);

    c.reconnect(leader2);
    agree(c, 609, kServers);
}

void concurrent_starts(Cluster& c) {
    constexpr int kConcurrent = 5;
    for (int attempt = 0; attempt < 5; attempt++) {
        if (attempt > 0) {
            std::this_thread::sleep_for(3s);
        }
        int leader = c.one_leader();
        Started first = c.start(leader, 701);
        if (!first.ok) {
            continue;
        }
        std::mutex mu;
        std::vector<uint64_t> indices;
        ThreadGroup starters;
        for (int i = 0; i < kConcurrent; i++) {
            starters.spawn([&, i] {
                Started s = c.start(leader, 701 + i);
                if (s.ok && s.term == first.term) {
                    std::lock_guard<std::mutex> lock(mu);
                    indices.push_back(s.index);
                }
            });
        }
        starters.join_and_check();
        if (c.term_moved_on(first.term)) {
            continue;  // the leader's term is over: start again
        }
        std::vector<int64_t> committed;
        bool again = false;
        for (uint64_t index : indices) {
            Waited w = c.wait(index, kServers, first.term);
            REQUIRE(w.outcome != Waited::values_differ, "committed values differ for index %llu",
                    (unsigned long long)index);
            if (w.outcome != Waited::committed) {
                again = true;  // a timeout or a new term: start again
                break;
            }
            committed.push_back(w.value);
        }
        if (again) {
            continue;
        }
        for (int i = 0; i < kConcurrent; i++) {
            bool found = std::find(committed.begin(), committed.end(), 701 + i) != committed.end();
            REQUIRE(found, "command %d missing", 701 + i);
        }
        return;
    }
    throw Failure("too many term changes and/or delayed responses");
}

void backs_up_over_incorrect_logs(Cluster& c) {
    uint64_t index = 1;
    int leader1 = c.one_leader();
    c.disconnect(peer(leader1, 2));
    c.disconnect(peer(leader1, 3));
    c.disconnect(peer(leader1, 4));
    // 50 entries that will never commit: only leader1 and one follower hold them.
    for (int i = 0; i < 50; i++) {
        require_start(c, leader1, 800 + i);
    }
    settle();

    c.disconnect(peer(leader1, 1));
    c.disconnect(leader1);
    c.reconnect(peer(leader1, 2));
    c.reconnect(peer(leader1, 3));
    c.reconnect(peer(leader1, 4));
    settle();
    for (int i = 1; i <= 50; i++) {
        agree_at(c, 800 + i, kServers - 2, index++);
    }

    c.reconnect(peer(leader1, 1));
    c.reconnect(leader1);
    settle();
    int leader2 = c.one_leader();
    Started s = require_start(c, leader2, 851);
    // The two stale logs must be replaced: everyone commits the new entry within 10 s, as in dslabs.
    for (auto deadline = Clock::now() + 10s; Clock::now() < deadline && c.n_committed(s.index) < kServers;) {
        std::this_thread::sleep_for(50ms);
    }
    require_n_committed(c, s.index, kServers);
}

void rpc_counts(Cluster& c) {
    auto rpcs = [&c] {
        uint64_t total = 0;
        for (int i = 0; i < kServers; i++) {
            total += c.rpc_count(i);
        }
        return total;
    };

    c.one_leader();
    uint64_t election_rpcs = rpcs();
    REQUIRE(election_rpcs > 1 && election_rpcs <= 30, "too many or too few RPCs (%llu) to elect initial leader",
            (unsigned long long)election_rpcs);

    constexpr int kIterations = 10;
    bool counted = false;
    for (int attempt = 0; attempt < 5 && !counted; attempt++) {
        if (attempt > 0) {
            std::this_thread::sleep_for(3s);
        }
        int leader = c.one_leader();
        rpcs();
        Started first = c.start(leader, 900);
        if (!first.ok) {
            continue;  // the leader moved on at once: start again
        }
        bool again = false;
        for (int i = 1; i <= kIterations && !again; i++) {
            Started s = c.start(leader, 900 + i);
            if (!s.ok || s.term != first.term) {
                again = true;  // leadership or term changed: start again
                break;
            }
            REQUIRE(s.index == first.index + i, "Start() returned index %llu, expected %llu",
                    (unsigned long long)s.index, (unsigned long long)(first.index + i));
        }
        for (int i = 1; i <= kIterations && !again; i++) {
            Waited w = c.wait(first.index + i, kServers, first.term);
            REQUIRE(w.outcome != Waited::values_differ, "committed values differ for index %llu",
                    (unsigned long long)(first.index + i));
            if (w.outcome != Waited::committed) {
                again = true;
                break;
            }
            REQUIRE(w.value == 900 + i, "wrong value %lld committed for index %llu: expected %d", (long long)w.value,
                    (unsigned long long)(first.index + i), 900 + i);
        }
        if (again || c.term_moved_on(first.term)) {
            continue;  // a term change costs elections: the budget would not apply
        }
        uint64_t used = rpcs();
        REQUIRE(used <= commit_rpcs(kIterations), "too many RPCs (%llu) for %d entries", (unsigned long long)used,
                kIterations);
        counted = true;
    }
    REQUIRE(counted, "term changed too often");

    std::this_thread::sleep_for(1s);
    uint64_t idle = rpcs();
    REQUIRE(idle <= 60, "too many RPCs (%llu) for 1 second of idleness", (unsigned long long)idle);
}

void unreliable_agreement(Cluster& c) {
    c.set_unreliable(true);
    std::atomic<int> failures{0};
    ThreadGroup agreements;
    for (int iter = 1; iter <= kUnreliableIterations; iter++) {
        for (int i = 0; i < 4; i++) {
            agreements.spawn([&c, &failures, iter] {
                if (c.do_agreement(1000 + iter, 1, true) == 0) {
                    failures++;
                }
            });
        }
        if (failures > 0) {
            break;
        }
        if (c.do_agreement(1000 + iter, 1, true) == 0) {
            failures++;
            break;
        }
    }
    c.set_unreliable(false);
    agreements.join_and_check();
    REQUIRE(failures == 0, "failed to reach agreement (%d of the agreements failed)", failures.load());
    agree(c, 1060, kServers);
}

/// The framework's Figure 8: an entry of an old term, held by a majority, must not count as committed until an
/// entry of the current term commits on top of it.
void figure_8_disconnect_schedule(Cluster& c) {
    for (int attempt = 0; attempt < 10; attempt++) {
        c.reconnect_all();  // a failed attempt may leave servers cut off
        int leader1 = c.one_leader();
        Started s = c.start(leader1, 1100);
        if (!s.ok) {
            continue;  // the term moved on too quickly: start again
        }
        Waited w = c.wait(s.index, kServers, s.term);
        REQUIRE(w.outcome != Waited::values_differ, "committed values differ for index %llu",
                (unsigned long long)s.index);
        REQUIRE(w.outcome != Waited::timed_out, "waited too long for %d servers to commit index %llu", kServers,
                (unsigned long long)s.index);
        REQUIRE(w.outcome != Waited::term_moved_on, "term moved on before index %llu committed by %d servers",
                (unsigned long long)s.index, kServers);

        // C1 reaches leader1 and one follower (s2) only.
        int s2 = peer(leader1, 4);
        for (int k = 1; k <= 3; k++) {
            c.disconnect(peer(leader1, k));
        }
        Started c1 = c.start(leader1, 1101);
        if (!c1.ok) {
            continue;
        }
        settle();
        require_none_committed(c, c1.index);

        // A new leader among the other three, then leader1 and s2 join its term as followers.
        c.disconnect(s2);
        c.disconnect(leader1);
        for (int k = 1; k <= 3; k++) {
            c.reconnect(peer(leader1, k));
        }
        int leader2 = c.one_leader();
        c.reconnect(s2);
        c.reconnect(leader1);
        settle();
        c.one_leader(leader2);

        // C2 goes to the isolated leader2 at the same index as C1, in a later term.
        for (int i = 0; i < kServers; i++) {
            if (i != leader2) {
                c.disconnect(i);
            }
        }
        Started c2 = c.start(leader2, 1102);
        if (!c2.ok) {
            continue;
        }
        REQUIRE(c2.index == c1.index, "Start() returned index %llu (%llu expected)", (unsigned long long)c2.index,
                (unsigned long long)c1.index);
        REQUIRE(c2.term > c1.term, "Start() returned term %llu (more than %llu expected)",
                (unsigned long long)c2.term, (unsigned long long)c1.term);
        settle();
        require_none_committed(c, c1.index);

        // leader1 or s2 leads again, with a third server that lacks C1.
        c.disconnect(leader2);
        c.reconnect(leader1);
        c.reconnect(s2);
        c.reconnect(leader2 == peer(leader1, 1) ? peer(leader1, 2) : peer(leader1, 1));
        int leader3 = c.one_leader();
        if (leader3 != leader1 && leader3 != s2) {
            continue;  // the third server won: this schedule cannot go on, start again
        }
        // Time enough to copy C1 to the third server: a majority holds it, yet it is of an old term.
        settle();
        require_none_committed(c, c1.index);

        // An entry of the current term commits, and C1 with it.
        uint64_t later = c.do_agreement(1103, kServers - 2, false);
        REQUIRE(later > c1.index, "failed to reach agreement");
        require_n_committed(c, c1.index, kServers - 2);
        REQUIRE(c.server_committed(leader3, c1.index, 1101), "value 1101 is not committed at index %llu when it should be",
                (unsigned long long)c1.index);
        c.reconnect_all();
        return;
    }
    throw Failure("failed to test figure 8");
}

/// The simulator's Figure 8 schedule: leaders crash right after taking an entry, after a short or (1 in 10) a
/// long pause, and crashed servers restart from what they persisted whenever fewer than 3 are up.
void figure_8_crash_schedule(Cluster& c) {
    agree(c, 1, 1);
    int up = kServers;
    for (int round = 0; round < kFigure8CrashRounds; round++) {
        int leader = -1;
        for (int i = 0; i < kServers; i++) {
            if (c.is_up(i) && c.start(i, 10 + round).ok) {
                leader = i;
            }
        }
        uint64_t pause_ms = c.rand(10) == 0 ? c.rand(500) : c.rand(13);
        std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
        if (leader >= 0) {
            c.crash(leader);
            up--;
        }
        if (up < 3) {
            int s = static_cast<int>(c.rand(kServers));
            if (!c.is_up(s)) {
                c.restart(s);
                up++;
            }
        }
    }
    for (int i = 0; i < kServers; i++) {
        if (!c.is_up(i)) {
            c.restart(i);
        }
    }
    agree(c, 100000, kServers);
}

void figure_8(Cluster& c) {
    figure_8_disconnect_schedule(c);
    figure_8_crash_schedule(c);
}

struct Test {
    int number;
    const char* name;
    void (*run)(Cluster&);
};

const Test kTests[] = {
    {1, "initial election", initial_election},
    {2, "re-election after network failure", re_election},
    {3, "basic agreement", basic_agreement},
    {4, "agreement despite follower disconnection", agreement_despite_follower_disconnection},
    {5, "no agreement if too many followers disconnect", no_agreement_without_majority},
    {6, "rejoin of disconnected leader", rejoin_of_disconnected_leader},
    {7, "concurrently started agreements", concurrent_starts},
    {8, "leader backs up quickly over incorrect follower logs", backs_up_over_incorrect_logs},
    {9, "RPC counts aren't too high", rpc_counts},
    {10, "unreliable agreement", unreliable_agreement},
    {11, "Figure 8", figure_8},
};

/// Runs one test on a fresh cluster; true if it passed. Prints its line.
bool run(const Test& test, uint64_t& total_rpcs) {
    auto began = Clock::now();
    std::string failure;
    uint64_t rpcs = 0;
    try {
        Cluster cluster;
        try {
            test.run(cluster);
        } catch (const Failure& f) {
            failure = f.what();
        } catch (const raftcore::Error& e) {
            failure = std::string("raftcore error: ") + e.what();
        }
        cluster.shutdown();
        // The recorder's and transport's findings fail a test whatever its own checks said.
        for (const std::string& v : cluster.violations()) {
            failure += (failure.empty() ? "" : "; ") + v;
        }
        rpcs = cluster.rpc_total();
    } catch (const std::exception& e) {
        failure = std::string("cluster setup or shutdown failed: ") + e.what();
    }
    double seconds = std::chrono::duration<double>(Clock::now() - began).count();
    total_rpcs += rpcs;
    std::printf("%s  test %2d  %-52s %6.1f s %7llu RPCs\n", failure.empty() ? "PASS" : "FAIL", test.number,
                test.name, seconds, (unsigned long long)rpcs);
    if (!failure.empty()) {
        std::printf("      test %d failed: %s\n", test.number, failure.c_str());
    }
    std::fflush(stdout);
    return failure.empty();
}

}  // namespace
}  // namespace scenarios

int main(int argc, char** argv) {
    using namespace scenarios;
    std::vector<const Test*> selected;
    for (int a = 1; a < argc; a++) {
        int number = std::atoi(argv[a]);
        auto found = std::find_if(std::begin(kTests), std::end(kTests), [&](const Test& t) { return t.number == number; });
        if (found == std::end(kTests)) {
            std::fprintf(stderr, "usage: %s [test number 1-11 ...]\n", argv[0]);
            return 2;
        }
        selected.push_back(&*found);
    }
    if (selected.empty()) {
        for (const Test& t : kTests) {
            selected.push_back(&t);
        }
    }

#ifdef RAFTCORE_HPP_DYNAMIC
    std::string linkage;
    try {
        raftcore::abi_version();
        linkage = "loaded at run time from " + raftcore::library_path();
    } catch (const raftcore::Error& e) {
        std::printf("scenarios: FAIL: %s\n", e.what());
        return 1;
    }
#else
    std::string linkage = "linked";
#endif
    std::printf("scenarios: dslabs-cpp Raft tests, %d servers each, libraftcore ABI %u %s\n", kServers,
                raftcore::abi_version(), linkage.c_str());

    auto began = Clock::now();
    int passed = 0;
    uint64_t total_rpcs = 0;
    for (const Test* t : selected) {
        passed += run(*t, total_rpcs) ? 1 : 0;
    }
    double seconds = std::chrono::duration<double>(Clock::now() - began).count();
    std::printf("scenarios: %d/%zu passed in %.1f s, %llu RPCs in total\n", passed, selected.size(), seconds,
                (unsigned long long)total_rpcs);
    return passed == static_cast<int>(selected.size()) ? 0 : 1;
}
