/*
 * LD_PRELOAD shim for the charons of the load benchmarks (./socket-buffers.ts): every UDP
 * socket the process opens gets SO_RCVBUF and SO_SNDBUF set to GKM_SOCKET_BUFFER_BYTES,
 * as our IKE transport does with its own sockets (DEFAULT_SOCKET_BUFFER_BYTES, capped by
 * net.core.rmem_max / wmem_max like any unprivileged setsockopt). charon 5.9.8's
 * socket-default plugin has no option for its socket buffers, and net.core.rmem_default
 * cannot be set inside a network namespace on this kernel, so this is the only way to give
 * the load-tester (and the strongSwan responder) the buffers our responder has without
 * changing a machine-wide setting. Other sockets (netlink, unix) are left alone.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/socket.h>

typedef int (*socket_fn)(int, int, int);

int socket(int domain, int type, int protocol)
{
	static socket_fn real;
	if (!real) real = (socket_fn)dlsym(RTLD_NEXT, "socket");
	int fd = real(domain, type, protocol);
	if (fd < 0 || (domain != AF_INET && domain != AF_INET6) || (type & 0xf) != SOCK_DGRAM) return fd;
	const char *v = getenv("GKM_SOCKET_BUFFER_BYTES");
	long n = v ? strtol(v, NULL, 10) : 0;
	if (n > 0 && n <= (1L << 30)) {
		int size = (int)n;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	}
	return fd;
}
