// Traffic selectors (RFC 4301 §4.4.1, RFC 7296 §3.13.1) as src/datapath/selector.ts matches
// them: address ranges of one family, protocol (0: any), inclusive port ranges.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "ip.h"

namespace gkm {

struct Selector {
  uint8_t srcLength, dstLength;  // 4 or 16
  uint8_t protocol;              // 0: any
  bool anySrcPort, anyDstPort;   // absent or 0..65535: matches even a packet without ports
  uint16_t srcPorts[2], dstPorts[2];
  uint8_t src[2][16], dst[2][16];  // [start, end]
};

// The serialized form TS writes (src/datapath/providers/native/engine.ts), per selector.
constexpr size_t kSelectorRecord = 76;

inline bool InRange(const uint8_t* a, uint8_t n, uint8_t rn, const uint8_t (*r)[16]) {
  return n == rn && std::memcmp(a, r[0], n) >= 0 && std::memcmp(a, r[1], n) <= 0;
}

inline bool PortIn(int32_t port, bool any, const uint16_t* r) { return any || (port >= r[0] && port <= r[1]); }

inline bool Matches(const Selector& s, const Flow& f) {
  return InRange(f.src, f.addrLength, s.srcLength, s.src) && InRange(f.dst, f.addrLength, s.dstLength, s.dst) &&
         (s.protocol == 0 || s.protocol == f.protocol) && PortIn(f.srcPort, s.anySrcPort, s.srcPorts) &&
         PortIn(f.dstPort, s.anyDstPort, s.dstPorts);
}

// A selector list; `any` (no list) matches every flow, an empty list none.
struct SelectorList {
  bool any = true;
  std::vector<Selector> list;
  bool Match(const Flow& f) const {
    if (any) return true;
    for (const auto& s : list) {
      if (Matches(s, f)) return true;
    }
    return false;
  }
};

// Parses `count` records; false on a bad family.
inline bool ReadSelectors(const uint8_t* p, size_t n, SelectorList* out) {
  out->list.clear();
  for (size_t o = 0; o + kSelectorRecord <= n; o += kSelectorRecord) {
    Selector s{};
    const uint8_t* r = p + o;
    s.srcLength = r[0];
    s.dstLength = r[1];
    s.protocol = r[2];
    s.anySrcPort = (r[3] & 1) != 0;
    s.anyDstPort = (r[3] & 2) != 0;
    s.srcPorts[0] = Get16(r + 4);
    s.srcPorts[1] = Get16(r + 6);
    s.dstPorts[0] = Get16(r + 8);
    s.dstPorts[1] = Get16(r + 10);
    if ((s.srcLength != 4 && s.srcLength != 16) || (s.dstLength != 4 && s.dstLength != 16)) return false;
    std::memcpy(s.src[0], r + 12, 16);
    std::memcpy(s.src[1], r + 28, 16);
    std::memcpy(s.dst[0], r + 44, 16);
    std::memcpy(s.dst[1], r + 60, 16);
    out->list.push_back(s);
  }
  return n % kSelectorRecord == 0;
}

}  // namespace gkm
