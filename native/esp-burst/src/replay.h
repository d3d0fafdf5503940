// Anti-replay (RFC 4303 §3.4.3, Appendix A; RFC 6479) with the exact semantics of
// src/datapath/replay.ts, the reference: `Check` before the ICV, `Update` only after it
// verified. Sequence numbers are below 2^53 (the JS side's integer limit).
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

namespace gkm {

class ReplayWindow {
 public:
  // kind 0: RFC 4303 A shift window of exactly `size`; 1: RFC 6479 ring of `size` = (N-1)*32.
  ReplayWindow(uint8_t kind, uint32_t size);
  uint32_t size() const { return size_; }
  uint64_t top() const { return top_; }
  bool Check(uint64_t seq) const;
  void Update(uint64_t seq);
  void Reset(uint64_t top);

 private:
  void Shift(uint64_t d);
  bool ring_;
  uint32_t size_;
  uint64_t mask_ = 0;
  uint64_t top_ = 0;
  std::vector<uint32_t> words_;
};

struct ReplaySpec {
  uint8_t kind = 1;
  uint32_t size = 0;
};

// Per-sender windows of a multi-sender group SA (RFC 9838 §2.6), keyed by the RFC 6054
// Sender-ID; created after an authenticated packet, at most maxSenders.
class PerSenderReplay {
 public:
  PerSenderReplay(ReplaySpec spec, uint32_t maxSenders) : spec_(spec), max_(maxSenders) {}
  bool Check(uint32_t sender, uint64_t seq) const;
  void Update(uint32_t sender, uint64_t seq);

 private:
  ReplaySpec spec_;
  uint32_t max_;
  std::unordered_map<uint32_t, std::unique_ptr<ReplayWindow>> windows_;
};

// RFC 4303 A.2.1 Seqh for a window top and size; -1: below sequence number 0 (a replay).
int64_t InferSeqHi(uint32_t seqLo, uint64_t top, uint32_t w);

}  // namespace gkm
