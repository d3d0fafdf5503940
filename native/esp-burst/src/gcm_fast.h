// AES-GCM (RFC 4106/4543 per packet) through OpenSSL's own GCM128 mode code (CLMUL/AVX GHASH)
// over its AES-NI block and CTR32 routines, which EVP's provider also runs, without the
// per-call provider dispatch that dominates small packets (~0.4 us of ~0.55 us at 64 B here)
// and still costs ~20% at 1400 B (measured per CPU-second, docs/performance.md).
// The symbols come from the node binary's OpenSSL and are resolved weakly: when one is
// missing, or the CPU lacks AES-NI/PCLMULQDQ, Create() returns null and EVP is used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace gkm {

class FastGcm {
 public:
  // Whether this process uses it (CPU, symbols, and GKM_NATIVE_NO_FAST_GCM unset).
  static bool Available();
  // key: 16, 24 or 32 bytes (no salt).
  static std::unique_ptr<FastGcm> Create(const uint8_t* key, size_t keyLength);
  ~FastGcm();
  FastGcm(const FastGcm&) = delete;
  FastGcm& operator=(const FastGcm&) = delete;

  // Starts a packet: 12-byte nonce, then AAD in up to two parts.
  bool Start(const uint8_t* nonce, const uint8_t* aad1, size_t n1, const uint8_t* aad2, size_t n2);
  bool Encrypt(const uint8_t* in, uint8_t* out, size_t n);
  bool Decrypt(const uint8_t* in, uint8_t* out, size_t n);
  void Tag(uint8_t* tag, size_t n);
  // Constant-time comparison of the first n bytes of the tag.
  bool Verify(const uint8_t* tag, size_t n);

 private:
  FastGcm() = default;
  struct Key;
  std::unique_ptr<Key> key_;
  void* gcm_ = nullptr;  // GCM128_CONTEXT
};

}  // namespace gkm
