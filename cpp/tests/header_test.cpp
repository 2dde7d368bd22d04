// header_test.cpp: checks of raftcore.hpp itself rather than of Raft: statuses become raftcore::Error with the
// right code, the outcomes the C ABI calls expected are return values, callbacks' exceptions stay on the C++
// side, a Node may be moved and even destroyed from its own callback, and (built with RAFTCORE_HPP_DYNAMIC) the
// run-time loader reports what it could not load. It is built as C++14 (the dslabs-cpp framework's language) and
// as C++17, where TextView also stands in for std::string_view. Messages printed on stderr by callbacks that throw
// on purpose are part of a passing run.
#include <raftcore.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#ifdef RAFTCORE_HPP_DYNAMIC
#include <sys/wait.h>
#include <unistd.h>
#endif

namespace {

using namespace std::chrono_literals;

int checks = 0;
int failures = 0;

void check(bool ok, const std::string& what) {
    checks++;
    if (!ok) {
        failures++;
        std::printf("header_test: FAILED: %s\n", what.c_str());
    }
}

/// Runs `call`, which must throw raftcore::Error with `code` (and, if given, `mention` in its message).
template <typename Call>
void expect_error(const std::string& what, int32_t code, Call&& call, const char* mention = nullptr) {
    try {
        call();
        check(false, what + ": no error, expected " + raftcore::status_name(code));
    } catch (const raftcore::Error& e) {
        check(e.code() == code, what + ": got " + e.what() + ", expected " + raftcore::status_name(code));
        check(std::string(e.name()) == raftcore::status_name(code), what + ": name() " + e.name());
        check(!e.message().empty(), what + ": empty message");
        check(std::string(e.what()).find(raftcore::status_name(code)) != std::string::npos,
              what + ": what() lacks the status name: " + e.what());
        if (mention != nullptr) {
            check(e.message().find(mention) != std::string::npos,
                  what + ": message lacks '" + mention + "': " + e.message());
        }
    }
}

/// Polls `done` for up to `limit`.
template <typename Done>
bool eventually(Done&& done, std::chrono::milliseconds limit = 5000ms) {
    for (auto deadline = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < deadline;) {
        if (done()) {
            return true;
        }
        std::this_thread::sleep_for(5ms);
    }
    return done();
}

/// A one-peer cluster with short timers: it elects itself at once and commits alone.
raftcore::Config solo() {
    raftcore::Config config;
    config.me = 0;
    config.peers = 1;
    config.heartbeat_ms = 10;
    config.election_timeout_min_ms = 30;
    config.election_timeout_max_ms = 60;
    return config;
}

/// What a host saves and sees: enough to check the header passes everything through.
struct Recorder {
    std::mutex mu;
    std::vector<uint8_t> state, snapshot;
    int persists = 0;
    std::vector<raftcore::ApplyMsg> applied;  // data views dropped: only valid during the callback
    std::vector<std::vector<uint8_t>> commands;

    raftcore::Callbacks callbacks() {
        raftcore::Callbacks cbs;
        cbs.send_rpc = [](uint32_t, uint32_t, uint64_t, raftcore::ByteView) {};
        cbs.persist = [this](raftcore::ByteView s, raftcore::ByteView snap) {
            std::lock_guard<std::mutex> lock(mu);
            state = s.to_vector();
            snapshot = snap.to_vector();
            persists++;
            return true;
        };
        cbs.apply = [this](const raftcore::ApplyMsg& msg) {
            std::lock_guard<std::mutex> lock(mu);
            raftcore::ApplyMsg kept = msg;
            kept.data = {};
            applied.push_back(kept);
            commands.push_back(msg.data.to_vector());
            return true;
        };
        return cbs;
    }

    size_t n_applied() {
        std::lock_guard<std::mutex> lock(mu);
        return applied.size();
    }
};

std::vector<uint8_t> bytes(const char* text) { return std::vector<uint8_t>(text, text + std::strlen(text)); }

bool leads(const raftcore::Node& node) { return node.state().is_leader; }

void bad_arguments_are_errors() {
    Recorder r;
    raftcore::Config config = solo();
    config.peers = 0;
    expect_error("peers = 0", RAFT_STATUS_INVALID_ARGUMENT, [&] { raftcore::Node node(config, r.callbacks()); });
    config = solo();
    config.me = 3;
    expect_error("me beyond peers", RAFT_STATUS_INVALID_ARGUMENT, [&] { raftcore::Node node(config, r.callbacks()); });
    config = solo();
    config.election_timeout_min_ms = 5;  // not above the heartbeat
    expect_error("election timeout below heartbeat", RAFT_STATUS_INVALID_ARGUMENT,
                 [&] { raftcore::Node node(config, r.callbacks()); });
    config = solo();
    config.pacing = static_cast<RaftPacing>(7);  // reaches the library, which knows only 0 and 1
    expect_error("unknown pacing", RAFT_STATUS_INVALID_ARGUMENT, [&] { raftcore::Node node(config, r.callbacks()); },
                 "pacing");

    raftcore::Callbacks missing = r.callbacks();
    missing.send_rpc = nullptr;
    expect_error("missing send_rpc", RAFT_STATUS_NULL_ARGUMENT, [&] { raftcore::Node node(solo(), missing); },
                 "send_rpc");

    config = solo();
    config.state = bytes("not a raft state");
    expect_error("corrupt persisted state", RAFT_STATUS_CORRUPT_STATE,
                 [&] { raftcore::Node node(config, r.callbacks()); });

    raftcore::Node empty;
    check(!empty && empty.handle() == 0, "a default Node owns nothing");
    expect_error("call on an empty Node", RAFT_STATUS_UNKNOWN_HANDLE, [&] { empty.state(); });
    expect_error("kill() on an empty Node", RAFT_STATUS_UNKNOWN_HANDLE, [&] { empty.kill(); });
}

void lifecycle_of_one_node() {
    Recorder r;
    raftcore::Node node(solo(), r.callbacks());
    check(node.handle() != 0, "raft_make gave a handle");
    check(eventually([&] { return leads(node); }), "a one-peer cluster elects itself");

    raftcore::StartResult started = node.start(bytes("hello"));
    check(started.is_leader && started.index == 1 && started.term >= 1, "the first command goes to index 1");
    check(eventually([&] { return r.n_applied() >= 1; }), "the command is applied");
    {
        std::lock_guard<std::mutex> lock(r.mu);
        check(r.applied.size() == 1 && r.applied[0].command_valid && !r.applied[0].snapshot_valid &&
                  r.applied[0].index == 1 && r.commands[0] == bytes("hello"),
              "apply gets the command's bytes at index 1");
        check(r.persists > 0 && node.persist_bytes() == static_cast<int64_t>(r.state.size()),
              "persist_bytes is the size of what persist saved");
    }

    expect_error("negative snapshot index", RAFT_STATUS_INVALID_ARGUMENT, [&] { node.snapshot(-1, bytes("s")); });
    expect_error("snapshot past the applied index", RAFT_STATUS_OUT_OF_RANGE, [&] { node.snapshot(9, bytes("s")); });
    node.snapshot(1, bytes("snap"));
    {
        std::lock_guard<std::mutex> lock(r.mu);
        check(r.snapshot == bytes("snap"), "the snapshot is persisted before snapshot() returns");
    }
    node.snapshot(1, bytes("stale"));  // at the current snapshot: OK and ignored

    expect_error("unknown RPC kind", RAFT_STATUS_INVALID_ARGUMENT, [&] { node.handle_rpc(99, bytes("x")); });
    expect_error("undecodable request", RAFT_STATUS_MALFORMED,
                 [&] { node.handle_rpc(RAFT_RPC_KIND_APPEND_ENTRIES, bytes("garbage")); });
    check(node.rpc_reply(424242, false), "rpc_reply with an unknown id is OK and ignored");

    // Restarting from what was persisted: the header hands state and snapshot back to raft_make.
    raftcore::Config again = solo();
    {
        std::lock_guard<std::mutex> lock(r.mu);
        again.state = r.state;
        again.snapshot = r.snapshot;
    }

    uint64_t handle = node.handle();
    check(node.kill(), "kill() stops a live instance");
    check(!node.kill(), "kill() again is CLOSED, reported as false");
    check(node.handle() == handle, "the handle stays as an id after kill");
    expect_error("state() after kill", RAFT_STATUS_CLOSED, [&] { node.state(); });
    expect_error("start() after kill", RAFT_STATUS_CLOSED, [&] { node.start(bytes("late")); });
    expect_error("persist_bytes() after kill", RAFT_STATUS_CLOSED, [&] { node.persist_bytes(); });
    check(!node.rpc_reply(1, true, bytes("late reply")), "rpc_reply() after kill is CLOSED, reported as false");

    // The service restores itself from the snapshot; Raft goes on after it, in a later term.
    Recorder r2;
    raftcore::Node restarted(again, r2.callbacks());
    check(eventually([&] { return leads(restarted); }), "the restarted peer elects itself");
    raftcore::StartResult next = restarted.start(bytes("after"));
    check(next.index == 2 && next.term > started.term, "the restarted peer's log goes on after the snapshot");
    check(eventually([&] { return r2.n_applied() >= 1; }), "the restarted peer applies");
    std::lock_guard<std::mutex> lock(r2.mu);
    check(r2.applied[0].command_valid && r2.applied[0].index == 2 && r2.commands[0] == bytes("after"),
          "the restarted peer's first apply follows its snapshot");
}

void nodes_move() {
    Recorder r;
    raftcore::Node a(solo(), r.callbacks());
    uint64_t handle = a.handle();
    raftcore::Node b = std::move(a);
    check(!a && a.handle() == 0 && b.handle() == handle, "moving a Node moves its handle");
    expect_error("call on a moved-from Node", RAFT_STATUS_UNKNOWN_HANDLE, [&] { a.state(); });
    check(eventually([&] { return leads(b); }), "the moved-to Node runs on, callbacks included");

    Recorder r2;
    raftcore::Node c(solo(), r2.callbacks());
    uint64_t replaced = c.handle();
    c = std::move(b);
    check(c.handle() == handle, "move-assignment takes the other's instance");
    int64_t term = 0;
    bool leader = false;
    int32_t status = raftcore::detail::api().get_state(replaced, &term, &leader, nullptr);
    check(status == RAFT_STATUS_CLOSED, "move-assignment killed the instance it replaced");
}

// The header's own codes are constants usable where an int32_t status is.
static_assert(raftcore::LOAD_FAILED == -100 && raftcore::ABI_MISMATCH == -101, "the header's codes");
static_assert(raftcore::TextView().empty() && raftcore::TextView("ab", 2).size() == 2, "TextView is constexpr");

void text_reaches_the_log_callback() {
    const std::string text = "some text";
    raftcore::TextView view(text);
    check(view.size() == text.size() && view.data() == text.data() && view.to_string() == text &&
              static_cast<std::string>(view) == text && view[0] == 's',
          "a TextView borrows a std::string's bytes");
    raftcore::ByteView bytes_of_text(view);
    check(bytes_of_text.size() == text.size() && bytes_of_text[1] == 'o', "a ByteView of a TextView");
    check(raftcore::TextView(nullptr, 0).empty() && raftcore::TextView(text.data(), 0).data() == nullptr,
          "an empty TextView points nowhere");

    Recorder r;
    raftcore::Callbacks cbs = r.callbacks();
    std::mutex mu;
    std::vector<std::string> messages;
    cbs.log = [&](RaftLogLevel, raftcore::TextView message) {
        std::lock_guard<std::mutex> lock(mu);
        messages.push_back(message.to_string());
    };
    {
        raftcore::Node node(solo(), cbs);
        check(eventually([&] { return leads(node); }), "elected");
    }
    std::lock_guard<std::mutex> lock(mu);
    check(!messages.empty() && !messages.front().empty(), "log receives the library's messages as TextView");

#if __cplusplus >= 201703L
    std::string_view standard = view;
    check(standard == "some text" && raftcore::TextView(standard).size() == 9 &&
              raftcore::ByteView(standard).size() == 9,
          "TextView and std::string_view convert both ways under C++17");
    std::atomic<int> views{0};
    cbs.log = [&views](RaftLogLevel, std::string_view message) {
        if (!message.empty()) {
            views++;
        }
    };
    raftcore::Node node(solo(), cbs);
    check(eventually([&] { return views.load() >= 1; }), "a log callback may take std::string_view under C++17");
#endif
}

void callback_exceptions_stay_in_cpp() {
    {
        Recorder r;
        raftcore::Callbacks cbs = r.callbacks();
        cbs.persist = [](raftcore::ByteView, raftcore::ByteView) -> bool {
            throw std::runtime_error("thrown on purpose by header_test");
        };
        raftcore::Node node(solo(), cbs);
        bool stopped = eventually([&] {
            try {
                node.state();
                return false;
            } catch (const raftcore::Error& e) {
                return e.code() == RAFT_STATUS_CALLBACK_FAILED;
            }
        });
        check(stopped, "a throwing persist stops the instance with CALLBACK_FAILED");
    }
    {
        Recorder r;
        raftcore::Callbacks cbs = r.callbacks();
        cbs.persist = [](raftcore::ByteView, raftcore::ByteView) { return false; };
        raftcore::Node node(solo(), cbs);
        bool stopped = eventually([&] {
            try {
                node.state();
                return false;
            } catch (const raftcore::Error& e) {
                return e.code() == RAFT_STATUS_CALLBACK_FAILED;
            }
        });
        check(stopped, "persist returning false stops the instance with CALLBACK_FAILED");
    }
    {
        Recorder r;
        raftcore::Callbacks cbs = r.callbacks();
        std::atomic<int> applies{0};
        cbs.apply = [&applies](const raftcore::ApplyMsg&) -> bool {
            applies++;
            throw std::runtime_error("thrown on purpose by header_test");
        };
        std::atomic<int> logs{0};
        cbs.log = [&logs](RaftLogLevel, raftcore::TextView) {
            logs++;
            throw 42;  // not even a std::exception
        };
        raftcore::Node node(solo(), cbs);
        check(eventually([&] { return leads(node); }), "elected");
        node.start(bytes("one"));
        check(eventually([&] { return applies.load() == 1; }), "apply ran");
        node.start(bytes("two"));
        std::this_thread::sleep_for(100ms);
        check(applies.load() == 1 && node.state().is_leader,
              "a throwing apply stops the applier only; the instance carries on");
        check(logs.load() >= 1, "log was called (and threw) when the peer became leader");
    }
    {
        // Two peers with nobody behind peer 1: the lone peer keeps asking for votes.
        Recorder r;
        raftcore::Callbacks cbs = r.callbacks();
        std::atomic<int> sends{0};
        cbs.send_rpc = [&sends](uint32_t, uint32_t, uint64_t, raftcore::ByteView) {
            sends++;
            throw std::runtime_error("thrown on purpose by header_test");
        };
        raftcore::Config config = solo();
        config.peers = 2;
        raftcore::Node node(config, cbs);
        check(eventually([&] { return sends.load() >= 3; }), "send_rpc keeps being called after throwing");
        check(node.state().term >= 2, "the instance runs on after send_rpc threw");
    }
}

void calls_from_inside_send_rpc_are_refused() {
    Recorder r;
    raftcore::Callbacks cbs = r.callbacks();
    std::atomic<raftcore::Node*> self{nullptr};
    std::atomic<int32_t> refused{RAFT_STATUS_OK};
    cbs.send_rpc = [&](uint32_t, uint32_t, uint64_t, raftcore::ByteView) {
        raftcore::Node* node = self.load();
        if (node == nullptr || refused.load() != RAFT_STATUS_OK) {
            return;
        }
        try {
            node->start(bytes("from inside"));
            refused = 1;  // not refused: a distinct non-status value
        } catch (const raftcore::Error& e) {
            refused = e.code();
        }
    };
    raftcore::Config config = solo();
    config.peers = 2;
    raftcore::Node node(config, cbs);
    self = &node;
    check(eventually([&] { return refused.load() != RAFT_STATUS_OK; }), "send_rpc was called");
    check(refused.load() == RAFT_STATUS_INVALID_ARGUMENT,
          "start() from inside the instance's own send_rpc throws INVALID_ARGUMENT instead of deadlocking");
}

void a_node_may_be_destroyed_by_its_own_callback() {
    Recorder r;
    raftcore::Callbacks cbs = r.callbacks();
    auto holder = std::make_unique<raftcore::Node>();
    std::atomic<bool> go{false}, destroyed{false};
    std::string marker = "still here";  // used after the destruction, from the callback's own captures
    cbs.apply = [&holder, &go, &destroyed, marker](const raftcore::ApplyMsg&) {
        while (!go.load()) {
            std::this_thread::sleep_for(1ms);
        }
        holder.reset();
        destroyed = marker == "still here";
        return true;
    };
    *holder = raftcore::Node(solo(), cbs);
    uint64_t handle = holder->handle();
    check(eventually([&] { return leads(*holder); }), "elected");
    holder->start(bytes("last words"));
    go = true;
    check(eventually([&] { return destroyed.load(); }), "the apply callback destroyed its own Node and returned");
    int64_t term = 0;
    bool leader = false;
    check(raftcore::detail::api().get_state(handle, &term, &leader, nullptr) == RAFT_STATUS_CLOSED,
          "the instance destroyed from its callback is killed");
}

#ifdef RAFTCORE_HPP_DYNAMIC
/// In a child process, as the loader is once per process: a library without our symbols, then an environment
/// path that does not exist. Returns the child's failure count.
int loader_errors_in_a_child() {
    pid_t child = fork();
    if (child == 0) {
        failures = 0;
        expect_error("a library without raft_* symbols", raftcore::LOAD_FAILED,
                     [] { raftcore::load_library("libm.so.6"); }, "raft_abi_version");
        setenv("RAFTCORE_LIBRARY", "/nonexistent/from-env/libraftcore.so", 1);
        expect_error("RAFTCORE_LIBRARY naming a missing file", raftcore::LOAD_FAILED, [] { raftcore::abi_version(); },
                     "/nonexistent/from-env/libraftcore.so");
        std::fflush(stdout);
        _exit(failures == 0 ? 0 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

void run_time_loading() {
    // Before anything else (and before any thread exists, for the fork).
    check(loader_errors_in_a_child() == 0, "the loader's errors in a child process");
    check(raftcore::library_path().empty(), "nothing loaded yet");
    expect_error("load_library on a missing path", raftcore::LOAD_FAILED,
                 [] { raftcore::load_library("/nonexistent/dir/libraftcore.so"); }, "/nonexistent/dir/libraftcore.so");
    check(raftcore::library_path().empty(), "a failed load leaves nothing loaded");

    const char* from_env = std::getenv("RAFTCORE_LIBRARY");
    check(from_env != nullptr && *from_env != '\0', "the test runs with RAFTCORE_LIBRARY set");
    if (from_env == nullptr) {
        return;
    }
    check(raftcore::abi_version() == RAFT_ABI_VERSION, "first use loads RAFTCORE_LIBRARY");
    check(raftcore::library_path() == from_env, "loaded from RAFTCORE_LIBRARY");
    raftcore::load_library(from_env);  // the same path again: a no-op
    expect_error("load_library of another library once loaded", raftcore::LOAD_FAILED,
                 [] { raftcore::load_library("libm.so.6"); }, "already loaded");
    expect_error("load_library(NULL)", RAFT_STATUS_NULL_ARGUMENT, [] { raftcore::load_library(nullptr); });
}
#endif

}  // namespace

int main() {
#ifdef RAFTCORE_HPP_DYNAMIC
    run_time_loading();
    const char* mode = "dynamic";
#else
    const char* mode = "linked";
#endif
    check(raftcore::abi_version() == RAFT_ABI_VERSION, "raft_abi_version() matches the header");
    check(std::string(raftcore::status_name(RAFT_STATUS_CLOSED)) == "CLOSED" &&
              std::string(raftcore::status_name(RAFT_STATUS_PANIC)) == "PANIC" &&
              std::string(raftcore::status_name(12345)) == "UNKNOWN_STATUS",
          "status names");
    bad_arguments_are_errors();
    lifecycle_of_one_node();
    nodes_move();
    text_reaches_the_log_callback();
    callback_exceptions_stay_in_cpp();
    calls_from_inside_send_rpc_are_refused();
    a_node_may_be_destroyed_by_its_own_callback();
    std::printf("header_test (%s, C++%ld): %d checks, %d failed\n", mode, (__cplusplus / 100) % 100, checks,
                failures);
    return failures == 0 ? 0 : 1;
}
