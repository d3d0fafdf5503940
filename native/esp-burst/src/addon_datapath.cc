// N-API wrappers of the fast-path Engine (datapath.h). The JS contract is documented in
// src/datapath/providers/native/addon.ts; argument shapes and lengths are checked here,
// per-packet problems are Status codes in the result arrays.
#include "addon_datapath.h"

#include <climits>
#include <cmath>
#include <string>
#include <vector>

#include "datapath.h"
#include "napi_args.h"

namespace gkm {
namespace {

constexpr uint32_t kMaxBurst = 65536;
constexpr napi_type_tag kEngineTag = {0x676b6d2d64617461ULL, 0x706174682d656e67ULL};
constexpr uint32_t kParams = 20;
constexpr size_t kAddrBlob = 4 * 17;  // tunnel src, tunnel dst, key dst, key src: length + 16 bytes
constexpr size_t kBlobHeader = 72;

struct EngineBox {
  Engine engine;
  std::vector<napi_value> elems, headerElems;
  std::vector<Span> spans, headers;
};

void FinalizeEngine(napi_env, void* data, void*) { delete static_cast<EngineBox*>(data); }

bool Args(napi_env env, napi_callback_info info, size_t want, napi_value* argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != want) {
    return Fail(env, "wrong number of arguments");
  }
  return true;
}

EngineBox* Unwrap(napi_env env, napi_value v) {
  bool tagged = false;
  void* data = nullptr;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_object ||
      napi_check_object_type_tag(env, v, &kEngineTag, &tagged) != napi_ok || !tagged ||
      napi_unwrap(env, v, &data) != napi_ok) {
    Fail(env, "not an engine handle");
    return nullptr;
  }
  return static_cast<EngineBox*>(data);
}

Slot* SlotOf(napi_env env, EngineBox* box, napi_value v) {
  uint32_t id = 0;
  if (!ReadCount(env, v, 0x7fffffff, &id, "slot")) return nullptr;
  Slot* s = box->engine.Get(static_cast<int32_t>(id));
  if (s == nullptr) Fail(env, "no such slot");
  return s;
}

napi_value Number(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

bool ReadDouble(napi_env env, napi_value v, double* out, const char* what) {
  if (napi_get_value_double(env, v, out) != napi_ok || std::isnan(*out)) return Fail(env, what);
  return true;
}

// Burst arrays are read in two steps, as in addon.cc: first every element of every array
// (a getter may run JS, which could even detach a buffer), then, once no JS can run any more,
// the pointers of the elements and of all other typed arrays.
bool ReadElements(napi_env env, napi_value arr, uint32_t start, uint32_t count, std::vector<napi_value>* elems) {
  bool isArray = false;
  uint32_t n = 0;
  if (napi_is_array(env, arr, &isArray) != napi_ok || !isArray || napi_get_array_length(env, arr, &n) != napi_ok ||
      start > n || count > n - start) {
    return Fail(env, "input: array of at least start + count buffers");
  }
  elems->resize(count);
  for (uint32_t i = 0; i < count; i++) {
    if (napi_get_element(env, arr, start + i, &(*elems)[i]) != napi_ok) return Fail(env, "input[i]");
  }
  return true;
}

// Spans of the elements; none may overlap the writable part of `out`. With `nullable`, null
// elements give a null pointer.
bool ReadSpans(napi_env env, const std::vector<napi_value>& elems, const BurstOut& out, std::vector<Span>* spans,
               bool nullable) {
  spans->resize(elems.size());
  const auto lo = reinterpret_cast<uintptr_t>(out.data) + out.pos;
  const auto hi = reinterpret_cast<uintptr_t>(out.data) + out.length;
  for (size_t i = 0; i < elems.size(); i++) {
    View<uint8_t> b;
    if (!ReadBytes(env, elems[i], &b, nullable, "input[i]: Uint8Array")) return false;
    const auto a = reinterpret_cast<uintptr_t>(b.data);
    if (b.data != nullptr && b.length > 0 && a < hi && lo < a + b.length) {
      return Fail(env, "input overlaps the free part of out");
    }
    (*spans)[i] = {b.data, b.length};
  }
  return true;
}

void ReadAddr(const uint8_t* p, Addr* a) {
  a->length = p[0] == 4 || p[0] == 16 ? p[0] : 0;
  std::memcpy(a->bytes, p + 1, 16);
}

// dpCreate(): an engine handle.
napi_value Create(napi_env env, napi_callback_info) {
  napi_value obj;
  auto* box = new EngineBox();
  if (napi_create_object(env, &obj) != napi_ok || napi_wrap(env, obj, box, FinalizeEngine, nullptr, nullptr) != napi_ok) {
    delete box;
    Fail(env, "cannot wrap the engine");
    return nullptr;
  }
  napi_type_tag_object(env, obj, &kEngineTag);
  return obj;
}

// dpAdd(engine, cipher: string, key: Uint8Array, params: Uint32Array(20), blob: Uint8Array): slot.
// params = [outbound, mode, spi, sn, ivMode, senderIdBits, senderId, tfcPadTo, icvLength, gmac,
//           ttl, scope, replayKind (0 shift, 1 ring, 2 none), replaySize, checkReplay,
//           perSender, maxSenders, anySelectors, 0, 0]
// blob = 4 addresses (length byte + 16) padded to 72, then 76-byte selector records.
napi_value Add(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!Args(env, info, 5, argv)) return nullptr;
  EngineBox* box = Unwrap(env, argv[0]);
  std::string cipher;
  View<uint8_t> key;
  View<uint32_t> prm;
  View<uint8_t> blob;
  if (box == nullptr || !ReadString(env, argv[1], &cipher, 32, "cipher: string") ||
      !ReadBytes(env, argv[2], &key, false, "key") ||
      !ReadTyped(env, argv[3], napi_uint32_array, &prm, false, "params: Uint32Array") ||
      !ReadBytes(env, argv[4], &blob, false, "blob")) {
    return nullptr;
  }
  const uint32_t* q = prm.data;
  if (prm.length != kParams || q[0] > 1 || q[1] > 3 || q[3] > 2 || q[4] > 1 || q[5] > 32 || q[8] > 16 || q[9] > 1 ||
      q[10] > 255 || q[11] > 2 || q[12] > 2 || q[13] > (32u << 20) || (q[12] < 2 && q[13] == 0) || q[14] > 1 ||
      q[15] > 1 || q[17] > 1 || blob.length < kBlobHeader) {
    return Fail(env, "params out of range"), nullptr;
  }
  auto s = std::make_unique<Slot>();
  s->outbound = q[0] == 1;
  s->mode = static_cast<Mode>(q[1]);
  s->spi = q[2];
  s->ttl = static_cast<uint8_t>(q[10]);
  s->scope = static_cast<Scope>(q[11]);
  s->senderIdBits = q[5];
  ReadAddr(blob.data, &s->tunnelSrc);
  ReadAddr(blob.data + 17, &s->tunnelDst);
  ReadAddr(blob.data + 34, &s->keyDst);
  ReadAddr(blob.data + 51, &s->keySrc);
  if (s->mode == Mode::kTunnel && (s->tunnelDst.length == 0 || s->tunnelSrc.length != s->tunnelDst.length)) {
    return Fail(env, "tunnel endpoints"), nullptr;
  }
  s->selectors.any = q[17] == 1;
  if (!ReadSelectors(blob.data + kBlobHeader, blob.length - kBlobHeader, &s->selectors)) {
    return Fail(env, "selector records"), nullptr;
  }
  if (s->mode != Mode::kSlow) {
    SaParams p;
    p.spi = q[2];
    p.sn = static_cast<SnMode>(q[3]);
    p.iv = static_cast<IvMode>(q[4]);
    p.senderIdBits = q[5];
    p.senderId = q[6];
    p.tfcPadTo = q[7];
    p.icvLength = q[8];
    p.gmac = q[9] == 1;
    p.encrypt = s->outbound;
    const char* error = nullptr;
    s->esp.reset(EspSa::Create(cipher.c_str(), key.data, key.length, p, &error));
    if (!s->esp) return Fail(env, error), nullptr;
    if (!s->outbound) {
      const ReplaySpec spec{static_cast<uint8_t>(q[12]), q[13]};
      if (q[15] == 1) {
        if (q[5] == 0 || q[12] == 2) return Fail(env, "per-sender replay needs Sender-IDs and a window"), nullptr;
        s->perSender = std::make_unique<PerSenderReplay>(spec, q[16]);
      } else if (q[12] != 2) {
        s->window = std::make_unique<ReplayWindow>(spec.kind, spec.size);
      }
      s->checkReplay = q[14] == 1;
      if ((p.sn == SnMode::kEsn && !s->window) || (s->checkReplay && !s->window)) {
        return Fail(env, "ESN and the replay check need a window"), nullptr;
      }
    }
  }
  return Number(env, box->engine.Add(std::move(s)));
}

// dpRemove(engine, slot)
napi_value Remove(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  EngineBox* box = nullptr;
  uint32_t id = 0;
  if (!Args(env, info, 2, argv) || (box = Unwrap(env, argv[0])) == nullptr ||
      !ReadCount(env, argv[1], 0x7fffffff, &id, "slot")) {
    return nullptr;
  }
  napi_value r;
  napi_get_boolean(env, box->engine.Remove(static_cast<int32_t>(id)), &r);
  return r;
}

// dpSet(engine, slot, v: Float64Array(5) = [activateAt, removeAt, deadline, budgetPackets, budgetBytes])
napi_value Set(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!Args(env, info, 3, argv)) return nullptr;
  EngineBox* box = Unwrap(env, argv[0]);
  Slot* s = box == nullptr ? nullptr : SlotOf(env, box, argv[1]);
  View<double> v;
  if (s == nullptr || !ReadTyped(env, argv[2], napi_float64_array, &v, false, "v: Float64Array")) return nullptr;
  if (v.length != 5) return Fail(env, "v: 5 values"), nullptr;
  for (size_t i = 0; i < 5; i++) {
    if (std::isnan(v.data[i])) return Fail(env, "v: NaN"), nullptr;
  }
  s->activateAt = v.data[0];
  s->removeAt = v.data[1];
  s->deadline = v.data[2];
  s->budgetPackets = v.data[3];
  s->budgetBytes = v.data[4];
  return nullptr;
}

// dpSender(engine, slot, state: BigUint64Array(3), write: boolean): [last seq, next IV counter, flags].
napi_value Sender(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, 4, argv)) return nullptr;
  EngineBox* box = Unwrap(env, argv[0]);
  Slot* s = box == nullptr ? nullptr : SlotOf(env, box, argv[1]);
  View<uint64_t> st;
  bool write = false;
  if (s == nullptr || !ReadTyped(env, argv[2], napi_biguint64_array, &st, false, "state: BigUint64Array") ||
      napi_get_value_bool(env, argv[3], &write) != napi_ok) {
    return nullptr;
  }
  if (st.length != 3 || !s->outbound || !s->esp) return Fail(env, "not a fast outbound slot"), nullptr;
  if (write) s->st = {st.data[0], st.data[1], st.data[2]};
  st.data[0] = s->st.seq;
  st.data[1] = s->st.ivCounter;
  st.data[2] = s->st.flags;
  return nullptr;
}

// dpReplay(engine, slot, io: Float64Array(2), resetTop: number (< 0: read)): false without a
// window; io = [top, size].
napi_value Replay(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, 4, argv)) return nullptr;
  EngineBox* box = Unwrap(env, argv[0]);
  Slot* s = box == nullptr ? nullptr : SlotOf(env, box, argv[1]);
  View<double> io;
  double reset = -1;
  if (s == nullptr || !ReadTyped(env, argv[2], napi_float64_array, &io, false, "io: Float64Array") ||
      !ReadDouble(env, argv[3], &reset, "resetTop")) {
    return nullptr;
  }
  if (io.length != 2 || reset > static_cast<double>(kMaxSeq64)) return Fail(env, "io/resetTop"), nullptr;
  napi_value r;
  napi_get_boolean(env, s->window != nullptr, &r);
  if (!s->window) return r;
  if (reset >= 0) s->window->Reset(static_cast<uint64_t>(reset));
  io.data[0] = static_cast<double>(s->window->top());
  io.data[1] = s->window->size();
  return r;
}

// dpEncapRaw(engine, slot, payload: Uint8Array, nh, out: Uint8Array): ESP length, or a Status.
napi_value EncapRaw(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!Args(env, info, 5, argv)) return nullptr;
  EngineBox* box = Unwrap(env, argv[0]);
  Slot* s = box == nullptr ? nullptr : SlotOf(env, box, argv[1]);
  View<uint8_t> payload;
  View<uint8_t> out;
  uint32_t nh = 0;
  if (s == nullptr || !ReadBytes(env, argv[2], &payload, false, "payload") ||
      !ReadCount(env, argv[3], 255, &nh, "nh") || !ReadBytes(env, argv[4], &out, false, "out")) {
    return nullptr;
  }
  if (!s->outbound || !s->esp) return Fail(env, "not a fast outbound slot"), nullptr;
  size_t written = 0;
  const int32_t r = s->esp->Encap(s->st, payload.data, payload.length, static_cast<uint8_t>(nh), out.data,
                                  out.length, &written);
  return Number(env, r == kOk ? static_cast<double>(written) : r);
}

struct BurstArgs {
  EngineBox* box = nullptr;
  uint32_t start = 0, count = 0;
  double now = 0;
  BurstOut out{};
  View<double> io, acc;
  View<int32_t> res;
};

// Step 1 of a burst call: engine, start, count and the elements of the input array.
bool ReadBurstElements(napi_env env, napi_value* a, BurstArgs* b) {
  b->box = Unwrap(env, a[0]);
  return b->box != nullptr && ReadCount(env, a[2], kMaxBurst, &b->start, "start") &&
         ReadCount(env, a[3], kMaxBurst, &b->count, "count") && ReadElements(env, a[1], b->start, b->count, &b->box->elems);
}

// Step 2, no JS runs: (engine, input, start, count, now, out, io, res, acc) at these indexes.
bool ReadBurstArgs(napi_env env, napi_value* a, size_t stride, BurstArgs* b) {
  View<uint8_t> out;
  if (!ReadDouble(env, a[4], &b->now, "now") ||
      !ReadBytes(env, a[5], &out, false, "out") ||
      !ReadTyped(env, a[6], napi_float64_array, &b->io, false, "io: Float64Array") ||
      !ReadTyped(env, a[7], napi_int32_array, &b->res, false, "res: Int32Array") ||
      !ReadTyped(env, a[8], napi_float64_array, &b->acc, false, "acc: Float64Array")) {
    return false;
  }
  // Result offsets are int32: the output buffer must stay below 2 GiB.
  if (out.length > static_cast<size_t>(INT32_MAX)) return Fail(env, "out larger than 2 GiB");
  if (b->io.length != 4 || !(b->io.data[0] >= 0 && b->io.data[0] <= static_cast<double>(out.length))) {
    return Fail(env, "io: [pos <= out.length, needed, drained, 0]");
  }
  if (b->res.length / stride < static_cast<size_t>(b->start) + b->count) return Fail(env, "res too short");
  if (b->acc.length / 4 < b->box->engine.capacity()) return Fail(env, "acc shorter than 4 per slot");
  b->out = {out.data, out.length, static_cast<size_t>(b->io.data[0]), 0};
  return true;
}

void Finish(BurstArgs& b) {
  b.io.data[0] = static_cast<double>(b.out.pos);
  b.io.data[1] = static_cast<double>(b.out.needed);
  b.io.data[2] = b.box->engine.Drain(b.acc.data, b.acc.length);
}

// dpEncrypt(engine, packets: Buffer[], start, count, now, out, io: Float64Array(4), res: Int32Array,
//           acc: Float64Array): packets handled from `start` (res[5i..5i+4] per packet i).
napi_value Encrypt(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  BurstArgs b;
  if (!Args(env, info, 9, argv) || !ReadBurstElements(env, argv, &b) || !ReadBurstArgs(env, argv, kOutStride, &b) ||
      !ReadSpans(env, b.box->elems, b.out, &b.box->spans, false)) {
    return nullptr;
  }
  const uint32_t done = b.box->engine.Encrypt(b.box->spans.data(), b.count, b.now, b.out, b.res.data + kOutStride * b.start);
  Finish(b);
  return Number(env, done);
}

// dpDecrypt(engine, esps: Buffer[], start, count, now, out, io, res: Int32Array (6 per packet),
//           acc, addrs: Uint8Array (48 per packet), seqs: Float64Array,
//           headers: Array<Buffer | null> | null): packets handled.
napi_value Decrypt(napi_env env, napi_callback_info info) {
  napi_value argv[12];
  BurstArgs b;
  View<uint8_t> addrs;
  View<double> seqs;
  if (!Args(env, info, 12, argv) || !ReadBurstElements(env, argv, &b) ||
      (!IsNullish(env, argv[11]) && !ReadElements(env, argv[11], b.start, b.count, &b.box->headerElems)) ||
      !ReadBurstArgs(env, argv, kInStride, &b) ||
      !ReadBytes(env, argv[9], &addrs, false, "addrs") ||
      !ReadTyped(env, argv[10], napi_float64_array, &seqs, false, "seqs: Float64Array")) {
    return nullptr;
  }
  const size_t end = static_cast<size_t>(b.start) + b.count;
  if (addrs.length / kAddrStride < end || seqs.length < end) return Fail(env, "addrs/seqs too short"), nullptr;
  const bool hasHeaders = !IsNullish(env, argv[11]);
  if ((hasHeaders && !ReadSpans(env, b.box->headerElems, b.out, &b.box->headers, true)) ||
      !ReadSpans(env, b.box->elems, b.out, &b.box->spans, false)) {
    return nullptr;
  }
  const Span* headers = hasHeaders ? b.box->headers.data() : nullptr;
  const uint32_t done = b.box->engine.Decrypt(b.box->spans.data(), headers, addrs.data + kAddrStride * b.start, b.count,
                                              b.now, b.out, b.res.data + kInStride * b.start, seqs.data + b.start);
  Finish(b);
  return Number(env, done);
}

}  // namespace

bool RegisterDatapath(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"dpCreate", nullptr, Create, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"dpAdd", nullptr, Add, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"dpRemove", nullptr, Remove, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"dpSet", nullptr, Set, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"dpSender", nullptr, Sender, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"dpReplay", nullptr, Replay, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"dpEncapRaw", nullptr, EncapRaw, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"dpEncrypt", nullptr, Encrypt, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"dpDecrypt", nullptr, Decrypt, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok;
}

}  // namespace gkm
