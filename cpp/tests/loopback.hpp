// loopback.hpp: our own in-process network for raftcore::Node servers, with the failure model of the dslabs-cpp
// tests: a disconnected server is cut off both ways (what it sends is reported lost after a timeout, what is sent
// to it is lost), a server's outgoing calls can be slowed down, and in unreliable mode requests and replies are
// also dropped at random. RPCs are counted the framework's way: one per request on the sender, replies free.
//
// Threads: send() runs inside a server's send_rpc callback, on that instance's event loop, which must neither
// block nor be called back synchronously. So send() only queues the call; a few worker threads deliver it when
// it falls due (handle_rpc on the target, rpc_reply on the sender), and no lock is held across a call into a
// server.
//
// Incarnations: a crashed and restarted server gets a new Node, whose request ids start again at 1. A queued
// call therefore keeps the Node that sent it, never just a server number, so a late reply can only reach the
// incarnation that asked (a killed one answers CLOSED and the reply is dropped).
#pragma once

#include <raftcore.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace loopback {

using Clock = std::chrono::steady_clock;
using NodePtr = std::shared_ptr<raftcore::Node>;

class Net {
public:
    /// How long a call from a disconnected server takes to fail, as an RPC timeout would.
    static constexpr std::chrono::milliseconds kLostCallTimeout{100};

    explicit Net(size_t servers, unsigned workers = 4)
        : slots_(servers), rpc_counts_(servers), rng_(std::random_device{}()) {
        for (auto& count : rpc_counts_) {
            count.store(0);
        }
        for (unsigned i = 0; i < workers; i++) {
            workers_.emplace_back([this] { work(); });
        }
    }

    Net(const Net&) = delete;
    Net& operator=(const Net&) = delete;

    ~Net() { stop(); }

    /// Stops the workers; queued calls are dropped. Kill the servers first, or their sends are dropped too.
    void stop() {
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (stopping_) {
                return;
            }
            stopping_ = true;
        }
        ready_.notify_all();
        for (auto& worker : workers_) {
            worker.join();
        }
        std::lock_guard<std::mutex> lock(mu_);
        queue_.clear();
    }

    /// Plugs in a server's current incarnation; `generation` tells its sends apart from an older one's.
    void attach(uint32_t server, uint64_t generation, NodePtr node) {
        std::lock_guard<std::mutex> lock(mu_);
        slots_[server].node = std::move(node);
        slots_[server].generation = generation;
    }

    /// Unplugs a crashed server: nothing reaches it any more. Returns its Node for the caller to kill.
    NodePtr detach(uint32_t server) {
        std::lock_guard<std::mutex> lock(mu_);
        slots_[server].connected = false;
        return std::exchange(slots_[server].node, nullptr);
    }

    void set_connected(uint32_t server, bool connected) {
        std::lock_guard<std::mutex> lock(mu_);
        slots_[server].connected = connected;
    }

    bool connected(uint32_t server) const {
        std::lock_guard<std::mutex> lock(mu_);
        return slots_[server].connected;
    }

    /// Delays everything `server` sends from now on (dslabs slows a server's outgoing calls, not its replies).
    void set_slowdown(uint32_t server, std::chrono::milliseconds delay) {
        std::lock_guard<std::mutex> lock(mu_);
        slots_[server].slowdown = delay;
    }

    /// The chance, 0 to 1, that a request or a reply is dropped (0 is a reliable network).
    void set_drop_rate(double rate) {
        std::lock_guard<std::mutex> lock(mu_);
        drop_rate_ = rate;
    }

    /// Requests `server` has sent so far, lost ones included.
    uint64_t rpc_count(uint32_t server) const { return rpc_counts_[server].load(); }

    uint64_t rpc_total() const {
        uint64_t total = 0;
        for (const auto& count : rpc_counts_) {
            total += count.load();
        }
        return total;
    }

    /// Failures no test scenario should cause (a server refusing a well-formed request, say).
    std::vector<std::string> errors() const {
        std::lock_guard<std::mutex> lock(mu_);
        return errors_;
    }

    /// The send_rpc callback's body. Never blocks beyond a short lock; never calls into a server.
    void send(uint32_t from, uint64_t generation, uint32_t to, uint32_t kind, uint64_t req_id,
              raftcore::ByteView request) {
        rpc_counts_[from].fetch_add(1);
        std::unique_lock<std::mutex> lock(mu_);
        Slot& sender = slots_[from];
        if (stopping_ || sender.generation != generation || !sender.node) {
            return;  // an incarnation already replaced: nobody could take the reply
        }
        Call call{from, to, kind, req_id, request.to_vector(), sender.node, false};
        auto due = Clock::now() + sender.slowdown;
        if (!sender.connected || to >= slots_.size() || chance(drop_rate_)) {
            call.lost = true;
            due = Clock::now() + kLostCallTimeout;
        }
        queue_.emplace(std::make_pair(due, next_seq_++), std::move(call));
        lock.unlock();
        ready_.notify_one();
    }

private:
    struct Slot {
        NodePtr node;
        uint64_t generation = 0;
        bool connected = true;
        std::chrono::milliseconds slowdown{0};
    };

    struct Call {
        uint32_t from, to, kind;
        uint64_t req_id;
        std::vector<uint8_t> request;
        NodePtr sender;
        bool lost;
    };

    bool chance(double rate) { return rate > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < rate; }

    void work() {
        std::unique_lock<std::mutex> lock(mu_);
        while (!stopping_) {
            if (queue_.empty()) {
                ready_.wait(lock);
                continue;
            }
            auto first = queue_.begin();
            // A copy: while this worker waits, another may take (and erase) that call.
            Clock::time_point due = first->first.first;
            if (due > Clock::now()) {
                ready_.wait_until(lock, due);
                continue;
            }
            Call call = std::move(first->second);
            queue_.erase(first);
            NodePtr target;
            if (!call.lost && slots_[call.to].connected && slots_[call.from].connected) {
                target = slots_[call.to].node;
            }
            lock.unlock();
            deliver(call, target);
            lock.lock();
        }
    }

    /// Runs one call outside the lock: through `target` if the network lets it, else reported lost.
    void deliver(Call& call, const NodePtr& target) {
        std::vector<uint8_t> reply;
        bool ok = false;
        if (target) {
            try {
                reply = target->handle_rpc(call.kind, call.request);
                ok = true;
            } catch (const raftcore::Error& e) {
                if (e.code() != RAFT_STATUS_CLOSED) {  // CLOSED: the target crashed while the call was under way
                    record("server " + std::to_string(call.to) + " refused a request: " + e.what());
                }
            }
        }
        if (ok) {
            // The reply crosses the same network back; it is lost if either side was cut off meanwhile.
            std::lock_guard<std::mutex> lock(mu_);
            ok = slots_[call.to].connected && slots_[call.from].connected && !chance(drop_rate_);
        }
        try {
            call.sender->rpc_reply(call.req_id, ok, ok ? raftcore::ByteView(reply) : raftcore::ByteView());
        } catch (const raftcore::Error& e) {
            record("server " + std::to_string(call.from) + " refused a reply: " + e.what());
        }
    }

    void record(std::string error) {
        std::lock_guard<std::mutex> lock(mu_);
        errors_.push_back(std::move(error));
    }

    mutable std::mutex mu_;
    std::condition_variable ready_;
    std::vector<Slot> slots_;
    std::vector<std::atomic<uint64_t>> rpc_counts_;
    /// Calls by due time; the sequence number keeps calls due at the same instant in sending order.
    std::map<std::pair<Clock::time_point, uint64_t>, Call> queue_;
    uint64_t next_seq_ = 0;
    double drop_rate_ = 0;
    std::mt19937_64 rng_;
    std::vector<std::string> errors_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

}  // namespace loopback
