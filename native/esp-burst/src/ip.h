// Strict IPv4 (RFC 791) / IPv6 (RFC 8200) header parsing and writing for the fast path. It
// mirrors src/datapath/modes/ip.ts check for check (the TypeScript codec is the reference),
// so both paths accept and reject the same packets.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gkm {

namespace proto {
constexpr uint8_t kHopOpts = 0, kIpv4 = 4, kTcp = 6, kUdp = 17, kIpv6 = 41, kRouting = 43, kFragment = 44,
                  kEsp = 50, kNone = 59, kSctp = 132, kUdpLite = 136;
}  // namespace proto

struct IpInfo {
  uint8_t version = 0;      // 4 or 6
  uint32_t length = 0;      // per the header
  uint32_t headerLength = 0;  // IHL*4, or 40
  uint32_t payloadOffset = 0;  // after IPv4 header / IPv6 HbH, Routing, Fragment (RFC 4303 §3.1)
  uint8_t protocol = 0;
  uint32_t protocolField = 0;
  uint8_t tos = 0;
  uint8_t ttl = 0;
  uint16_t id = 0;
  uint16_t fragment = 0;
  uint32_t flowLabel = 0;
  const uint8_t* src = nullptr;  // 4 or 16 bytes inside the packet
  const uint8_t* dst = nullptr;
  uint8_t addrLength() const { return version == 4 ? 4 : 16; }
};

// What traffic selectors match (RFC 4301 §4.4.1); ports -1 when absent.
struct Flow {
  const uint8_t* src;
  const uint8_t* dst;
  uint8_t addrLength;
  uint8_t protocol;
  int32_t srcPort;
  int32_t dstPort;
};

// RFC 1071 checksum over [p, p+n), n even.
uint16_t IpChecksum(const uint8_t* p, size_t n);
// False on any malformation (GKM_IP_MALFORMED). `exact`: the buffer ends where the header says.
bool ParseIp(const uint8_t* p, size_t n, bool exact, IpInfo* info);
Flow FlowOf(const uint8_t* p, const IpInfo& info);
inline bool IsIpv4Fragment(const IpInfo& i) { return i.version == 4 && (i.fragment & 0x3fff) != 0; }

inline void Put16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

// Outer header fields (RFC 4301 §5.1.2.1); protocol ESP.
struct OuterFields {
  const uint8_t* src;
  const uint8_t* dst;
  uint8_t addrLength;  // 4: IPv4 outer, 16: IPv6 outer
  uint8_t tos;
  uint8_t ttl;
  uint16_t fragment;
  uint16_t id;
  uint32_t flowLabel;
};
// Writes a 20- or 40-byte outer header for a packet of `total` bytes (checked by the caller).
void WriteOuter(uint8_t* p, size_t total, const OuterFields& f);

}  // namespace gkm
