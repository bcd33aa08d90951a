/*
 * The checks and small helpers every handler file shares (declared in
 * handlers.h): who acts, whether a category exists, a vendor's filters
 * and ids, whom a vendor serves. They call nothing in a handler file,
 * so registry.c, notice.c and bulk.c depend on this file and not on
 * each other.
 */
#include <string.h>

#include "core/validate.h"
#include "db/record.h"
#include "rpc/handlers.h"
#include "rpc/internal.h"

db_actor
rpc_actor_of(const rpc_call *call)
{
	return (db_actor) {call->actor, call->request_id, call->now_ms,
	    call->token};
}

/* Shipped or user-added? For validation inside the call's txn. */
bool
rpc_has_category(void *arg, const char *key)
{
	rpc_call *call = arg;
	Spreg__V1__DataCategory *c;
	err ignored;

	if (catalog_category_find(rpc_server_catalog(call->srv), key)) {
		return true;
	}
	return db_category_get(call->txn, key, call->arena, &c, &ignored) ==
	    SPREG_OK;
}

spreg_status
rpc_check_filter(rpc_call *call, const char *prefix, const char *category,
    const char *country, const char *mechanism, const char *service, err *e)
{
	const catalog *cat = rpc_server_catalog(call->srv);

	if (category[0] && !rpc_has_category(call, category)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%sdata_category: unknown data category '%s'", prefix,
		    validate_category_key(category) ? category : "?");
	}
	if (country[0] && catalog_country_find(cat, country) == NULL) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%scountry: not an ISO 3166-1 alpha-2 code", prefix);
	}
	if (mechanism[0] && catalog_mechanism_find(cat, mechanism) == NULL) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%smechanism: unknown mechanism", prefix);
	}
	if (service[0] && !validate_slug(service)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%sservice: must match [a-z0-9][a-z0-9-]{0,63}", prefix);
	}
	return SPREG_OK;
}

spreg_status
rpc_check_customer_selected(rpc_call *call, const Spreg__V1__Subprocessor *sp,
    err *e)
{
	return rpc_check_customer_in(call->txn, call->arena, sp, e);
}

spreg_status
rpc_check_customer_in(db_txn *t, arena *a, const Spreg__V1__Subprocessor *sp,
    err *e)
{
	Spreg__V1__Customer *c;
	err inner;

	if (sp->customer[0] == '\0') {
		return SPREG_OK;
	}
	spreg_status st = db_customer_get(t, sp->customer, a, &c, &inner);
	if (st == SPREG_NOT_FOUND) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "customer: no customer '%s'", sp->customer);
	}
	return st == SPREG_OK ? SPREG_OK : err_set(e, st, "%s", inner.msg);
}

spreg_status
rpc_check_id(const char *field, const char *id, err *e)
{
	if (!validate_slug(id)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "%s: must match [a-z0-9][a-z0-9-]{0,63}", field);
	}
	return SPREG_OK;
}

bool
rpc_change_public(const Spreg__V1__Change *c)
{
	if (c->selected_only) {
		return false;
	}
	switch (c->kind) {
	case CHANGE_CREATED:
	case CHANGE_UPDATED:
	case CHANGE_RETIRED:
	case CHANGE_ANNOUNCED:
	case CHANGE_TOOK_EFFECT:
	case CHANGE_WITHDRAWN:
		return true;
	default:
		return false;
	}
}

bool
rpc_serves(const Spreg__V1__Subprocessor *sp, const Spreg__V1__Customer *c)
{
	/* A customer's own choice serves that customer alone. */
	if (sp->customer[0] != '\0') {
		return strcmp(sp->customer, c->id) == 0;
	}
	return db_services_meet(sp->services, sp->n_services, c->services,
	    c->n_services);
}

spreg_status
rpc_check_url(const char *field, const char *url, size_t max, err *e)
{
	size_t len = strlen(url);
	size_t scheme = strncmp(url, "https://", 8) == 0 ? 8 :
	    strncmp(url, "http://", 7) == 0                ? 7 :
	                                                     0;

	if (scheme == 0) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "%s: must start "
		    "with https:// or http://", field);
	}
	if (len > max) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "%s: longer than "
		    "%zu bytes", field, max);
	}
	if (url[scheme] == '\0' || url[scheme] == '/') {
		return err_set(e, SPREG_INVALID_ARGUMENT, "%s: no host", field);
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char) url[i];
		if (ch <= ' ' || ch >= 0x7f) {
			return err_set(e, SPREG_INVALID_ARGUMENT, "%s: byte "
			    "%zu is a space, a control or non-ASCII "
			    "character (percent-encode it)", field, i);
		}
	}
	return SPREG_OK;
}
