#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "core/pbjson.h"
#include "core/validate.h"
#include "db/record.h"
#include "rpc/handlers.h"
#include "rpc/import.h"
#include "rpc/internal.h"

#define IMPORT_MAX_BYTES ((size_t) 64 << 20)

typedef struct import {
	rpc_server *srv;
	const json_t *customers;	/* NULL: none */
	const char *customers_path;
	const json_t *items;
	const char *path;
	db_actor who;
	arena *arena;
	db_txn *txn;
	size_t ncustomers;
	size_t count;
} import;

static bool
has_category(void *arg, const char *key)
{
	import *im = arg;
	Spreg__V1__DataCategory *c;
	err ignored;

	return catalog_category_find(rpc_server_catalog(im->srv), key) !=
	    NULL || db_category_get(im->txn, key, im->arena, &c, &ignored) ==
	    SPREG_OK;
}

/* Record i of items, as a message of desc in the arena, so that it
 * lives with the transaction. */
static spreg_status
record_at(import *im, const json_t *items, size_t i, const char *path,
    const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out, err *e)
{
	ProtobufCMessage *m;
	spreg_status st;
	err inner;

	if ((st = pbjson_to_message(json_array_get(items, i), desc, &m,
	         &inner)) != SPREG_OK) {
		return err_set(e, st, "%s: record %zu: %s", path, i, inner.msg);
	}
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = arena_alloc(im->arena, n + 1);
	if (buf != NULL) {
		protobuf_c_message_pack(m, buf);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	*out = buf == NULL ? NULL :
	    protobuf_c_message_unpack(desc, &im->arena->pb, n, buf);
	if (*out == NULL) {
		return err_set(e, SPREG_RESOURCE_EXHAUSTED, "%s: too large",
		    path);
	}
	return SPREG_OK;
}

static spreg_status
import_all(import *im, db_txn *t, err *e)
{
	spreg_status st;

	im->txn = t;
	im->ncustomers = 0;
	im->count = 0;
	/* Customers first: a customer's own vendor names one. */
	for (size_t i = 0; i < json_array_size(im->customers); i++) {
		Spreg__V1__Customer *c;
		Spreg__V1__Change *change;
		err inner;

		if ((st = record_at(im, im->customers, i, im->customers_path,
		         &spreg__v1__customer__descriptor,
		         (ProtobufCMessage **) &c, e)) != SPREG_OK) {
			return st;
		}
		if ((st = validate_customer(c, &inner)) != SPREG_OK ||
		    (st = db_customer_put(t, c, 0, &im->who, im->arena,
		         &change, &inner)) != SPREG_OK) {
			return err_set(e, st, "%s: record %zu (%s): %s",
			    im->customers_path, i, c->id, inner.msg);
		}
		im->ncustomers++;
	}
	for (size_t i = 0; i < json_array_size(im->items); i++) {
		Spreg__V1__Subprocessor *sp;
		Spreg__V1__Change *change;
		err inner;

		if ((st = record_at(im, im->items, i, im->path,
		         &spreg__v1__subprocessor__descriptor,
		         (ProtobufCMessage **) &sp, e)) != SPREG_OK) {
			return st;
		}
		if ((st = validate_subprocessor(rpc_server_catalog(im->srv),
		         has_category, im, sp, &inner)) != SPREG_OK ||
		    (st = validate_dpf_map(sp, im->arena, &inner)) !=
		        SPREG_OK ||
		    (st = rpc_check_customer_in(t, im->arena, sp, &inner)) !=
		        SPREG_OK ||
		    (st = db_sp_put(t, sp, 0, false, &im->who, im->arena,
		         &change, &inner)) != SPREG_OK) {
			return err_set(e, st, "%s: record %zu (%s): %s",
			    im->path, i, sp->id, inner.msg);
		}
		im->count++;
	}
	return SPREG_OK;
}

static spreg_status
read_all(const char *path, char **out, size_t *len, err *e)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (f == NULL) {
		return err_set(e, SPREG_NOT_FOUND, "%s: %s", path,
		    strerror(errno));
	}
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			char *p = cap <= IMPORT_MAX_BYTES ? realloc(buf, cap + 1)
			                                  : NULL;
			if (p == NULL) {
				free(buf);
				fclose(f);
				return err_set(e, SPREG_RESOURCE_EXHAUSTED,
				    "%s: larger than %zu bytes", path,
				    IMPORT_MAX_BYTES);
			}
			buf = p;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			break;
		}
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return err_set(e, SPREG_UNAVAILABLE, "%s: read error", path);
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return SPREG_OK;
}

/* path's JSON (or YAML) document, which must be an array. */
static spreg_status
read_array(const char *path, json_t **out, err *e)
{
	char *text = NULL;
	size_t len = 0;
	spreg_status st;
	err inner;

	if ((st = read_all(path, &text, &len, e)) != SPREG_OK) {
		return st;
	}
	st = pbjson_parse_text(text, len, out, &inner);
	free(text);
	if (st != SPREG_OK) {
		return err_set(e, st, "%s: %s", path, inner.msg);
	}
	if (!json_is_array(*out)) {
		json_decref(*out);
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s: expected an array of records", path);
	}
	return SPREG_OK;
}

/* customers_path's customers (NULL: none), then path's subprocessors,
 * each file an array of records; counts on success (ncustomers_out may
 * be NULL). */
static spreg_status
import_files(rpc_server *srv, const char *customers_path,
    const char *path, const char *actor, size_t *ncustomers_out,
    size_t *count_out, err *e)
{
	json_t *customers = NULL, *doc = NULL;
	spreg_status st;

	if ((customers_path != NULL &&
	        (st = read_array(customers_path, &customers, e)) != SPREG_OK) ||
	    (st = read_array(path, &doc, e)) != SPREG_OK) {
		json_decref(customers);
		return st;
	}
	arena a;
	arena_init(&a, (size_t) 1 << 30);
	import im = {srv, customers, customers_path, doc, path,
	    {actor, 0, time_now_ms(), NULL}, &a, NULL, 0, 0};
	db_appended appended = {0};
	rpc_worker *w;
	if ((st = rpc_worker_create(srv, &w)) != SPREG_OK) {
		st = err_set(e, st, "out of memory");
	} else {
		db_txn t;
		do {
			if ((st = db_write_begin(w->session, &t, &appended,
			         e)) != SPREG_OK) {
				break;
			}
			st = import_all(&im, &t, e);
		} while (db_write_retry(&t, &st, e));
		/* Published like any write: the publisher's seqs go on
		 * from the log's last, and so do its subscribers'. */
		if (st == SPREG_OK) {
			rpc_publish_appended(w, &appended);
		}
		rpc_worker_destroy(w);
	}
	arena_fini(&a);
	json_decref(doc);
	json_decref(customers);
	if (st == SPREG_OK) {
		if (ncustomers_out != NULL) {
			*ncustomers_out = im.ncustomers;
		}
		*count_out = im.count;
	}
	return st;
}

spreg_status
rpc_import_sample(rpc_server *srv, const char *dir, const char *actor,
    size_t *ncustomers_out, size_t *count_out, err *e)
{
	char customers[4096], vendors[4096];

	if ((size_t) snprintf(customers, sizeof(customers), "%s/%s", dir,
	        RPC_SAMPLE_CUSTOMERS) >= sizeof(customers) ||
	    (size_t) snprintf(vendors, sizeof(vendors), "%s/%s", dir,
	        RPC_SAMPLE_REGISTRY) >= sizeof(vendors)) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "%s: path too long",
		    dir);
	}
	return import_files(srv, customers, vendors, actor,
	    ncustomers_out, count_out, e);
}
