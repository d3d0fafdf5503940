#include "replay.h"

#include <algorithm>

namespace gkm {

ReplayWindow::ReplayWindow(uint8_t kind, uint32_t size) : ring_(kind == 1), size_(size) {
  if (ring_) {
    const uint32_t words = size / 32 + 1;  // size = (N-1)*32, N a power of two
    words_.assign(words, 0);
    mask_ = words - 1;
  } else {
    words_.assign((size + 31) / 32, 0);
  }
}

bool ReplayWindow::Check(uint64_t seq) const {
  if (seq == 0) return false;
  if (seq > top_) return true;
  if (ring_) {
    if (seq + size_ <= top_) return false;
    return (words_[(seq / 32) & mask_] & (1u << (seq & 31))) == 0;
  }
  const uint64_t diff = top_ - seq;
  if (diff >= size_) return false;
  return (words_[diff >> 5] & (1u << (diff & 31))) == 0;
}

void ReplayWindow::Update(uint64_t seq) {
  if (ring_) {
    if (seq > top_) {
      const uint64_t topIdx = top_ / 32;
      const uint64_t clear = std::min<uint64_t>(seq / 32 - topIdx, words_.size());
      for (uint64_t i = 1; i <= clear; i++) words_[(topIdx + i) & mask_] = 0;
      top_ = seq;
    } else if (seq + size_ <= top_) {
      return;
    }
    words_[(seq / 32) & mask_] |= 1u << (seq & 31);
    return;
  }
  if (seq > top_) {
    Shift(seq - top_);
    top_ = seq;
  }
  const uint64_t diff = top_ - seq;
  if (diff < size_) words_[diff >> 5] |= 1u << (diff & 31);
}

void ReplayWindow::Shift(uint64_t d) {
  if (d >= size_) {
    std::fill(words_.begin(), words_.end(), 0u);
    return;
  }
  const size_t wordShift = static_cast<size_t>(d >> 5);
  const unsigned bitShift = static_cast<unsigned>(d & 31);
  for (size_t k = words_.size(); k-- > 0;) {
    const uint32_t cur = k >= wordShift ? words_[k - wordShift] : 0;
    const uint32_t below = k >= wordShift + 1 ? words_[k - wordShift - 1] : 0;
    words_[k] = bitShift == 0 ? cur : (cur << bitShift) | (below >> (32 - bitShift));
  }
}

void ReplayWindow::Reset(uint64_t top) {
  std::fill(words_.begin(), words_.end(), 0u);
  top_ = top;
}

bool PerSenderReplay::Check(uint32_t sender, uint64_t seq) const {
  const auto it = windows_.find(sender);
  if (it != windows_.end()) return it->second->Check(seq);
  return seq != 0 && windows_.size() < max_;
}

void PerSenderReplay::Update(uint32_t sender, uint64_t seq) {
  auto it = windows_.find(sender);
  if (it == windows_.end()) {
    if (windows_.size() >= max_) return;
    it = windows_.emplace(sender, std::make_unique<ReplayWindow>(spec_.kind, spec_.size)).first;
  }
  it->second->Update(seq);
}

int64_t InferSeqHi(uint32_t seqLo, uint64_t top, uint32_t w) {
  const int64_t th = static_cast<int64_t>(top >> 32);
  const int64_t tl = static_cast<int64_t>(top & 0xffffffffULL);
  const int64_t lo = seqLo;
  if (tl >= int64_t{w} - 1) return lo >= tl - w + 1 ? th : th + 1;  // case A: one subspace
  const int64_t bottom = tl - w + 1 + (int64_t{1} << 32);              // case B: spans two
  return lo >= bottom ? th - 1 : th;
}

}  // namespace gkm
