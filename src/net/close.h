/*
 * Closing an nng socket at stop with a bound on the wait.
 *
 * nng 1.5.2 can lose the receive of a TCP pipe closed just as a read on
 * it completes; its single reaper thread then waits for that receive
 * forever, and from then on every nng_close in the process hangs, not
 * only the one that met the race (net/server.c says more). A stopping
 * server must still finish: each socket is closed on a helper thread,
 * and the caller goes on without it after NET_CLOSE_WAIT_MS.
 */
#ifndef NET_CLOSE_H
#define NET_CLOSE_H

#include <stdbool.h>

#include <nng/nng.h>

#define NET_CLOSE_WAIT_MS 3000

/* nng_close(sock), waiting at most NET_CLOSE_WAIT_MS. False, with a
 * warning naming the socket (what), if it did not return: the socket,
 * and whatever its callbacks use, must then be left allocated. Once one
 * close has been abandoned, later ones are not waited for at all, since
 * nng's reaper that they need is stuck. */
bool net_close_bounded(nng_socket sock, const char *what);

#endif
