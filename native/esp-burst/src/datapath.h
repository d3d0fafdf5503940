// The per-packet fast path of the `native` provider: for a burst, IP parsing, outbound SA
// selection by traffic selector (newest active SA first, RFC 5374 §4.2.1 rollover), tunnel /
// tunnel-preserve / transport headers (RFC 4303 §3.1), ESP + AEAD in one pass into one
// output buffer; inbound, SPI demux with RFC 5374 §3.3 longest match, ESN inference,
// anti-replay (check before the ICV, update after), decryption, trailer, the inner packet
// (tunnel: its header checked; transport: rebuilt behind the outer header), selectors
// (RFC 4301 §5.2). TypeScript (src/datapath/providers/native/engine.ts)
// owns the SAD and lifetimes: it registers SAs here, gives each a budget of packets/bytes
// until its next lifetime event, and a burst stops right after the packet that uses one up,
// so events fire at the same packet as in the userspace provider. Every offset and length is
// checked; per-packet results are Status codes, never exceptions.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <unordered_map>
#include <vector>

#include "esp.h"
#include "ip.h"
#include "replay.h"
#include "selector.h"

namespace gkm {

enum class Mode : uint8_t { kTransport = 0, kTunnel = 1, kPreserve = 2, kSlow = 3 };
// RFC 5374 §3.3 lookup scope of an inbound SA.
enum class Scope : uint8_t { kSpi = 0, kSpiDst = 1, kSpiDstSrc = 2 };

struct Addr {
  uint8_t length = 0;  // 4 or 16; 0: none
  uint8_t bytes[16] = {};
  bool Same(const uint8_t* a, uint8_t n) const { return n == length && std::memcmp(a, bytes, n) == 0; }
};

struct Slot {
  std::unique_ptr<EspSa> esp;  // null for kSlow (ESP runs in the TypeScript path)
  bool outbound = true;
  Mode mode = Mode::kSlow;
  Addr tunnelSrc, tunnelDst;  // kTunnel
  uint8_t ttl = 64;
  uint16_t nextId = 1;  // IPv4 Identification of outer headers we originate (outer.ts Ipv4Ids)
  SenderState st{};
  // Inbound.
  uint32_t spi = 0;
  Scope scope = Scope::kSpi;
  Addr keyDst, keySrc;
  std::unique_ptr<ReplayWindow> window;  // also drives ESN inference
  bool checkReplay = false;
  std::unique_ptr<PerSenderReplay> perSender;
  uint32_t senderIdBits = 0;
  SelectorList selectors;
  // Lifecycle (provider clock, ms) and budget until the next lifetime event.
  double activateAt = 0;
  double removeAt = std::numeric_limits<double>::infinity();
  double deadline = std::numeric_limits<double>::infinity();
  double budgetPackets = std::numeric_limits<double>::infinity();
  double budgetBytes = std::numeric_limits<double>::infinity();
  // Counters since the last drain.
  double accPackets = 0, accBytes = 0, accDummies = 0;
  bool touched = false;
};

struct Span {
  const uint8_t* data;
  size_t length;
};

// Results per packet. Outbound: [status, slot, offset, length, espOffset].
constexpr size_t kOutStride = 5;
// Inbound: [status, slot, offset, length, nextHeader, senderId]; seq in a double array.
constexpr size_t kInStride = 6;
// Inbound outer view per packet (modes/types.ts OuterView): [dstLength, srcLength,
// protocolField (u16 BE), dst(16), src(16), version, tos, ttl, 0, id (u16 BE), 0, 0,
// flowLabel (u32 BE)]; lengths are 0 for anything but 4 or 16 bytes.
constexpr size_t kAddrStride = 48;

struct BurstOut {
  uint8_t* data;
  size_t length;
  size_t pos;     // in/out: next free byte
  size_t needed;  // set when the burst stopped for room: bytes the next packet needs
};

class Engine {
 public:
  int32_t Add(std::unique_ptr<Slot> slot);
  bool Remove(int32_t id);
  Slot* Get(int32_t id) { return id >= 0 && static_cast<size_t>(id) < slots_.size() ? slots_[id].get() : nullptr; }
  size_t capacity() const { return slots_.size(); }

  // Both return how many packets were handled; fewer than `count` when a budget ran out
  // (after that packet) or the output buffer is full (before it: out.needed is set).
  uint32_t Encrypt(const Span* in, uint32_t count, double now, BurstOut& out, int32_t* res);
  // headers: the outer header per packet (data null: ESP came over UDP), or null; only
  // transport input reads it, to rebuild the packet (RFC 4303 §3.4).
  uint32_t Decrypt(const Span* in, const Span* headers, const uint8_t* addrs, uint32_t count, double now,
                   BurstOut& out, int32_t* res, double* seqs);
  // Writes [slot, packets, bytes, dummies] per touched slot and clears them; returns how many.
  uint32_t Drain(double* acc, size_t capacity);

 private:
  Slot* SelectOutbound(const Flow& f, double now, int32_t* id);
  Slot* LookupInbound(uint32_t spi, const uint8_t* addr, double now, int32_t* id);
  // Counts a packet on the slot's budget; true when the burst must stop after it.
  bool Charge(int32_t id, Slot* s, double bytes, bool bytesKnown, double now);
  void Touch(int32_t id, Slot* s);
  int32_t EncryptOne(Slot* s, const Span& p, const IpInfo& info, BurstOut& out, int32_t* r);
  int32_t DecryptOne(Slot* s, const Span& p, const Span* header, const uint8_t* addr, BurstOut& out, int32_t* r,
                     double* seq);

  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<int32_t> free_;
  std::vector<int32_t> outbound_;  // newest first (sad.ts order)
  std::unordered_map<uint32_t, std::vector<int32_t>> inbound_;
  std::vector<int32_t> touched_;
};

}  // namespace gkm
