// N-API entry points of the fast path (datapath.h); addon.cc registers them.
#pragma once

#include <node_api.h>

namespace gkm {
bool RegisterDatapath(napi_env env, napi_value exports);
}  // namespace gkm
