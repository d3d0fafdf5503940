// AES key wrap for G-IKEv2's KWAs (RFC 9838 transform type 13) on the OpenSSL inside Node:
// RFC 3394 (KW, default IV A6A6A6A6A6A6A6A6) and RFC 5649 (KWP, AIV A65959A6 | MLI; a padded
// plaintext of 8 octets is one AES-ECB block, §4.1), for src/ikev2/crypto/keywrap.ts through
// src/ikev2/crypto/native.ts, which documents the JS contract (keyWrap / keyUnwrap).
//
// Why not node:crypto: createCipheriv('id-aes256-wrap-pad') builds a cipher object per key
// (OpenSSL 3.0 provider look-ups, ~5-10 us) for a wrap that is 6n AES blocks (24 for a 32-octet
// key, well under a microsecond with AES-NI), and the output is joined with Buffer.concat.
//
// The wrap itself is OpenSSL's CRYPTO_128_wrap / _wrap_pad / _unwrap / _unwrap_pad (crypto/
// modes/wrap128.c: the same code its id-aes*-wrap* ciphers run; unwrap checks the IV and
// padding with CRYPTO_memcmp and cleanses its output on failure) over the AES block function:
// AES-NI (aesni_encrypt, as gcm_fast.cc) when the CPU has it, else OpenSSL's AES_encrypt. The
// symbols are resolved weakly from the node binary: when they are missing, keyWrapInfo()
// says so and the JS side keeps node:crypto. The key schedule lives on our stack for one call
// and is cleansed before returning. Stateless, so safe from any thread.
#include <openssl/crypto.h>
#include <openssl/modes.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "napi_args.h"

extern "C" {
// crypto/modes/wrap128.c (public in <openssl/modes.h>, declared there; weak here).
#pragma weak CRYPTO_128_wrap
#pragma weak CRYPTO_128_unwrap
#pragma weak CRYPTO_128_wrap_pad
#pragma weak CRYPTO_128_unwrap_pad
// AES-NI entry points (crypto/aes/asm/aesni-x86_64.pl) and the portable AES (crypto/aes,
// deprecated in 3.0 hence not declared under OPENSSL_NO_DEPRECATED, still exported).
int aesni_set_encrypt_key(const unsigned char* userKey, int bits, void* key) __attribute__((weak));
int aesni_set_decrypt_key(const unsigned char* userKey, int bits, void* key) __attribute__((weak));
void aesni_encrypt(const unsigned char* in, unsigned char* out, const void* key) __attribute__((weak));
void aesni_decrypt(const unsigned char* in, unsigned char* out, const void* key) __attribute__((weak));
int AES_set_encrypt_key(const unsigned char* userKey, int bits, void* key) __attribute__((weak));
int AES_set_decrypt_key(const unsigned char* userKey, int bits, void* key) __attribute__((weak));
void AES_encrypt(const unsigned char* in, unsigned char* out, const void* key) __attribute__((weak));
void AES_decrypt(const unsigned char* in, unsigned char* out, const void* key) __attribute__((weak));
}

namespace gkm {
namespace {

constexpr uint32_t kKw = 0;   // RFC 3394
constexpr uint32_t kKwp = 1;  // RFC 5649
constexpr size_t kSemiblock = 8;
// The JS side wraps 1..4096 octets (keywrap.ts); this bound only keeps lengths far from
// OpenSSL's CRYPTO128_WRAP_MAX and int ranges.
constexpr size_t kMaxPlaintext = 1 << 20;

// Layout of OpenSSL's AES_KEY (4 * (AES_MAXNR + 1) round-key words, then the round count).
struct alignas(16) AesKey {
  uint32_t rk[60];
  int rounds;
};

using SetKey = int (*)(const unsigned char*, int, void*);

struct Aes {
  SetKey setEncrypt;
  SetKey setDecrypt;
  block128_f encrypt;
  block128_f decrypt;
  bool aesni;
};

bool CpuHasAesNi() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("aes");
}

// The block functions of this process, or null when a symbol is missing.
const Aes* AesFunctions() {
  static const Aes* const chosen = []() -> const Aes* {
    static const Aes ni{aesni_set_encrypt_key, aesni_set_decrypt_key, reinterpret_cast<block128_f>(reinterpret_cast<void*>(aesni_encrypt)),
                        reinterpret_cast<block128_f>(reinterpret_cast<void*>(aesni_decrypt)), true};
    static const Aes portable{AES_set_encrypt_key, AES_set_decrypt_key, reinterpret_cast<block128_f>(reinterpret_cast<void*>(AES_encrypt)),
                              reinterpret_cast<block128_f>(reinterpret_cast<void*>(AES_decrypt)), false};
    const bool modes = CRYPTO_128_wrap != nullptr && CRYPTO_128_unwrap != nullptr && CRYPTO_128_wrap_pad != nullptr &&
                       CRYPTO_128_unwrap_pad != nullptr;
    if (!modes) return nullptr;
    const bool niSymbols = aesni_set_encrypt_key != nullptr && aesni_set_decrypt_key != nullptr && aesni_encrypt != nullptr &&
                           aesni_decrypt != nullptr;
    if (niSymbols && CpuHasAesNi() && std::getenv("GKM_NATIVE_NO_AESNI_KW") == nullptr) return &ni;
    const bool portableSymbols = AES_set_encrypt_key != nullptr && AES_set_decrypt_key != nullptr && AES_encrypt != nullptr &&
                                 AES_decrypt != nullptr;
    return portableSymbols ? &portable : nullptr;
  }();
  return chosen;
}

// Wrapped length for a plaintext of n octets (0 when n is not wrappable in that mode).
size_t WrappedLength(uint32_t mode, size_t n) {
  if (n == 0 || n > kMaxPlaintext) return 0;
  if (mode == kKw) return n >= 2 * kSemiblock && n % kSemiblock == 0 ? n + kSemiblock : 0;
  return kSemiblock + (n + kSemiblock - 1) / kSemiblock * kSemiblock;
}

// (mode, kek, input, out): the four views, or false after a TypeError.
bool ReadWrapArgs(napi_env env, napi_callback_info info, uint32_t* mode, View<uint8_t>* kek, View<uint8_t>* in,
                  View<uint8_t>* out) {
  napi_value argv[4];
  if (!ReadArgs(env, info, 4, argv) || !ReadCount(env, argv[0], kKwp, mode, "mode: 0 (RFC 3394) | 1 (RFC 5649)") ||
      !ReadBytes(env, argv[1], kek, false, "kek: Uint8Array") || !ReadBytes(env, argv[2], in, false, "input: Uint8Array") ||
      !ReadBytes(env, argv[3], out, false, "out: Uint8Array")) {
    return false;
  }
  if (kek->length != 16 && kek->length != 24 && kek->length != 32) return Fail(env, "kek: 16, 24 or 32 octets");
  if (AesFunctions() == nullptr) return Fail(env, "AES key wrap unavailable in this process");
  return true;
}

napi_value Throw(napi_env env, const char* what) {
  napi_throw_error(env, "ERR_GKM_NATIVE_CRYPTO", what);
  return nullptr;
}

// keyWrap(mode, kek, plaintext, out): out (exactly the wrapped length) = wrap(kek, plaintext).
// out must not overlap plaintext.
napi_value KeyWrap(napi_env env, napi_callback_info info) {
  uint32_t mode = 0;
  View<uint8_t> kek, in, out;
  if (!ReadWrapArgs(env, info, &mode, &kek, &in, &out)) return nullptr;
  const size_t want = WrappedLength(mode, in.length);
  if (want == 0) return Fail(env, "plaintext length not wrappable in this mode"), nullptr;
  if (out.length != want) return Fail(env, "out is not the wrapped length"), nullptr;
  if (in.data < out.data + out.length && out.data < in.data + in.length) return Fail(env, "out overlaps plaintext"), nullptr;
  const Aes* aes = AesFunctions();
  AesKey key;
  size_t n = 0;
  if (aes->setEncrypt(kek.data, static_cast<int>(kek.length * 8), &key) == 0) {
    n = mode == kKw ? CRYPTO_128_wrap(&key, nullptr, out.data, in.data, in.length, aes->encrypt)
                    : CRYPTO_128_wrap_pad(&key, nullptr, out.data, in.data, in.length, aes->encrypt);
  }
  OPENSSL_cleanse(&key, sizeof key);
  if (n != want) {
    OPENSSL_cleanse(out.data, out.length);
    return Throw(env, "AES key wrap failed");
  }
  return nullptr;
}

// keyUnwrap(mode, kek, wrapped, out): out at least wrapped.length octets (OpenSSL's unwrap
// writes the padded plaintext and, on a failed check, cleanses as many octets as the input
// has). Returns the plaintext length (at the start of out), or -1 (out zeroed) when the
// wrapped key does not verify or has an impossible length.
napi_value KeyUnwrap(napi_env env, napi_callback_info info) {
  uint32_t mode = 0;
  View<uint8_t> kek, in, out;
  if (!ReadWrapArgs(env, info, &mode, &kek, &in, &out)) return nullptr;
  if (in.length > kMaxPlaintext + 2 * kSemiblock) return Fail(env, "wrapped input too long"), nullptr;
  if (in.data < out.data + out.length && out.data < in.data + in.length) return Fail(env, "out overlaps input"), nullptr;
  int32_t result = -1;
  const bool shape = in.length >= 2 * kSemiblock && in.length % kSemiblock == 0;
  if (out.length < in.length) return Fail(env, "out shorter than the wrapped input"), nullptr;
  if (shape) {
    const Aes* aes = AesFunctions();
    AesKey key;
    size_t n = 0;
    // (CRYPTO_128_unwrap itself refuses an RFC 3394 input under 24 octets.)
    if (aes->setDecrypt(kek.data, static_cast<int>(kek.length * 8), &key) == 0) {
      n = mode == kKw ? CRYPTO_128_unwrap(&key, nullptr, out.data, in.data, in.length, aes->decrypt)
                      : CRYPTO_128_unwrap_pad(&key, nullptr, out.data, in.data, in.length, aes->decrypt);
    }
    OPENSSL_cleanse(&key, sizeof key);
    if (n > 0) result = static_cast<int32_t>(n);
  }
  if (result < 0) OPENSSL_cleanse(out.data, out.length);
  napi_value r;
  napi_create_int32(env, result, &r);
  return r;
}

// keyWrapInfo(): { available, aesni }.
napi_value KeyWrapInfo(napi_env env, napi_callback_info) {
  const Aes* aes = AesFunctions();
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_get_boolean(env, aes != nullptr, &v);
  napi_set_named_property(env, obj, "available", v);
  napi_get_boolean(env, aes != nullptr && aes->aesni, &v);
  napi_set_named_property(env, obj, "aesni", v);
  return obj;
}

}  // namespace

// N-API entry points: keyWrap, keyUnwrap, keyWrapInfo (registered with the IKE crypto).
bool RegisterIkeKeyWrap(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"keyWrap", nullptr, KeyWrap, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"keyUnwrap", nullptr, KeyUnwrap, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"keyWrapInfo", nullptr, KeyWrapInfo, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok;
}

}  // namespace gkm
