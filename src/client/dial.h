/* Dialing shared by the REQ client and the watch's SUB socket, and a
 * test hook of the calls. Internal to the client library. */
#ifndef CLIENT_DIAL_H
#define CLIENT_DIAL_H

#include <nng/nng.h>
#include <stdbool.h>

#include "spreg/client.h"

/*
 * Dials url on sock; a tls+tcp:// URL with tls (NULL: nothing trusted).
 * wait true: in the background, connecting whenever the server appears.
 * Returns nng's error (0: dialed) and sets *st to the status it means.
 */
int spreg_dial(nng_socket sock, const char *url, const spreg_tls_options *tls,
    bool wait, spreg_status *st);

/*
 * Tests only: false sends calls without an nng timeout, as when nng's
 * expiry threads never run; a call must still return by its own
 * deadline (client.c waits with one of its own). Set before any call.
 */
extern bool client_aio_expiry;

#endif
