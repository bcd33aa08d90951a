/*
 * A hostile peer's tools: the SP protocol spoken over a plain TCP or
 * unix socket, so a test can do what nng's own sockets never do —
 * pipeline requests without reading replies, send part of a message,
 * connect and say nothing — and read a process's resident memory.
 *
 * SP over TCP: each side sends an 8-byte header (0, 'S', 'P', 0, its
 * protocol as 16 bits big-endian, 0, 0); then each message is a 64-bit
 * big-endian length and that many bytes. ipc:// puts a type byte (1)
 * before the length. A REQ message starts with its 32-bit request id,
 * high bit set.
 */
#ifndef TEST_RAWSP_H
#define TEST_RAWSP_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define RAWSP_REQ 0x30	/* nng's REQ v0 protocol number */

typedef struct rawsp {
	int fd;
	bool ipc;
	int stall_ms;	/* how long one write may wait for the peer */
} rawsp;

static inline int64_t
rawsp_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes all of buf, waiting at most c->stall_ms while the peer reads
 * nothing; false (errno set) when closed or stalled that long, and
 * then part of buf may have gone out. */
static inline bool
rawsp_write_all(const rawsp *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int64_t t0 = rawsp_now_ms();

	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || ((errno == EAGAIN ||
		                                     errno == EWOULDBLOCK) &&
		                                    rawsp_now_ms() - t0 <
		                                        c->stall_ms))) {
			continue;
		}
		if (n <= 0) {
			return false;
		}
		p += n;
		len -= (size_t) n;
	}
	return true;
}

/*
 * Connects to a tcp://HOST:PORT or ipc://PATH URL, from source address
 * src (an IPv4 loopback address such as "127.0.0.7", or NULL) and sends
 * the REQ handshake unless handshake is false. A write waits at most
 * stall_ms for a server that reads nothing, so it cannot block the
 * test. fd -1 on failure.
 */
static inline rawsp
rawsp_connect(const char *url, const char *src, bool handshake,
    int stall_ms)
{
	rawsp c = {-1, false, stall_ms};
	int fd;

	if (strncmp(url, "ipc://", 6) == 0) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		if (strlen(url + 6) >= sizeof(sa.sun_path)) {
			return c;
		}
		memcpy(sa.sun_path, url + 6, strlen(url + 6) + 1);
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0) {
			return c;
		}
		if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
			close(fd);
			return c;
		}
		c.ipc = true;
	} else {
		const char *hp = strncmp(url, "tcp://", 6) == 0 ? url + 6 : url;
		const char *colon = strrchr(hp, ':');
		char host[64];
		struct sockaddr_in sa = {.sin_family = AF_INET};
		if (colon == NULL || (size_t) (colon - hp) >= sizeof(host)) {
			return c;
		}
		memcpy(host, hp, (size_t) (colon - hp));
		host[colon - hp] = '\0';
		sa.sin_port = htons((uint16_t) atoi(colon + 1));
		if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
		    (fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
			return c;
		}
		if (src != NULL) {
			struct sockaddr_in from = {.sin_family = AF_INET};
			if (inet_pton(AF_INET, src, &from.sin_addr) != 1 ||
			    bind(fd, (struct sockaddr *) &from,
			        sizeof(from)) != 0) {
				close(fd);
				return c;
			}
		}
		if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
			close(fd);
			return c;
		}
	}
	struct timeval tv = {0, 100000};	/* a stalled send wakes */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c.fd = fd;
	if (handshake) {
		const uint8_t hello[8] = {0, 'S', 'P', 0, 0, RAWSP_REQ, 0, 0};
		if (!rawsp_write_all(&c, hello, sizeof(hello))) {
			close(fd);
			c.fd = -1;
		}
	}
	return c;
}

/* The framing of a message of len bytes (request id included): the
 * bytes to send before the id; returns their count. */
static inline size_t
rawsp_frame(const rawsp *c, uint64_t len, uint8_t out[9])
{
	size_t n = 0;

	if (c->ipc) {
		out[n++] = 1;
	}
	for (int i = 7; i >= 0; i--) {
		out[n++] = (uint8_t) (len >> (8 * i));
	}
	return n;
}

/* Sends one request: request id, then body. False when the connection
 * is closed or the send timed out. */
static inline bool
rawsp_send(const rawsp *c, uint32_t id, const void *body, size_t len)
{
	uint8_t head[13];
	size_t n = rawsp_frame(c, 4 + (uint64_t) len, head);

	id |= 0x80000000u;
	head[n++] = (uint8_t) (id >> 24);
	head[n++] = (uint8_t) (id >> 16);
	head[n++] = (uint8_t) (id >> 8);
	head[n++] = (uint8_t) id;
	return rawsp_write_all(c, head, n) && rawsp_write_all(c, body, len);
}

/*
 * Reads (and discards) whatever the server sent until it closes the
 * connection (true) or wait_ms pass without that (false).
 */
static inline bool
rawsp_wait_closed(const rawsp *c, int wait_ms)
{
	static uint8_t sink[65536];

	int step = wait_ms < 50 ? wait_ms : 50;

	for (int waited = 0; waited <= wait_ms; waited += step > 0 ? step : 1) {
		struct pollfd p = {c->fd, POLLIN, 0};
		int r = poll(&p, 1, step);
		if (r < 0 && errno != EINTR) {
			return true;
		}
		if (r <= 0) {
			continue;
		}
		for (;;) {
			ssize_t n = recv(c->fd, sink, sizeof(sink),
			    MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN &&
			                   errno != EINTR)) {
				return true;
			}
			if (n < 0) {
				break;
			}
		}
	}
	return false;
}

static inline void
rawsp_close(rawsp *c)
{
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
}

/* A "Key:   N kB" line of /proc/PID/status, in KiB; -1 if unknown. */
static inline long
rawsp_status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	long kb = -1;
	size_t klen = strlen(key);

	snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			kb = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

/* Resident memory of a process in KiB, or -1. */
static inline long
rawsp_rss_kb(pid_t pid)
{
	return rawsp_status_kb(pid, "VmRSS");
}

#endif
