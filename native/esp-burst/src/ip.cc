#include "ip.h"

#include <cstring>

namespace gkm {

uint16_t IpChecksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>((p[i] << 8) | p[i + 1]);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

namespace {

bool ParseIpv4(const uint8_t* p, size_t n, bool exact, IpInfo* i) {
  if (n < 20) return false;
  const uint32_t hl = (p[0] & 0x0fu) * 4;
  const uint32_t length = Get16(p + 2);
  if (hl < 20 || length < hl || length > n || (exact && length != n)) return false;
  if (IpChecksum(p, hl) != 0) return false;
  i->version = 4;
  i->length = length;
  i->headerLength = hl;
  i->payloadOffset = hl;
  i->protocol = p[9];
  i->protocolField = 9;
  i->tos = p[1];
  i->ttl = p[8];
  i->id = Get16(p + 4);
  i->fragment = Get16(p + 6);
  i->flowLabel = 0;
  i->src = p + 12;
  i->dst = p + 16;
  return true;
}

bool ParseIpv6(const uint8_t* p, size_t n, bool exact, IpInfo* i) {
  if (n < 40) return false;
  const uint32_t payloadLength = Get16(p + 4);
  const uint32_t length = 40 + payloadLength;
  // Payload Length 0 is a jumbogram (RFC 2675): not supported.
  if (payloadLength == 0 || length > n || (exact && length != n)) return false;
  uint32_t field = 6;
  uint32_t off = 40;
  uint8_t nh = p[6];
  // ESP follows Hop-by-Hop, Routing and Fragment headers (RFC 4303 §3.1.1).
  while (nh == proto::kHopOpts || nh == proto::kRouting || nh == proto::kFragment) {
    if (nh == proto::kHopOpts && off != 40) return false;
    if (off + 8 > length) return false;
    const uint32_t ext = nh == proto::kFragment ? 8 : (p[off + 1] + 1u) * 8;
    if (off + ext > length) return false;
    field = off;
    nh = p[off];
    off += ext;
  }
  const uint32_t w0 = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
  i->version = 6;
  i->length = length;
  i->headerLength = 40;
  i->payloadOffset = off;
  i->protocol = nh;
  i->protocolField = field;
  i->tos = static_cast<uint8_t>(w0 >> 20);
  i->ttl = p[7];
  i->id = 0;
  i->fragment = 0;
  i->flowLabel = w0 & 0xfffff;
  i->src = p + 8;
  i->dst = p + 24;
  return true;
}

}  // namespace

bool ParseIp(const uint8_t* p, size_t n, bool exact, IpInfo* info) {
  if (n < 1 || n > 0xffffff) return false;
  const unsigned v = p[0] >> 4;
  if (v == 4) return ParseIpv4(p, n, exact, info);
  if (v == 6) return ParseIpv6(p, n, exact, info);
  return false;
}

Flow FlowOf(const uint8_t* p, const IpInfo& i) {
  const uint8_t pr = i.protocol;
  const bool portProto = pr == proto::kTcp || pr == proto::kUdp || pr == proto::kSctp || pr == proto::kUdpLite;
  const bool ported = portProto && (i.version == 6 || (i.fragment & 0x1fff) == 0) && i.payloadOffset + 4 <= i.length;
  const uint8_t* q = p + i.payloadOffset;
  return {i.src, i.dst, i.addrLength(), pr, ported ? Get16(q) : -1, ported ? Get16(q + 2) : -1};
}

void WriteOuter(uint8_t* p, size_t total, const OuterFields& f) {
  if (f.addrLength == 4) {
    p[0] = 0x45;
    p[1] = f.tos;
    Put16(p + 2, static_cast<uint32_t>(total));
    Put16(p + 4, f.id);
    Put16(p + 6, f.fragment);
    p[8] = f.ttl;
    p[9] = proto::kEsp;
    p[10] = p[11] = 0;
    std::memcpy(p + 12, f.src, 4);
    std::memcpy(p + 16, f.dst, 4);
    Put16(p + 10, IpChecksum(p, 20));
    return;
  }
  const uint32_t w0 = (6u << 28) | (uint32_t{f.tos} << 20) | (f.flowLabel & 0xfffff);
  p[0] = static_cast<uint8_t>(w0 >> 24);
  p[1] = static_cast<uint8_t>(w0 >> 16);
  p[2] = static_cast<uint8_t>(w0 >> 8);
  p[3] = static_cast<uint8_t>(w0);
  Put16(p + 4, static_cast<uint32_t>(total - 40));
  p[6] = proto::kEsp;
  p[7] = f.ttl;
  std::memcpy(p + 8, f.src, 16);
  std::memcpy(p + 24, f.dst, 16);
}

}  // namespace gkm
