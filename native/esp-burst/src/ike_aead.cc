// AEAD of the IKE Encrypted payload (SK/SKF, RFC 7296 §3.14) for src/ikev2/crypto/cipher.ts:
// AES-GCM with 8/12/16-octet ICVs (RFC 5282) and ChaCha20-Poly1305 (RFC 7634), sealed in place
// in the message being built and opened into a buffer the caller allocates. The JS contract is
// documented in src/ikev2/crypto/native.ts (aeadSeal / aeadOpen).
//
// Why not node:crypto: createCipheriv/createDecipheriv build a cipher object per message
// (~5 us, most of it OpenSSL 3.0's provider look-ups) and the results are joined with
// Buffer.concat; here one call does the whole message.
//
// Stateless on purpose: the key is passed with every call and the AES key schedule and GHASH
// table are rebuilt per message (well under a microsecond with AES-NI/CLMUL, gcm_fast.cc).
// A context kept per cipher would cost ~0.7 KB of malloc per direction per IKE SA, for
// messages that come a few times per SA. Nothing keyed outlives a call: FastGcm cleanses its
// state on destruction, the EVP context is reset (its provider context cleansed) after use.
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <cstdint>
#include <cstring>
#include <memory>

#include "gcm_fast.h"
#include "ike_crypto.h"
#include "napi_args.h"

namespace gkm {
namespace {

constexpr size_t kSaltLength = 4;   // RFC 5282 §4, RFC 7634 §2: the last 4 octets of SK_e
constexpr size_t kIvLength = 8;     // explicit IV on the wire
constexpr size_t kNonceLength = kSaltLength + kIvLength;
constexpr uint32_t kAesGcm = 0;
constexpr uint32_t kChaCha = 1;

// Ciphers fetched once per process (fetching costs microseconds in OpenSSL 3.0).
const EVP_CIPHER* Cipher(uint32_t alg, size_t keyLength) {
  struct Ciphers {
    const EVP_CIPHER* gcm[3];
    const EVP_CIPHER* chacha;
    Ciphers() {
      gcm[0] = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
      gcm[1] = EVP_CIPHER_fetch(nullptr, "AES-192-GCM", nullptr);
      gcm[2] = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
      chacha = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
      ERR_clear_error();
    }
  };
  static const Ciphers c;
  if (alg == kChaCha) return keyLength == 32 ? c.chacha : nullptr;
  if (alg != kAesGcm) return nullptr;
  return keyLength == 16 ? c.gcm[0] : keyLength == 24 ? c.gcm[1] : keyLength == 32 ? c.gcm[2] : nullptr;
}

// One EVP context per thread, reset after every message.
EVP_CIPHER_CTX* ThreadCtx() {
  struct Holder {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    ~Holder() { EVP_CIPHER_CTX_free(ctx); }
  };
  static thread_local Holder h;
  return h.ctx;
}

struct Message {
  const uint8_t* key;
  size_t keyLength;
  uint8_t nonce[kNonceLength];
  const uint8_t* aad;
  size_t aadLength;
  uint8_t* data;  // after the IV: ciphertext or plaintext
  size_t dataLength;
  uint8_t* tag;   // after the data
  size_t tagLength;
};

// EVP path (ChaCha20-Poly1305; AES-GCM without AES-NI or OpenSSL's GCM128 symbols). `in` and
// `out` may be the same.
bool EvpRun(const EVP_CIPHER* cipher, const Message& m, const uint8_t* in, uint8_t* out, bool encrypt) {
  EVP_CIPHER_CTX* ctx = ThreadCtx();
  int n = 0;
  uint8_t final[16];  // AEAD finals write nothing; never `out` itself, which may be empty
  bool ok = ctx != nullptr && EVP_CipherInit_ex2(ctx, cipher, nullptr, nullptr, encrypt ? 1 : 0, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(kNonceLength), nullptr) == 1 &&
            EVP_CipherInit_ex2(ctx, nullptr, m.key, m.nonce, encrypt ? 1 : 0, nullptr) == 1 &&
            EVP_CipherUpdate(ctx, nullptr, &n, m.aad, static_cast<int>(m.aadLength)) == 1 &&
            (m.dataLength == 0 || EVP_CipherUpdate(ctx, out, &n, in, static_cast<int>(m.dataLength)) == 1) &&
            (encrypt || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(m.tagLength), m.tag) == 1) &&
            EVP_CipherFinal_ex(ctx, final, &n) == 1 &&
            (!encrypt || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(m.tagLength), m.tag) == 1);
  if (ctx != nullptr) EVP_CIPHER_CTX_reset(ctx);
  if (!ok) ERR_clear_error();
  return ok;
}

bool Seal(uint32_t alg, const Message& m) {
  if (alg == kAesGcm) {
    std::unique_ptr<FastGcm> g = FastGcm::Create(m.key, m.keyLength);
    if (g) {
      if (!g->Start(m.nonce, m.aad, m.aadLength, nullptr, 0) || !g->Encrypt(m.data, m.data, m.dataLength)) return false;
      g->Tag(m.tag, m.tagLength);
      return true;
    }
  }
  const EVP_CIPHER* c = Cipher(alg, m.keyLength);
  return c != nullptr && EvpRun(c, m, m.data, m.data, true);
}

// Decrypts into out (m.dataLength octets) and verifies; out is zeroed when verification fails.
bool Open(uint32_t alg, const Message& m, uint8_t* out) {
  bool ok = false;
  std::unique_ptr<FastGcm> g = alg == kAesGcm ? FastGcm::Create(m.key, m.keyLength) : nullptr;
  if (g) {
    ok = g->Start(m.nonce, m.aad, m.aadLength, nullptr, 0) && g->Decrypt(m.data, out, m.dataLength) &&
         g->Verify(m.tag, m.tagLength);
  } else {
    const EVP_CIPHER* c = Cipher(alg, m.keyLength);
    ok = c != nullptr && EvpRun(c, m, m.data, out, false);
  }
  if (!ok) OPENSSL_cleanse(out, m.dataLength);
  return ok;
}

// (alg, material = key | salt, icvLength, aad, body): body = IV | data | ICV. Fills m, or
// throws a TypeError and returns false.
bool ReadMessage(napi_env env, napi_value* argv, uint32_t* alg, Message* m) {
  View<uint8_t> material;
  View<uint8_t> aad;
  View<uint8_t> body;
  uint32_t icv = 0;
  if (!ReadCount(env, argv[0], kChaCha, alg, "alg: 0 (AES-GCM) | 1 (ChaCha20-Poly1305)") ||
      !ReadBytes(env, argv[1], &material, false, "material: Uint8Array") ||
      !ReadCount(env, argv[2], 16, &icv, "icvLength: 8 | 12 | 16") ||
      !ReadBytes(env, argv[3], &aad, false, "aad: Uint8Array") || !ReadBytes(env, argv[4], &body, false, "body: Uint8Array")) {
    return false;
  }
  if (material.length <= kSaltLength) return Fail(env, "material: key | salt(4)");
  if (icv != 8 && icv != 12 && icv != 16) return Fail(env, "icvLength: 8 | 12 | 16");
  if (*alg == kChaCha && icv != 16) return Fail(env, "ChaCha20-Poly1305 ICV is 16 octets");
  if (body.length < kIvLength + icv) return Fail(env, "body shorter than IV and ICV");
  if (body.length - kIvLength - icv > 0x7fffffff || aad.length > 0x7fffffff) return Fail(env, "too long");
  m->keyLength = material.length - kSaltLength;
  if (Cipher(*alg, m->keyLength) == nullptr && !(*alg == kAesGcm && FastGcm::Available())) {
    return Fail(env, "key length / algorithm unavailable");
  }
  m->key = material.data;
  std::memcpy(m->nonce, material.data + m->keyLength, kSaltLength);
  std::memcpy(m->nonce + kSaltLength, body.data, kIvLength);
  m->aad = aad.data;
  m->aadLength = aad.length;
  m->data = body.data + kIvLength;
  m->dataLength = body.length - kIvLength - icv;
  m->tag = m->data + m->dataLength;
  m->tagLength = icv;
  return true;
}

// aeadSeal(alg, material, icvLength, aad, body): body = IV | plaintext | ICV room; encrypts
// the plaintext in place and writes the ICV.
napi_value AeadSeal(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  uint32_t alg = 0;
  Message m{};
  if (!ReadArgs(env, info, 5, argv) || !ReadMessage(env, argv, &alg, &m)) return nullptr;
  if (!Seal(alg, m)) napi_throw_error(env, "ERR_GKM_NATIVE_CRYPTO", "AEAD seal failed");
  return nullptr;
}

// aeadOpen(alg, material, icvLength, aad, body, out): body = IV | ciphertext | ICV, out exactly
// the ciphertext's length. true when the ICV verifies (out = plaintext), else false (out zeroed).
napi_value AeadOpen(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  uint32_t alg = 0;
  Message m{};
  View<uint8_t> out;
  if (!ReadArgs(env, info, 6, argv) || !ReadMessage(env, argv, &alg, &m) ||
      !ReadBytes(env, argv[5], &out, false, "out: Uint8Array")) {
    return nullptr;
  }
  if (out.length != m.dataLength) return Fail(env, "out is not the ciphertext's length"), nullptr;
  napi_value r;
  napi_get_boolean(env, Open(alg, m, out.data), &r);
  return r;
}

}  // namespace

bool RegisterIkeAead(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"aeadSeal", nullptr, AeadSeal, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"aeadOpen", nullptr, AeadOpen, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok;
}

}  // namespace gkm
