/*
 * Proof that a C host can embed libraftcore using only the installed header and library: three instances in one
 * process on a loopback transport elect a leader, commit a command on every peer, and all name that leader.
 *
 * send_rpc must not call into the same instance synchronously (it runs on that instance's event loop), so it only
 * queues the request; a transport thread delivers it with raft_handle_rpc and completes it with raft_rpc_reply.
 */
#define _POSIX_C_SOURCE 200809L

#include <raftcore.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N 3
#define COMMAND "hello"

struct delivery {
    struct delivery *next;
    uint32_t from, to, kind;
    uint64_t req_id;
    uint8_t *req;
    size_t len;
};

static pthread_mutex_t queue_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cv = PTHREAD_COND_INITIALIZER;
static struct delivery *queue_head, *queue_tail;
static bool transport_stopping;

static _Atomic uint64_t handles[N];
static atomic_bool killed[N];

static pthread_mutex_t store_mu = PTHREAD_MUTEX_INITIALIZER;
static size_t saved_state_len[N];
static uint64_t applied_index[N];
static char applied_command[N][32];

static int failures;

#define CHECK(cond, ...)                                        \
    do {                                                        \
        if (!(cond)) {                                          \
            fprintf(stderr, "c-embed: FAILED %s: ", #cond);     \
            fprintf(stderr, __VA_ARGS__);                       \
            fprintf(stderr, "\n");                              \
            failures++;                                         \
            return 1;                                           \
        }                                                       \
    } while (0)

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- callbacks: each copies what it keeps, never blocks, never calls its own instance ---- */

static void on_send_rpc(uint64_t user, uint32_t peer, uint32_t kind, uint64_t req_id, const uint8_t *req,
                        size_t len) {
    struct delivery *d = calloc(1, sizeof *d);
    uint8_t *copy = malloc(len ? len : 1);
    if (d == NULL || copy == NULL) {
        free(d);
        free(copy);
        return; /* the request is lost; raft retries on its next heartbeat */
    }
    if (len) memcpy(copy, req, len);
    *d = (struct delivery){NULL, (uint32_t)user, peer, kind, req_id, copy, len};
    pthread_mutex_lock(&queue_mu);
    if (queue_tail) queue_tail->next = d; else queue_head = d;
    queue_tail = d;
    pthread_cond_signal(&queue_cv);
    pthread_mutex_unlock(&queue_mu);
}

static int32_t on_persist(uint64_t user, const uint8_t *state, size_t state_len, const uint8_t *snapshot,
                          size_t snapshot_len) {
    (void)state;
    (void)snapshot;
    (void)snapshot_len;
    pthread_mutex_lock(&store_mu);
    saved_state_len[user] = state_len;
    pthread_mutex_unlock(&store_mu);
    return 0;
}

static int32_t on_apply(uint64_t user, const RaftApplyMsg *msg) {
    if (atomic_load(&killed[user])) return 1;
    if (msg->command_valid) {
        pthread_mutex_lock(&store_mu);
        applied_index[user] = msg->index;
        size_t n = msg->len < sizeof applied_command[user] - 1 ? msg->len : sizeof applied_command[user] - 1;
        if (n) memcpy(applied_command[user], msg->data, n);
        applied_command[user][n] = '\0';
        pthread_mutex_unlock(&store_mu);
    }
    return 0;
}

static void on_log(uint64_t user, int32_t level, const uint8_t *msg, size_t len) {
    if (level <= RAFT_LOG_LEVEL_INFO) printf("c-embed: peer %llu: %.*s\n", (unsigned long long)user, (int)len, msg);
}

/* ---- transport ---- */

static void *transport(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&queue_mu);
        while (queue_head == NULL && !transport_stopping) pthread_cond_wait(&queue_cv, &queue_mu);
        struct delivery *d = queue_head;
        if (d == NULL) {
            pthread_mutex_unlock(&queue_mu);
            return NULL;
        }
        queue_head = d->next;
        if (queue_head == NULL) queue_tail = NULL;
        pthread_mutex_unlock(&queue_mu);

        uint64_t from = atomic_load(&handles[d->from]), to = atomic_load(&handles[d->to]);
        RaftBuf reply = {0};
        if (raft_handle_rpc(to, d->kind, d->req, d->len, &reply, NULL) == RAFT_STATUS_OK) {
            /* After a kill this returns RAFT_STATUS_CLOSED, which a host ignores. */
            raft_rpc_reply(from, d->req_id, true, reply.ptr, reply.len, NULL);
            raft_buf_free(reply);
        } else {
            raft_rpc_reply(from, d->req_id, false, NULL, 0, NULL);
        }
        free(d->req);
        free(d);
    }
}

static int run(void) {
    CHECK(raft_abi_version() == RAFT_ABI_VERSION, "library ABI %u, header ABI %u", raft_abi_version(),
          RAFT_ABI_VERSION);

    RaftBuf err = {0};
    int64_t term = 0;
    bool is_leader = false;
    int32_t rc = raft_get_state(424242, &term, &is_leader, &err);
    CHECK(rc == RAFT_STATUS_UNKNOWN_HANDLE && err.len > 0, "rc %d", rc);
    raft_buf_free(err);

    RaftCallbacks cbs = {0, on_send_rpc, on_persist, on_apply, on_log};
    for (uint32_t i = 0; i < N; i++) {
        /* default timing, entropy seed, fresh state */
        RaftConfig cfg = {.me = i, .peers = N, .pacing = RAFT_PACING_PROMPT};
        cbs.user = i;
        uint64_t h = 0;
        err = (RaftBuf){0};
        rc = raft_make(&cfg, &cbs, &h, &err);
        CHECK(rc == RAFT_STATUS_OK, "raft_make(%u): %d %.*s", i, rc, (int)err.len, (const char *)err.ptr);
        atomic_store(&handles[i], h);
    }
    pthread_t transport_thread;
    CHECK(pthread_create(&transport_thread, NULL, transport, NULL) == 0, "transport thread");

    int leader = -1;
    int64_t leader_term = 0;
    for (double deadline = now_seconds() + 5; leader < 0 && now_seconds() < deadline; sleep_ms(20)) {
        for (int i = 0; i < N; i++) {
            CHECK(raft_get_state(atomic_load(&handles[i]), &term, &is_leader, NULL) == RAFT_STATUS_OK, "state");
            if (is_leader) leader = i, leader_term = term;
        }
    }
    CHECK(leader >= 0, "no leader within 5 s");

    int64_t index = 0;
    rc = raft_start(atomic_load(&handles[leader]), (const uint8_t *)COMMAND, strlen(COMMAND), &index, &term,
                    &is_leader, NULL);
    CHECK(rc == RAFT_STATUS_OK && is_leader && index == 1, "raft_start: rc %d leader %d index %lld", rc,
          is_leader, (long long)index);

    int committed = 0;
    for (double deadline = now_seconds() + 5; committed < N && now_seconds() < deadline; sleep_ms(10)) {
        committed = 0;
        pthread_mutex_lock(&store_mu);
        for (int i = 0; i < N; i++) committed += applied_index[i] == 1 && strcmp(applied_command[i], COMMAND) == 0;
        pthread_mutex_unlock(&store_mu);
    }
    CHECK(committed == N, "command applied on %d of %d peers", committed, N);

    /* Every peer applied the leader's entry, so each has heard that leader in its term. */
    for (int i = 0; i < N; i++) {
        int64_t hint = -2;
        CHECK(raft_get_leader(atomic_load(&handles[i]), &hint, NULL) == RAFT_STATUS_OK, "get_leader(%d)", i);
        CHECK(hint == leader, "peer %d names %lld as leader, not %d", i, (long long)hint, leader);
    }

    int64_t persisted = 0;
    CHECK(raft_persist_bytes(atomic_load(&handles[leader]), &persisted, NULL) == RAFT_STATUS_OK, "persist_bytes");
    pthread_mutex_lock(&store_mu);
    size_t saved = saved_state_len[leader];
    pthread_mutex_unlock(&store_mu);
    CHECK(persisted > 0 && (size_t)persisted == saved, "persist_bytes %lld, saved %zu", (long long)persisted, saved);

    for (int i = 0; i < N; i++) {
        atomic_store(&killed[i], true); /* lets a blocked apply return, as a real host would */
        CHECK(raft_kill(atomic_load(&handles[i]), NULL) == RAFT_STATUS_OK, "raft_kill(%d)", i);
        CHECK(raft_get_state(atomic_load(&handles[i]), &term, &is_leader, NULL) == RAFT_STATUS_CLOSED, "closed");
    }
    pthread_mutex_lock(&queue_mu);
    transport_stopping = true;
    pthread_cond_broadcast(&queue_cv);
    pthread_mutex_unlock(&queue_mu);
    pthread_join(transport_thread, NULL);

    printf("c-embed: peer %d led term %lld and committed \"%s\" at index 1 on all %d peers\n", leader,
           (long long)leader_term, COMMAND, N);
    return 0;
}

int main(void) {
    int rc = run();
    printf("c-embed: %d passed, %d failed\n", rc == 0 ? 1 : 0, failures);
    return rc;
}
