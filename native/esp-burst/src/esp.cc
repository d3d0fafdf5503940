#include "esp.h"

#include <openssl/crypto.h>

#include <climits>
#include <cstring>

namespace gkm {
namespace {

struct CipherInfo {
  const char* name;  // OpenSSL (and node:crypto) name, as suite.ts emits it
  size_t keyLength;  // without the salt
  bool gcm;
};

constexpr CipherInfo kCiphers[] = {
    {"aes-128-gcm", 16, true},
    {"aes-192-gcm", 24, true},
    {"aes-256-gcm", 32, true},
    {"chacha20-poly1305", 32, false},
};
constexpr size_t kSaltLength = 4;
constexpr uint8_t kNhDummy = 59;

void Put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

uint32_t Get32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// [a, a+n) and [b, b+n) share a byte without being the same range.
bool PartlyOverlaps(const uint8_t* a, const uint8_t* b, size_t n) {
  if (a == b || n == 0) return false;
  auto x = reinterpret_cast<uintptr_t>(a);
  auto y = reinterpret_cast<uintptr_t>(b);
  return x < y + n && y < x + n;
}

// Next outbound sequence number (RFC 4303 §3.3.3: never cycle; SN value 2 wraps, skipping 0).
bool NextSeq(SnMode sn, uint64_t last, uint64_t* next) {
  switch (sn) {
    case SnMode::kUnspecified32:
      *next = last >= 0xffffffffULL ? 1 : last + 1;
      return true;
    case SnMode::kSeq32:
      if (last >= 0xffffffffULL) return false;
      break;
    case SnMode::kEsn:
      if (last >= kMaxSeq64) return false;
      break;
  }
  *next = last + 1;
  return true;
}

}  // namespace

EspSa* EspSa::Create(const char* cipherName, const uint8_t* key, size_t keyLength, const SaParams& p,
                     const char** error) {
  const CipherInfo* info = nullptr;
  for (const auto& c : kCiphers) {
    if (std::strcmp(c.name, cipherName) == 0) info = &c;
  }
  if (info == nullptr) return *error = "unsupported cipher", nullptr;
  if (keyLength != info->keyLength + kSaltLength) return *error = "key length (with the 4-byte salt)", nullptr;
  const bool icvOk = info->gcm ? (p.icvLength == 8 || p.icvLength == 12 || p.icvLength == 16) : p.icvLength == 16;
  if (!icvOk) return *error = "ICV length", nullptr;
  if (p.gmac && !info->gcm) return *error = "GMAC needs AES", nullptr;
  if (p.sn > SnMode::kUnspecified32 || p.iv > IvMode::kCounter) return *error = "sequence or IV mode", nullptr;
  if (p.senderIdBits > 32 || (p.senderIdBits < 32 && p.senderId >> p.senderIdBits != 0)) {
    return *error = "Sender-ID does not fit its bits", nullptr;
  }
  if (p.tfcPadTo > 65000) return *error = "TFC padding length", nullptr;

  EspSa* sa = new EspSa();
  sa->p_ = p;
  const int enc = p.encrypt ? 1 : 0;
  sa->cipher_ = EVP_CIPHER_fetch(nullptr, info->name, nullptr);
  sa->ctx_ = EVP_CIPHER_CTX_new();
  if (sa->cipher_ == nullptr || sa->ctx_ == nullptr ||
      EVP_CipherInit_ex(sa->ctx_, sa->cipher_, nullptr, nullptr, nullptr, enc) != 1 ||
      EVP_CIPHER_CTX_ctrl(sa->ctx_, EVP_CTRL_AEAD_SET_IVLEN, sizeof sa->nonce_, nullptr) != 1 ||
      EVP_CipherInit_ex(sa->ctx_, nullptr, nullptr, key, nullptr, enc) != 1) {
    delete sa;
    return *error = "OpenSSL could not set up the cipher", nullptr;
  }
  std::memcpy(sa->nonce_, key + info->keyLength, kSaltLength);
  if (info->gcm) sa->fast_ = FastGcm::Create(key, info->keyLength);
  return sa;
}

EspSa::~EspSa() {
  EVP_CIPHER_CTX_free(ctx_);  // cleanses the key schedule
  EVP_CIPHER_free(cipher_);
  OPENSSL_cleanse(nonce_, sizeof nonce_);
}

size_t EspSa::PacketLength(size_t n) const {
  if (n > kMaxPacket) return 0;
  const size_t body = (n > p_.tfcPadTo ? n : p_.tfcPadTo) + 2;
  const size_t total = kHeaderLength + kIvLength + body + (4 - body % 4) % 4 + p_.icvLength;
  return total > kMaxPacket ? 0 : total;
}

// Loads the nonce and feeds the AAD: SPI | [SeqHi] | pkt[4, aadEnd) (RFC 4106 §5, RFC 4543 §3.3.2).
bool EspSa::StartPacket(const uint8_t* pkt, int64_t seqHi, size_t aadEnd) {
  std::memcpy(nonce_ + kSaltLength, pkt + kHeaderLength, kIvLength);
  if (EVP_CipherInit_ex(ctx_, nullptr, nullptr, nullptr, nonce_, -1) != 1) return false;
  int l = 0;
  if (seqHi < 0) return EVP_CipherUpdate(ctx_, nullptr, &l, pkt, static_cast<int>(aadEnd)) == 1;
  uint8_t head[12];
  std::memcpy(head, pkt, 4);
  Put32(head + 4, static_cast<uint32_t>(seqHi));
  std::memcpy(head + 8, pkt + 4, 4);
  if (EVP_CipherUpdate(ctx_, nullptr, &l, head, sizeof head) != 1) return false;
  return aadEnd == kHeaderLength || EVP_CipherUpdate(ctx_, nullptr, &l, pkt + kHeaderLength,
                                                      static_cast<int>(aadEnd - kHeaderLength)) == 1;
}

// FastGcm version of StartPacket: the same nonce and AAD.
bool EspSa::FastStart(const uint8_t* pkt, int64_t seqHi, size_t aadEnd) {
  std::memcpy(nonce_ + kSaltLength, pkt + kHeaderLength, kIvLength);
  if (seqHi < 0) return fast_->Start(nonce_, pkt, aadEnd, nullptr, 0);
  uint8_t head[12];
  std::memcpy(head, pkt, 4);
  Put32(head + 4, static_cast<uint32_t>(seqHi));
  std::memcpy(head + 8, pkt + 4, 4);
  return fast_->Start(nonce_, head, sizeof head, pkt + kHeaderLength, aadEnd - kHeaderLength);
}

int32_t EspSa::Seal(uint8_t* pkt, size_t ptEnd, int64_t seqHi) {
  const size_t ptStart = kHeaderLength + kIvLength;
  if (fast_) {
    if (!FastStart(pkt, seqHi, p_.gmac ? ptEnd : kHeaderLength)) return kCryptoError;
    if (!p_.gmac && !fast_->Encrypt(pkt + ptStart, pkt + ptStart, ptEnd - ptStart)) return kCryptoError;
    fast_->Tag(pkt + ptEnd, p_.icvLength);
    return kOk;
  }
  int l = 0;
  int fl = 0;
  if (!StartPacket(pkt, seqHi, p_.gmac ? ptEnd : kHeaderLength)) return kCryptoError;
  if (!p_.gmac && EVP_CipherUpdate(ctx_, pkt + ptStart, &l, pkt + ptStart, static_cast<int>(ptEnd - ptStart)) != 1) {
    return kCryptoError;
  }
  if (EVP_CipherFinal_ex(ctx_, pkt + ptStart + l, &fl) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(p_.icvLength), pkt + ptEnd) != 1) {
    return kCryptoError;
  }
  return kOk;
}

int32_t EspSa::Advance(SenderState& st, uint64_t* seq, uint64_t* iv) const {
  const unsigned bits = p_.senderIdBits;
  const bool counter = p_.iv == IvMode::kCounter;
  // Both spaces are checked before either advances, so a refused packet consumes nothing.
  if (counter && ((st.flags & kIvExhausted) != 0 || (bits > 0 && st.ivCounter >> (64 - bits) != 0))) {
    return kExhausted;
  }
  if (!NextSeq(p_.sn, st.seq, seq)) return kExhausted;
  st.seq = *seq;
  *iv = *seq;
  if (counter) {
    // RFC 6054 §3: Sender-ID in the top `bits` bits, the per-sender counter below.
    *iv = bits == 0 ? st.ivCounter : (uint64_t{p_.senderId} << (64 - bits)) | st.ivCounter;
    if (++st.ivCounter == 0) st.flags |= kIvExhausted;
  }
  return kOk;
}

int32_t EspSa::Build(uint64_t seq, uint64_t iv, const uint8_t* payload, size_t n, uint8_t nextHeader, uint8_t* out) {
  const size_t ptStart = kHeaderLength + kIvLength;
  const size_t tfc = p_.tfcPadTo > n ? p_.tfcPadTo - n : 0;
  const size_t body = n + tfc + 2;
  const size_t pad = (4 - body % 4) % 4;
  const size_t ptEnd = ptStart + body + pad;
  std::memmove(out + ptStart, payload, n);  // first: the payload may sit inside `out`
  std::memset(out + ptStart + n, 0, tfc);
  for (size_t k = 0; k < pad; k++) out[ptStart + n + tfc + k] = static_cast<uint8_t>(k + 1);
  out[ptEnd - 2] = static_cast<uint8_t>(pad);
  out[ptEnd - 1] = nextHeader;
  Put32(out, p_.spi);
  Put32(out + 4, static_cast<uint32_t>(seq));
  Put32(out + 8, static_cast<uint32_t>(iv >> 32));
  Put32(out + 12, static_cast<uint32_t>(iv));
  return Seal(out, ptEnd, p_.sn == SnMode::kEsn ? static_cast<int64_t>(seq >> 32) : -1);
}

int32_t EspSa::Encap(SenderState& st, const uint8_t* payload, size_t n, uint8_t nextHeader, uint8_t* out,
                     size_t cap, size_t* written) {
  const size_t total = PacketLength(n);
  if (total == 0) return kMalformed;
  if (total > cap) return kNoRoom;
  uint64_t seq = 0;
  uint64_t iv = 0;
  int32_t r = Advance(st, &seq, &iv);
  if (r == kOk) r = Build(seq, iv, payload, n, nextHeader, out);
  if (r != kOk) return r;
  *written = total;
  return kOk;
}

int32_t EspSa::Open(const uint8_t* pkt, size_t ctEnd, int64_t seqHi, uint8_t* out) {
  const size_t ptStart = kHeaderLength + kIvLength;
  const size_t ctLength = ctEnd - ptStart;
  if (fast_) {
    if (!FastStart(pkt, seqHi, p_.gmac ? ctEnd : kHeaderLength)) return kCryptoError;
    if (!p_.gmac && !fast_->Decrypt(pkt + ptStart, out, ctLength)) return kCryptoError;
    if (!fast_->Verify(pkt + ctEnd, p_.icvLength)) {
      if (!p_.gmac) OPENSSL_cleanse(out, ctLength);  // never leave unverified plaintext behind
      return kAuthFailed;
    }
    if (p_.gmac) std::memmove(out, pkt + ptStart, ctLength);
    return kOk;
  }
  // OpenSSL copies the expected tag; it does not write through this pointer.
  void* tag = const_cast<uint8_t*>(pkt + ctEnd);
  if (!StartPacket(pkt, seqHi, p_.gmac ? ctEnd : kHeaderLength) ||
      EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(p_.icvLength), tag) != 1) {
    return kCryptoError;
  }
  int l = 0;
  int fl = 0;
  if (!p_.gmac && EVP_CipherUpdate(ctx_, out, &l, pkt + ptStart, static_cast<int>(ctLength)) != 1) {
    return kCryptoError;
  }
  if (EVP_CipherFinal_ex(ctx_, out + l, &fl) != 1) {
    if (!p_.gmac) OPENSSL_cleanse(out, ctLength);  // never leave unverified plaintext behind
    return kAuthFailed;
  }
  if (p_.gmac) std::memmove(out, pkt + ptStart, ctLength);
  return kOk;
}

int32_t EspSa::Decap(const uint8_t* pkt, size_t n, int64_t seqHi, uint8_t* out, size_t cap,
                     uint32_t* payloadLength, uint8_t* nextHeader) {
  if (n > kMaxPacket || n < overhead() + 2) return kMalformed;
  const size_t ctLength = n - overhead();
  if (ctLength % 4 != 0) return kMalformed;  // RFC 4303 §2.4: 4-octet alignment
  if (Get32(pkt) != p_.spi) return kNoSa;
  const uint8_t* ct = pkt + kHeaderLength + kIvLength;
  if (ctLength > cap || PartlyOverlaps(out, ct, ctLength)) return kNoRoom;
  const int32_t r = Open(pkt, kHeaderLength + kIvLength + ctLength, seqHi, out);
  if (r != kOk) return r;
  // Trailer (RFC 4303 §2.4): padding must be 1, 2, 3, ...
  const size_t pad = out[ctLength - 2];
  if (pad > ctLength - 2) return kBadPadding;
  const size_t payload = ctLength - 2 - pad;
  for (size_t k = 0; k < pad; k++) {
    if (out[payload + k] != k + 1) return kBadPadding;
  }
  *payloadLength = static_cast<uint32_t>(payload);
  *nextHeader = out[ctLength - 1];
  return *nextHeader == kNhDummy ? kDummy : kOk;
}

}  // namespace gkm
