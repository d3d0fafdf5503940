#include "gcm_fast.h"

#include <cpuid.h>
#include <cstdlib>
#include <openssl/crypto.h>
#include <openssl/modes.h>

extern "C" {
// OpenSSL's AES-NI entry points (crypto/aes/asm/aesni-x86_64.pl); weak: absent => EVP.
int aesni_set_encrypt_key(const unsigned char* userKey, int bits, void* key) __attribute__((weak));
void aesni_encrypt(const unsigned char* in, unsigned char* out, const void* key) __attribute__((weak));
void aesni_ctr32_encrypt_blocks(const unsigned char* in, unsigned char* out, size_t blocks, const void* key,
                                const unsigned char* ivec) __attribute__((weak));
}
#pragma weak CRYPTO_gcm128_new
#pragma weak CRYPTO_gcm128_release
#pragma weak CRYPTO_gcm128_setiv
#pragma weak CRYPTO_gcm128_aad
#pragma weak CRYPTO_gcm128_encrypt_ctr32
#pragma weak CRYPTO_gcm128_decrypt_ctr32
#pragma weak CRYPTO_gcm128_finish
#pragma weak CRYPTO_gcm128_tag

namespace gkm {

// Layout of OpenSSL's AES_KEY (4 * (AES_MAXNR + 1) round-key words, then the round count).
struct alignas(16) FastGcm::Key {
  uint32_t rk[60];
  int rounds;
};

namespace {

bool CpuHasAesNi() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0) return false;
  return (c & (1u << 25)) != 0 && (c & (1u << 1)) != 0;  // AES-NI, PCLMULQDQ
}

bool SymbolsPresent() {
  return aesni_set_encrypt_key != nullptr && aesni_encrypt != nullptr && aesni_ctr32_encrypt_blocks != nullptr &&
         CRYPTO_gcm128_new != nullptr && CRYPTO_gcm128_release != nullptr && CRYPTO_gcm128_setiv != nullptr &&
         CRYPTO_gcm128_aad != nullptr && CRYPTO_gcm128_encrypt_ctr32 != nullptr &&
         CRYPTO_gcm128_decrypt_ctr32 != nullptr && CRYPTO_gcm128_finish != nullptr && CRYPTO_gcm128_tag != nullptr;
}

GCM128_CONTEXT* Ctx(void* p) { return static_cast<GCM128_CONTEXT*>(p); }
const ctr128_f kCtr = reinterpret_cast<ctr128_f>(reinterpret_cast<void*>(aesni_ctr32_encrypt_blocks));

}  // namespace

bool FastGcm::Available() {
  static const bool available = CpuHasAesNi() && SymbolsPresent() && std::getenv("GKM_NATIVE_NO_FAST_GCM") == nullptr;
  return available;
}

std::unique_ptr<FastGcm> FastGcm::Create(const uint8_t* key, size_t keyLength) {
  if (!Available() || (keyLength != 16 && keyLength != 24 && keyLength != 32)) return nullptr;
  std::unique_ptr<FastGcm> g(new FastGcm());
  g->key_ = std::make_unique<Key>();
  if (aesni_set_encrypt_key(key, static_cast<int>(keyLength * 8), g->key_.get()) != 0) return nullptr;
  g->gcm_ = CRYPTO_gcm128_new(g->key_.get(), reinterpret_cast<block128_f>(reinterpret_cast<void*>(aesni_encrypt)));
  if (g->gcm_ == nullptr) return nullptr;
  return g;
}

FastGcm::~FastGcm() {
  if (gcm_ != nullptr) CRYPTO_gcm128_release(Ctx(gcm_));  // cleanses the hash key
  if (key_) OPENSSL_cleanse(key_.get(), sizeof(Key));
}

bool FastGcm::Start(const uint8_t* nonce, const uint8_t* aad1, size_t n1, const uint8_t* aad2, size_t n2) {
  CRYPTO_gcm128_setiv(Ctx(gcm_), nonce, 12);
  return CRYPTO_gcm128_aad(Ctx(gcm_), aad1, n1) == 0 && (n2 == 0 || CRYPTO_gcm128_aad(Ctx(gcm_), aad2, n2) == 0);
}

bool FastGcm::Encrypt(const uint8_t* in, uint8_t* out, size_t n) {
  return CRYPTO_gcm128_encrypt_ctr32(Ctx(gcm_), in, out, n, kCtr) == 0;
}

bool FastGcm::Decrypt(const uint8_t* in, uint8_t* out, size_t n) {
  return CRYPTO_gcm128_decrypt_ctr32(Ctx(gcm_), in, out, n, kCtr) == 0;
}

void FastGcm::Tag(uint8_t* tag, size_t n) {
  uint8_t full[16];
  CRYPTO_gcm128_tag(Ctx(gcm_), full, sizeof full);
  for (size_t i = 0; i < n && i < sizeof full; i++) tag[i] = full[i];
}

bool FastGcm::Verify(const uint8_t* tag, size_t n) { return CRYPTO_gcm128_finish(Ctx(gcm_), tag, n) == 0; }

}  // namespace gkm
