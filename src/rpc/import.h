/*
 * Loading customers and subprocessors from JSON or YAML files (arrays of
 * records in the API's JSON form), through the same validation and store
 * calls as PutCustomer and PutSubprocessor, in one transaction: all
 * records or none. (Clients load theirs with ImportSubprocessors:
 * bulk.c.)
 */
#ifndef RPC_IMPORT_H
#define RPC_IMPORT_H

#include <stddef.h>

#include "core/err.h"
#include "rpc/rpc.h"

/* The sample registry's files in the reference data folder. */
#define RPC_SAMPLE_CUSTOMERS "sample-customers.json"
#define RPC_SAMPLE_REGISTRY "sample-registry.json"

/* The sample registry of dir (a reference data folder): its customers
 * and its subprocessors, in one transaction. */
spreg_status rpc_import_sample(rpc_server *srv, const char *dir,
    const char *actor, size_t *ncustomers_out, size_t *count_out, err *e);

#endif
