// ESP (RFC 4303) for the counter-IV AEAD suites: AES-GCM (RFC 4106), ChaCha20-Poly1305
// (RFC 7634) and AES-GMAC (RFC 4543), one EVP_CIPHER_CTX per SA re-initialised with the
// nonce only per packet. The wire layout reproduces src/datapath/esp/ byte for byte:
//   SPI(4) | Seq(4) | IV(8) | payload | TFC zeros | 1,2,3.. | PadLen | NH | ICV
// No N-API here: addon.cc validates JS arguments and hands in raw spans.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "gcm_fast.h"

namespace gkm {

// Per-packet result; mirrored by src/datapath/providers/native/status.ts.
enum Status : int32_t {
  kOk = 0,
  kDummy = 1,         // verified, Next Header 59 (RFC 4303 §2.6): discard silently
  kSkip = -1,         // decap: the caller rejected the packet before the call
  kMalformed = -2,    // length or alignment (RFC 4303 §2.4)
  kNoSa = -3,         // SPI is not the SA's
  kAuthFailed = -4,   // ICV mismatch
  kBadPadding = -5,   // trailer invalid after a verified ICV
  kExhausted = -6,    // sequence number or IV counter space used up (RFC 4303 §3.3.3)
  kNoRoom = -7,       // output slot too small, or partly overlapping the input
  kCryptoError = -8,  // OpenSSL refused an operation
  // Fast path (datapath.h) only; mirrored by status.ts.
  kReplay = -9,         // anti-replay check (RFC 4303 §3.4.3)
  kIpMalformed = -10,   // inner/outer IP header invalid or too long (GKM_IP_MALFORMED)
  kPolicy = -11,        // selectors or preserved addresses (RFC 4301 §5.2, RFC 5374)
  kNoSaFound = -12,     // no SA for the packet (not counted on any SA)
  kShort = -13,         // ESP shorter than its header (not counted on any SA)
  kSlow = -14,          // the SA's mode runs in TypeScript (BEET): handled there
  kPayload = 2,         // ESP done; TypeScript rebuilds the transport packet (unusual outer header)
};

// Sequence Numbers transform values (RFC 9838 / RFC 9827).
enum class SnMode : uint8_t { kSeq32 = 0, kEsn = 1, kUnspecified32 = 2 };
// IV = 64-bit sequence number, or RFC 6054 Sender-ID || counter.
enum class IvMode : uint8_t { kSequence = 0, kCounter = 1 };

struct SaParams {
  uint32_t spi = 0;
  SnMode sn = SnMode::kSeq32;
  IvMode iv = IvMode::kSequence;
  uint32_t senderIdBits = 0;  // 0..32
  uint32_t senderId = 0;
  uint32_t tfcPadTo = 0;      // RFC 4303 §2.7
  uint32_t icvLength = 16;    // 8, 12 or 16 (GCM); 16 otherwise
  bool gmac = false;          // RFC 4543: authenticate only
  bool encrypt = true;
};

// Outbound state, owned by JS as a BigUint64Array: [last sequence number used, next IV
// counter, flags]. The sequence number is the 64-bit ESN value, or the 32-bit one.
struct SenderState {
  uint64_t seq;
  uint64_t ivCounter;
  uint64_t flags;
};
constexpr uint64_t kIvExhausted = 1;

constexpr size_t kHeaderLength = 8;   // SPI | Seq
constexpr size_t kIvLength = 8;       // explicit IV of all suites here
constexpr size_t kMaxPacket = 1 << 24;  // far above any IP packet; keeps lengths in 32 bits
constexpr uint64_t kMaxSeq64 = (1ULL << 53) - 1;  // the JS side's integer limit (esn.ts)

class EspSa {
 public:
  // Returns nullptr and sets *error on bad parameters. `key` includes the 4-byte salt.
  static EspSa* Create(const char* cipherName, const uint8_t* key, size_t keyLength, const SaParams& p,
                       const char** error);
  ~EspSa();
  EspSa(const EspSa&) = delete;
  EspSa& operator=(const EspSa&) = delete;

  const SaParams& params() const { return p_; }
  size_t overhead() const { return kHeaderLength + kIvLength + p_.icvLength; }
  // Wire length for a payload of n bytes, or 0 when it exceeds kMaxPacket.
  size_t PacketLength(size_t n) const;

  // Takes the next sequence number and IV from `st` (RFC 4303 §3.3.3, RFC 6054), or kExhausted
  // with nothing consumed.
  int32_t Advance(SenderState& st, uint64_t* seq, uint64_t* iv) const;
  // Builds one packet at out (PacketLength(n) bytes, checked by the caller) for a seq/IV pair.
  int32_t Build(uint64_t seq, uint64_t iv, const uint8_t* payload, size_t n, uint8_t nextHeader, uint8_t* out);
  // Builds one packet at out[0, cap): assigns the next sequence number and IV from `st`.
  int32_t Encap(SenderState& st, const uint8_t* payload, size_t n, uint8_t nextHeader, uint8_t* out, size_t cap,
                size_t* written);
  // Verifies and decrypts one packet (SPI first); the plaintext payload lands at out[0..).
  // seqHi < 0: no ESN. On kOk/kDummy/kBadPadding the ICV verified.
  int32_t Decap(const uint8_t* pkt, size_t n, int64_t seqHi, uint8_t* out, size_t cap, uint32_t* payloadLength,
                uint8_t* nextHeader);

 private:
  EspSa() = default;
  int32_t Seal(uint8_t* pkt, size_t ptEnd, int64_t seqHi);
  int32_t Open(const uint8_t* pkt, size_t ctEnd, int64_t seqHi, uint8_t* out);
  bool StartPacket(const uint8_t* pkt, int64_t seqHi, size_t aadEnd);
  bool FastStart(const uint8_t* pkt, int64_t seqHi, size_t aadEnd);

  std::unique_ptr<FastGcm> fast_;  // AES-GCM/GMAC without EVP dispatch, when available
  EVP_CIPHER* cipher_ = nullptr;
  EVP_CIPHER_CTX* ctx_ = nullptr;
  uint8_t nonce_[12] = {};  // salt(4) || IV(8) (RFC 4106 §4, RFC 7634 §2)
  SaParams p_;
};

}  // namespace gkm
