/*
 * Batched UDP receive: up to `batch` datagrams per recvmmsg() and one call into JavaScript per
 * batch, where Node's dgram makes one recvmsg() and one callback (with its tick and microtask
 * processing) per datagram. It reads a dup() of the socket's fd with its own uv_poll_t, so
 * libuv's UDP handle keeps the original fd for sending; the caller stops that handle's receive.
 *
 *   udpBatchStart(fd, batch, state) -> handle
 *     state = { buffers: [], meta: Int32Array(3 * batch), addresses: [], onBatch(n), onError(err) }
 *     For datagram i of a batch: buffers[i] is a Buffer holding it at offset 0 (a whole 64 KiB
 *     slot when the datagram filled over half of one, else an exact copy), meta[3i] its length
 *     (-1: truncated, drop it), meta[3i+1] the sender's port, meta[3i+2] 4 or 6, plus 8 when
 *     addresses[i] holds the sender's address because it differs from the previous datagram's.
 *     state.handle is set to the handle: a receiver runs until stopped, whether or not JavaScript
 *     keeps a reference (as a socket does).
 *   udpBatchStop(handle)  idempotent; closes the dup before it returns.
 */
#define _GNU_SOURCE
#include "vsoa_native.h"

#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SLOT_SIZE 65536 /* the largest UDP payload over IPv4 is 65,507 B */
#define MAX_BATCH 64
#define NEW_ADDRESS 8

typedef struct {
  napi_env env;
  uv_poll_t poll;
  int fd;
  int batch;
  int stopped;   /* udpBatchStop called (or start failed) */
  int closed;    /* libuv closed the poll; resources released */
  int finalized; /* the JS handle was collected: whoever comes last frees */
  napi_async_cleanup_hook_handle hook; /* removed once the poll is closed */
  napi_ref state;
  napi_async_context async;
  int32_t *meta;
  napi_ref slot_ref[MAX_BATCH];
  char *slot_data[MAX_BATCH];
  struct mmsghdr msgs[MAX_BATCH];
  struct iovec iov[MAX_BATCH];
  struct sockaddr_storage from[MAX_BATCH];
  struct sockaddr_storage last;
  socklen_t last_len;
} receiver_t;

/* A fresh uninitialised 64 KiB Buffer for slot i; on failure slot i is left as it was. */
static int new_slot(receiver_t *r, int i) {
  napi_value buf;
  napi_ref ref;
  void *data;
  if (napi_create_buffer(r->env, SLOT_SIZE, &data, &buf) != napi_ok ||
      napi_create_reference(r->env, buf, 1, &ref) != napi_ok)
    return 0;
  if (r->slot_ref[i] != NULL) napi_delete_reference(r->env, r->slot_ref[i]);
  r->slot_ref[i] = ref;
  r->slot_data[i] = data;
  r->iov[i].iov_base = data;
  r->iov[i].iov_len = SLOT_SIZE;
  return 1;
}

static napi_value address_string(napi_env env, const struct sockaddr_storage *ss) {
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  napi_value s;
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    inet_ntop(AF_INET6, &a->sin6_addr, text, INET6_ADDRSTRLEN);
    if (a->sin6_scope_id != 0) {
      /* Node writes a link-local sender as fe80::1%eth0, as getnameinfo does. */
      char name[IF_NAMESIZE];
      size_t n = strlen(text);
      if (if_indextoname(a->sin6_scope_id, name) != NULL)
        snprintf(text + n, sizeof text - n, "%%%s", name);
      else
        snprintf(text + n, sizeof text - n, "%%%u", (unsigned)a->sin6_scope_id);
    }
  } else {
    inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, text, sizeof text);
  }
  return napi_create_string_latin1(env, text, NAPI_AUTO_LENGTH, &s) == napi_ok ? s : NULL;
}

/* Calls state[name](arg) as a callback from the event loop (ticks and microtasks run after). */
static void call_state(receiver_t *r, napi_value state, const char *name, napi_value arg) {
  napi_value fn, result;
  if (napi_get_named_property(r->env, state, name, &fn) != napi_ok) return;
  if (napi_make_callback(r->env, r->async, state, fn, 1, &arg, &result) == napi_pending_exception) {
    napi_value err;
    if (napi_get_and_clear_last_exception(r->env, &err) == napi_ok) napi_fatal_exception(r->env, err);
  }
}

static void report_error(receiver_t *r, const char *syscall, int e) {
  napi_handle_scope scope;
  napi_value state, err;
  if (napi_open_handle_scope(r->env, &scope) != napi_ok) return;
  if (napi_get_reference_value(r->env, r->state, &state) == napi_ok &&
      (err = errno_error(r->env, syscall, e)) != NULL)
    call_state(r, state, "onError", err);
  napi_close_handle_scope(r->env, scope);
}

/* Hands datagram i to JavaScript: the slot itself when it is over half full, else a copy. */
static int deliver(receiver_t *r, napi_value buffers, napi_value addresses, int i) {
  napi_env env = r->env;
  const struct mmsghdr *m = &r->msgs[i];
  const struct sockaddr_storage *ss = &r->from[i];
  int32_t len = (int32_t)m->msg_len;
  int32_t family = ss->ss_family == AF_INET6 ? 6 : 4;
  napi_value buf, address;
  void *copy;

  if (m->msg_hdr.msg_flags & MSG_TRUNC) len = -1;
  r->meta[3 * i] = len;
  r->meta[3 * i + 1] =
      ntohs(family == 6 ? ((const struct sockaddr_in6 *)ss)->sin6_port : ((const struct sockaddr_in *)ss)->sin_port);
  if (m->msg_hdr.msg_namelen != r->last_len || memcmp(ss, &r->last, m->msg_hdr.msg_namelen) != 0) {
    if ((address = address_string(env, ss)) == NULL || napi_set_element(env, addresses, i, address) != napi_ok)
      return 0;
    memcpy(&r->last, ss, m->msg_hdr.msg_namelen);
    r->last_len = m->msg_hdr.msg_namelen;
    family |= NEW_ADDRESS;
  }
  r->meta[3 * i + 2] = family;
  if (len < 0) return 1;
  if (len > SLOT_SIZE / 2) {
    if (napi_get_reference_value(env, r->slot_ref[i], &buf) != napi_ok || !new_slot(r, i)) return 0;
  } else if (napi_create_buffer_copy(env, (size_t)len, r->slot_data[i], &copy, &buf) != napi_ok) {
    return 0;
  }
  return napi_set_element(env, buffers, i, buf) == napi_ok;
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  receiver_t *r = handle->data;
  napi_handle_scope scope;
  napi_value state, buffers, addresses, count;
  int i, n;
  (void)events;
  if (r->stopped) return;
  if (status < 0) {
    /*
     * libuv stops a poll handle on POLLERR: a pending socket error (an ICMP error on a connected
     * socket). Read and clear it as recvmsg would, report it, and go on receiving, as libuv's own
     * UDP handle does.
     */
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err == 0) {
      /* No pending error: an error-queue entry (IP_RECVERR, set by the application) is read off,
       * so the restarted poll does not report the same POLLERR again. */
      char scratch[256];
      struct iovec iov = {scratch, sizeof scratch};
      struct msghdr msg;
      memset(&msg, 0, sizeof msg);
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = scratch;
      msg.msg_controllen = sizeof scratch;
      if (recvmsg(r->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0 && errno != EAGAIN) err = errno;
    }
    status = uv_poll_start(&r->poll, UV_READABLE, on_readable);
    report_error(r, "recvmmsg", err != 0 ? err : EIO);
    if (status < 0) report_error(r, "uv_poll_start", -status);
    return;
  }
  for (i = 0; i < r->batch; i++) r->msgs[i].msg_hdr.msg_namelen = sizeof r->from[i];
  n = recvmmsg(r->fd, r->msgs, (unsigned)r->batch, MSG_DONTWAIT, NULL);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) report_error(r, "recvmmsg", errno);
    return;
  }
  if (n == 0 || napi_open_handle_scope(r->env, &scope) != napi_ok) return;
  if (napi_get_reference_value(r->env, r->state, &state) == napi_ok &&
      napi_get_named_property(r->env, state, "buffers", &buffers) == napi_ok &&
      napi_get_named_property(r->env, state, "addresses", &addresses) == napi_ok) {
    for (i = 0; i < n; i++)
      if (!deliver(r, buffers, addresses, i)) break;
    /* A datagram that could not be handed over (out of memory) ends the batch there. */
    if (napi_create_int32(r->env, i, &count) == napi_ok) call_state(r, state, "onBatch", count);
  }
  napi_close_handle_scope(r->env, scope);
}

static void release(receiver_t *r) {
  int i;
  if (r->hook != NULL) napi_remove_async_cleanup_hook(r->hook);
  r->hook = NULL;
  if (r->fd >= 0) close(r->fd);
  r->fd = -1;
  for (i = 0; i < r->batch; i++)
    if (r->slot_ref[i] != NULL) napi_delete_reference(r->env, r->slot_ref[i]);
  if (r->state != NULL) napi_delete_reference(r->env, r->state);
  if (r->async != NULL) napi_async_destroy(r->env, r->async);
}

static void on_closed(uv_handle_t *handle) {
  receiver_t *r = handle->data;
  release(r);
  r->closed = 1;
  if (r->finalized) free(r);
}

/*
 * uv_close stops the poll and drops the fd from epoll before it returns, so the dup can be closed
 * at once: the port is free when the socket's own 'close' is emitted (libuv runs close callbacks
 * last-closed first, the poll's after the socket's).
 */
static void stop(receiver_t *r) {
  if (r->stopped) return;
  r->stopped = 1;
  uv_close((uv_handle_t *)&r->poll, on_closed);
  close(r->fd);
  r->fd = -1;
}

/*
 * A worker's environment ends with the receiver running. An async hook, because Node unloads the
 * addon after its cleanup hooks: the teardown waits until on_closed (code of this addon) has run
 * and removed the hook.
 */
static void on_env_cleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  receiver_t *r = arg;
  r->hook = handle;
  stop(r);
}

/*
 * The JS handle was collected. While polling it cannot be (state.handle holds it and the receiver
 * holds state), so this comes after stop, or at environment teardown.
 */
static void on_finalize(napi_env env, void *data, void *hint) {
  receiver_t *r = data;
  (void)env;
  (void)hint;
  r->finalized = 1;
  if (!r->stopped)
    stop(r);
  else if (r->closed)
    free(r);
}

static napi_value js_udp_batch_start(napi_env env, napi_callback_info info) {
  napi_value argv[3], meta, arraybuffer, name, result;
  napi_typedarray_type type;
  size_t length;
  void *data;
  int32_t fd, batch;
  uv_loop_t *loop;
  receiver_t *r;
  int i, e;

  if (!get_args(env, info, 3, argv) || !get_int(env, argv[0], "fd", &fd) || !get_int(env, argv[1], "batch", &batch))
    return NULL;
  if (batch < 1 || batch > MAX_BATCH) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "batch must be 1..64");
    return NULL;
  }
  if (napi_get_named_property(env, argv[2], "meta", &meta) != napi_ok ||
      napi_get_typedarray_info(env, meta, &type, &length, &data, &arraybuffer, NULL) != napi_ok ||
      type != napi_int32_array || length < (size_t)(3 * batch)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "state.meta must be an Int32Array of 3 * batch");
    return NULL;
  }
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return NULL;
  r = calloc(1, sizeof *r);
  if (r == NULL) {
    throw_errno(env, "malloc", ENOMEM);
    return NULL;
  }
  r->env = env;
  r->batch = batch;
  r->meta = data;
  r->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (r->fd < 0) {
    e = errno;
    free(r);
    throw_errno(env, "dup", e);
    return NULL;
  }
  for (i = 0; i < batch; i++) {
    r->msgs[i].msg_hdr.msg_iov = &r->iov[i];
    r->msgs[i].msg_hdr.msg_iovlen = 1;
    r->msgs[i].msg_hdr.msg_name = &r->from[i];
    if (!new_slot(r, i)) break;
  }
  if (i < batch || napi_create_reference(env, argv[2], 1, &r->state) != napi_ok ||
      napi_create_string_utf8(env, "vsoa:quick-batch", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, argv[2], name, &r->async) != napi_ok) {
    release(r);
    free(r);
    throw_errno(env, "udpBatchStart", ENOMEM);
    return NULL;
  }
  if ((e = uv_poll_init(loop, &r->poll, r->fd)) != 0) {
    release(r);
    free(r);
    throw_errno(env, "uv_poll_init", -e);
    return NULL;
  }
  r->poll.data = r;
  if ((e = uv_poll_start(&r->poll, UV_READABLE, on_readable)) != 0 ||
      napi_create_external(env, r, on_finalize, NULL, &result) != napi_ok) {
    r->finalized = 1; /* no JS handle exists: on_closed frees */
    stop(r);
    if (e != 0) throw_errno(env, "uv_poll_start", -e);
    return NULL;
  }
  if (napi_set_named_property(env, argv[2], "handle", result) != napi_ok) {
    stop(r); /* the handle's finalizer frees, after on_closed */
    return NULL;
  }
  if (napi_add_async_cleanup_hook(env, on_env_cleanup, r, &r->hook) != napi_ok) r->hook = NULL;
  return result;
}

static napi_value js_udp_batch_stop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  void *r;
  if (!get_args(env, info, 1, argv)) return NULL;
  if (napi_get_value_external(env, argv[0], &r) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "handle must come from udpBatchStart");
    return NULL;
  }
  stop(r);
  return NULL;
}

int udp_batch_init(napi_env env, napi_value exports) {
  return export_fn(env, exports, "udpBatchStart", js_udp_batch_start) &&
         export_fn(env, exports, "udpBatchStop", js_udp_batch_stop);
}
