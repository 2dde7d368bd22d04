// cluster.hpp: the tester's side of the C++ scenarios. N raftcore::Node servers on a loopback::Net, a recorder of
// what every server applies, and the helpers the dslabs-cpp Raft tests are written in (one leader, one term,
// committed counts, Wait, DoAgreement, disconnect, the unreliable mode's flapping), restated for real threads and
// real time; plus crash and restart from persisted state for the Figure 8 crash schedule.
//
// The "service" is the recorder: commands are opaque 8-byte values to Raft, and on every apply it checks that the
// server applies each index exactly once, in order from 1, and that no two servers ever apply different values
// at one index. What it finds is a violation, which fails the running test whatever the test itself asserts.
#pragma once

#include "loopback.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace scenarios {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// The dslabs tests run 5 servers.
constexpr int kServers = 5;

/// Where the dslabs tests let the cluster settle they sleep ELECTIONTIMEOUT, 5 s. We sleep 1 s: still more than
/// a whole election timeout (550-850 ms by default), and it keeps the eleven tests near a minute.
constexpr auto kSettle = 1000ms;
/// How long a leader may take to emerge (dslabs: 10 polls of 500 ms). We poll more often, so a quick election
/// is seen sooner, but wait just as long.
constexpr auto kLeaderWindow = 5000ms;
constexpr auto kLeaderPoll = 100ms;
/// How long "no leader without a quorum" is watched (dslabs: the same 5 s as for a leader; shortened).
constexpr auto kNoLeaderWindow = 2000ms;
/// DoAgreement's limits, as the framework documents them: 2 s for one Start to commit, retries (when asked for)
/// until 10 s have passed. Its code waits 10 s on a single Start instead, which can never end well when that Start
/// went to a leader already deposed: raftcore appends no no-op on election (the lab wants exact indices), so the
/// new leader commits the older entries only once a command of its own term arrives, and in the unreliable test
/// every proposer may be waiting just then.
constexpr auto kAgreementWindow = 10s;
constexpr auto kAttemptWindow = 2s;
/// The unreliable mode, as in dslabs: every 100 ms each server is cut off with a chance of 1 in 10, else
/// slowed down by 0-26 ms. We add drops: 1 request in 10 and 1 reply in 10.
constexpr auto kFlapPeriod = 100ms;
constexpr int kFlapDownOneIn = 10;
constexpr int kMaxSlowdownMs = 26;
constexpr double kUnreliableDropRate = 0.1;

/// A failed assertion of a scenario.
struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

__attribute__((format(printf, 1, 2))) inline std::string format(const char* fmt, ...) {
    char text[512];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    return text;
}

/// Fails the running scenario with a printf-style message when `cond` is false.
#define REQUIRE(cond, ...)                                                 \
    do {                                                                   \
        if (!(cond)) {                                                     \
            throw ::scenarios::Failure(::scenarios::format(__VA_ARGS__)); \
        }                                                                  \
    } while (0)

inline std::vector<uint8_t> encode(int64_t value) {
    std::vector<uint8_t> bytes(8);
    for (int i = 0; i < 8; i++) {
        bytes[i] = static_cast<uint8_t>(static_cast<uint64_t>(value) >> (8 * i));
    }
    return bytes;
}

inline int64_t decode(raftcore::ByteView bytes) {
    uint64_t value = 0;
    for (int i = 0; i < 8; i++) {
        value |= static_cast<uint64_t>(bytes[i]) << (8 * i);
    }
    return static_cast<int64_t>(value);
}

/// What Start returned, in the framework's terms.
struct Started {
    bool ok = false;
    uint64_t index = 0;
    uint64_t term = 0;
};

/// How the framework's Wait ended.
struct Waited {
    enum Outcome { committed, timed_out, term_moved_on, values_differ } outcome;
    int64_t value = 0;
};

class Cluster {
public:
    explicit Cluster(int servers = kServers)
        : n_(servers), net_(static_cast<size_t>(servers)), rpc_base_(static_cast<size_t>(servers)),
          rng_(std::random_device{}()) {
        for (int i = 0; i < n_; i++) {
            servers_.push_back(std::make_unique<Server>());
        }
        for (int i = 0; i < n_; i++) {
            boot(i);
        }
    }

    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;

    ~Cluster() { shutdown(); }

    /// Kills every server and stops the network; safe to call twice.
    void shutdown() {
        if (unreliable()) {
            set_unreliable(false);
        }
        for (int i = 0; i < n_; i++) {
            if (is_up(i)) {
                crash(i);
            }
        }
        net_.stop();
    }

    int servers() const { return n_; }

    // ----- the servers ---------------------------------------------------------------------------------------

    /// Start() at `server` with the value `cmd`; not ok if it does not lead or is down.
    Started start(int server, int64_t cmd) {
        std::shared_ptr<raftcore::Node> node = node_of(server);
        if (!node) {
            return {};
        }
        try {
            raftcore::StartResult r = node->start(encode(cmd));
            return {r.is_leader, static_cast<uint64_t>(r.index), static_cast<uint64_t>(r.term)};
        } catch (const raftcore::Error& e) {
            if (e.code() == RAFT_STATUS_CLOSED) {
                return {};  // crashed by another thread meanwhile
            }
            throw;
        }
    }

    /// GetState() of an up server; nullopt for a crashed one.
    std::optional<raftcore::State> state(int server) {
        std::shared_ptr<raftcore::Node> node = node_of(server);
        if (!node) {
            return std::nullopt;
        }
        try {
            return node->state();
        } catch (const raftcore::Error& e) {
            if (e.code() == RAFT_STATUS_CLOSED) {
                return std::nullopt;
            }
            throw;
        }
    }

    /// Cuts `server` off, as the framework's Disconnect does: it sends nothing and hears nothing.
    void disconnect(int server) {
        std::lock_guard<std::mutex> lock(control_mu_);
        REQUIRE(!servers_[server]->disconnected, "test bug: server %d is disconnected already", server);
        servers_[server]->disconnected = true;
        update_link(server);
    }

    void reconnect(int server) {
        std::lock_guard<std::mutex> lock(control_mu_);
        REQUIRE(servers_[server]->disconnected, "test bug: server %d is not disconnected", server);
        servers_[server]->disconnected = false;
        update_link(server);
    }

    void reconnect_all() {
        for (int i = 0; i < n_; i++) {
            if (is_disconnected_by_test(i)) {
                reconnect(i);
            }
        }
    }

    /// Whether the network reaches `server` right now (up, and cut off neither by the test nor by flapping).
    bool connected(int server) {
        std::lock_guard<std::mutex> lock(control_mu_);
        return linked(*servers_[server]);
    }

    bool is_up(int server) {
        std::lock_guard<std::mutex> lock(control_mu_);
        return servers_[server]->up;
    }

    /// Kills `server`; what it persisted stays for restart().
    void crash(int server) {
        std::shared_ptr<raftcore::Node> node;
        {
            std::lock_guard<std::mutex> lock(control_mu_);
            Server& s = *servers_[server];
            s.up = false;
            node = std::move(s.node);
            update_link(server);
        }
        net_.detach(static_cast<uint32_t>(server));
        if (node) {
            node->kill();
        }
    }

    /// A new incarnation of a crashed `server` from its persisted state; its applied log starts over at 1.
    void restart(int server) {
        REQUIRE(!is_up(server), "test bug: server %d is up", server);
        boot(server);
    }

    /// Starts or stops the unreliable mode (flapping, slowdowns, drops) in a thread of its own.
    void set_unreliable(bool on) {
        if (on) {
            std::lock_guard<std::mutex> lock(control_mu_);
            unreliable_ = true;
            net_.set_drop_rate(kUnreliableDropRate);
            flapper_ = std::thread([this] { flap(); });
            return;
        }
        {
            std::lock_guard<std::mutex> lock(control_mu_);
            unreliable_ = false;
        }
        flap_stop_.notify_all();
        flapper_.join();
        std::lock_guard<std::mutex> lock(control_mu_);
        net_.set_drop_rate(0);
        for (int i = 0; i < n_; i++) {
            servers_[i]->flapped_off = false;
            net_.set_slowdown(static_cast<uint32_t>(i), 0ms);
            update_link(i);
        }
    }

    bool unreliable() {
        std::lock_guard<std::mutex> lock(control_mu_);
        return unreliable_;
    }

    /// A value below `below` from the cluster's generator, for schedules.
    uint64_t rand(uint64_t below) {
        std::lock_guard<std::mutex> lock(control_mu_);
        return std::uniform_int_distribution<uint64_t>(0, below - 1)(rng_);
    }

    // ----- the framework's checks ----------------------------------------------------------------------------

    /// OneLeader: the leader of the highest term among connected servers, within kLeaderWindow. Fails the test
    /// for two leaders in one term, for a leader other than `expected` (when given), or for no leader at all.
    int one_leader(int expected = -1) {
        for (auto deadline = Clock::now() + kLeaderWindow; Clock::now() < deadline;) {
            std::this_thread::sleep_for(kLeaderPoll);
            std::map<int64_t, int> leader_of_term;
            for (int i = 0; i < n_; i++) {
                if (!connected(i)) {
                    continue;
                }
                std::optional<raftcore::State> st = state(i);
                if (st && st->is_leader) {
                    auto [at, fresh] = leader_of_term.emplace(st->term, i);
                    REQUIRE(fresh, "servers %d and %d both lead term %lld", at->second, i, (long long)st->term);
                }
            }
            if (!leader_of_term.empty()) {
                int leader = leader_of_term.rbegin()->second;
                REQUIRE(expected < 0 || leader == expected, "unexpected leader change: expected %d, got %d", expected,
                        leader);
                return leader;
            }
        }
        throw Failure("waited too long for leader election");
    }

    /// NoLeader: no connected server claims to lead, at any poll during kNoLeaderWindow.
    bool no_leader() {
        for (auto deadline = Clock::now() + kNoLeaderWindow; Clock::now() < deadline;) {
            std::this_thread::sleep_for(kLeaderPoll);
            for (int i = 0; i < n_; i++) {
                std::optional<raftcore::State> st = connected(i) ? state(i) : std::nullopt;
                if (st && st->is_leader) {
                    return false;
                }
            }
        }
        return true;
    }

    /// TermMovedOn: some up server is past `term`.
    bool term_moved_on(uint64_t term) {
        for (int i = 0; i < n_; i++) {
            std::optional<raftcore::State> st = state(i);
            if (st && static_cast<uint64_t>(st->term) > term) {
                return true;
            }
        }
        return false;
    }

    /// OneTerm: the term every up server reports, or nullopt if they disagree.
    std::optional<int64_t> one_term() {
        std::optional<int64_t> term;
        for (int i = 0; i < n_; i++) {
            std::optional<raftcore::State> st = state(i);
            if (!st) {
                continue;
            }
            if (term && *term != st->term) {
                return std::nullopt;
            }
            term = st->term;
        }
        return term;
    }

    /// NCommitted: how many servers applied `index`, or -1 if they applied different values there.
    int n_committed(uint64_t index) {
        std::lock_guard<std::mutex> lock(log_mu_);
        int count = 0;
        std::optional<int64_t> value;
        for (const auto& s : servers_) {
            if (s->applied.size() >= index) {
                int64_t here = s->applied[index - 1];
                if (value && *value != here) {
                    return -1;
                }
                value = here;
                count++;
            }
        }
        return count;
    }

    /// ServerCommitted: `server` applied `cmd` at `index`.
    bool server_committed(int server, uint64_t index, int64_t cmd) {
        std::lock_guard<std::mutex> lock(log_mu_);
        const auto& applied = servers_[server]->applied;
        return applied.size() >= index && applied[index - 1] == cmd;
    }

    /// Wait: polls with doubling pauses (10 ms up to 1 s, 30 times) for `n` servers to apply `index`; gives up
    /// early once some server is past `term`.
    Waited wait(uint64_t index, int n, uint64_t term) {
        auto pause = 10ms;
        for (int i = 0; i < 30; i++) {
            int nc = n_committed(index);
            if (nc < 0) {
                return {Waited::values_differ};
            }
            if (nc >= n) {
                return {Waited::committed, value_at(index).value_or(0)};
            }
            std::this_thread::sleep_for(pause);
            if (pause < 1000ms) {
                pause *= 2;
            }
            if (term_moved_on(term)) {
                return {Waited::term_moved_on};
            }
        }
        return {Waited::timed_out};
    }

    /// DoAgreement: Start `cmd` at the first connected server that accepts it, and wait (kAttemptWindow) for `n`
    /// servers to apply it; with `retry`, try again until kAgreementWindow when it did not commit there, another
    /// value took its index, or nothing led. The index on success, 0 on failure.
    uint64_t do_agreement(int64_t cmd, int n, bool retry) {
        for (auto began = Clock::now(); Clock::now() - began < kAgreementWindow;) {
            std::this_thread::sleep_for(50ms);
            std::optional<uint64_t> index;
            for (int i = 0; i < n_ && !index; i++) {
                if (connected(i)) {
                    Started s = start(i, cmd);
                    if (s.ok) {
                        index = s.index;
                    }
                }
            }
            if (!index) {
                std::this_thread::sleep_for(50ms);
                continue;
            }
            for (auto waiting = Clock::now(); Clock::now() - waiting < kAttemptWindow;) {
                int nc = n_committed(*index);
                if (nc < 0) {
                    break;
                }
                if (nc >= n) {
                    if (value_at(*index) == cmd) {
                        return *index;
                    }
                    break;
                }
                std::this_thread::sleep_for(20ms);
            }
            if (!retry) {
                return 0;
            }
        }
        return 0;
    }

    /// RpcCount: requests `server` sent since its count was last reset (by this call with `reset`).
    uint64_t rpc_count(int server, bool reset = true) {
        std::lock_guard<std::mutex> lock(control_mu_);
        uint64_t total = net_.rpc_count(static_cast<uint32_t>(server));
        uint64_t count = total - rpc_base_[server];
        if (reset) {
            rpc_base_[server] = total;
        }
        return count;
    }

    /// Every request sent since the cluster started.
    uint64_t rpc_total() const { return net_.rpc_total(); }

    /// Safety violations the recorder saw and transport failures; any of them fails the test.
    std::vector<std::string> violations() {
        std::vector<std::string> all;
        {
            std::lock_guard<std::mutex> lock(log_mu_);
            all = violations_;
        }
        for (auto& e : net_.errors()) {
            all.push_back("transport: " + e);
        }
        return all;
    }

private:
    struct Server {
        // Guarded by control_mu_.
        std::shared_ptr<raftcore::Node> node;
        uint64_t generation = 0;
        bool up = false;
        bool disconnected = false;  // by the test
        bool flapped_off = false;   // by the unreliable mode
        // The persister, guarded by store_mu.
        std::mutex store_mu;
        std::vector<uint8_t> state;
        std::vector<uint8_t> snapshot;
        // Guarded by the cluster's log_mu_: the values applied at 1, 2, ... by the current incarnation.
        std::vector<int64_t> applied;
        uint64_t applying_generation = 0;
    };

    static bool linked(const Server& s) { return s.up && !s.disconnected && !s.flapped_off; }

    /// Tells the network what the flags say. Caller holds control_mu_.
    void update_link(int server) { net_.set_connected(static_cast<uint32_t>(server), linked(*servers_[server])); }

    bool is_disconnected_by_test(int server) {
        std::lock_guard<std::mutex> lock(control_mu_);
        return servers_[server]->disconnected;
    }

    std::shared_ptr<raftcore::Node> node_of(int server) {
        std::lock_guard<std::mutex> lock(control_mu_);
        return servers_[server]->node;
    }

    std::optional<int64_t> value_at(uint64_t index) {
        std::lock_guard<std::mutex> lock(log_mu_);
        for (const auto& s : servers_) {
            if (s->applied.size() >= index) {
                return s->applied[index - 1];
            }
        }
        return std::nullopt;
    }

    /// Makes a new incarnation of `server` from what it last persisted (nothing, the first time).
    void boot(int server) {
        Server& s = *servers_[server];
        uint64_t generation;
        {
            std::lock_guard<std::mutex> lock(control_mu_);
            generation = ++s.generation;
        }
        raftcore::Config config;
        config.me = static_cast<uint32_t>(server);
        config.peers = static_cast<uint32_t>(n_);
        {
            std::lock_guard<std::mutex> lock(s.store_mu);
            config.state = s.state;
            config.snapshot = s.snapshot;
        }
        {
            std::lock_guard<std::mutex> lock(log_mu_);
            s.applied.clear();
            s.applying_generation = generation;
        }
        raftcore::Callbacks callbacks;
        callbacks.send_rpc = [this, server, generation](uint32_t peer, uint32_t kind, uint64_t req_id,
                                                        raftcore::ByteView request) {
            net_.send(static_cast<uint32_t>(server), generation, peer, kind, req_id, request);
        };
        callbacks.persist = [&s](raftcore::ByteView state, raftcore::ByteView snapshot) {
            std::lock_guard<std::mutex> lock(s.store_mu);
            s.state.assign(state.begin(), state.end());
            s.snapshot.assign(snapshot.begin(), snapshot.end());
            return true;
        };
        callbacks.apply = [this, server, generation](const raftcore::ApplyMsg& msg) {
            return record_apply(server, generation, msg);
        };
        auto node = std::make_shared<raftcore::Node>(config, std::move(callbacks));
        // The first callback comes no sooner than an election timeout after raft_make: time enough to plug in.
        net_.attach(static_cast<uint32_t>(server), generation, node);
        std::lock_guard<std::mutex> lock(control_mu_);
        s.node = std::move(node);
        s.up = true;
        update_link(server);
    }

    /// The apply callback: the exactly-once, in-order and agreement checks.
    bool record_apply(int server, uint64_t generation, const raftcore::ApplyMsg& msg) {
        std::lock_guard<std::mutex> lock(log_mu_);
        Server& s = *servers_[server];
        if (s.applying_generation != generation) {
            return false;  // a replaced incarnation: stop its applier
        }
        if (!msg.command_valid) {
            violations_.push_back(format("server %d was given a snapshot through index %llu, yet nobody snapshots",
                                         server, (unsigned long long)msg.index));
            return true;
        }
        if (msg.index != s.applied.size() + 1) {
            violations_.push_back(format("server %d applied index %llu after index %zu: out of order or twice",
                                         server, (unsigned long long)msg.index, s.applied.size()));
            return true;
        }
        if (msg.data.size() != 8) {
            violations_.push_back(format("server %d applied a %zu-byte command at index %llu; all are 8 bytes",
                                         server, msg.data.size(), (unsigned long long)msg.index));
            return true;
        }
        int64_t value = decode(msg.data);
        auto [agreed, first] = agreed_.emplace(msg.index, value);
        if (!first && agreed->second != value) {
            violations_.push_back(format("server %d applied %lld at index %llu, where %lld was applied before",
                                         server, (long long)value, (unsigned long long)msg.index,
                                         (long long)agreed->second));
        }
        s.applied.push_back(value);
        return true;
    }

    /// The unreliable mode's thread: every kFlapPeriod, re-draws who is cut off and how slow the others are.
    void flap() {
        std::unique_lock<std::mutex> lock(control_mu_);
        while (unreliable_) {
            for (int i = 0; i < n_; i++) {
                Server& s = *servers_[i];
                if (s.disconnected || !s.up) {
                    continue;  // the test's own cuts and crashes are left alone
                }
                s.flapped_off = std::uniform_int_distribution<int>(0, kFlapDownOneIn - 1)(rng_) == 0;
                if (!s.flapped_off) {
                    auto delay = std::chrono::milliseconds(std::uniform_int_distribution<int>(0, kMaxSlowdownMs)(rng_));
                    net_.set_slowdown(static_cast<uint32_t>(i), delay);
                }
                update_link(i);
            }
            flap_stop_.wait_for(lock, kFlapPeriod, [this] { return !unreliable_; });
        }
    }

    const int n_;
    loopback::Net net_;
    std::vector<std::unique_ptr<Server>> servers_;

    std::mutex control_mu_;  // servers' links and nodes, rpc_base_, rng_, unreliable_
    std::vector<uint64_t> rpc_base_;
    std::mt19937_64 rng_;
    bool unreliable_ = false;
    std::condition_variable flap_stop_;
    std::thread flapper_;

    std::mutex log_mu_;  // servers' applied logs, agreed_, violations_
    std::map<uint64_t, int64_t> agreed_;
    std::vector<std::string> violations_;
};

}  // namespace scenarios
