#include "datapath.h"

#include <algorithm>

namespace gkm {
namespace {

constexpr size_t kAlign = 8;  // packets start 8-aligned in the output buffer
constexpr size_t kMax16 = 0xffff;

size_t AlignUp(size_t n) { return (n + kAlign - 1) & ~(kAlign - 1); }

uint32_t Get32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Reserves n bytes at out.pos (aligned); null, with out.needed set, when they do not fit.
uint8_t* Reserve(BurstOut& out, size_t n) {
  const size_t at = AlignUp(out.pos);
  if (at > out.length || n > out.length - at) {
    out.needed = n;
    return nullptr;
  }
  out.pos = at;
  return out.data + at;
}

// Room for the header of a transport packet rebuilt here, or 0 when TypeScript rebuilds it
// (no header given, unusual lengths or addresses): the outer header, or one synthesized for
// ESP over UDP as modes/transport.ts does.
size_t TransportRoom(const Span* h, const uint8_t* addr) {
  if (h == nullptr) return 0;
  const uint8_t version = addr[36];
  const size_t fixed = version == 4 ? 20 : 40;
  if (version != 4 && version != 6) return 0;
  if (h->data == nullptr) return addr[0] == (version == 4 ? 4 : 16) && addr[1] == addr[0] ? fixed : 0;
  const size_t field = Get16(addr + 2);
  if (h->length < fixed || h->length > 1024 || field >= h->length || (version == 4 && h->length % 4 != 0)) return 0;
  return h->length;
}

// modes/transport.ts input: the header, the payload, Next Header in the protocol field,
// lengths (and IPv4 checksum) fixed, then the strict parse of the result.
int32_t RebuildTransport(const Span* h, const uint8_t* addr, uint8_t nh, uint8_t* buf, size_t hl, size_t length,
                         IpInfo* info) {
  const uint8_t version = addr[36];
  const size_t total = hl + length;
  size_t field = Get16(addr + 2);
  if (h->data != nullptr) {
    std::memcpy(buf, h->data, hl);
  } else {
    OuterFields f{};
    f.addrLength = addr[0];
    f.dst = addr + 4;
    f.src = addr + 20;
    f.tos = addr[37];
    f.ttl = addr[38];
    f.id = Get16(addr + 40);
    f.flowLabel = Get32(addr + 44);
    WriteOuter(buf, hl, f);
    field = version == 4 ? 9 : 6;
  }
  buf[field] = nh;
  if (version == 4) {
    if (total > kMax16) return kIpMalformed;
    Put16(buf + 2, static_cast<uint32_t>(total));
    buf[10] = buf[11] = 0;
    Put16(buf + 10, IpChecksum(buf, hl));
  } else {
    if (total - 40 > kMax16) return kIpMalformed;
    Put16(buf + 4, static_cast<uint32_t>(total - 40));
  }
  return ParseIp(buf, total, true, info) ? kOk : kIpMalformed;
}

}  // namespace

int32_t Engine::Add(std::unique_ptr<Slot> slot) {
  int32_t id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
    slots_[id] = std::move(slot);
  } else {
    id = static_cast<int32_t>(slots_.size());
    slots_.push_back(std::move(slot));
  }
  Slot* s = slots_[id].get();
  if (s->outbound) outbound_.insert(outbound_.begin(), id);
  else inbound_[s->spi].push_back(id);
  return id;
}

bool Engine::Remove(int32_t id) {
  Slot* s = Get(id);
  if (s == nullptr) return false;
  if (s->outbound) {
    outbound_.erase(std::remove(outbound_.begin(), outbound_.end(), id), outbound_.end());
  } else {
    auto it = inbound_.find(s->spi);
    if (it != inbound_.end()) {
      auto& v = it->second;
      v.erase(std::remove(v.begin(), v.end(), id), v.end());
      if (v.empty()) inbound_.erase(it);
    }
  }
  touched_.erase(std::remove(touched_.begin(), touched_.end(), id), touched_.end());
  slots_[id].reset();
  free_.push_back(id);
  return true;
}

// sad.ts selectOutbound: the newest active, live SA whose selectors match.
Slot* Engine::SelectOutbound(const Flow& f, double now, int32_t* id) {
  for (int32_t k : outbound_) {
    Slot* s = slots_[k].get();
    if (s->activateAt <= now && now < s->removeAt && s->selectors.Match(f)) {
      *id = k;
      return s;
    }
  }
  return nullptr;
}

// sad.ts lookupInbound: SPI+dst+src, then SPI+dst, then SPI (RFC 5374 §3.3).
Slot* Engine::LookupInbound(uint32_t spi, const uint8_t* addr, double now, int32_t* id) {
  auto it = inbound_.find(spi);
  if (it == inbound_.end()) return nullptr;
  Slot* best = nullptr;
  int rank = 0;
  for (int32_t k : it->second) {
    Slot* s = slots_[k].get();
    int r = 0;
    if (s->scope == Scope::kSpi) r = 1;
    else if (s->keyDst.Same(addr + 4, addr[0])) r = s->scope == Scope::kSpiDst ? 2 : s->keySrc.Same(addr + 20, addr[1]) ? 3 : 0;
    if (r > rank && now < s->removeAt) {
      best = s;
      rank = r;
      *id = k;
    }
  }
  return best;
}

void Engine::Touch(int32_t id, Slot* s) {
  if (s->touched) return;
  s->touched = true;
  touched_.push_back(id);
}

bool Engine::Charge(int32_t id, Slot* s, double bytes, bool bytesKnown, double now) {
  Touch(id, s);
  s->budgetPackets -= 1;
  if (bytesKnown) s->budgetBytes -= bytes;
  // Unknown bytes (TypeScript finishes the packet): stop whenever a byte limit exists.
  const bool bytesOut = bytesKnown ? s->budgetBytes <= 0 : s->budgetBytes != std::numeric_limits<double>::infinity();
  return s->budgetPackets <= 0 || bytesOut || now >= s->deadline;
}

uint32_t Engine::Drain(double* acc, size_t capacity) {
  uint32_t n = 0;
  for (int32_t id : touched_) {
    Slot* s = Get(id);
    if (s == nullptr || n + 1 > capacity / 4) continue;
    acc[4 * n] = id;
    acc[4 * n + 1] = s->accPackets;
    acc[4 * n + 2] = s->accBytes;
    acc[4 * n + 3] = s->accDummies;
    s->accPackets = s->accBytes = s->accDummies = 0;
    s->touched = false;
    n++;
  }
  touched_.clear();
  return n;
}

// ---------------------------------------------------------------- outbound

int32_t Engine::EncryptOne(Slot* s, const Span& p, const IpInfo& info, BurstOut& out, int32_t* r) {
  const bool transport = s->mode == Mode::kTransport;
  // ESP is applied before fragmentation (RFC 4301 §7): no fragment in transport mode.
  if (transport && IsIpv4Fragment(info)) return kIpMalformed;
  const bool preserve = s->mode == Mode::kPreserve;
  const uint8_t outerLength = transport ? info.addrLength() : preserve ? info.addrLength() : s->tunnelDst.length;
  const size_t hl = transport ? info.payloadOffset : outerLength == 4 ? 20 : 40;
  const uint8_t* payload = transport ? p.data + hl : p.data;
  const size_t n = transport ? info.length - hl : info.length;
  const size_t total = hl + s->esp->PacketLength(n);
  uint8_t* dst = Reserve(out, total);
  if (dst == nullptr) return kNoRoom;
  uint64_t seq = 0, iv = 0;
  if (s->esp->Advance(s->st, &seq, &iv) != kOk) return kExhausted;
  // outer.ts takes an Identification before writeIpv4 checks the length: so do we.
  const uint16_t id = !transport && outerLength == 4 ? s->nextId : 0;
  if (!transport && outerLength == 4) s->nextId = static_cast<uint16_t>(s->nextId + 1);
  const bool v4 = transport ? info.version == 4 : outerLength == 4;
  if (v4 ? total > kMax16 : total - 40 > kMax16) return kIpMalformed;  // RFC 791 / RFC 8200 length fields
  const uint8_t nh = transport ? info.protocol : info.version == 4 ? proto::kIpv4 : proto::kIpv6;
  const int32_t b = s->esp->Build(seq, iv, payload, n, nh, dst + hl);
  if (b != kOk) return b;
  if (transport) {
    std::memcpy(dst, p.data, hl);
    dst[info.protocolField] = proto::kEsp;
    if (v4) {
      Put16(dst + 2, static_cast<uint32_t>(total));
      dst[10] = dst[11] = 0;
      Put16(dst + 10, IpChecksum(dst, info.headerLength));
    } else {
      Put16(dst + 4, static_cast<uint32_t>(total - 40));
    }
  } else {
    OuterFields f{};
    f.addrLength = outerLength;
    f.src = preserve ? info.src : s->tunnelSrc.bytes;
    f.dst = preserve ? info.dst : s->tunnelDst.bytes;
    f.tos = info.tos;
    // Preserved multicast keeps the inner TTL (its scope); a plain tunnel starts afresh.
    f.ttl = preserve ? info.ttl : s->ttl;
    f.fragment = info.version == 4 ? info.fragment & 0x4000 : 0;  // DF only
    f.id = id;
    f.flowLabel = info.flowLabel;
    WriteOuter(dst, total, f);
  }
  r[2] = static_cast<int32_t>(out.pos);
  r[3] = static_cast<int32_t>(total);
  r[4] = static_cast<int32_t>(hl);
  out.pos += total;
  return kOk;
}

uint32_t Engine::Encrypt(const Span* in, uint32_t count, double now, BurstOut& out, int32_t* res) {
  for (uint32_t i = 0; i < count; i++) {
    int32_t* r = res + kOutStride * i;
    r[1] = -1;
    IpInfo info;
    if (!ParseIp(in[i].data, in[i].length, true, &info)) {
      r[0] = kIpMalformed;
      continue;
    }
    int32_t id = -1;
    Slot* s = SelectOutbound(FlowOf(in[i].data, info), now, &id);
    if (s == nullptr) {
      r[0] = kNoSaFound;
      continue;
    }
    r[1] = id;
    if (s->mode == Mode::kSlow) {
      r[0] = kSlow;
      if (Charge(id, s, info.length, true, now)) return i + 1;
      continue;
    }
    r[0] = EncryptOne(s, in[i], info, out, r);
    if (r[0] == kNoRoom) return i;  // nothing consumed: the caller retries with room
    if (r[0] != kOk) continue;
    s->accPackets += 1;
    s->accBytes += info.length;
    if (Charge(id, s, info.length, true, now)) return i + 1;
  }
  return count;
}

// ---------------------------------------------------------------- inbound

int32_t Engine::DecryptOne(Slot* s, const Span& p, const Span* header, const uint8_t* addr, BurstOut& out, int32_t* r,
                           double* seqOut) {
  EspSa& esp = *s->esp;
  const size_t n = p.length;
  // esp/receiver.ts order: length and alignment, ESN, replay check, ICV, window, trailer.
  if (n > kMaxPacket || n < esp.overhead() + 2 || (n - esp.overhead()) % 4 != 0) return kMalformed;
  const uint32_t lo = Get32(p.data + 4);
  uint64_t seq = lo;
  int64_t hi = -1;
  *seqOut = lo;
  if (esp.params().sn == SnMode::kEsn) {
    hi = InferSeqHi(lo, s->window->top(), s->window->size());
    if (hi < 0) return kReplay;
    seq = (static_cast<uint64_t>(hi) << 32) | lo;
    *seqOut = static_cast<double>(seq);
    if (seq > kMaxSeq64) return kExhausted;
  }
  const uint32_t bits = s->senderIdBits;
  const int64_t sender = bits == 0 ? -1 : bits == 32 ? Get32(p.data + 8) : Get32(p.data + 8) >> (32 - bits);
  r[5] = static_cast<int32_t>(sender);
  const uint32_t sid = static_cast<uint32_t>(sender);
  if (s->perSender ? !s->perSender->Check(sid, seq) : s->checkReplay && !s->window->Check(seq)) return kReplay;
  const size_t ct = n - esp.overhead();
  const size_t room = s->mode == Mode::kTransport ? TransportRoom(header, addr) : 0;  // header goes first
  uint8_t* buf = Reserve(out, room + ct);
  if (buf == nullptr) return kNoRoom;
  uint8_t* pt = buf + room;
  uint32_t length = 0;
  uint8_t nh = 0;
  const int32_t st = esp.Decap(p.data, n, hi, pt, ct, &length, &nh);
  if (st != kOk && st != kDummy && st != kBadPadding) return st;
  if (s->perSender) s->perSender->Update(sid, seq);
  else if (s->window) s->window->Update(seq);
  if (st != kOk) return st;
  out.pos += room + ct;
  r[2] = static_cast<int32_t>(pt - out.data);
  r[3] = static_cast<int32_t>(length);
  r[4] = nh;
  IpInfo info;
  if (s->mode == Mode::kTransport) {
    if (room == 0) return kPayload;
    const int32_t t = RebuildTransport(header, addr, nh, buf, room, length, &info);
    if (t != kOk) return t;
    if (!s->selectors.Match(FlowOf(buf, info))) return kPolicy;
    r[2] = static_cast<int32_t>(buf - out.data);
    r[3] = static_cast<int32_t>(info.length);
    return kOk;
  }
  // modes/tunnel.ts input: NH 4/41, an inner header (TFC padding may follow it), same version.
  if (nh != proto::kIpv4 && nh != proto::kIpv6) return kMalformed;
  if (!ParseIp(pt, length, false, &info)) return kIpMalformed;
  if (info.version != (nh == proto::kIpv4 ? 4 : 6)) return kMalformed;
  if (s->mode == Mode::kPreserve && !(info.addrLength() == addr[1] && std::memcmp(info.src, addr + 20, addr[1]) == 0 &&
                                      info.addrLength() == addr[0] && std::memcmp(info.dst, addr + 4, addr[0]) == 0)) {
    return kPolicy;
  }
  if (!s->selectors.Match(FlowOf(pt, info))) return kPolicy;
  r[3] = static_cast<int32_t>(info.length);
  return kOk;
}

uint32_t Engine::Decrypt(const Span* in, const Span* headers, const uint8_t* addrs, uint32_t count, double now,
                         BurstOut& out, int32_t* res, double* seqs) {
  for (uint32_t i = 0; i < count; i++) {
    int32_t* r = res + kInStride * i;
    r[1] = -1;
    r[5] = -1;
    seqs[i] = 0;
    if (in[i].length < kHeaderLength) {
      r[0] = kShort;
      continue;
    }
    int32_t id = -1;
    const uint8_t* addr = addrs + kAddrStride * i;
    Slot* s = LookupInbound(Get32(in[i].data), addr, now, &id);
    if (s == nullptr) {
      r[0] = kNoSaFound;
      continue;
    }
    r[1] = id;
    if (s->mode == Mode::kSlow) {
      r[0] = kSlow;
      if (Charge(id, s, 0, false, now)) return i + 1;
      continue;
    }
    const size_t pos = out.pos;
    r[0] = DecryptOne(s, in[i], headers == nullptr ? nullptr : headers + i, addr, out, r, seqs + i);
    if (r[0] == kNoRoom) {
      out.pos = pos;
      return i;  // checked before anything changed: retried with room
    }
    if (r[0] == kDummy) {
      s->accDummies += 1;
      Touch(id, s);
    } else if (r[0] == kOk) {
      s->accPackets += 1;
      s->accBytes += r[3];
      if (Charge(id, s, r[3], true, now)) return i + 1;
    } else if (r[0] == kPayload) {
      if (Charge(id, s, 0, false, now)) return i + 1;
    }
  }
  return count;
}

}  // namespace gkm
