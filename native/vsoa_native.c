/*
 * vsoa_native: the few socket calls Node.js does not offer.
 *
 *   setsockopt(fd, level, name, value)   integer options (SO_PRIORITY, IP_TOS, TCP_KEEPINTVL, ...)
 *   getsockopt(fd, level, name) -> int
 *   setLinger(fd, onoff, seconds)        SO_LINGER takes a struct linger
 *   getLinger(fd) -> { on, seconds }
 *   notify(path, message)                one AF_UNIX datagram (systemd sd_notify); "@x" = abstract
 *   tuneMalloc(trim, topPad, mmapMax) -> bool   glibc mallopt: M_TRIM_THRESHOLD, M_TOP_PAD,
 *                                        M_MMAP_THRESHOLD (false where the C library is not glibc)
 *   udpBatchStart / udpBatchStop         batched UDP receive (recvmmsg), in udp_batch.c
 *
 * Plain C, Node-API and libuv (for the batch receiver's poll) only, so the two files cross-compile with
 *   aarch64-linux-gnu-gcc -shared -fPIC -O2 -I<node>/include/node native/vsoa_native.c native/udp_batch.c \
 *     -o vsoa_native.node
 * Failures throw an Error shaped like Node's system errors: message "<syscall> <CODE>: <text>",
 * properties code ("EBADF"), errno (negative, as libuv reports it) and syscall.
 */
#include "vsoa_native.h"

#include <errno.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The errno names this module can meet; strerrorname_np is avoided (glibc >= 2.32 only). */
static const char *errno_name(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case ENOTDIR: return "ENOTDIR";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case EPIPE: return "EPIPE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ELOOP: return "ELOOP";
    case ENOTSOCK: return "ENOTSOCK";
    case EDESTADDRREQ: return "EDESTADDRREQ";
    case EMSGSIZE: return "EMSGSIZE";
    case EPROTOTYPE: return "EPROTOTYPE";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ENETDOWN: return "ENETDOWN";
    case ENETUNREACH: return "ENETUNREACH";
    case ECONNRESET: return "ECONNRESET";
    case ENOBUFS: return "ENOBUFS";
    case EISCONN: return "EISCONN";
    case ENOTCONN: return "ENOTCONN";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    default: return "UNKNOWN";
  }
}

napi_value errno_error(napi_env env, const char *syscall, int e) {
  char msg[256];
  const char *code = errno_name(e);
  napi_value js_code, js_msg, js_err, js_errno, js_syscall;
  snprintf(msg, sizeof msg, "%s %s: %s", syscall, code, strerror(e));
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &js_code) != napi_ok ||
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &js_msg) != napi_ok ||
      napi_create_error(env, js_code, js_msg, &js_err) != napi_ok)
    return NULL;
  if (napi_create_int32(env, -e, &js_errno) == napi_ok) napi_set_named_property(env, js_err, "errno", js_errno);
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &js_syscall) == napi_ok)
    napi_set_named_property(env, js_err, "syscall", js_syscall);
  return js_err;
}

void throw_errno(napi_env env, const char *syscall, int e) {
  napi_value err = errno_error(env, syscall, e);
  if (err == NULL) {
    napi_throw_error(env, errno_name(e), syscall);
    return;
  }
  napi_throw(env, err);
}

int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  if (argc < want) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "missing arguments");
    return 0;
  }
  return 1;
}

/* Reads argument `v` as an int32; throws TypeError naming `what` if it is not a number. */
int get_int(napi_env env, napi_value v, const char *what, int32_t *out) {
  napi_valuetype t;
  char msg[96];
  if (napi_typeof(env, v, &t) != napi_ok) return 0;
  if (t != napi_number) {
    snprintf(msg, sizeof msg, "%s must be a number", what);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return 0;
  }
  return napi_get_value_int32(env, v, out) == napi_ok;
}

/* Copies string argument `v` into a malloc'd NUL-terminated buffer; *len gets its byte length. */
static char *get_string(napi_env env, napi_value v, const char *what, size_t *len) {
  napi_valuetype t;
  char msg[96];
  char *buf;
  if (napi_typeof(env, v, &t) != napi_ok) return NULL;
  if (t != napi_string) {
    snprintf(msg, sizeof msg, "%s must be a string", what);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return NULL;
  }
  if (napi_get_value_string_utf8(env, v, NULL, 0, len) != napi_ok) return NULL;
  buf = malloc(*len + 1);
  if (buf == NULL) {
    throw_errno(env, "malloc", ENOMEM);
    return NULL;
  }
  if (napi_get_value_string_utf8(env, v, buf, *len + 1, len) != napi_ok) {
    free(buf);
    return NULL;
  }
  return buf;
}

static napi_value js_setsockopt(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd, level, name, value;
  int v;
  if (!get_args(env, info, 4, argv) || !get_int(env, argv[0], "fd", &fd) ||
      !get_int(env, argv[1], "level", &level) || !get_int(env, argv[2], "name", &name) ||
      !get_int(env, argv[3], "value", &value))
    return NULL;
  v = value;
  if (setsockopt(fd, level, name, &v, sizeof v) != 0) throw_errno(env, "setsockopt", errno);
  return NULL;
}

static napi_value js_getsockopt(napi_env env, napi_callback_info info) {
  napi_value argv[3], result;
  int32_t fd, level, name;
  int v = 0;
  socklen_t len = sizeof v;
  if (!get_args(env, info, 3, argv) || !get_int(env, argv[0], "fd", &fd) ||
      !get_int(env, argv[1], "level", &level) || !get_int(env, argv[2], "name", &name))
    return NULL;
  if (getsockopt(fd, level, name, &v, &len) != 0) {
    throw_errno(env, "getsockopt", errno);
    return NULL;
  }
  /* A few options (IP_TOS on some kernels) answer with one byte. */
  if (len == 1) v = *(unsigned char *)&v;
  if (napi_create_int32(env, v, &result) != napi_ok) return NULL;
  return result;
}

static napi_value js_set_linger(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd, onoff, seconds;
  struct linger l;
  if (!get_args(env, info, 3, argv) || !get_int(env, argv[0], "fd", &fd) ||
      !get_int(env, argv[1], "onoff", &onoff) || !get_int(env, argv[2], "seconds", &seconds))
    return NULL;
  l.l_onoff = onoff ? 1 : 0;
  l.l_linger = seconds;
  if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l) != 0) throw_errno(env, "setsockopt", errno);
  return NULL;
}

static napi_value js_get_linger(napi_env env, napi_callback_info info) {
  napi_value argv[1], result, on, seconds;
  int32_t fd;
  struct linger l;
  socklen_t len = sizeof l;
  memset(&l, 0, sizeof l);
  if (!get_args(env, info, 1, argv) || !get_int(env, argv[0], "fd", &fd)) return NULL;
  if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len) != 0) {
    throw_errno(env, "getsockopt", errno);
    return NULL;
  }
  if (napi_create_object(env, &result) != napi_ok || napi_get_boolean(env, l.l_onoff != 0, &on) != napi_ok ||
      napi_create_int32(env, l.l_linger, &seconds) != napi_ok ||
      napi_set_named_property(env, result, "on", on) != napi_ok ||
      napi_set_named_property(env, result, "seconds", seconds) != napi_ok)
    return NULL;
  return result;
}

/*
 * One datagram to an AF_UNIX path, as sd_notify does. Non-blocking: a full receive queue
 * throws EAGAIN rather than stalling the event loop. Returns the number of bytes sent.
 */
static napi_value js_notify(napi_env env, napi_callback_info info) {
  napi_value argv[2], result;
  struct sockaddr_un addr;
  socklen_t addrlen;
  size_t path_len = 0, msg_len = 0;
  char *path = NULL, *msg = NULL;
  ssize_t sent;
  int fd, e;

  if (!get_args(env, info, 2, argv)) return NULL;
  path = get_string(env, argv[0], "path", &path_len);
  if (path == NULL) return NULL;
  msg = get_string(env, argv[1], "message", &msg_len);
  if (msg == NULL) {
    free(path);
    return NULL;
  }

  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path_len == 0 || path_len >= sizeof addr.sun_path) {
    free(path);
    free(msg);
    throw_errno(env, "connect", path_len == 0 ? EINVAL : ENAMETOOLONG);
    return NULL;
  }
  if (path[0] == '@') {
    /* Abstract namespace: a leading NUL, the name, and no terminator counted in the length. */
    addr.sun_path[0] = '\0';
    memcpy(addr.sun_path + 1, path + 1, path_len - 1);
    addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len);
  } else {
    memcpy(addr.sun_path, path, path_len);
    addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len + 1);
  }
  free(path);

  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    e = errno;
    free(msg);
    throw_errno(env, "socket", e);
    return NULL;
  }
  sent = sendto(fd, msg, msg_len, MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&addr, addrlen);
  e = errno;
  close(fd);
  free(msg);
  if (sent < 0) {
    throw_errno(env, "sendto", e);
    return NULL;
  }
  if (napi_create_int64(env, (int64_t)sent, &result) != napi_ok) return NULL;
  return result;
}

/*
 * The three glibc malloc settings of MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_ and
 * MALLOC_MMAP_THRESHOLD_, for a process whose environment was not set before it started (glibc
 * reads those variables once, at its first allocation). True when glibc accepted all three.
 */
static napi_value js_tune_malloc(napi_env env, napi_callback_info info) {
  napi_value argv[3], result;
  int32_t trim, pad, mmap_max;
  int ok = 0;
  if (!get_args(env, info, 3, argv) || !get_int(env, argv[0], "trimThreshold", &trim) ||
      !get_int(env, argv[1], "topPad", &pad) || !get_int(env, argv[2], "mmapThreshold", &mmap_max))
    return NULL;
#if defined(__GLIBC__)
  ok = mallopt(M_TRIM_THRESHOLD, trim) == 1;
  ok = (mallopt(M_TOP_PAD, pad) == 1) && ok;
  ok = (mallopt(M_MMAP_THRESHOLD, mmap_max) == 1) && ok;
#else
  (void)trim;
  (void)pad;
  (void)mmap_max;
#endif
  if (napi_get_boolean(env, ok, &result) != napi_ok) return NULL;
  return result;
}

int export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  return napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn) == napi_ok &&
         napi_set_named_property(env, exports, name, fn) == napi_ok;
}

NAPI_MODULE_INIT() {
  if (!export_fn(env, exports, "setsockopt", js_setsockopt) ||
      !export_fn(env, exports, "getsockopt", js_getsockopt) ||
      !export_fn(env, exports, "setLinger", js_set_linger) ||
      !export_fn(env, exports, "getLinger", js_get_linger) || !export_fn(env, exports, "notify", js_notify) ||
      !export_fn(env, exports, "tuneMalloc", js_tune_malloc) || !udp_batch_init(env, exports))
    return NULL;
  return exports;
}
