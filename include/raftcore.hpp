/*
 * raftcore.hpp: a header-only C++ layer over the C ABI of raftcore.h (docs/ABI.md is the contract), for C++14 and
 * later. It adds ownership and errors, nothing of the protocol: a raftcore::Node owns one instance and its
 * callbacks, every failed call throws a raftcore::Error, and no C++ exception ever unwinds into the library.
 *
 * Language: C++14 is the floor because hosts such as the dslabs-cpp framework are fixed at -std=c++14, so nothing
 * here needs C++17 (no std::string_view, no inline variables). Text is passed as raftcore::TextView, which under
 * C++17 and later also converts to std::string_view, so a callback may be written taking either.
 *
 * Errors
 * - Every status other than RAFT_STATUS_OK throws raftcore::Error, carrying the status (code(), name()) and the
 *   library's message, except the statuses the C ABI documents as expected outcomes, which are return values:
 *     Node::kill()       returns false when the instance was already killed (RAFT_STATUS_CLOSED);
 *     Node::rpc_reply()  returns false when the instance was killed meanwhile (RAFT_STATUS_CLOSED): a call that
 *                        finishes after kill has nobody left to tell.
 *   Node::start() on a peer that does not lead is not an error either (StartResult::is_leader is false).
 *   Other calls on a killed instance throw Error with code() == RAFT_STATUS_CLOSED.
 * - The header raises two codes of its own, outside the library's range: LOAD_FAILED (run-time loading, below)
 *   and ABI_MISMATCH (the library implements another RAFT_ABI_VERSION, checked when the first Node is made).
 *
 * Ownership
 * - Arguments (ByteView, Config's state and snapshot) are borrowed for the call; the library copies them.
 * - Every RaftBuf the library returns is copied into a std::vector or std::string and released with
 *   raft_buf_free exactly once, also when the call failed.
 * - A Node keeps its Callbacks on the heap, at an address that stays put when the Node moves, and passes that
 *   address as the C `user` value. The Node frees them only after killing the instance, when no callback can
 *   run any more. Destroying a Node from inside one of its own callbacks is allowed: the instance is killed (the
 *   library detaches that thread) and the Callbacks are freed once that callback returns.
 *
 * Callbacks (see Callbacks below for each one's thread and duty)
 * - Every ByteView, ApplyMsg and TextView a callback receives is valid only during the call: copy what you
 *   keep.
 * - send_rpc, persist and log run on the instance's event-loop thread: they must not block, and must not call
 *   start, snapshot, handle_rpc or rpc_reply of their own instance (those throw RAFT_STATUS_INVALID_ARGUMENT
 *   there instead of deadlocking); hand the request to another thread.
 * - An exception escaping a callback is caught at the boundary: persist and apply then report failure to the
 *   library (persist failing stops the instance; apply failing stops its applier), send_rpc and log report it on
 *   stderr and carry on (the request counts as lost; Raft sends again).
 * - apply may block, but kill() waits for it: make it return before killing (or destroying) the Node.
 *
 * Threads: every Node member function but move, assignment and destruction may be called from any thread at
 * the same time; the library serialises what needs it.
 *
 * Linking. By default the header calls the library's symbols, so link with `pkg-config --libs raftcore`.
 * With RAFTCORE_HPP_DYNAMIC defined before the include, it references no raft_* symbol and loads the library at
 * run time with dlopen instead, for a host that cannot add -lraftcore to its build: from the path given to
 * raftcore::load_library(), else from the environment variable RAFTCORE_LIBRARY, else "libraftcore.so" on the
 * dynamic loader's search path. The library stays loaded for the life of the process. glibc 2.34 and later
 * (Debian 12 has 2.36) keep dlopen in libc itself, so neither mode needs -ldl there; older glibc needs -ldl in
 * dynamic mode.
 */

#ifndef RAFTCORE_HPP
#define RAFTCORE_HPP

#include "raftcore.h"

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#if __cplusplus >= 201703L
#include <string_view>
#endif

#ifdef RAFTCORE_HPP_DYNAMIC
#include <dlfcn.h>

#include <atomic>
#include <mutex>
#endif

namespace raftcore {

/// The codes the header raises itself, outside the library's RaftStatus range. An enumeration rather than
/// constants: it needs no inline variables to have one definition across translation units, and converts to the
/// int32_t that Error::code() returns.
enum HeaderStatus : int32_t {
    /// The library cannot be loaded at run time (RAFTCORE_HPP_DYNAMIC).
    LOAD_FAILED = -100,
    /// The library implements another RAFT_ABI_VERSION than this header.
    ABI_MISMATCH = -101,
};

/// The name of a status code ("CLOSED" for RAFT_STATUS_CLOSED), or "UNKNOWN_STATUS".
inline const char* status_name(int32_t code) noexcept {
    switch (code) {
        case RAFT_STATUS_OK: return "OK";
        case RAFT_STATUS_NULL_ARGUMENT: return "NULL_ARGUMENT";
        case RAFT_STATUS_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
        case RAFT_STATUS_UNKNOWN_HANDLE: return "UNKNOWN_HANDLE";
        case RAFT_STATUS_CLOSED: return "CLOSED";
        case RAFT_STATUS_MALFORMED: return "MALFORMED";
        case RAFT_STATUS_OUT_OF_RANGE: return "OUT_OF_RANGE";
        case RAFT_STATUS_CORRUPT_STATE: return "CORRUPT_STATE";
        case RAFT_STATUS_CALLBACK_FAILED: return "CALLBACK_FAILED";
        case RAFT_STATUS_PANIC: return "PANIC";
        case RAFT_STATUS_INTERNAL: return "INTERNAL";
        case LOAD_FAILED: return "LOAD_FAILED";
        case ABI_MISMATCH: return "ABI_MISMATCH";
        default: return "UNKNOWN_STATUS";
    }
}

/// A failed call: what() reads "<function>: <NAME>: <message>".
class Error : public std::runtime_error {
public:
    Error(int32_t code, const std::string& function, const std::string& message)
        : std::runtime_error(function + ": " + status_name(code) + ": " + message),
          code_(code),
          // Shared, so that copying the exception (as throwing may) cannot throw.
          message_(std::make_shared<const std::string>(message)) {}

    /// The RaftStatus (or LOAD_FAILED / ABI_MISMATCH).
    int32_t code() const noexcept { return code_; }
    /// The code's name, e.g. "CLOSED".
    const char* name() const noexcept { return status_name(code_); }
    /// The library's own message (or the header's, for its own codes).
    const std::string& message() const noexcept { return *message_; }

private:
    int32_t code_;
    std::shared_ptr<const std::string> message_;
};

/// Borrowed text: a pointer and a length (not NUL-terminated), valid only as long as what they point into. What
/// std::string_view would be, had C++14 one; under C++17 and later it converts to std::string_view.
class TextView {
public:
    constexpr TextView() noexcept = default;
    constexpr TextView(const char* data, size_t size) noexcept : data_(size ? data : nullptr), size_(size) {}
    TextView(const std::string& text) noexcept : TextView(text.data(), text.size()) {}

    constexpr const char* data() const noexcept { return data_; }
    constexpr size_t size() const noexcept { return size_; }
    constexpr bool empty() const noexcept { return size_ == 0; }
    constexpr const char* begin() const noexcept { return data_; }
    constexpr const char* end() const noexcept { return data_ + size_; }
    constexpr char operator[](size_t i) const noexcept { return data_[i]; }

    /// A copy that outlives the view (what a callback keeps).
    std::string to_string() const { return std::string(begin(), end()); }
    /// Explicit, as std::string_view's is, so that no copy is made unasked.
    explicit operator std::string() const { return to_string(); }

#if __cplusplus >= 201703L
    constexpr TextView(std::string_view text) noexcept : TextView(text.data(), text.size()) {}
    constexpr operator std::string_view() const noexcept { return std::string_view(data_, size_); }
#endif

private:
    const char* data_ = nullptr;
    size_t size_ = 0;
};

/// Borrowed bytes: a pointer and a length, valid only as long as what they point into.
class ByteView {
public:
    constexpr ByteView() noexcept = default;
    constexpr ByteView(const uint8_t* data, size_t size) noexcept : data_(size ? data : nullptr), size_(size) {}
    ByteView(const std::vector<uint8_t>& bytes) noexcept : ByteView(bytes.data(), bytes.size()) {}
    ByteView(TextView text) noexcept : ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()) {}
    ByteView(const std::string& text) noexcept : ByteView(TextView(text)) {}
#if __cplusplus >= 201703L
    ByteView(std::string_view text) noexcept : ByteView(TextView(text)) {}
#endif

    constexpr const uint8_t* data() const noexcept { return data_; }
    constexpr size_t size() const noexcept { return size_; }
    constexpr bool empty() const noexcept { return size_ == 0; }
    constexpr const uint8_t* begin() const noexcept { return data_; }
    constexpr const uint8_t* end() const noexcept { return data_ + size_; }
    constexpr uint8_t operator[](size_t i) const noexcept { return data_[i]; }

    /// A copy that outlives the view (what a callback keeps).
    std::vector<uint8_t> to_vector() const { return std::vector<uint8_t>(begin(), end()); }

private:
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

/// A committed command (command_valid) or an installed snapshot (snapshot_valid); exactly one flag is set.
struct ApplyMsg {
    bool command_valid = false;
    bool snapshot_valid = false;
    /// Log index of the command, or the last index the snapshot covers.
    uint64_t index = 0;
    /// Term of that index.
    uint64_t term = 0;
    /// Valid only during the apply callback.
    ByteView data;
};

/// What the instance asks of its host. send_rpc, persist and apply are required; log is optional.
struct Callbacks {
    /// Event-loop thread; must not block. Copy `request` (valid only during the call), deliver it to `peer`'s
    /// Node::handle_rpc with the same `kind` (a RaftRpcKind), and later call this Node's rpc_reply(req_id, ...)
    /// exactly once, with ok=false if the call was lost.
    std::function<void(uint32_t peer, uint32_t kind, uint64_t req_id, ByteView request)> send_rpc;
    /// Event-loop thread. Save both atomically (the snapshot is always the current one, possibly empty) before
    /// returning true; false (or an exception) stops the instance (RAFT_STATUS_CALLBACK_FAILED from then on).
    std::function<bool(ByteView state, ByteView snapshot)> persist;
    /// Applier thread, in log order; may block. True once delivered; false (or an exception) when the host is
    /// shutting the instance down, which stops the applier.
    std::function<bool(const ApplyMsg& msg)> apply;
    /// Event-loop thread; must not block. Optional.
    std::function<void(RaftLogLevel level, TextView message)> log;
};

/// The settings of one instance (RaftConfig); timing fields left at 0 take the library's defaults.
struct Config {
    /// This peer's id, below `peers`.
    uint32_t me = 0;
    /// Number of peers, this one included.
    uint32_t peers = 0;
    uint32_t heartbeat_ms = 0;
    uint32_t election_timeout_min_ms = 0;
    uint32_t election_timeout_max_ms = 0;
    /// Seed of the election jitter; 0 draws one from entropy.
    uint64_t seed = 0;
    /// RAFT_PACING_HEARTBEAT sends new entries only with heartbeats, to tell a timing race in the service from a
    /// Raft bug (docs/ABI.md); not for speed.
    RaftPacing pacing = RAFT_PACING_PROMPT;
    /// What `persist` last saved; both empty for a fresh peer.
    std::vector<uint8_t> state;
    std::vector<uint8_t> snapshot;
};

/// Node::start's answer: on a peer that does not lead, is_leader is false and index -1.
struct StartResult {
    int64_t index = -1;
    int64_t term = 0;
    bool is_leader = false;
};

/// Node::state's answer.
struct State {
    int64_t term = 0;
    bool is_leader = false;
};

namespace detail {

/// The library's entry points. Filled with the linked symbols, or with dlsym's results in dynamic mode, so
/// that everything else in this header has a single code path.
struct Api {
    decltype(&raft_abi_version) abi_version;
    decltype(&raft_make) make;
    decltype(&raft_start) start;
    decltype(&raft_get_state) get_state;
    decltype(&raft_snapshot) snapshot;
    decltype(&raft_persist_bytes) persist_bytes;
    decltype(&raft_handle_rpc) handle_rpc;
    decltype(&raft_rpc_reply) rpc_reply;
    decltype(&raft_kill) kill;
    decltype(&raft_buf_free) buf_free;
};

#ifndef RAFTCORE_HPP_DYNAMIC

inline const Api& api() {
    static const Api linked{&raft_abi_version, &raft_make,      &raft_start,     &raft_get_state,
                            &raft_snapshot,    &raft_persist_bytes, &raft_handle_rpc, &raft_rpc_reply,
                            &raft_kill,        &raft_buf_free};
    return linked;
}

#else

struct Loader {
    std::mutex mu;
    std::atomic<const Api*> loaded{nullptr};
    Api table{};
    std::string path;
};

inline Loader& loader() {
    static Loader instance;
    return instance;
}

/// Copies a dlsym result into a function pointer without the object-to-function pointer cast that ISO C++
/// leaves conditionally supported.
template <typename Fn>
void resolve(void* library, const std::string& path, const char* symbol, Fn& out) {
    dlerror();
    void* address = dlsym(library, symbol);
    if (address == nullptr) {
        const char* why = dlerror();
        std::string message = "'" + path + "' has no symbol " + symbol + ": " + (why ? why : "NULL address");
        dlclose(library);
        throw Error(LOAD_FAILED, "raftcore::load_library", message);
    }
    static_assert(sizeof(Fn) == sizeof(void*), "function and object pointers differ in size");
    std::memcpy(&out, &address, sizeof out);
}

/// Loads `path` unless a library is loaded already (the same path again is a no-op). Caller holds l.mu.
inline const Api& load_locked(Loader& l, const std::string& path) {
    if (const Api* api = l.loaded.load(std::memory_order_acquire)) {
        if (path == l.path) {
            return *api;
        }
        throw Error(LOAD_FAILED, "raftcore::load_library",
                    "cannot load '" + path + "': the library is already loaded from '" + l.path + "'");
    }
    dlerror();
    void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
        const char* why = dlerror();
        throw Error(LOAD_FAILED, "raftcore::load_library",
                    "cannot load '" + path + "': " + (why ? why : "dlopen failed"));
    }
    Api table{};
    resolve(library, path, "raft_abi_version", table.abi_version);
    resolve(library, path, "raft_make", table.make);
    resolve(library, path, "raft_start", table.start);
    resolve(library, path, "raft_get_state", table.get_state);
    resolve(library, path, "raft_snapshot", table.snapshot);
    resolve(library, path, "raft_persist_bytes", table.persist_bytes);
    resolve(library, path, "raft_handle_rpc", table.handle_rpc);
    resolve(library, path, "raft_rpc_reply", table.rpc_reply);
    resolve(library, path, "raft_kill", table.kill);
    resolve(library, path, "raft_buf_free", table.buf_free);
    // Never dlclose'd: instances run library code on their own threads until killed, and a host may keep
    // handles (plain ids) around after that.
    l.table = table;
    l.path = path;
    l.loaded.store(&l.table, std::memory_order_release);
    return l.table;
}

inline const Api& api() {
    Loader& l = loader();
    if (const Api* api = l.loaded.load(std::memory_order_acquire)) {
        return *api;
    }
    std::lock_guard<std::mutex> lock(l.mu);
    if (const Api* api = l.loaded.load(std::memory_order_acquire)) {
        return *api;
    }
    const char* from_env = std::getenv("RAFTCORE_LIBRARY");
    return load_locked(l, from_env != nullptr && *from_env != '\0' ? from_env : "libraftcore.so");
}

#endif  // RAFTCORE_HPP_DYNAMIC

/// A RaftBuf the library fills, released exactly once (raft_buf_free ignores an empty one).
class OwnedBuf {
public:
    OwnedBuf() = default;
    OwnedBuf(const OwnedBuf&) = delete;
    OwnedBuf& operator=(const OwnedBuf&) = delete;
    ~OwnedBuf() {
        if (buf_.ptr != nullptr || buf_.cap != 0) {
            api().buf_free(buf_);
        }
    }

    RaftBuf* out() noexcept { return &buf_; }
    std::vector<uint8_t> bytes() const { return std::vector<uint8_t>(buf_.ptr, buf_.ptr + buf_.len); }
    std::string text() const {
        return buf_.len ? std::string(reinterpret_cast<const char*>(buf_.ptr), buf_.len) : std::string("(no message)");
    }

private:
    RaftBuf buf_{nullptr, 0, 0};
};

inline void check(int32_t status, const char* function, const OwnedBuf& err) {
    if (status != RAFT_STATUS_OK) {
        throw Error(status, function, err.text());
    }
}

/// Fails once per process if the library implements another ABI than this header declares.
inline void check_abi_version() {
    static const uint32_t library_version = api().abi_version();
    if (library_version != RAFT_ABI_VERSION) {
        throw Error(ABI_MISMATCH, "raft_abi_version",
                    "the library implements ABI version " + std::to_string(library_version) +
                        ", raftcore.hpp expects " + std::to_string(RAFT_ABI_VERSION));
    }
}

/// A Node's callbacks at a fixed address: the C `user` value points here.
struct CallbackBox {
    Callbacks callbacks;
    uint32_t me = 0;
    /// Set when the Node was destroyed from inside one of these callbacks: the callback's own frame frees the
    /// box once the user's function has returned. Only the thread running that callback ever reads it.
    bool orphaned = false;
};

/// The box whose callback this thread is running, if any (a library thread serves a single instance). A
/// function's static, because that has one definition across translation units without C++17 inline variables.
inline CallbackBox*& running_box() noexcept {
    static thread_local CallbackBox* box = nullptr;
    return box;
}

/// Marks the callback in progress for the thread and frees an orphaned box when it ends.
class RunningCallback {
public:
    explicit RunningCallback(CallbackBox* box) noexcept : box_(box), outer_(running_box()) { running_box() = box; }
    RunningCallback(const RunningCallback&) = delete;
    RunningCallback& operator=(const RunningCallback&) = delete;
    ~RunningCallback() {
        running_box() = outer_;
        if (box_->orphaned && outer_ != box_) {
            delete box_;
        }
    }

private:
    CallbackBox* box_;
    CallbackBox* outer_;
};

inline CallbackBox* box_of(uint64_t user) noexcept {
    return reinterpret_cast<CallbackBox*>(user);
}

/// An exception stopped at the boundary: there is no caller to rethrow it to, so it goes to stderr.
inline void report_exception(const CallbackBox* box, const char* callback, const char* what,
                             const char* consequence) noexcept {
    std::fprintf(stderr, "raftcore.hpp: peer %" PRIu32 ": %s callback threw (%s); %s\n", box->me, callback, what,
                 consequence);
}

// The C callbacks. Each is noexcept and catches everything itself: an exception must never reach Rust.

inline void on_send_rpc(uint64_t user, uint32_t peer, uint32_t kind, uint64_t req_id, const uint8_t* req,
                        size_t len) noexcept {
    CallbackBox* box = box_of(user);
    RunningCallback running(box);
    try {
        box->callbacks.send_rpc(peer, kind, req_id, ByteView(req, len));
    } catch (const std::exception& e) {
        report_exception(box, "send_rpc", e.what(), "the request is lost");
    } catch (...) {
        report_exception(box, "send_rpc", "not a std::exception", "the request is lost");
    }
}

inline int32_t on_persist(uint64_t user, const uint8_t* state, size_t state_len, const uint8_t* snapshot,
                          size_t snapshot_len) noexcept {
    CallbackBox* box = box_of(user);
    RunningCallback running(box);
    try {
        return box->callbacks.persist(ByteView(state, state_len), ByteView(snapshot, snapshot_len)) ? 0 : 1;
    } catch (const std::exception& e) {
        report_exception(box, "persist", e.what(), "the instance stops");
    } catch (...) {
        report_exception(box, "persist", "not a std::exception", "the instance stops");
    }
    return 1;
}

inline int32_t on_apply(uint64_t user, const RaftApplyMsg* msg) noexcept {
    CallbackBox* box = box_of(user);
    RunningCallback running(box);
    try {
        ApplyMsg view;
        view.command_valid = msg->command_valid;
        view.snapshot_valid = msg->snapshot_valid;
        view.index = msg->index;
        view.term = msg->term;
        view.data = ByteView(msg->data, msg->len);
        return box->callbacks.apply(view) ? 0 : 1;
    } catch (const std::exception& e) {
        report_exception(box, "apply", e.what(), "the applier stops");
    } catch (...) {
        report_exception(box, "apply", "not a std::exception", "the applier stops");
    }
    return 1;
}

inline void on_log(uint64_t user, int32_t level, const uint8_t* msg, size_t len) noexcept {
    CallbackBox* box = box_of(user);
    RunningCallback running(box);
    try {
        box->callbacks.log(static_cast<RaftLogLevel>(level),
                           TextView(reinterpret_cast<const char*>(msg), msg ? len : 0));
    } catch (const std::exception& e) {
        report_exception(box, "log", e.what(), "the message is dropped");
    } catch (...) {
        report_exception(box, "log", "not a std::exception", "the message is dropped");
    }
}

}  // namespace detail

#ifdef RAFTCORE_HPP_DYNAMIC
/// Loads the library from `path` now, instead of from RAFTCORE_LIBRARY or "libraftcore.so" on first use.
/// Loading the same path again is a no-op; another path once a library is loaded is an Error (LOAD_FAILED),
/// as is a path dlopen refuses (the message names the path and dlerror()) or a library missing a raft_* symbol.
inline void load_library(const char* path) {
    if (path == nullptr) {
        throw Error(RAFT_STATUS_NULL_ARGUMENT, "raftcore::load_library", "path is NULL");
    }
    detail::Loader& l = detail::loader();
    std::lock_guard<std::mutex> lock(l.mu);
    detail::load_locked(l, path);
}

/// The path the library was loaded from, or "" before anything was loaded.
inline std::string library_path() {
    detail::Loader& l = detail::loader();
    std::lock_guard<std::mutex> lock(l.mu);
    return l.loaded.load(std::memory_order_acquire) ? l.path : std::string();
}
#endif

/// RAFT_ABI_VERSION of the library actually in use (loading it first in dynamic mode).
inline uint32_t abi_version() { return detail::api().abi_version(); }

/// One raftcore instance and its callbacks (RAII). Move-only; destruction kills the instance and never throws.
class Node {
public:
    /// An empty Node, owning nothing: handle() is 0 and every call throws UNKNOWN_HANDLE.
    Node() noexcept = default;

    /// raft_make: starts the instance. Throws Error (NULL_ARGUMENT for a missing required callback,
    /// INVALID_ARGUMENT for a bad configuration, CORRUPT_STATE for refused state, ABI_MISMATCH, LOAD_FAILED).
    /// The first callback comes with the first election: no sooner than about half election_timeout_min_ms for a
    /// fresh peer (never sooner than one heartbeat interval), and no sooner than election_timeout_min_ms for one
    /// restarted in a later term. So a host may still store the Node (or its handle) where its callbacks look for
    /// it after this returns.
    Node(const Config& config, Callbacks callbacks) : box_(std::make_unique<detail::CallbackBox>()) {
        detail::check_abi_version();
        box_->callbacks = std::move(callbacks);
        box_->me = config.me;
        const Callbacks& cbs = box_->callbacks;
        // A missing required callback goes to the library as NULL, which names it in its NULL_ARGUMENT message.
        RaftCallbacks table{};
        table.user = reinterpret_cast<uint64_t>(box_.get());
        table.send_rpc = cbs.send_rpc ? &detail::on_send_rpc : nullptr;
        table.persist = cbs.persist ? &detail::on_persist : nullptr;
        table.apply = cbs.apply ? &detail::on_apply : nullptr;
        table.log = cbs.log ? &detail::on_log : nullptr;

        RaftConfig cfg{};
        cfg.me = config.me;
        cfg.peers = config.peers;
        cfg.heartbeat_ms = config.heartbeat_ms;
        cfg.election_timeout_min_ms = config.election_timeout_min_ms;
        cfg.election_timeout_max_ms = config.election_timeout_max_ms;
        cfg.seed = config.seed;
        cfg.pacing = config.pacing;
        cfg.state = config.state.data();
        cfg.state_len = config.state.size();
        cfg.snapshot = config.snapshot.data();
        cfg.snapshot_len = config.snapshot.size();

        detail::OwnedBuf err;
        uint64_t handle = 0;
        detail::check(detail::api().make(&cfg, &table, &handle, err.out()), "raft_make", err);
        handle_ = handle;
    }

    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    Node(Node&& other) noexcept : handle_(std::exchange(other.handle_, 0)), box_(std::move(other.box_)) {}

    /// Kills the instance this Node owned, then takes over `other`'s.
    Node& operator=(Node&& other) noexcept {
        if (this != &other) {
            release();
            handle_ = std::exchange(other.handle_, 0);
            box_ = std::move(other.box_);
        }
        return *this;
    }

    ~Node() { release(); }

    /// The raw handle for the C functions (0 for an empty Node). It stays valid as an id after kill().
    uint64_t handle() const noexcept { return handle_; }
    /// Whether this Node owns an instance (alive or killed).
    explicit operator bool() const noexcept { return handle_ != 0; }

    /// raft_kill: stops the instance and joins its threads (from inside one of its callbacks: detaches that
    /// thread). True if this call stopped it, false if it was already killed (CLOSED, an expected outcome).
    /// Throws Error(PANIC) if the instance had panicked; it is stopped all the same. Waits for a blocked apply.
    bool kill() {
        detail::OwnedBuf err;
        int32_t status = detail::api().kill(handle_, err.out());
        if (status == RAFT_STATUS_CLOSED) {
            return false;
        }
        detail::check(status, "raft_kill", err);
        return true;
    }

    /// raft_start: proposes `command`. On the leader the entry is persisted before this returns.
    StartResult start(ByteView command) {
        StartResult result;
        detail::OwnedBuf err;
        detail::check(detail::api().start(handle_, command.data(), command.size(), &result.index, &result.term,
                                          &result.is_leader, err.out()),
                      "raft_start", err);
        return result;
    }

    /// raft_get_state: the current term and whether this peer believes it leads. Never waits.
    State state() const {
        State result;
        detail::OwnedBuf err;
        detail::check(detail::api().get_state(handle_, &result.term, &result.is_leader, err.out()), "raft_get_state",
                      err);
        return result;
    }

    /// raft_snapshot: the service's snapshot of everything through `index`; a stale index is ignored.
    /// Throws INVALID_ARGUMENT for a negative index, OUT_OF_RANGE past the last index handed to apply.
    void snapshot(int64_t index, ByteView data) {
        detail::OwnedBuf err;
        detail::check(detail::api().snapshot(handle_, index, data.data(), data.size(), err.out()), "raft_snapshot",
                      err);
    }

    /// raft_persist_bytes: the size of the raft state last persisted. Never waits.
    int64_t persist_bytes() const {
        int64_t length = 0;
        detail::OwnedBuf err;
        detail::check(detail::api().persist_bytes(handle_, &length, err.out()), "raft_persist_bytes", err);
        return length;
    }

    /// raft_handle_rpc: handles a peer's request of `kind` (a RaftRpcKind) and returns the reply bytes to send
    /// back to that peer's rpc_reply. Throws MALFORMED for bytes that are not a valid request of `kind`.
    std::vector<uint8_t> handle_rpc(uint32_t kind, ByteView request) {
        detail::OwnedBuf reply;
        detail::OwnedBuf err;
        detail::check(detail::api().handle_rpc(handle_, kind, request.data(), request.size(), reply.out(), err.out()),
                      "raft_handle_rpc", err);
        return reply.bytes();
    }

    /// raft_rpc_reply: completes the call send_rpc started with `req_id`: ok with the peer's reply bytes, or
    /// ok=false for a lost call (`reply` ignored). Unknown or repeated ids are ignored. False when the instance
    /// was killed meanwhile (CLOSED, an expected outcome); throws MALFORMED for undecodable reply bytes (the call
    /// then counts as lost).
    bool rpc_reply(uint64_t req_id, bool ok, ByteView reply = {}) {
        detail::OwnedBuf err;
        int32_t status = detail::api().rpc_reply(handle_, req_id, ok, reply.data(), reply.size(), err.out());
        if (status == RAFT_STATUS_CLOSED) {
            return false;
        }
        detail::check(status, "raft_rpc_reply", err);
        return true;
    }

private:
    void release() noexcept {
        if (handle_ != 0) {
            try {
                // Whatever it says (CLOSED: killed already; PANIC: released all the same), the instance is gone.
                detail::OwnedBuf err;
                detail::api().kill(handle_, err.out());
            } catch (...) {
                // Unreachable once a handle exists (the library is loaded); a destructor must not throw anyway.
            }
            handle_ = 0;
        }
        if (box_ && detail::running_box() == box_.get()) {
            // Destroyed from inside its own callback: that callback's frame frees the box when it returns.
            box_->orphaned = true;
            box_.release();
        }
        box_.reset();
    }

    uint64_t handle_ = 0;
    std::unique_ptr<detail::CallbackBox> box_;
};

}  // namespace raftcore

#endif  // RAFTCORE_HPP
