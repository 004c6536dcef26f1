/* What the addon's C files share: Node-API, Node-style errors, argument checks. */
#ifndef VSOA_NATIVE_H
#define VSOA_NATIVE_H

#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <stdint.h>

/* A Node-style system error (message "<syscall> <CODE>: <text>", code, errno < 0, syscall), or NULL. */
napi_value errno_error(napi_env env, const char *syscall, int e);
/* Throws errno_error(env, syscall, e). */
void throw_errno(napi_env env, const char *syscall, int e);
/* Reads `want` arguments into argv; throws TypeError if fewer were passed. */
int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);
/* Reads `v` as an int32; throws TypeError naming `what` if it is not a number. */
int get_int(napi_env env, napi_value v, const char *what, int32_t *out);
/* exports[name] = a function calling cb. */
int export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb);
/* Adds udpBatchStart and udpBatchStop (udp_batch.c). */
int udp_batch_init(napi_env env, napi_value exports);

#endif
