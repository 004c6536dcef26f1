{
  "targets": [
    {
      "target_name": "vsoa_native",
      "sources": ["native/vsoa_native.c", "native/udp_batch.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
