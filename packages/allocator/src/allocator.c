/*
 * glibc's malloc returns freed memory at the top of its heap to the kernel once more than a
 * small, self-adjusting amount (a few MiB) is free, and serves large blocks with fresh mmaps.
 * A Node process streaming a file frees tens of MiB of buffers at each garbage collection, so
 * the next stretch of the stream faults every page in again; on a virtual machine a page fault
 * costs microseconds, and those faults were the largest cost of moving a file. `retain` fixes
 * both thresholds so freed memory up to `trim` bytes stays mapped for reuse.
 */
#include <node_api.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

static napi_value retain(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int64_t trim = 0, mmap_threshold = 0;
  if (argc < 2 || napi_get_value_int64(env, argv[0], &trim) != napi_ok ||
      napi_get_value_int64(env, argv[1], &mmap_threshold) != napi_ok || trim < 0 ||
      mmap_threshold < 0 || trim > 0x7fffffff || mmap_threshold > 0x7fffffff) {
    napi_throw_range_error(env, NULL, "retain(trimBytes, mmapThresholdBytes): two sizes below 2 GiB");
    return NULL;
  }
  bool applied = false;
#if defined(__GLIBC__)
  /* mallopt returns 1 on success; both or neither, so a half-applied setting is not reported as applied. */
  applied = mallopt(M_MMAP_THRESHOLD, (int)mmap_threshold) == 1 && mallopt(M_TRIM_THRESHOLD, (int)trim) == 1;
#endif
  napi_value result;
  napi_get_boolean(env, applied, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "retain", NAPI_AUTO_LENGTH, retain, NULL, &fn);
  napi_set_named_property(env, exports, "retain", fn);
  return exports;
}
