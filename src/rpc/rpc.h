/*
 * The RPC layer: decodes an envelope, finds the method through the
 * service descriptor protoc-c generated, runs its handler against the
 * store, and builds the reply. No nng here: src/net/ moves the bytes.
 *
 * Writes are applied at most once per request_id: the reply to a write
 * is saved in the same transaction as the write, and a repeat (nng REQ
 * resends after a timeout or reconnect) is answered from that record.
 */
#ifndef RPC_RPC_H
#define RPC_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/catalog.h"
#include "core/err.h"
#include "core/pb.h"
#include "db/db.h"

#define RPC_ARENA_BUDGET ((size_t) 64 << 20)

typedef struct rpc_server rpc_server;
typedef struct rpc_worker rpc_worker;
typedef struct rpc_call rpc_call;

typedef enum rpc_flags {
	RPC_READ = 1 << 0,	/* runs in the worker's read transaction */
	RPC_WRITE = 1 << 1,	/* runs in a durable write transaction */
} rpc_flags;

typedef spreg_status (*rpc_handler)(rpc_call *call,
    const ProtobufCMessage *in, ProtobufCMessage *out, err *e);

/* One entry per method, in the order of the service descriptor's
 * methods array (checked at start and by a unit test). */
typedef struct rpc_method {
	const char *name;
	unsigned flags;
	rpc_handler fn;
} rpc_method;

typedef struct rpc_service {
	const ProtobufCServiceDescriptor *desc;
	const rpc_method *methods;
	size_t nmethods;
} rpc_service;

/* What a handler sees of its call. */
struct rpc_call {
	rpc_server *srv;
	db_txn *txn;		/* read or write, per the method's flags */
	arena *arena;		/* for everything the reply points at */
	const char *actor;
	uint64_t request_id;
	int64_t now_ms;
};

/* The services served, NULL-terminated. */
extern const rpc_service *const rpc_services[];
extern const rpc_service rpc_registry_service;

/* Checks that every table matches its descriptor; false names the first
 * mismatch in *e. */
bool rpc_services_check(err *e);

/* Takes neither d nor cat: both must outlive the server. */
spreg_status rpc_server_create(db *d, const catalog *cat,
    rpc_server **out, err *e);
void rpc_server_destroy(rpc_server *srv);
db *rpc_server_db(rpc_server *srv);
const catalog *rpc_server_catalog(rpc_server *srv);
/* Seconds since create; the start time as RFC 3339. */
uint64_t rpc_server_uptime(rpc_server *srv);
const char *rpc_server_started_at(rpc_server *srv);
const unsigned char *rpc_server_secret(rpc_server *srv);

/* A worker: one per thread, owning a db session and a decode arena. */
spreg_status rpc_worker_create(rpc_server *srv, rpc_worker **out);
void rpc_worker_destroy(rpc_worker *w);

/*
 * Handles one request (envelope bytes) and fills *reply, whose pointers
 * stay valid until the next rpc_handle on this worker. Never fails:
 * every problem becomes a status in the reply.
 */
void rpc_handle(rpc_worker *w, const void *req, size_t len,
    Spreg__V1__Reply *reply);

/* Logs each request at debug level with its status and duration. */
#endif
