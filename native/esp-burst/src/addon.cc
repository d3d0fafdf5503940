// N-API entry points (node_api.h, ABI-stable). The JS side is
// src/datapath/providers/native/addon.ts, which documents each function's contract.
#include <node_api.h>
#include <openssl/crypto.h>

#include <cstring>
#include <string>
#include <vector>

#include "addon_datapath.h"
#include "esp.h"
#include "ike_crypto.h"
#include "memory.h"
#include "napi_args.h"
#include "netlink.h"

namespace gkm {
namespace {

constexpr uint32_t kMaxBurst = 65536;
// Marks SA handle objects so a foreign object is never unwrapped as one.
constexpr napi_type_tag kSaTag = {0x676b6d2d65737073ULL, 0x612d68616e646c65ULL};

struct Handle {
  EspSa* sa = nullptr;  // null once destroyed
};

void FinalizeHandle(napi_env, void* data, void*) {
  auto* h = static_cast<Handle*>(data);
  delete h->sa;
  delete h;
}

bool Args(napi_env env, napi_callback_info info, size_t want, napi_value* argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != want) {
    return Fail(env, "wrong number of arguments");
  }
  return true;
}

EspSa* UnwrapSa(napi_env env, napi_value v) {
  bool tagged = false;
  void* data = nullptr;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_object ||
      napi_check_object_type_tag(env, v, &kSaTag, &tagged) != napi_ok || !tagged ||
      napi_unwrap(env, v, &data) != napi_ok) {
    Fail(env, "not an SA handle");
    return nullptr;
  }
  auto* h = static_cast<Handle*>(data);
  if (h->sa == nullptr) Fail(env, "SA handle already destroyed");
  return h->sa;
}

napi_value Number(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

// Input packets: one buffer with offset and length arrays, or an array of buffers.
struct Span {
  const uint8_t* data;
  size_t length;
};

// Step 1, before any pointer is taken: the array's elements. Reading them may run JS (a getter
// could even detach a buffer), so nothing else is read until it is done.
bool BurstElements(napi_env env, napi_value input, uint32_t count, std::vector<napi_value>* elems) {
  elems->clear();
  bool isArray = false;
  napi_is_array(env, input, &isArray);
  if (!isArray) return true;
  uint32_t n = 0;
  if (napi_get_array_length(env, input, &n) != napi_ok || n < count) return Fail(env, "input array too short");
  elems->resize(count);
  for (uint32_t i = 0; i < count; i++) {
    if (napi_get_element(env, input, i, &(*elems)[i]) != napi_ok) return Fail(env, "input[i]");
  }
  return true;
}

// Step 2, no JS runs: spans from the elements, or from the buffer with offsets/lengths.
bool BurstSpans(napi_env env, napi_value input, const std::vector<napi_value>& elems, napi_value offs, napi_value lens,
                uint32_t count, std::vector<Span>* spans) {
  spans->clear();
  if (!elems.empty() || count == 0) {
    for (uint32_t i = 0; i < count && i < elems.size(); i++) {
      View<uint8_t> b;
      if (!ReadBytes(env, elems[i], &b, false, "input[i]: Uint8Array")) return false;
      spans->push_back({b.data, b.length});
    }
    return spans->size() == count || Fail(env, "input is not an array of count buffers");
  }
  View<uint8_t> slab;
  View<uint32_t> off;
  View<uint32_t> len;
  if (!ReadBytes(env, input, &slab, false, "input: Uint8Array or array") ||
      !ReadTyped(env, offs, napi_uint32_array, &off, false, "inOff: Uint32Array") ||
      !ReadTyped(env, lens, napi_uint32_array, &len, false, "inLen: Uint32Array")) {
    return false;
  }
  if (off.length < count || len.length < count) return Fail(env, "inOff/inLen shorter than count");
  for (uint32_t i = 0; i < count; i++) {
    // Checked without overflow: off <= size and len <= size - off.
    if (off.data[i] > slab.length || len.data[i] > slab.length - off.data[i]) {
      return Fail(env, "packet outside the input buffer");
    }
    spans->push_back({slab.data + off.data[i], len.data[i]});
  }
  return true;
}

// createSa(cipher: string, key: Uint8Array, params: Uint32Array(8), encrypt: boolean): object
// params = [spi, sn, ivMode, senderIdBits, senderId, tfcPadTo, icvLength, gmac]
napi_value CreateSa(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, 4, argv)) return nullptr;
  std::string name;
  View<uint8_t> key;
  View<uint32_t> prm;
  bool encrypt = false;
  if (!ReadString(env, argv[0], &name, 32, "cipher: string") || !ReadBytes(env, argv[1], &key, false, "key") ||
      !ReadTyped(env, argv[2], napi_uint32_array, &prm, false, "params: Uint32Array")) {
    return nullptr;
  }
  if (napi_get_value_bool(env, argv[3], &encrypt) != napi_ok) return Fail(env, "encrypt: boolean"), nullptr;
  if (prm.length != 8 || prm.data[1] > 2 || prm.data[2] > 1 || prm.data[3] > 32 || prm.data[6] > 16 ||
      prm.data[7] > 1) {
    Fail(env, "params out of range");
    return nullptr;
  }
  SaParams p;
  p.spi = prm.data[0];
  p.sn = static_cast<SnMode>(prm.data[1]);
  p.iv = static_cast<IvMode>(prm.data[2]);
  p.senderIdBits = prm.data[3];
  p.senderId = prm.data[4];
  p.tfcPadTo = prm.data[5];
  p.icvLength = prm.data[6];
  p.gmac = prm.data[7] == 1;
  p.encrypt = encrypt;
  const char* error = nullptr;
  EspSa* sa = EspSa::Create(name.c_str(), key.data, key.length, p, &error);
  if (sa == nullptr) {
    Fail(env, error);
    return nullptr;
  }
  napi_value obj;
  auto* h = new Handle{sa};
  if (napi_create_object(env, &obj) != napi_ok || napi_wrap(env, obj, h, FinalizeHandle, nullptr, nullptr) != napi_ok) {
    FinalizeHandle(env, h, nullptr);
    Fail(env, "cannot wrap the SA");
    return nullptr;
  }
  napi_type_tag_object(env, obj, &kSaTag);
  return obj;
}

// destroySa(sa): frees the cipher context now (the handle object may live on).
napi_value DestroySa(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  void* data = nullptr;
  if (!Args(env, info, 1, argv) || UnwrapSa(env, argv[0]) == nullptr) return nullptr;
  napi_unwrap(env, argv[0], &data);
  auto* h = static_cast<Handle*>(data);
  delete h->sa;
  h->sa = nullptr;
  return nullptr;
}

// encap(sa, state: BigUint64Array(3), input, inOff, inLen, nh: Uint8Array, out: Uint8Array,
//       outOff: Uint32Array, res: Int32Array, count): number of packets built.
// res[i] = wire length (> 0), or a negative Status.
napi_value Encap(napi_env env, napi_callback_info info) {
  napi_value argv[10];
  uint32_t count = 0;
  std::vector<napi_value> elems;
  std::vector<Span> spans;
  if (!Args(env, info, 10, argv) || !ReadCount(env, argv[9], kMaxBurst, &count, "count") ||
      !BurstElements(env, argv[2], count, &elems)) {
    return nullptr;
  }
  EspSa* sa = UnwrapSa(env, argv[0]);
  View<uint64_t> state;
  View<uint8_t> nh;
  View<uint8_t> out;
  View<uint32_t> outOff;
  View<int32_t> res;
  if (sa == nullptr || !ReadTyped(env, argv[1], napi_biguint64_array, &state, false, "state: BigUint64Array") ||
      !ReadBytes(env, argv[5], &nh, false, "nh: Uint8Array") || !ReadBytes(env, argv[6], &out, false, "out") ||
      !ReadTyped(env, argv[7], napi_uint32_array, &outOff, false, "outOff: Uint32Array") ||
      !ReadTyped(env, argv[8], napi_int32_array, &res, false, "res: Int32Array")) {
    return nullptr;
  }
  if (!sa->params().encrypt) return Fail(env, "not an outbound SA"), nullptr;
  if (state.length != 3 || nh.length < count || outOff.length < count || res.length < count) {
    return Fail(env, "state/nh/outOff/res too short"), nullptr;
  }
  if (!BurstSpans(env, argv[2], elems, argv[3], argv[4], count, &spans)) return nullptr;
  SenderState st{state.data[0], state.data[1], state.data[2]};
  uint32_t built = 0;
  for (uint32_t i = 0; i < count; i++) {
    const size_t off = outOff.data[i];
    size_t written = 0;
    int32_t r = off > out.length ? kNoRoom
                                 : sa->Encap(st, spans[i].data, spans[i].length, nh.data[i], out.data + off,
                                             out.length - off, &written);
    res.data[i] = r == kOk ? static_cast<int32_t>(written) : r;
    if (r == kOk) built++;
  }
  state.data[0] = st.seq;
  state.data[1] = st.ivCounter;
  state.data[2] = st.flags;
  return Number(env, built);
}

// decap(sa, input, inOff, inLen, seqHi: Uint32Array | null, out, outOff: Uint32Array,
//       res: Int32Array(3 * count), count): number of packets whose ICV verified.
// res[3i] is read first: nonzero skips packet i (already rejected). Then
// res[3i..3i+2] = [Status, payload length, next header]; the payload is at out[outOff[i]..).
napi_value Decap(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  uint32_t count = 0;
  std::vector<napi_value> elems;
  std::vector<Span> spans;
  if (!Args(env, info, 9, argv) || !ReadCount(env, argv[8], kMaxBurst, &count, "count") ||
      !BurstElements(env, argv[1], count, &elems)) {
    return nullptr;
  }
  EspSa* sa = UnwrapSa(env, argv[0]);
  View<uint32_t> seqHi;
  View<uint8_t> out;
  View<uint32_t> outOff;
  View<int32_t> res;
  if (sa == nullptr || !ReadTyped(env, argv[4], napi_uint32_array, &seqHi, true, "seqHi: Uint32Array | null") ||
      !ReadBytes(env, argv[5], &out, false, "out") ||
      !ReadTyped(env, argv[6], napi_uint32_array, &outOff, false, "outOff: Uint32Array") ||
      !ReadTyped(env, argv[7], napi_int32_array, &res, false, "res: Int32Array")) {
    return nullptr;
  }
  if (sa->params().encrypt) return Fail(env, "not an inbound SA"), nullptr;
  const bool esn = sa->params().sn == SnMode::kEsn;
  if (esn != (seqHi.data != nullptr)) return Fail(env, "seqHi must be given exactly for ESN SAs"), nullptr;
  if (outOff.length < count || res.length / 3 < count || (esn && seqHi.length < count)) {
    return Fail(env, "outOff/res/seqHi too short"), nullptr;
  }
  if (!BurstSpans(env, argv[1], elems, argv[2], argv[3], count, &spans)) return nullptr;
  uint32_t verified = 0;
  for (uint32_t i = 0; i < count; i++) {
    int32_t* r = res.data + 3 * static_cast<size_t>(i);
    if (r[0] != 0) {
      r[0] = kSkip;
      continue;
    }
    const size_t off = outOff.data[i];
    uint32_t payload = 0;
    uint8_t next = 0;
    const int64_t hi = esn ? int64_t{seqHi.data[i]} : -1;
    r[0] = off > out.length ? kNoRoom
                            : sa->Decap(spans[i].data, spans[i].length, hi, out.data + off, out.length - off,
                                        &payload, &next);
    r[1] = static_cast<int32_t>(payload);
    r[2] = next;
    if (r[0] == kOk || r[0] == kDummy || r[0] == kBadPadding) verified++;
  }
  return Number(env, verified);
}

napi_value ErrnoError(napi_env env, const NetlinkResult& r) {
  std::string text = std::string(r.syscall) + ": " + std::strerror(r.error);
  napi_value msg;
  napi_value code;
  napi_value err;
  napi_create_string_utf8(env, text.c_str(), text.size(), &msg);
  napi_create_string_utf8(env, "ERR_GKM_NETLINK", NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, msg, &err);
  napi_set_named_property(env, err, "errno", Number(env, r.error));
  napi_value call;
  napi_create_string_utf8(env, r.syscall, NAPI_AUTO_LENGTH, &call);
  napi_set_named_property(env, err, "syscall", call);
  return err;
}

// xfrmRequest(nsPath: string | null, message: Uint8Array, timeoutMs): Buffer (the replies).
napi_value XfrmRequestJs(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!Args(env, info, 3, argv)) return nullptr;
  std::string ns;
  const bool hasNs = !IsNullish(env, argv[0]);
  View<uint8_t> msg;
  uint32_t timeout = 0;
  if ((hasNs && !ReadString(env, argv[0], &ns, 4096, "nsPath: string | null")) ||
      !ReadBytes(env, argv[1], &msg, false, "message: Uint8Array") ||
      !ReadCount(env, argv[2], 60000, &timeout, "timeoutMs")) {
    return nullptr;
  }
  if (hasNs && ns.find('\0') != std::string::npos) return Fail(env, "nsPath contains NUL"), nullptr;
  // Copy: the request must not change under us if the caller reuses its buffer.
  const std::vector<uint8_t> request(msg.data, msg.data + msg.length);
  const NetlinkResult r = XfrmRequest(hasNs ? ns.c_str() : nullptr, request.data(), request.size(),
                                      static_cast<int>(timeout == 0 ? 1 : timeout));
  if (r.error != 0) {
    napi_throw(env, ErrnoError(env, r));
    return nullptr;
  }
  napi_value buf;
  void* data = nullptr;
  napi_create_buffer_copy(env, r.reply.size(), r.reply.data(), &data, &buf);
  return buf;
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj;
  napi_value v;
  napi_create_object(env, &obj);
  napi_create_string_utf8(env, OpenSSL_version(OPENSSL_VERSION), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "openssl", v);
  napi_set_named_property(env, obj, "maxBurst", Number(env, kMaxBurst));
  napi_set_named_property(env, obj, "maxPacket", Number(env, kMaxPacket));
  napi_value fast;
  napi_get_boolean(env, FastGcm::Available(), &fast);
  napi_set_named_property(env, obj, "fastGcm", fast);
  const std::pair<const char*, int32_t> statuses[] = {
      {"ok", kOk},           {"dummy", kDummy},           {"skip", kSkip},         {"malformed", kMalformed},
      {"noSa", kNoSa},       {"authFailed", kAuthFailed}, {"badPadding", kBadPadding}, {"exhausted", kExhausted},
      {"noRoom", kNoRoom},   {"cryptoError", kCryptoError},
      {"replay", kReplay},   {"ipMalformed", kIpMalformed}, {"policy", kPolicy},     {"noSaFound", kNoSaFound},
      {"short", kShort},     {"slow", kSlow},             {"payload", kPayload},
  };
  napi_value st;
  napi_create_object(env, &st);
  for (const auto& [name, value] : statuses) napi_set_named_property(env, st, name, Number(env, value));
  napi_set_named_property(env, obj, "status", st);
  return obj;
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"createSa", nullptr, CreateSa, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"destroySa", nullptr, DestroySa, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"encap", nullptr, Encap, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"decap", nullptr, Decap, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"xfrmRequest", nullptr, XfrmRequestJs, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  RegisterDatapath(env, exports);
  RegisterIkeCrypto(env, exports);
  RegisterMemory(env, exports);
  return exports;
}

}  // namespace
}  // namespace gkm

NAPI_MODULE(NODE_GYP_MODULE_NAME, gkm::Init)
