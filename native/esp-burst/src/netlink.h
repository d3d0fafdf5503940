// One request/response exchange on a NETLINK_XFRM socket, optionally inside another network
// namespace. The messages themselves are built and parsed in TypeScript
// (src/datapath/providers/xfrm/); this only moves bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gkm {

struct NetlinkResult {
  int error = 0;                  // errno of the failed system call, 0 on success
  const char* syscall = nullptr;  // which call failed
  std::vector<uint8_t> reply;     // every reply message, up to the ack / NLMSG_DONE
};

// Sends `msg` (one or more complete nlmsghdr messages, each asking for an ack or a dump) to
// the kernel. `nsPath` (e.g. /run/netns/NAME) selects the namespace; nullptr: the current one.
NetlinkResult XfrmRequest(const char* nsPath, const uint8_t* msg, size_t length, int timeoutMs);

}  // namespace gkm
