// N-API entry points of process memory housekeeping (memory.cc): mallocTrim, mallocTrimSupported.
#pragma once

#include <node_api.h>

namespace gkm {
bool RegisterMemory(napi_env env, napi_value exports);
}  // namespace gkm
