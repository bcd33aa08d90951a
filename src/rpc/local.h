/*
 * Co-located reads: the rpc layer over a store opened read-only in this
 * process, for a file:// client (src/client/). Every read method runs
 * through the dispatcher spregd uses (rpc_handle_begin: token, role,
 * customer scope, handler), in a read transaction that lives for one
 * call only, so a reader pins no old pages between calls. Writes are
 * refused with FAILED_PRECONDITION naming the server's URL.
 *
 * Identity: a call without a token is served as an admin that can only
 * read (file permissions on the data folder decide who gets this far);
 * a call with a token is checked against the store and scoped by its
 * role and customer, as spregd would.
 */
#ifndef RPC_LOCAL_H
#define RPC_LOCAL_H

#include <stddef.h>

#include "core/err.h"
#include "spreg/v1/rpc.pb-c.h"

/* spregd writes this into its data folder at start: "reference DIR",
 * "url URL" (one a line) and "page_max N", so that a reader loads the
 * same rules and names the server in a refusal. */
#define RPC_LOCAL_INFO "spregd.info"

typedef struct rpc_local rpc_local;
typedef struct rpc_worker rpc_worker;

/* Opens the store in dir read-only with the reference data spregd
 * named in dir/spregd.info (else the installed one). Caller closes. */
spreg_status rpc_local_open(const char *dir, rpc_local **out, err *e);
/* Every worker must have been given back. */
void rpc_local_close(rpc_local *l);

/* A worker for one call, from a pool shared by threads (made when none
 * is free, up to RPC_LOCAL_WORKERS, else waits); give it back after. */
#define RPC_LOCAL_WORKERS 256
spreg_status rpc_local_take(rpc_local *l, rpc_worker **out);
void rpc_local_give(rpc_local *l, rpc_worker *w);

/* Answers one request (an envelope not encoded: no bytes cross a
 * socket) in *reply, valid until w is given back. Never fails: every
 * problem is a status in the reply. */
void rpc_local_handle(rpc_local *l, rpc_worker *w,
    const Spreg__V1__Request *env, Spreg__V1__Reply *reply);

#endif
