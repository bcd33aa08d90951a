/*
 * Loading many subprocessors in one transaction, all records or none:
 * the sample registry at a first start (a JSON or YAML file of records
 * in the API's JSON form), and ImportSubprocessors (handlers.h), both
 * through the same validation and store calls as PutSubprocessor.
 */
#ifndef RPC_IMPORT_H
#define RPC_IMPORT_H

#include <stddef.h>

#include "core/err.h"
#include "rpc/rpc.h"

spreg_status rpc_import_file(rpc_server *srv, const char *path,
    const char *actor, size_t *count_out, err *e);

#endif
