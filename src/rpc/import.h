/*
 * Loading subprocessors from a JSON or YAML file (an array of records in
 * the API's JSON form), through the same validation and store calls as
 * PutSubprocessor, in one transaction: all records or none. (Clients
 * load theirs with ImportSubprocessors: bulk.c.)
 */
#ifndef RPC_IMPORT_H
#define RPC_IMPORT_H

#include <stddef.h>

#include "core/err.h"
#include "rpc/rpc.h"

spreg_status rpc_import_file(rpc_server *srv, const char *path,
    const char *actor, size_t *count_out, err *e);

#endif
