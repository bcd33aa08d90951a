/*
 * Who is calling: bearer tokens, their roles, and the Admin service that
 * manages them (proto/spreg/v1/admin.proto).
 *
 * A bearer string is "spreg_<id>.<secret>": the id (16 hex digits) finds
 * the stored record, the secret (32 random bytes, base64url) is checked
 * against its salted BLAKE2b hash in constant time. The secret is never
 * stored: a lost one is revoked and replaced, not recovered.
 */
#ifndef RPC_AUTH_H
#define RPC_AUTH_H

#include "rpc/rpc.h"

/* The name changes carry when --insecure-local served a request that
 * had no token. */
#define RPC_AUTH_INSECURE_NAME "insecure-local"
/* The caller without a token on a public worker (rpc_call.anonymous). */
#define RPC_AUTH_PUBLIC_NAME "public"

/* The name a feed key's reads carry (rpc_call.feed_key). */
#define RPC_AUTH_FEED_NAME "feed-key"
/* A feed key: 32 hex digits; as a bearer, "feed_<customer>.<key>". */
#define RPC_FEED_KEY_LEN 32
#define RPC_FEED_BEARER_PREFIX "feed_"
/* The key of customer_id's feed at generation: keyed BLAKE2b of both
 * under the server's secret. */
void rpc_auth_feed_key(rpc_server *srv, const char *customer_id,
    uint32_t generation, char out[RPC_FEED_KEY_LEN + 1]);

/*
 * Sets call->token, role and customer_id from bearer, checked against
 * the store in t. UNAUTHENTICATED for a missing, unknown, malformed or
 * revoked token; the message never says which of the last three (beyond
 * "revoked" to the holder of the right secret).
 */
spreg_status rpc_auth_check(rpc_call *call, db_txn *t, const char *bearer,
    err *e);

/*
 * PERMISSION_DENIED unless the caller's role allows method m (a
 * customer token: only methods marked RPC_CUSTOMER).
 */
spreg_status rpc_auth_allow(const rpc_call *call, const rpc_method *m,
    err *e);

/*
 * On a store without tokens, makes an admin token named "admin" and
 * writes its bearer string to path (mode 0600, replaced atomically)
 * before committing it. *created tells whether it did.
 */
spreg_status rpc_auth_bootstrap(rpc_server *srv, const char *path,
    bool *created, err *e);

#endif
