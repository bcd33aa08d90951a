/*
 * Page tokens: opaque to clients, authenticated by the server. A token
 * carries the last id of the page it follows and a MAC (keyed BLAKE2b
 * with the server secret) over that id and the query's filters, so a
 * token not issued by this server, or replayed with other filters, is
 * refused.
 */
#ifndef RPC_TOKEN_H
#define RPC_TOKEN_H

#include "core/arena.h"
#include "core/err.h"

/* query: a canonical text of the filters. Returns an arena string. */
char *rpc_token_make(const unsigned char secret[32], const char *query,
    const char *last_id, arena *a);

/* "" yields after_id "". INVALID_ARGUMENT for anything not issued by
 * rpc_token_make with the same secret and query. */
spreg_status rpc_token_open(const unsigned char secret[32],
    const char *query, const char *token, arena *a, const char **after_id,
    err *e);

#endif
