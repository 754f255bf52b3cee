/*
 * Joins pairs of connected sockets on a thread of its own, off Node's event loop: bytes read
 * from one end are written to the other as they come, with TCP backpressure (an end whose peer
 * cannot take more is not read until it can), and nothing is parsed or copied into JavaScript.
 *
 * Why a thread and why it spins: a relay costs each round trip two extra wake-ups, one per
 * direction. A sleeping thread woken by the kernel takes tens of microseconds to run on a
 * virtual machine; a thread still polling catches the answer at once. So after any traffic the
 * thread keeps polling (epoll_wait with a zero timeout) for `spin_us` before it sleeps: a reply that
 * comes back within that window costs no wake-up. While idle it sleeps in epoll_wait like any
 * other server; the CPU it spends is bounded by `spin_us` per burst of traffic.
 *
 * Threading: JavaScript never touches a pair's state. It queues commands (join, close) under
 * a mutex and wakes the thread through an eventfd; the thread reports a pair's end back through
 * a thread-safe function. One relay per Node environment (a worker has its own), stopped and
 * freed by the environment's cleanup hook.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64 * 1024)
/* How long a closing pair may take to hand its last bytes to a peer that is not reading. */
#define CLOSE_GRACE_US (2 * 1000 * 1000)

enum { CALLER = 0, MACHINE = 1 };

typedef struct Pair Pair;

typedef struct {
  Pair *pair;
  int side;
  int fd;
  /* Bytes waiting to be written to this end (its peer's bytes it could not take yet). */
  char *out;
  size_t out_len, out_off, out_cap;
  bool read_done; /* this end sent its last byte (end of stream) */
  bool fin_sent;  /* this end was told that its peer is done (shutdown) */
  uint32_t mask;  /* events registered with epoll */
  uint64_t moved; /* bytes written to this end */
} End;

typedef struct {
  uint32_t id;
  uint64_t to_caller, to_machine;
} Closed;

struct Pair {
  uint32_t id;
  End end[2];
  /* Closing: nothing more is relayed; each end gets what it is owed and a FIN, and what it
   * still sends is read and dropped until its own FIN (or the deadline), so that closing does
   * not answer a late reply, such as a WebSocket client's close frame, with a reset. */
  bool closing;
  uint64_t deadline; /* while closing */
  Closed *report;    /* allocated up front: a pair's end is always reported */
  Pair *next;
};

typedef enum { CMD_JOIN, CMD_CLOSE } CmdKind;

typedef struct Cmd {
  CmdKind kind;
  uint32_t id;
  int fd[2];
  char *bytes[2]; /* JOIN: first bytes for each end; CLOSE: bytes[CALLER] = last bytes for the caller */
  size_t len[2];
  struct Cmd *next;
} Cmd;

typedef struct {
  int epoll_fd, wake_fd;
  pthread_t thread;
  bool started;
  pthread_mutex_t lock;
  Cmd *cmds, *cmds_tail; /* under lock */
  bool stop;              /* atomic: read on every turn of the (polling) loop */
  uint64_t spin_us;
  uint32_t next_id;
  Pair *pairs;
  /* Pairs ended during one batch of epoll events, freed after it: later events of the same
   * batch may still point at them (they see fd -1 and are ignored). */
  Pair *dead;
  bool failed; /* atomic. epoll itself failed: the thread is gone, joins are refused */
  unsigned closing;
  napi_threadsafe_function on_closed;
  char chunk[CHUNK]; /* the relay thread's read buffer */
} Relay;

static uint64_t now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/* ---- relay thread -------------------------------------------------------------------------- */

/* Marks an end taken out of epoll: done both ways, so its level-triggered hang-up is not
 * reported over and over while its peer still delivers. */
#define UNWATCHED UINT32_MAX

static void set_mask(Relay *r, End *e, uint32_t mask) {
  if (e->fd < 0 || e->mask == mask || e->mask == UNWATCHED) return;
  if (mask == UNWATCHED) {
    epoll_ctl(r->epoll_fd, EPOLL_CTL_DEL, e->fd, NULL);
  } else {
    struct epoll_event ev = {.events = mask, .data.ptr = e};
    epoll_ctl(r->epoll_fd, EPOLL_CTL_MOD, e->fd, &ev);
  }
  e->mask = mask;
}

static bool owes(const End *e) { return e->out_off < e->out_len; }

/* What an end should be watched for: readable while it has more to send, its peer owes nothing
 * and the pair is open; writable while bytes wait for it. */
static void update_masks(Relay *r, Pair *p) {
  for (int s = 0; s < 2; s++) {
    End *e = &p->end[s];
    uint32_t mask = 0;
    if (!p->closing && !e->read_done && !owes(&p->end[1 - s])) mask |= EPOLLIN | EPOLLRDHUP;
    if (p->closing && e->fin_sent && !e->read_done) mask |= EPOLLIN | EPOLLRDHUP; /* to drop */
    if (owes(e)) mask |= EPOLLOUT;
    if (e->read_done && e->fin_sent && !owes(e)) mask = UNWATCHED;
    set_mask(r, e, mask);
  }
}

static bool append_out(End *e, const char *bytes, size_t len) {
  if (!owes(e)) e->out_off = e->out_len = 0;
  if (e->out_len + len > e->out_cap) {
    size_t cap = e->out_cap ? e->out_cap : CHUNK;
    while (cap < e->out_len + len) cap *= 2;
    char *grown = realloc(e->out, cap);
    if (!grown) return false;
    e->out = grown;
    e->out_cap = cap;
  }
  memcpy(e->out + e->out_len, bytes, len);
  e->out_len += len;
  return true;
}

static void close_end(Relay *r, End *e) {
  if (e->fd < 0) return;
  if (e->mask != UNWATCHED) epoll_ctl(r->epoll_fd, EPOLL_CTL_DEL, e->fd, NULL);
  close(e->fd);
  e->fd = -1;
  e->out_off = e->out_len = 0;
}

static void report_closed(Relay *r, Pair *p) {
  Closed *c = p->report;
  p->report = NULL;
  c->id = p->id;
  c->to_caller = p->end[CALLER].moved;
  c->to_machine = p->end[MACHINE].moved;
  if (napi_call_threadsafe_function(r->on_closed, c, napi_tsfn_nonblocking) != napi_ok) free(c);
}

/* Ends a pair: both sockets closed, its end reported; the memory goes at the end of the batch. */
static void free_pair(Relay *r, Pair *p, bool report) {
  for (Pair **at = &r->pairs; *at; at = &(*at)->next)
    if (*at == p) {
      *at = p->next;
      break;
    }
  if (p->closing) r->closing--;
  for (int s = 0; s < 2; s++) {
    close_end(r, &p->end[s]);
    free(p->end[s].out);
    p->end[s].out = NULL;
  }
  if (report) report_closed(r, p);
  p->next = r->dead;
  r->dead = p;
}

static void bury_dead(Relay *r) {
  while (r->dead) {
    Pair *p = r->dead;
    r->dead = p->next;
    free(p->report);
    free(p);
  }
}

static void start_closing(Relay *r, Pair *p) {
  if (p->closing) return;
  p->closing = true;
  p->deadline = now_us() + CLOSE_GRACE_US;
  r->closing++;
}

/* Writes what an end is owed. Returns false if the end failed. */
static bool flush_end(End *e) {
  while (owes(e)) {
    ssize_t w = send(e->fd, e->out + e->out_off, e->out_len - e->out_off, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    e->out_off += (size_t)w;
    e->moved += (uint64_t)w;
  }
  e->out_off = e->out_len = 0;
  return true;
}

/* An end that failed (reset, closed under us) takes nothing more; what its peer is owed is
 * still delivered before the pair closes. */
static void end_failed(Relay *r, Pair *p, End *e) {
  close_end(r, e);
  start_closing(r, p);
}

/* Passes on each end of stream once everything before it was delivered, and closes the pair
 * when it is over: both ends done, or, once closing, every open end given what it is owed, a
 * FIN, and read to its own end. Returns true if the pair is gone. */
static bool settle(Relay *r, Pair *p) {
  for (int s = 0; s < 2; s++) {
    End *peer = &p->end[1 - s];
    bool source_done = p->end[s].read_done || p->end[s].fd < 0 || p->closing;
    if (source_done && peer->fd >= 0 && !owes(peer) && !peer->fin_sent) {
      shutdown(peer->fd, SHUT_WR);
      peer->fin_sent = true;
    }
  }
  for (int s = 0; s < 2; s++) {
    const End *e = &p->end[s];
    if (e->fd >= 0 && !(e->read_done && e->fin_sent)) return false;
  }
  free_pair(r, p, true);
  return true;
}

/* While closing: reads what an end still sends and drops it, until its end of stream. */
static void drop_input(Relay *r, Pair *p, End *e) {
  for (int rounds = 0; rounds < 16; rounds++) {
    ssize_t n = recv(e->fd, r->chunk, CHUNK, 0);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) e->read_done = true;
    else if (errno != EAGAIN && errno != EWOULDBLOCK) end_failed(r, p, e);
    return;
  }
}

/* Moves what `from` has to its peer: straight through while the peer takes it, the rest kept
 * (and `from` no longer read, see update_masks) until the peer is writable again. With
 * `to_the_end` it reads on regardless: `from` hung up, so what is left is bounded by its
 * receive buffer. Returns false if the pair is gone. */
static bool pump(Relay *r, Pair *p, End *from, bool to_the_end) {
  End *to = &p->end[1 - from->side];
  for (int rounds = 0; to_the_end || rounds < 16; rounds++) {
    char *chunk = r->chunk;
    ssize_t n = recv(from->fd, chunk, CHUNK, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) end_failed(r, p, from);
      return true;
    }
    if (n == 0) {
      from->read_done = true;
      return true;
    }
    size_t off = 0;
    while (off < (size_t)n && !owes(to)) {
      ssize_t w = send(to->fd, chunk + off, (size_t)n - off, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        end_failed(r, p, to);
        return true;
      }
      off += (size_t)w;
      to->moved += (uint64_t)w;
    }
    if (off < (size_t)n) {
      if (!append_out(to, chunk + off, (size_t)n - off)) {
        free_pair(r, p, true);
        return false;
      }
      if (!to_the_end) return true;
    }
    if (!to_the_end && (size_t)n < CHUNK) return true; /* drained for now */
  }
  return true;
}

static void on_event(Relay *r, End *e, uint32_t events) {
  Pair *p = e->pair;
  if (e->fd < 0) return;
  if ((events & EPOLLOUT) && !flush_end(e)) end_failed(r, p, e);
  if (e->fd >= 0 && (events & EPOLLERR)) {
    end_failed(r, p, e);
  } else if (e->fd >= 0 && p->closing && !e->read_done) {
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) drop_input(r, p, e);
  } else if (e->fd >= 0 && !p->closing && !e->read_done) {
    /* EPOLLHUP is reported whatever the mask: the end sent its FIN and took ours, and may still
     * have bytes queued that only reading to the end delivers. */
    bool hung_up = events & EPOLLHUP;
    if ((events & (EPOLLIN | EPOLLRDHUP)) || hung_up)
      if (!pump(r, p, e, hung_up)) return;
  }
  if (!settle(r, p)) update_masks(r, p);
}

static Pair *find_pair(Relay *r, uint32_t id) {
  for (Pair *p = r->pairs; p; p = p->next)
    if (p->id == id) return p;
  return NULL;
}

static void run_join(Relay *r, Cmd *c) {
  Pair *p = calloc(1, sizeof *p);
  Closed *report = p ? malloc(sizeof *report) : NULL;
  if (!report) {
    free(p);
    close(c->fd[0]);
    close(c->fd[1]);
    return;
  }
  p->id = c->id;
  p->report = report;
  p->next = r->pairs;
  r->pairs = p;
  for (int s = 0; s < 2; s++) {
    End *e = &p->end[s];
    e->pair = p;
    e->side = s;
    e->fd = c->fd[s];
    struct epoll_event ev = {.events = 0, .data.ptr = e};
    if (epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, e->fd, &ev) != 0) {
      e->fd = -1;
      close(c->fd[s]);
    }
  }
  if (p->end[0].fd < 0 || p->end[1].fd < 0) {
    free_pair(r, p, true);
    return;
  }
  for (int s = 0; s < 2; s++)
    if (c->len[s] && !append_out(&p->end[s], c->bytes[s], c->len[s])) {
      free_pair(r, p, true);
      return;
    }
  for (int s = 0; s < 2; s++)
    if (!flush_end(&p->end[s])) {
      free_pair(r, p, true);
      return;
    }
  /* Level-triggered: bytes that arrived before the thread took the pair are reported at once. */
  update_masks(r, p);
}

/* Close from JavaScript: the machine's end goes at once; the caller gets what it is owed, then
 * `bytes` (a WebSocket close frame, say), then a FIN, within the close grace. */
static void run_close(Relay *r, Cmd *c) {
  Pair *p = find_pair(r, c->id);
  if (!p) return;
  End *caller = &p->end[CALLER];
  close_end(r, &p->end[MACHINE]);
  start_closing(r, p);
  if (c->len[CALLER] && caller->fd >= 0 && !caller->fin_sent &&
      !append_out(caller, c->bytes[CALLER], c->len[CALLER])) {
    free_pair(r, p, true);
    return;
  }
  if (caller->fd >= 0 && !flush_end(caller)) end_failed(r, p, caller);
  if (!settle(r, p)) update_masks(r, p);
}

static void free_cmd(Cmd *c) {
  free(c->bytes[0]);
  free(c->bytes[1]);
  free(c);
}

static void run_commands(Relay *r) {
  uint64_t count;
  while (read(r->wake_fd, &count, sizeof count) > 0) {
  }
  pthread_mutex_lock(&r->lock);
  Cmd *c = r->cmds;
  r->cmds = r->cmds_tail = NULL;
  pthread_mutex_unlock(&r->lock);
  while (c) {
    Cmd *next = c->next;
    if (c->kind == CMD_JOIN)
      run_join(r, c);
    else
      run_close(r, c);
    free_cmd(c);
    c = next;
  }
}

static void expire_closing(Relay *r) {
  uint64_t now = now_us();
  for (Pair *p = r->pairs, *next; p; p = next) {
    next = p->next;
    if (p->closing && now >= p->deadline) free_pair(r, p, true);
  }
}

static void *relay_main(void *arg) {
  Relay *r = arg;
  struct epoll_event events[64];
  uint64_t last_activity = 0;
  uint64_t last_expiry_check = 0;
  for (;;) {
    if (__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) break;
    uint64_t now = now_us();
    int timeout = -1;
    if (r->spin_us && now - last_activity < r->spin_us)
      timeout = 0;
    else if (r->closing)
      timeout = 100;
    int n = epoll_wait(r->epoll_fd, events, 64, timeout);
    if (n < 0 && errno != EINTR) {
      __atomic_store_n(&r->failed, true, __ATOMIC_RELEASE);
      break;
    }
    if (n > 0) last_activity = now_us();
    for (int i = 0; i < n; i++) {
      if (events[i].data.ptr == NULL)
        run_commands(r);
      else
        on_event(r, events[i].data.ptr, events[i].events);
    }
    if (r->closing && now - last_expiry_check > 50000) {
      last_expiry_check = now;
      expire_closing(r);
    }
    bury_dead(r);
  }
  /* Stopped with its environment: nobody is left to tell. Failed: every pair's owner learns it ended. */
  while (r->pairs) free_pair(r, r->pairs, r->failed);
  bury_dead(r);
  return NULL;
}

/* ---- JavaScript side ------------------------------------------------------------------------ */

#define CHECK(env, call)                                           \
  do {                                                             \
    if ((call) != napi_ok) {                                       \
      napi_throw_error((env), "ERELAY", "relay: " #call " failed"); \
      return NULL;                                                 \
    }                                                              \
  } while (0)

static void call_on_closed(napi_env env, napi_value fn, void *context, void *data) {
  (void)context;
  Closed *c = data;
  if (env && fn) {
    napi_value args[3], undefined;
    napi_create_uint32(env, c->id, &args[0]);
    napi_create_double(env, (double)c->to_caller, &args[1]);
    napi_create_double(env, (double)c->to_machine, &args[2]);
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, fn, 3, args, NULL);
  }
  free(c);
}

static void wake(Relay *r) {
  uint64_t one = 1;
  ssize_t ignored = write(r->wake_fd, &one, sizeof one);
  (void)ignored;
}

static void push_cmd(Relay *r, Cmd *c) {
  pthread_mutex_lock(&r->lock);
  if (r->cmds_tail)
    r->cmds_tail->next = c;
  else
    r->cmds = c;
  r->cmds_tail = c;
  pthread_mutex_unlock(&r->lock);
  wake(r);
}

static void stop_relay(void *arg) {
  Relay *r = arg;
  if (r->started) {
    __atomic_store_n(&r->stop, true, __ATOMIC_RELEASE);
    wake(r);
    pthread_join(r->thread, NULL);
    napi_release_threadsafe_function(r->on_closed, napi_tsfn_abort);
  }
  for (Cmd *c = r->cmds, *next; c; c = next) {
    next = c->next;
    if (c->kind == CMD_JOIN) {
      close(c->fd[0]);
      close(c->fd[1]);
    }
    free_cmd(c);
  }
  if (r->epoll_fd >= 0) close(r->epoll_fd);
  if (r->wake_fd >= 0) close(r->wake_fd);
  pthread_mutex_destroy(&r->lock);
  free(r);
}

static Relay *relay_of(napi_env env) {
  void *data = NULL;
  napi_get_instance_data(env, &data);
  if (!data) napi_throw_error(env, "ERELAY", "relay: not started");
  return data;
}

/* start(spinMicros, onClosed(id, bytesToCaller, bytesToMachine)) — once per environment. */
static napi_value start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *existing = NULL;
  napi_get_instance_data(env, &existing);
  if (existing) {
    napi_throw_error(env, "ERELAY", "relay: already started");
    return NULL;
  }
  double spin;
  CHECK(env, napi_get_value_double(env, argv[0], &spin));
  Relay *r = calloc(1, sizeof *r);
  if (!r) {
    napi_throw_error(env, "ERELAY", "relay: out of memory");
    return NULL;
  }
  r->spin_us = spin > 0 ? (uint64_t)spin : 0;
  r->next_id = 1;
  r->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  r->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  pthread_mutex_init(&r->lock, NULL);
  napi_value name;
  napi_create_string_utf8(env, "kk-relay", NAPI_AUTO_LENGTH, &name);
  bool ok = r->epoll_fd >= 0 && r->wake_fd >= 0;
  struct epoll_event wake = {.events = EPOLLIN, .data.ptr = NULL};
  ok = ok && epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, r->wake_fd, &wake) == 0;
  ok = ok && napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, NULL, NULL, NULL, call_on_closed,
                                             &r->on_closed) == napi_ok;
  if (ok) {
    /* The relay never keeps the process alive by itself: the sockets' owners decide that. */
    napi_unref_threadsafe_function(env, r->on_closed);
    ok = pthread_create(&r->thread, NULL, relay_main, r) == 0;
    if (!ok) napi_release_threadsafe_function(r->on_closed, napi_tsfn_abort);
  }
  if (!ok) {
    stop_relay(r);
    napi_throw_error(env, "ERELAY", "relay: could not start its thread");
    return NULL;
  }
  r->started = true;
  napi_set_instance_data(env, r, NULL, NULL);
  napi_add_env_cleanup_hook(env, stop_relay, r);
  return NULL;
}

static bool copy_bytes(napi_env env, napi_value value, char **bytes, size_t *len) {
  napi_valuetype type;
  napi_typeof(env, value, &type);
  *bytes = NULL;
  *len = 0;
  if (type == napi_undefined || type == napi_null) return true;
  void *data;
  size_t n;
  if (napi_get_buffer_info(env, value, &data, &n) != napi_ok) return false;
  if (!n) return true;
  *bytes = malloc(n);
  if (!*bytes) return false;
  memcpy(*bytes, data, n);
  *len = n;
  return true;
}

/* A command for the relay thread, or NULL with a JavaScript error thrown. */
static Cmd *new_cmd(napi_env env, CmdKind kind) {
  if (!relay_of(env)) return NULL;
  Cmd *c = calloc(1, sizeof *c);
  if (!c) {
    napi_throw_error(env, "ERELAY", "relay: out of memory");
    return NULL;
  }
  c->kind = kind;
  c->fd[0] = c->fd[1] = -1;
  return c;
}

/* join(callerFd, machineFd, firstToCaller?, firstToMachine?) → id. The fds are duplicated: the
 * relay owns its copies, and the caller closes its own (Node's sockets) afterwards. */
static napi_value join(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fds[2];
  CHECK(env, napi_get_value_int32(env, argv[0], &fds[0]));
  CHECK(env, napi_get_value_int32(env, argv[1], &fds[1]));
  Relay *r = relay_of(env);
  if (!r) return NULL;
  if (__atomic_load_n(&r->failed, __ATOMIC_ACQUIRE)) {
    napi_throw_error(env, "ERELAY", "relay: its thread stopped (epoll failed)");
    return NULL;
  }
  Cmd *c = new_cmd(env, CMD_JOIN);
  if (!c) return NULL;
  for (int s = 0; s < 2; s++) {
    c->fd[s] = fcntl(fds[s], F_DUPFD_CLOEXEC, 3);
    if (c->fd[s] < 0 || fcntl(c->fd[s], F_SETFL, fcntl(c->fd[s], F_GETFL) | O_NONBLOCK) != 0) {
      if (c->fd[0] >= 0) close(c->fd[0]);
      if (c->fd[1] >= 0) close(c->fd[1]);
      free(c);
      napi_throw_error(env, "ERELAY", "relay: cannot take the socket (dup failed)");
      return NULL;
    }
  }
  /* napi_get_cb_info fills arguments not given with undefined. */
  if (!copy_bytes(env, argv[2], &c->bytes[CALLER], &c->len[CALLER]) ||
      !copy_bytes(env, argv[3], &c->bytes[MACHINE], &c->len[MACHINE])) {
    close(c->fd[0]);
    close(c->fd[1]);
    free_cmd(c);
    napi_throw_type_error(env, "EINVAL", "relay: first bytes must be Buffers");
    return NULL;
  }
  uint32_t pair_id = c->id = r->next_id++;
  if (r->next_id == 0) r->next_id = 1;
  push_cmd(r, c); /* the relay thread owns (and frees) the command from here on */
  napi_value id;
  napi_create_uint32(env, pair_id, &id);
  return id;
}

/* close(id, lastToCaller?) — see run_close. A pair already gone is left alone. */
static napi_value close_pair(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t id;
  CHECK(env, napi_get_value_uint32(env, argv[0], &id));
  Cmd *c = new_cmd(env, CMD_CLOSE);
  if (!c) return NULL;
  c->id = id;
  if (!copy_bytes(env, argv[1], &c->bytes[CALLER], &c->len[CALLER])) {
    free_cmd(c);
    napi_throw_type_error(env, "EINVAL", "relay: last bytes must be a Buffer");
    return NULL;
  }
  push_cmd(relay_of(env), c);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"start", NULL, start, NULL, NULL, NULL, napi_default, NULL},
      {"join", NULL, join, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_pair, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof *props, props);
  return exports;
}
