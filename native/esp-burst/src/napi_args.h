// Argument readers for the N-API entry points: every typed array, buffer and number is
// checked for its type and, by the callers, for its length before any memory is touched.
#pragma once

#include <node_api.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace gkm {

// A typed array view: `data` is null when the argument was null/undefined and allowed to be.
template <typename T>
struct View {
  T* data = nullptr;
  size_t length = 0;
};

// Throws a TypeError with code ERR_GKM_NATIVE_ARGS; returns false so callers can `return`.
inline bool Fail(napi_env env, const char* what) {
  napi_throw_type_error(env, "ERR_GKM_NATIVE_ARGS", what);
  return false;
}

// Exactly `want` arguments into argv.
inline bool ReadArgs(napi_env env, napi_callback_info info, size_t want, napi_value* argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != want) {
    return Fail(env, "wrong number of arguments");
  }
  return true;
}

inline bool IsNullish(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined);
}

// Reads a typed array of the given element type (Buffers are Uint8Arrays).
template <typename T>
bool ReadTyped(napi_env env, napi_value v, napi_typedarray_type want, View<T>* out, bool optional,
               const char* what) {
  if (optional && IsNullish(env, v)) return true;
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return Fail(env, what);
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr) != napi_ok || type != want) {
    return Fail(env, what);
  }
  out->data = static_cast<T*>(data);
  out->length = length;
  return true;
}

inline bool ReadBytes(napi_env env, napi_value v, View<uint8_t>* out, bool optional, const char* what) {
  return ReadTyped(env, v, napi_uint8_array, out, optional, what);
}

// An integer in [0, max].
inline bool ReadCount(napi_env env, napi_value v, uint32_t max, uint32_t* out, const char* what) {
  double d = 0;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0 && d <= max) || d != static_cast<uint32_t>(d)) {
    return Fail(env, what);
  }
  *out = static_cast<uint32_t>(d);
  return true;
}

inline bool ReadString(napi_env env, napi_value v, std::string* out, size_t max, const char* what) {
  size_t length = 0;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &length) != napi_ok || length > max) return Fail(env, what);
  out->resize(length + 1);
  if (napi_get_value_string_utf8(env, v, out->data(), length + 1, &length) != napi_ok) return Fail(env, what);
  out->resize(length);
  return true;
}

}  // namespace gkm
