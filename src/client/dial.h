/* Dialing shared by the REQ client and the watch's SUB socket, and a
 * test hook of the calls. Internal to the client library. */
#ifndef CLIENT_DIAL_H
#define CLIENT_DIAL_H

#include <nng/nng.h>
#include <stdbool.h>

#include "spreg/client.h"

/*
 * A socket's connection to one URL, kept up across server restarts.
 *
 * nng 1.5.2 redials by itself after a connection is lost, except when
 * a connection attempt fails with NNG_ECLOSED: its dialer then stops
 * for good. That is what a peer gives that closed the connection
 * before our SP header was written (EPIPE, which nng maps to
 * NNG_ECLOSED): a server killed between our connect and its accept. The
 * socket then never connects again (its calls time out forever) while
 * a new socket connects at once. A link counts the socket's connections
 * and, when it has had none for a while (client_link_check), replaces
 * the dialer; a dialer that is merely retrying loses nothing by it.
 */
typedef struct client_link client_link;

/*
 * Dials url on sock; a tls+tcp:// URL with tls (NULL: nothing trusted;
 * the PEM files are read once, here). wait true: in the background,
 * connecting whenever the server appears. Returns nng's error (0:
 * dialed, *out set) and sets *st to the status it means. The socket's
 * pipe notifications NNG_PIPE_EV_ADD_PRE and NNG_PIPE_EV_REM_POST are
 * the link's. Free with client_link_free once sock is closed.
 */
int client_link_open(nng_socket sock, const char *url,
    const spreg_tls_options *tls, bool wait, spreg_status *st,
    client_link **out);

/*
 * Replaces the dialer when the socket has had no connection for
 * CLIENT_LINK_QUIET_MS since the last change or dial (twice that after
 * a redial that found nothing, up to CLIENT_LINK_QUIET_MAX_MS, past
 * nng's 10 s handshake timeout, so a slow handshake still completes).
 * One atomic load while connected; safe from any thread.
 */
void client_link_check(client_link *l);

/* True while the socket has a connection. */
bool client_link_connected(const client_link *l);

/* Redials so far (for tests and stats). */
unsigned client_link_redials(const client_link *l);

/* After nng_close of its socket; NULL is fine. */
void client_link_free(client_link *l);

#define CLIENT_LINK_QUIET_MS 2000	/* twice the client's RECONNMAXT */
#define CLIENT_LINK_QUIET_MAX_MS 16000

/*
 * Tests only: false sends calls without an nng timeout, as when nng's
 * expiry threads never run; a call must still return by its own
 * deadline (client.c waits with one of its own). Set before any call.
 */
extern bool client_aio_expiry;

#endif
