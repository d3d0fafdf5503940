#include "netlink.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace gkm {
namespace {

constexpr size_t kMaxReply = 4u << 20;  // bound on what one request may return
constexpr size_t kDatagram = 1u << 16;

struct OpenArgs {
  const char* nsPath;
  int fd = -1;
  int error = 0;
  const char* syscall = nullptr;
};

int RawSocket() { return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_XFRM); }

// Runs on its own thread: setns() moves only the calling thread, so the JS thread never leaves
// its namespace; the socket stays bound to the namespace it was created in.
void* OpenInNamespace(void* p) {
  auto* a = static_cast<OpenArgs*>(p);
  const int ns = open(a->nsPath, O_RDONLY | O_CLOEXEC);
  if (ns < 0) {
    a->error = errno, a->syscall = "open";
  } else if (setns(ns, CLONE_NEWNET) != 0) {
    a->error = errno, a->syscall = "setns";
  } else if ((a->fd = RawSocket()) < 0) {
    a->error = errno, a->syscall = "socket";
  }
  if (ns >= 0) close(ns);
  return nullptr;
}

int OpenSocket(const char* nsPath, NetlinkResult* r) {
  if (nsPath == nullptr) {
    const int fd = RawSocket();
    if (fd < 0) r->error = errno, r->syscall = "socket";
    return fd;
  }
  OpenArgs a{nsPath};
  pthread_t t;
  const int e = pthread_create(&t, nullptr, OpenInNamespace, &a);
  if (e != 0) return r->error = e, r->syscall = "pthread_create", -1;
  pthread_join(t, nullptr);
  if (a.fd < 0) r->error = a.error, r->syscall = a.syscall;
  return a.fd;
}

// Every message in `msg` must be complete and ask for an ack or a dump (or no reply would end it).
bool WellFormed(const uint8_t* msg, size_t length) {
  size_t off = 0;
  while (off < length) {
    if (length - off < sizeof(nlmsghdr)) return false;
    nlmsghdr h;
    std::memcpy(&h, msg + off, sizeof h);
    if (h.nlmsg_len < sizeof h || h.nlmsg_len > length - off) return false;
    if ((h.nlmsg_flags & NLM_F_REQUEST) == 0 || (h.nlmsg_flags & (NLM_F_ACK | NLM_F_DUMP)) == 0) return false;
    off += NLMSG_ALIGN(h.nlmsg_len);
  }
  return length > 0;
}

// Appends one datagram; true once it ends the exchange (an NLMSG_ERROR ack or NLMSG_DONE).
bool Absorb(const uint8_t* d, size_t n, NetlinkResult* r, int* pending) {
  size_t off = 0;
  while (n - off >= sizeof(nlmsghdr)) {
    nlmsghdr h;
    std::memcpy(&h, d + off, sizeof h);
    if (h.nlmsg_len < sizeof h || h.nlmsg_len > n - off) {
      r->error = EBADMSG, r->syscall = "recv";
      return true;
    }
    if (h.nlmsg_type == NLMSG_ERROR || h.nlmsg_type == NLMSG_DONE) --*pending;
    off += NLMSG_ALIGN(h.nlmsg_len);
  }
  r->reply.insert(r->reply.end(), d, d + n);
  return *pending <= 0;
}

int CountRequests(const uint8_t* msg, size_t length) {
  int n = 0;
  for (size_t off = 0; off < length; n++) {
    nlmsghdr h;
    std::memcpy(&h, msg + off, sizeof h);
    off += NLMSG_ALIGN(h.nlmsg_len);
  }
  return n;
}

}  // namespace

NetlinkResult XfrmRequest(const char* nsPath, const uint8_t* msg, size_t length, int timeoutMs) {
  NetlinkResult r;
  if (!WellFormed(msg, length)) {
    r.error = EINVAL, r.syscall = "request";
    return r;
  }
  const int fd = OpenSocket(nsPath, &r);
  if (fd < 0) return r;
  const int one = 1;
  // Best effort: extended acks carry the kernel's error text; capped acks skip the echo.
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  timeval tv{timeoutMs / 1000, (timeoutMs % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  const ssize_t sent = sendto(fd, msg, length, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  if (sent != static_cast<ssize_t>(length)) {
    r.error = sent < 0 ? errno : EMSGSIZE, r.syscall = "sendto";
    close(fd);
    return r;
  }
  std::vector<uint8_t> buf(kDatagram);
  int pending = CountRequests(msg, length);
  while (r.error == 0) {
    const ssize_t n = recv(fd, buf.data(), buf.size(), MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      r.error = errno, r.syscall = "recv";
    } else if (static_cast<size_t>(n) > buf.size() || r.reply.size() + static_cast<size_t>(n) > kMaxReply) {
      r.error = EMSGSIZE, r.syscall = "recv";
    } else if (Absorb(buf.data(), static_cast<size_t>(n), &r, &pending)) {
      break;
    }
  }
  close(fd);
  return r;
}

}  // namespace gkm
