// Process memory housekeeping: mallocTrim() hands the free pages of every glibc malloc arena
// back to the kernel (malloc_trim(0)). A key server's registration burst leaves free but
// resident allocator memory behind (OpenSSL contexts, SQLite, Buffers); src/gcks/memory-reclaim.ts
// calls this once the process is idle again. Without glibc it reports false and does nothing.
// memoryPressureGc() tells V8 the process is under critical memory pressure: a full GC that
// compacts and, unlike gc(), always shrinks the young generation back (V8 otherwise shrinks
// it only once its allocation-rate estimate, sampled at GCs, has fallen). Main thread only.
#include <node_api.h>
#include <v8.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "memory.h"

namespace gkm {
namespace {

napi_value MallocTrim(napi_env env, napi_callback_info /*info*/) {
#if defined(__GLIBC__)
  const bool released = malloc_trim(0) != 0;
#else
  const bool released = false;
#endif
  napi_value result;
  napi_get_boolean(env, released, &result);
  return result;
}

napi_value MallocTrimSupported(napi_env env, napi_callback_info /*info*/) {
#if defined(__GLIBC__)
  const bool supported = true;
#else
  const bool supported = false;
#endif
  napi_value result;
  napi_get_boolean(env, supported, &result);
  return result;
}

napi_value MemoryPressureGc(napi_env env, napi_callback_info /*info*/) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  if (isolate != nullptr) isolate->MemoryPressureNotification(v8::MemoryPressureLevel::kCritical);
  napi_value result;
  napi_get_boolean(env, isolate != nullptr, &result);
  return result;
}

}  // namespace

bool RegisterMemory(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"mallocTrim", nullptr, MallocTrim, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"mallocTrimSupported", nullptr, MallocTrimSupported, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"memoryPressureGc", nullptr, MemoryPressureGc, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok;
}

}  // namespace gkm
