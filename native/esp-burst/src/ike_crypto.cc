// IKE SA crypto on the OpenSSL inside Node, for src/ikev2/crypto/native.ts, which documents
// each function's contract: X25519 / X448 key pairs and shared secrets (RFC 7748, RFC 8031) and
// HMAC / prf+ (RFC 2104, RFC 7296 §2.13).
//
// Why not node:crypto: each X25519 key pair there is a KeyObject built through OpenSSL 3.0's
// provider look-ups and key import/export (~150 us per SA here), while the scalar
// multiplications themselves take ~50 us; each createHmac fetches the digest again (~3-5 us).
//
// X25519 / X448 run OpenSSL's own ossl_x25519 / ossl_x448 functions (the ones its provider
// calls), resolved weakly from the node binary like gcm_fast.cc's symbols. When they are
// missing (another Node build) or GKM_NATIVE_NO_FAST_XDH is set, the public EVP_PKEY API
// does the same work, with its look-ups. HMAC runs on EVP_MD objects fetched once.
// Private scalars and intermediate secrets on our stack are wiped with OPENSSL_cleanse.
#include "ike_crypto.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "napi_args.h"

extern "C" {
// crypto/ec/curve25519.c and crypto/ec/curve448/curve448.c (include/crypto/ecx.h), OpenSSL 3.0:
// the shared-secret functions return 0 for an all-zero result (a small-order peer point).
int ossl_x25519(uint8_t out[32], const uint8_t priv[32], const uint8_t peer[32]) __attribute__((weak));
void ossl_x25519_public_from_private(uint8_t out[32], const uint8_t priv[32]) __attribute__((weak));
int ossl_x448(uint8_t out[56], const uint8_t priv[56], const uint8_t peer[56]) __attribute__((weak));
void ossl_x448_public_from_private(uint8_t out[56], const uint8_t priv[56]) __attribute__((weak));
}

namespace gkm {
namespace {

constexpr size_t kMaxXdh = 56;

struct Curve {
  const char* name;  // OpenSSL key type
  size_t size;       // private key, public value and shared secret length
  int (*shared)(uint8_t*, const uint8_t*, const uint8_t*);
  void (*pub)(uint8_t*, const uint8_t*);
};

const Curve* CurveOf(uint32_t id) {
  static const Curve x25519{"X25519", 32, ossl_x25519, ossl_x25519_public_from_private};
  static const Curve x448{"X448", 56, ossl_x448, ossl_x448_public_from_private};
  return id == 25519 ? &x25519 : id == 448 ? &x448 : nullptr;
}

bool Direct(const Curve& c) {
  static const bool allowed = std::getenv("GKM_NATIVE_NO_FAST_XDH") == nullptr;
  return allowed && c.shared != nullptr && c.pub != nullptr;
}

// RFC 7748 §5 "decodeScalar": OpenSSL's key generation stores the clamped scalar too.
void Clamp(const Curve& c, uint8_t* k) {
  if (c.size == 32) {
    k[0] &= 248;
    k[31] &= 127;
    k[31] |= 64;
  } else {
    k[0] &= 252;
    k[55] |= 128;
  }
}

// Leaves nothing on OpenSSL's per-thread error queue, which node:crypto reads after its calls.
bool Cleared(bool ok) {
  if (!ok) ERR_clear_error();
  return ok;
}

bool EvpPublic(const Curve& c, const uint8_t* priv, uint8_t* out) {
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key_ex(nullptr, c.name, nullptr, priv, c.size);
  size_t n = c.size;
  const bool ok = key != nullptr && EVP_PKEY_get_raw_public_key(key, out, &n) == 1 && n == c.size;
  EVP_PKEY_free(key);  // cleanses its copy of the private key
  return Cleared(ok);
}

// EVP_PKEY_derive fails on an all-zero result (RFC 7748 §6.1) as well as on bad keys.
bool EvpShared(const Curve& c, const uint8_t* priv, const uint8_t* peer, uint8_t* out) {
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key_ex(nullptr, c.name, nullptr, priv, c.size);
  EVP_PKEY* other = EVP_PKEY_new_raw_public_key_ex(nullptr, c.name, nullptr, peer, c.size);
  EVP_PKEY_CTX* ctx = key != nullptr ? EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr) : nullptr;
  size_t n = c.size;
  const bool ok = ctx != nullptr && other != nullptr && EVP_PKEY_derive_init(ctx) == 1 &&
                  EVP_PKEY_derive_set_peer(ctx, other) == 1 && EVP_PKEY_derive(ctx, out, &n) == 1 && n == c.size;
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(other);
  EVP_PKEY_free(key);
  if (!ok) OPENSSL_cleanse(out, c.size);
  return Cleared(ok);
}

bool PublicOf(const Curve& c, const uint8_t* priv, uint8_t* out) {
  if (!Direct(c)) return EvpPublic(c, priv, out);
  c.pub(out, priv);
  return true;
}

// (curve, `count` byte arrays of exactly the curve's size): the curve, or null after a TypeError.
const Curve* XdhArgs(napi_env env, napi_callback_info info, size_t count, View<uint8_t>* views) {
  napi_value argv[4];
  uint32_t id = 0;
  if (!ReadArgs(env, info, count + 1, argv) || !ReadCount(env, argv[0], 25519, &id, "curve: 25519 | 448")) {
    return nullptr;
  }
  const Curve* c = CurveOf(id);
  if (c == nullptr) return Fail(env, "curve: 25519 | 448"), nullptr;
  for (size_t i = 0; i < count; i++) {
    if (!ReadBytes(env, argv[i + 1], &views[i], false, "key: Uint8Array")) return nullptr;
    if (views[i].length != c->size) return Fail(env, "key length is not the curve's size"), nullptr;
  }
  return c;
}

napi_value Throw(napi_env env, const char* what) {
  napi_throw_error(env, "ERR_GKM_NATIVE_CRYPTO", what);
  return nullptr;
}

// (curve, private, outPublic); `fresh`: first fill private with a new clamped key.
napi_value XdhKeyPair(napi_env env, napi_callback_info info, bool fresh) {
  View<uint8_t> v[2];
  const Curve* c = XdhArgs(env, info, 2, v);
  if (c == nullptr) return nullptr;
  if (fresh && RAND_priv_bytes(v[0].data, static_cast<int>(c->size)) != 1) {
    ERR_clear_error();
    return Throw(env, "RAND_priv_bytes failed");
  }
  if (fresh) Clamp(*c, v[0].data);
  if (!PublicOf(*c, v[0].data, v[1].data)) {
    if (fresh) OPENSSL_cleanse(v[0].data, c->size);
    return Throw(env, "X25519/X448 public value failed");
  }
  return nullptr;
}

// xdhGenerate(curve, outPrivate, outPublic): a fresh clamped private key and its public value.
napi_value XdhGenerate(napi_env env, napi_callback_info info) { return XdhKeyPair(env, info, true); }

// xdhPublic(curve, private, outPublic): the public value of a given private key.
napi_value XdhPublic(napi_env env, napi_callback_info info) { return XdhKeyPair(env, info, false); }

// xdhDerive(curve, private, peerPublic, outSecret): false (out zeroed) for an all-zero secret.
napi_value XdhDerive(napi_env env, napi_callback_info info) {
  View<uint8_t> v[3];
  const Curve* c = XdhArgs(env, info, 3, v);
  if (c == nullptr) return nullptr;
  // Through a copy of the private key: out may alias it.
  uint8_t priv[kMaxXdh];
  uint8_t peer[kMaxXdh];
  std::memcpy(priv, v[0].data, c->size);
  std::memcpy(peer, v[1].data, c->size);
  const bool ok = Direct(*c) ? c->shared(v[2].data, priv, peer) == 1 : EvpShared(*c, priv, peer, v[2].data);
  OPENSSL_cleanse(priv, sizeof priv);
  napi_value r;
  napi_get_boolean(env, ok, &r);
  return r;
}

// --- HMAC and prf+ -------------------------------------------------------------------------

constexpr size_t kMaxParts = 16;
constexpr size_t kMaxBlock = 128;  // SHA-384/512 block size

// Digests fetched once (EVP_get_digestbyname-style look-ups cost microseconds in OpenSSL 3.0).
// Index = the `hash` argument: 0 SHA-1, 1 SHA-256, 2 SHA-384, 3 SHA-512.
const EVP_MD* Digest(uint32_t hash) {
  struct Digests {
    const EVP_MD* md[4];
    Digests() {
      const char* names[4] = {"SHA1", "SHA256", "SHA384", "SHA512"};
      for (size_t i = 0; i < 4; i++) md[i] = EVP_MD_fetch(nullptr, names[i], nullptr);
      ERR_clear_error();
    }
  };
  static const Digests d;  // kept for the life of the process
  return hash < 4 ? d.md[hash] : nullptr;
}

struct Part {
  const uint8_t* data;
  size_t length;
};

// HMAC (RFC 2104) with the pads kept on our stack; ctx is reused for every hash.
class Hmac {
 public:
  Hmac(const EVP_MD* md, const uint8_t* key, size_t keyLength)
      : md_(md), ctx_(EVP_MD_CTX_new()), block_(static_cast<size_t>(EVP_MD_get_block_size(md))) {
    uint8_t k[kMaxBlock] = {};
    ok_ = ctx_ != nullptr && block_ <= kMaxBlock;
    if (ok_ && keyLength > block_) {
      unsigned n = 0;
      ok_ = EVP_DigestInit_ex2(ctx_, md_, nullptr) == 1 && EVP_DigestUpdate(ctx_, key, keyLength) == 1 &&
            EVP_DigestFinal_ex(ctx_, k, &n) == 1;
    } else if (ok_) {
      if (keyLength != 0) std::memcpy(k, key, keyLength);
    }
    for (size_t i = 0; i < block_ && ok_; i++) {
      ipad_[i] = static_cast<uint8_t>(k[i] ^ 0x36);
      opad_[i] = static_cast<uint8_t>(k[i] ^ 0x5c);
    }
    OPENSSL_cleanse(k, sizeof k);
  }
  ~Hmac() {
    EVP_MD_CTX_free(ctx_);  // the digest's state is cleared with it
    OPENSSL_cleanse(ipad_, sizeof ipad_);
    OPENSSL_cleanse(opad_, sizeof opad_);
  }
  Hmac(const Hmac&) = delete;
  Hmac& operator=(const Hmac&) = delete;

  bool ok() const { return ok_; }

  // out receives the full digest (EVP_MD_get_size bytes).
  bool Mac(const Part* parts, size_t count, uint8_t* out) {
    uint8_t inner[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    bool ok = ok_ && EVP_DigestInit_ex2(ctx_, md_, nullptr) == 1 && EVP_DigestUpdate(ctx_, ipad_, block_) == 1;
    for (size_t i = 0; i < count && ok; i++) {
      ok = parts[i].length == 0 || EVP_DigestUpdate(ctx_, parts[i].data, parts[i].length) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(ctx_, inner, &n) == 1 && EVP_DigestInit_ex2(ctx_, md_, nullptr) == 1 &&
         EVP_DigestUpdate(ctx_, opad_, block_) == 1 && EVP_DigestUpdate(ctx_, inner, n) == 1 &&
         EVP_DigestFinal_ex(ctx_, out, &n) == 1;
    OPENSSL_cleanse(inner, sizeof inner);
    return ok;
  }

 private:
  const EVP_MD* md_;
  EVP_MD_CTX* ctx_;
  size_t block_;
  bool ok_ = false;
  uint8_t ipad_[kMaxBlock] = {};
  uint8_t opad_[kMaxBlock] = {};
};

// Octets given as one Uint8Array or an array of up to kMaxParts of them. Array elements are
// read first (a getter may run JS), then the views.
bool ReadParts(napi_env env, napi_value v, Part* parts, size_t* count) {
  bool isArray = false;
  napi_is_array(env, v, &isArray);
  View<uint8_t> b;
  if (!isArray) {
    if (!ReadBytes(env, v, &b, false, "data: Uint8Array or array")) return false;
    parts[0] = {b.data, b.length};
    *count = 1;
    return true;
  }
  uint32_t n = 0;
  if (napi_get_array_length(env, v, &n) != napi_ok || n > kMaxParts) return Fail(env, "data: too many parts");
  napi_value elems[kMaxParts];
  for (uint32_t i = 0; i < n; i++) {
    if (napi_get_element(env, v, i, &elems[i]) != napi_ok) return Fail(env, "data[i]");
  }
  for (uint32_t i = 0; i < n; i++) {
    if (!ReadBytes(env, elems[i], &b, false, "data[i]: Uint8Array")) return false;
    parts[i] = {b.data, b.length};
  }
  *count = n;
  return true;
}

// (hash, key, data, out) with the digest known; out checked by the caller.
const EVP_MD* MacArgs(napi_env env, napi_callback_info info, View<uint8_t>* key, Part* parts, size_t* count,
                      View<uint8_t>* out) {
  napi_value argv[4];
  uint32_t hash = 0;
  if (!ReadArgs(env, info, 4, argv) || !ReadCount(env, argv[0], 3, &hash, "hash: 0..3") ||
      !ReadBytes(env, argv[1], key, false, "key: Uint8Array") || !ReadParts(env, argv[2], parts, count) ||
      !ReadBytes(env, argv[3], out, false, "out: Uint8Array")) {
    return nullptr;
  }
  const EVP_MD* md = Digest(hash);
  if (md == nullptr) Throw(env, "digest unavailable");
  return md;
}

// hmac(hash, key, data, out): out (exactly the digest size) = HMAC(key, data parts).
napi_value HmacJs(napi_env env, napi_callback_info info) {
  View<uint8_t> key;
  View<uint8_t> out;
  Part parts[kMaxParts];
  size_t count = 0;
  const EVP_MD* md = MacArgs(env, info, &key, parts, &count, &out);
  if (md == nullptr) return nullptr;
  if (out.length != static_cast<size_t>(EVP_MD_get_size(md))) return Fail(env, "out is not the digest size"), nullptr;
  Hmac h(md, key.data, key.length);
  if (!h.Mac(parts, count, out.data)) {
    ERR_clear_error();
    return Throw(env, "HMAC failed");
  }
  return nullptr;
}

// prfPlus(hash, key, seed, out): out = the first out.length octets of prf+(key, seed),
// T1 = prf(K, S | 0x01), Tn = prf(K, T(n-1) | S | n) (RFC 7296 §2.13); at most 255 blocks.
napi_value PrfPlusJs(napi_env env, napi_callback_info info) {
  View<uint8_t> key;
  View<uint8_t> out;
  Part parts[kMaxParts + 2];
  size_t count = 0;
  const EVP_MD* md = MacArgs(env, info, &key, parts + 1, &count, &out);
  if (md == nullptr) return nullptr;
  const size_t size = static_cast<size_t>(EVP_MD_get_size(md));
  if (out.length > 255 * size) return Fail(env, "prf+ output longer than 255 blocks"), nullptr;
  Hmac h(md, key.data, key.length);
  uint8_t t[EVP_MAX_MD_SIZE];
  uint8_t counter = 0;
  bool ok = h.ok();
  for (size_t off = 0; off < out.length && ok; off += size) {
    parts[0] = {t, counter == 0 ? 0 : size};  // T(n-1), empty for T1
    counter++;
    parts[count + 1] = {&counter, 1};
    ok = h.Mac(parts, count + 2, t);
    std::memcpy(out.data + off, t, out.length - off < size ? out.length - off : size);
  }
  OPENSSL_cleanse(t, sizeof t);
  if (!ok) {
    OPENSSL_cleanse(out.data, out.length);
    ERR_clear_error();
    return Throw(env, "prf+ failed");
  }
  return nullptr;
}

// ikeCryptoInfo(): which paths run.
napi_value IkeCryptoInfo(napi_env env, napi_callback_info) {
  napi_value obj;
  napi_value v;
  napi_create_object(env, &obj);
  napi_get_boolean(env, Direct(*CurveOf(25519)), &v);
  napi_set_named_property(env, obj, "x25519Direct", v);
  napi_get_boolean(env, Direct(*CurveOf(448)), &v);
  napi_set_named_property(env, obj, "x448Direct", v);
  bool digests = true;
  for (uint32_t i = 0; i < 4; i++) digests = digests && Digest(i) != nullptr;
  napi_get_boolean(env, digests, &v);
  napi_set_named_property(env, obj, "hmac", v);
  return obj;
}

}  // namespace

bool RegisterIkeCrypto(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"xdhGenerate", nullptr, XdhGenerate, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"xdhPublic", nullptr, XdhPublic, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"xdhDerive", nullptr, XdhDerive, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"hmac", nullptr, HmacJs, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"prfPlus", nullptr, PrfPlusJs, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"ikeCryptoInfo", nullptr, IkeCryptoInfo, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok &&
         RegisterIkeAead(env, exports) && RegisterIkeKeyWrap(env, exports);
}

}  // namespace gkm
