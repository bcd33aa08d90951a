/* Handlers of service spreg.v1.Registry. */
#include <stdio.h>
#include <string.h>

#include "assess/rules.h"
#include "core/date.h"
#include "core/validate.h"
#include "core/vocab.h"
#include "db/record.h"
#include "rpc/handlers.h"
#include "rpc/rpc.h"
#include "rpc/token.h"
#include "spreg_config.h"

/* The filters of issue 15: a data-use key, a kind of recipient. */
static spreg_status
check_purpose_kind(rpc_call *call, const char *purpose, const char *kind,
    err *e)
{
	if (purpose[0] && catalog_data_use_find(rpc_server_catalog(call->srv),
	                      purpose) == NULL) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "purpose: '%s' is not a data use of the fideslang taxonomy",
		    validate_category_key(purpose) ? purpose : "?");
	}
	vocab_kind k;
	char kinds[VOCAB_KIND_LIST_MAX];
	if (!vocab_kind_find(kind, &k)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "kind: not one of %s", vocab_kind_list(kinds));
	}
	return SPREG_OK;
}

static spreg_status
put_subprocessor(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__PutSubprocessorRequest *in = (const void *) in_;
	Spreg__V1__PutSubprocessorResponse *out = (void *) out_;
	db_actor who = rpc_actor_of(call);

	if (in->subprocessor == NULL) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "subprocessor: required");
	}
	return rpc_put_vendor(call, in->subprocessor, in->expected_revision,
	    in->create_only, in->emergency, in->reason, &who,
	    &out->subprocessor, &out->change, e);
}

/* "YYYY-MM-DD" is a day, an RFC 3339 timestamp a moment. */
static spreg_status
parse_as_of(const char *s, db_as_of *at, err *e)
{
	memset(at, 0, sizeof(*at));
	if (date_parse(s, &at->day)) {
		return SPREG_OK;
	}
	if (time_parse(s, &at->ms)) {
		at->moment = true;
		at->day = date_from_ms(at->ms);
		return SPREG_OK;
	}
	return err_set(e, SPREG_INVALID_ARGUMENT,
	    "as_of: '%s' is neither a YYYY-MM-DD date nor an RFC 3339 "
	    "timestamp", validate_text(s, false) && strlen(s) < 40 ? s : "?");
}

/* The customer named by a read's customer field; NULL when empty. */
static spreg_status
read_customer(rpc_call *call, const char *customer, Spreg__V1__Customer **c,
    err *e)
{
	spreg_status st;

	*c = NULL;
	if (customer[0] &&
	    ((st = rpc_check_id("customer", customer, e)) != SPREG_OK ||
	     (st = db_customer_get(call->txn, customer, call->arena, c,
	          e)) != SPREG_OK)) {
		return st;
	}
	return SPREG_OK;
}

/* Vendor id at revision or at (NULL: now), as customer c may see it. */
static spreg_status
get_one(rpc_call *call, const char *id, uint64_t revision,
    const db_as_of *at, const Spreg__V1__Customer *c,
    Spreg__V1__Subprocessor **out, err *e)
{
	spreg_status st;

	if (at != NULL) {
		st = db_sp_get_as_of(call->txn, id, at, call->arena, out, e);
	} else {
		st = db_sp_get(call->txn, id, revision, call->arena, out, e);
	}
	/* Not this customer's: the same answer as no such vendor. */
	if (st == SPREG_OK && c != NULL && !rpc_serves(*out, c)) {
		*out = NULL;
		st = err_set(e, SPREG_NOT_FOUND, "id: no subprocessor '%s'",
		    id);
	}
	return st;
}

static spreg_status
get_subprocessor(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__GetSubprocessorRequest *in = (const void *) in_;
	Spreg__V1__GetSubprocessorResponse *out = (void *) out_;
	Spreg__V1__Customer *c;
	db_as_of at;
	spreg_status st;

	if ((st = rpc_check_id("id", in->id, e)) != SPREG_OK ||
	    (st = read_customer(call, in->customer, &c, e)) != SPREG_OK) {
		return st;
	}
	if (c == NULL && in->revision == 0 && !in->as_of[0]) {
		/* The record as stored is the reply's field 1: no decoding
		 * and re-encoding of what is only passed on. */
		return db_sp_get_packed(call->txn, in->id, 1, call->arena,
		    &call->packed_reply, e);
	}
	if (in->as_of[0]) {
		if (in->revision != 0) {
			return err_set(e, SPREG_INVALID_ARGUMENT,
			    "as_of: give revision or as_of, not both");
		}
		if ((st = parse_as_of(in->as_of, &at, e)) != SPREG_OK) {
			return st;
		}
	}
	return get_one(call, in->id, in->revision, in->as_of[0] ? &at : NULL,
	    c, &out->subprocessor, e);
}

static spreg_status
get_subprocessors(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__GetSubprocessorsRequest *in = (const void *) in_;
	Spreg__V1__GetSubprocessorsResponse *out = (void *) out_;
	Spreg__V1__Customer *c;
	db_as_of at;
	size_t max;
	spreg_status st;

	if ((st = rpc_page_size(call, "ids", in->n_ids > UINT32_MAX ?
	         UINT32_MAX : (uint32_t) in->n_ids, &max, e)) != SPREG_OK ||
	    (st = read_customer(call, in->customer, &c, e)) != SPREG_OK ||
	    (in->as_of[0] && (st = parse_as_of(in->as_of, &at, e)) !=
	        SPREG_OK)) {
		return st;
	}
	for (size_t i = 0; i < in->n_ids; i++) {
		char field[32];
		snprintf(field, sizeof(field), "ids[%zu]", i);
		if ((st = rpc_check_id(field, in->ids[i], e)) != SPREG_OK) {
			return st;
		}
	}
	out->subprocessors = arena_alloc(call->arena, (in->n_ids + 1) *
	    sizeof(*out->subprocessors));
	out->not_found = arena_alloc(call->arena, (in->n_ids + 1) *
	    sizeof(*out->not_found));
	if (out->subprocessors == NULL || out->not_found == NULL) {
		return err_oom(e, NULL);
	}
	for (size_t i = 0; i < in->n_ids; i++) {
		Spreg__V1__Subprocessor *sp;
		st = get_one(call, in->ids[i], 0, in->as_of[0] ? &at : NULL, c,
		    &sp, e);
		if (st == SPREG_OK) {
			out->subprocessors[out->n_subprocessors++] = sp;
		} else if (st == SPREG_NOT_FOUND) {
			out->not_found[out->n_not_found++] = in->ids[i];
		} else {
			return st;
		}
	}
	return SPREG_OK;
}

/*
 * A page of current records as the reply's bytes: the records exactly as
 * stored (field 1, subprocessors), then next_page_token (field 2). The
 * wire form is the same as packing a ListSubprocessorsResponse.
 */
static spreg_status
list_packed(rpc_call *call, const db_sp_filter *f, const char *query,
    const char *after_id, size_t limit, err *e)
{
	db_packed_page page;
	const char *token = "";
	spreg_status st;

	if ((st = db_sp_list_packed(call->txn, f, after_id, limit, 1,
	         call->arena, &page, e)) != SPREG_OK) {
		return st;
	}
	if (page.more && page.n > 0) {
		token = rpc_token_make(rpc_server_secret(call->srv), query,
		    page.last_id, call->arena);
		if (token == NULL) {
			return err_oom(e, NULL);
		}
	}
	size_t tlen = strlen(token);
	uint8_t *buf = arena_alloc(call->arena, page.len + tlen + 12);
	if (buf == NULL) {
		return err_oom(e, NULL);
	}
	size_t n = page.len;
	if (n > 0) {
		memcpy(buf, page.buf, n);
	}
	if (tlen > 0) {
		buf[n++] = (2 << 3) | 2;	/* field 2, length-delimited */
		for (size_t v = tlen; ; v >>= 7) {
			buf[n++] = (uint8_t) ((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
			if (v <= 0x7f) {
				break;
			}
		}
		memcpy(buf + n, token, tlen);
		n += tlen;
	}
	call->packed_reply.data = buf;
	call->packed_reply.len = n;
	return SPREG_OK;
}

static spreg_status
list_subprocessors(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__ListSubprocessorsRequest *in = (const void *) in_;
	Spreg__V1__ListSubprocessorsResponse *out = (void *) out_;
	const char *after_id;
	bool more;
	spreg_status st;

	if ((st = rpc_check_filter(call, "", in->data_category, in->country,
	         in->mechanism, in->service, e)) != SPREG_OK) {
		return st;
	}
	if ((unsigned) in->status > SP_STATUS_RETIRED) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "status: %d is not a known status", (int) in->status);
	}
	size_t limit;
	if ((st = rpc_page_size(call, "page_size", in->page_size, &limit,
	         e)) != SPREG_OK) {
		return st;
	}

	/* The token is bound to these filters. */
	char query[1024];
	db_as_of at;
	if (in->as_of[0] && (st = parse_as_of(in->as_of, &at, e)) != SPREG_OK) {
		return st;
	}
	snprintf(query, sizeof(query), "list\n%s\n%s\n%s\n%s\n%d\n%s\n%s\n%s"
	    "\n%s\n%s", in->data_category, in->country, in->mechanism,
	    in->service, (int) in->status, in->customer, in->as_of,
	    in->purpose, in->kind, in->fourth_party);
	if ((st = rpc_token_open(rpc_server_secret(call->srv), query,
	         in->page_token, call->arena, &after_id, e)) != SPREG_OK) {
		return st;
	}
	if ((st = check_purpose_kind(call, in->purpose, in->kind, e)) !=
	        SPREG_OK ||
	    (in->fourth_party[0] &&
	        (st = rpc_check_id("fourth_party", in->fourth_party, e)) !=
	            SPREG_OK)) {
		return st;
	}
	db_sp_filter f = {.category = in->data_category,
	    .country = in->country, .mechanism = in->mechanism,
	    .service = in->service, .status = in->status,
	    .purpose = in->purpose, .kind = in->kind,
	    .fourth_party = in->fourth_party};
	if (in->customer[0]) {
		Spreg__V1__Customer *c;
		if ((st = rpc_check_id("customer", in->customer, e)) !=
		        SPREG_OK ||
		    (st = db_customer_get(call->txn, in->customer, call->arena,
		         &c, e)) != SPREG_OK) {
			return st;
		}
		if (c->n_services == 0) {
			return SPREG_OK;	/* no services, no vendors */
		}
		f.any_service = c->services;
		f.nany = c->n_services;
		f.for_customer = c->id;
	}
	if (!in->as_of[0]) {
		return list_packed(call, &f, query, after_id, limit, e);
	}
	st = db_sp_list_as_of(call->txn, &f, &at, after_id, limit, call->arena,
	    &out->subprocessors, &out->n_subprocessors, &more, e);
	if (st != SPREG_OK) {
		return st;
	}
	if (more && out->n_subprocessors > 0) {
		const char *last = out->subprocessors[out->n_subprocessors - 1]
		                       ->id;
		out->next_page_token = rpc_token_make(
		    rpc_server_secret(call->srv), query, last, call->arena);
		if (out->next_page_token == NULL) {
			return err_oom(e, NULL);
		}
	}
	return SPREG_OK;
}

static spreg_status
retire_subprocessor(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__RetireSubprocessorRequest *in = (const void *) in_;
	Spreg__V1__RetireSubprocessorResponse *out = (void *) out_;
	db_actor who = rpc_actor_of(call);
	int32_t day;
	spreg_status st;

	if ((st = rpc_check_id("id", in->id, e)) != SPREG_OK) {
		return st;
	}
	if (in->effective_until[0] &&
	    !date_parse(in->effective_until, &day)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "effective_until: not a YYYY-MM-DD date");
	}
	return db_sp_retire(call->txn, in->id, in->expected_revision,
	    in->effective_until, &who, call->arena, &out->subprocessor,
	    &out->change, e);
}

static spreg_status
list_changes(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__ListChangesRequest *in = (const void *) in_;
	Spreg__V1__ListChangesResponse *out = (void *) out_;
	size_t limit;
	spreg_status st;

	if ((st = rpc_page_size(call, "limit", in->limit, &limit, e)) !=
	    SPREG_OK) {
		return st;
	}
	if ((st = db_change_last_seq(call->txn, &out->last_seq, e)) !=
	    SPREG_OK) {
		return st;
	}
	if (in->since_seq > out->last_seq) {
		return err_set(e, SPREG_OUT_OF_RANGE,
		    "since_seq: %llu is beyond the last seq %llu",
		    (unsigned long long) in->since_seq,
		    (unsigned long long) out->last_seq);
	}
	db_change_filter f = {in->subprocessor_id, in->customer_id, NULL, 0};
	if (in->subprocessor_id[0] && in->customer_id[0]) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "customer_id: give subprocessor_id or customer_id, not both");
	}
	if (in->subprocessor_id[0] && !validate_slug(in->subprocessor_id)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "subprocessor_id: must match [a-z0-9][a-z0-9-]{0,63}");
	}
	if (in->customer_id[0]) {
		Spreg__V1__Customer *c;
		if ((st = rpc_check_id("customer_id", in->customer_id, e)) !=
		        SPREG_OK ||
		    (st = db_customer_get(call->txn, in->customer_id,
		         call->arena, &c, e)) != SPREG_OK) {
			return st;
		}
		f.customer_services = c->services;
		f.ncustomer_services = c->n_services;
	}
	/* A sparse filter scans a bounded stretch per call; the client
	 * continues from next_since_seq. */
	if ((st = db_change_list(call->txn, in->since_seq, limit, &f, 100000,
	         call->arena, &out->changes, &out->n_changes,
	         &out->next_since_seq, e)) != SPREG_OK || !call->anonymous) {
		return st;
	}
	/* The public (the Atom feed without a token) sees the changes to
	 * the public list only, and not who made them: no customer's
	 * change, objection or assessment, nor a customer's own choice. */
	size_t kept = 0;
	for (size_t i = 0; i < out->n_changes; i++) {
		Spreg__V1__Change *c = out->changes[i];
		if (!rpc_change_public(c)) {
			continue;
		}
		c->selected_by = NULL;
		c->n_selected_by = 0;
		c->actor = (char *) "";
		c->token = (char *) "";
		c->request_id = 0;
		out->changes[kept++] = c;
	}
	out->n_changes = kept;
	return SPREG_OK;
}

static bool
under(const char *key, const char *parent)
{
	size_t n = strlen(parent);
	return n == 0 || (strncmp(key, parent, n) == 0 &&
	                     (key[n] == '\0' || key[n] == '.'));
}

static spreg_status
list_data_categories(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__ListDataCategoriesRequest *in = (const void *) in_;
	Spreg__V1__ListDataCategoriesResponse *out = (void *) out_;
	const catalog *cat = rpc_server_catalog(call->srv);
	Spreg__V1__DataCategory **custom;
	size_t ncustom;
	spreg_status st;

	if (in->parent[0] && !rpc_has_category(call, in->parent)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "parent: unknown data category '%s'",
		    validate_category_key(in->parent) ? in->parent : "?");
	}
	if ((st = db_category_list(call->txn, call->arena, &custom,
	         &ncustom, e)) != SPREG_OK) {
		return st;
	}
	size_t nshipped = catalog_category_count(cat);
	out->categories = arena_alloc(call->arena,
	    (nshipped + ncustom + 1) * sizeof(*out->categories));
	if (out->categories == NULL) {
		return err_oom(e, NULL);
	}
	/* Merge the two key-ordered lists. */
	size_t i = 0, j = 0;
	while (i < nshipped || j < ncustom) {
		const catalog_category *c = catalog_category_at(cat, i);
		bool take_shipped = j == ncustom ||
		    (c != NULL && strcmp(c->key, custom[j]->key) < 0);
		Spreg__V1__DataCategory *dc;
		if (take_shipped) {
			i++;
			if (!under(c->key, in->parent)) {
				continue;
			}
			if ((dc = arena_alloc(call->arena, sizeof(*dc))) ==
			    NULL) {
				return err_oom(e, NULL);
			}
			spreg__v1__data_category__init(dc);
			dc->key = (char *) c->key;
			dc->name = (char *) c->name;
			dc->parent = (char *) c->parent;
			dc->special_category = c->special;
			dc->description = (char *) c->special_note;
		} else {
			dc = custom[j++];
			if (!under(dc->key, in->parent)) {
				continue;
			}
		}
		out->categories[out->n_categories++] = dc;
	}
	return SPREG_OK;
}

static spreg_status
put_data_category(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__PutDataCategoryRequest *in = (const void *) in_;
	Spreg__V1__PutDataCategoryResponse *out = (void *) out_;
	const catalog *cat = rpc_server_catalog(call->srv);
	Spreg__V1__DataCategory *c, *parent_custom;
	const catalog_category *parent_shipped;
	spreg_status st;
	err ignored;

	if (in->category == NULL) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "category: required");
	}
	if ((c = arena_alloc(call->arena, sizeof(*c))) == NULL) {
		return err_oom(e, NULL);
	}
	*c = *in->category;
	c->base.n_unknown_fields = 0;
	if (!validate_category_key(c->key)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "category.key: segments of [a-z0-9_] joined by dots");
	}
	if (catalog_category_find(cat, c->key) != NULL) {
		return err_set(e, SPREG_FAILED_PRECONDITION,
		    "category.key: '%s' is a shipped category and cannot be "
		    "changed", c->key);
	}
	const char *dot = strrchr(c->key, '.');
	size_t plen = dot ? (size_t) (dot - c->key) : 0;
	if (dot == NULL || strlen(c->parent) != plen ||
	    strncmp(c->parent, c->key, plen) != 0) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "category.parent: must be the key without its last "
		    "segment (user keys go under an existing parent)");
	}
	if (c->name[0] == '\0' || strlen(c->name) > validate_name_max()) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "category.name: required, at most %zu bytes of text",
		    validate_name_max());
	}
	if (strlen(c->description) > validate_limits_get()->text_max) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "category.description: at most %zu bytes of text",
		    validate_limits_get()->text_max);
	}
	if ((st = validate_text_field("category.name", c->name, false, e)) !=
	        SPREG_OK ||
	    (st = validate_text_field("category.description", c->description,
	         true, e)) != SPREG_OK) {
		return st;
	}
	parent_shipped = catalog_category_find(cat, c->parent);
	if (parent_shipped == NULL &&
	    db_category_get(call->txn, c->parent, call->arena, &parent_custom,
	        &ignored) != SPREG_OK) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "category.parent: unknown data category '%s'", c->parent);
	}
	/* Below a special category is special too. */
	if (parent_shipped != NULL ? parent_shipped->special :
	                             parent_custom->special_category) {
		c->special_category = true;
	}
	c->custom = true;
	out->category = c;
	return db_category_put(call->txn, c, e);
}

/* The PUB URLs and heartbeat period, for watchers that find the stream
 * through ServerInfo. */
static spreg_status
publish_info(rpc_call *call, Spreg__V1__ServerInfoResponse *out, err *e)
{
	const rpc_server *srv = call->srv;
	size_t n = 0;

	out->heartbeat_ms = rpc_server_heartbeat_ms(srv);
	while (rpc_server_pub_url(srv, n) != NULL) {
		n++;
	}
	if (n == 0) {
		return SPREG_OK;
	}
	out->publish_urls = arena_alloc(call->arena,
	    n * sizeof(*out->publish_urls));
	if (out->publish_urls == NULL) {
		return err_oom(e, NULL);
	}
	for (size_t i = 0; i < n; i++) {
		out->publish_urls[i] = (char *) rpc_server_pub_url(srv, i);
	}
	out->n_publish_urls = n;
	return SPREG_OK;
}

static spreg_status
server_info(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	Spreg__V1__ServerInfoResponse *out = (void *) out_;
	Spreg__V1__DataCategory **custom;
	size_t ncustom;
	spreg_status st;
	(void) in_;

	if ((st = db_sp_count(call->txn, &out->subprocessors,
	         &out->active_subprocessors, e)) != SPREG_OK ||
	    (st = db_change_last_seq(call->txn, &out->last_seq, e)) !=
	        SPREG_OK ||
	    (st = db_category_list(call->txn, call->arena, &custom, &ncustom,
	         e)) != SPREG_OK) {
		return st;
	}
	out->version = (char *) SPREG_VERSION;
	out->schema_version = DB_SCHEMA_VERSION;
	out->data_categories =
	    catalog_category_count(rpc_server_catalog(call->srv)) + ncustom;
	out->uptime_seconds = rpc_server_uptime(call->srv);
	out->started_at = (char *) rpc_server_started_at(call->srv);
	out->map_size = db_map_size(rpc_server_db(call->srv));
	out->epoch = rpc_server_epoch(call->srv);
	db *d = rpc_server_db(call->srv);
	out->store_id = (char *) db_store_identity(d);
	char why[ERR_MSG_MAX];
	if ((out->read_only = db_read_only(d, why, sizeof(why)))) {
		out->read_only_reason = arena_strdup(call->arena, why);
		if (out->read_only_reason == NULL) {
			return err_oom(e, NULL);
		}
	}
	const rpc_limits *lim = rpc_server_limits(call->srv);
	out->max_message_bytes = lim->message_max;
	out->max_inflight = (uint32_t) lim->inflight_max;
	out->max_page_size = lim->page_max;
	out->max_string_bytes = (uint32_t) validate_limits_get()->text_max;
	out->max_list_entries = (uint32_t) validate_limits_get()->list_max;
	out->max_connections = (uint32_t) lim->connections_max;
	out->max_connections_per_peer = (uint32_t) lim->per_peer_max;
	out->max_queued_replies = (uint32_t) lim->queued_max;
	out->max_queued_bytes = lim->queued_bytes_max;
	out->idle_timeout_ms = lim->idle_timeout_ms;
	out->send_timeout_ms = lim->send_timeout_ms;
	out->max_http_body_bytes = lim->http_body_max;
	out->max_http_requests = (uint32_t) lim->http_requests_max;
	out->max_http_connections = (uint32_t) lim->http_connections_max;
	out->max_http_connections_per_peer =
	    (uint32_t) lim->http_per_peer_max;
	out->http_header_timeout_ms = lim->http_header_timeout_ms;
	out->http_body_timeout_ms = lim->http_body_timeout_ms;
	out->http_send_timeout_ms = lim->http_send_timeout_ms;
	if ((st = publish_info(call, out, e)) != SPREG_OK) {
		return st;
	}
	const assess_rules *rules = rpc_server_rules(call->srv);
	if (rules != NULL) {
		out->rules_version = (char *) assess_rules_version(rules);
		out->rules_checksum = (char *) assess_rules_checksum(rules);
	}
	if (call->customer_id != NULL) {
		/* The registry's size is not a customer's business. */
		out->subprocessors = out->active_subprocessors = 0;
		out->data_categories = 0;
		return SPREG_OK;
	}
	return db_customer_count(call->txn, &out->customers, e);
}

static spreg_status
verify_log(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	(void) in_;
	return db_verify(call->txn, (Spreg__V1__VerifyLogResponse *) out_,
	    call->arena, e);
}

/* Indexed like spreg__v1__registry__descriptor.methods. */
static const rpc_method registry_methods[] = {
	{"PutSubprocessor", RPC_WRITE | RPC_EDITOR, put_subprocessor, NULL},
	{"GetSubprocessor", RPC_READ | RPC_CUSTOMER, get_subprocessor,
	    "customer"},
	{"ListSubprocessors", RPC_READ | RPC_CUSTOMER, list_subprocessors,
	    "customer"},
	{"RetireSubprocessor", RPC_WRITE | RPC_EDITOR, retire_subprocessor,
	    NULL},
	{"ListChanges", RPC_READ | RPC_CUSTOMER | RPC_PUBLIC, list_changes,
	    "customer_id"},
	{"ListDataCategories", RPC_READ | RPC_CUSTOMER, list_data_categories,
	    NULL},
	{"PutDataCategory", RPC_WRITE | RPC_EDITOR, put_data_category, NULL},
	{"ServerInfo", RPC_READ | RPC_CUSTOMER, server_info, NULL},
	{"PutCustomer", RPC_WRITE | RPC_EDITOR, rpc_put_customer, NULL},
	{"GetCustomer", RPC_READ | RPC_CUSTOMER, rpc_get_customer, "id"},
	{"ListCustomers", RPC_READ | RPC_CUSTOMER, rpc_list_customers, NULL},
	{"DeleteCustomer", RPC_WRITE | RPC_EDITOR, rpc_delete_customer, NULL},
	{"AnnounceChange", RPC_WRITE | RPC_EDITOR, rpc_announce_change, NULL},
	{"ListAnnouncements", RPC_READ | RPC_CUSTOMER | RPC_PUBLIC,
	    rpc_list_announcements,
	    "customer_id"},
	{"ObjectToChange", RPC_WRITE | RPC_EDITOR | RPC_CUSTOMER,
	    rpc_object_to_change, "customer_id"},
	{"ListObjections", RPC_READ | RPC_CUSTOMER, rpc_list_objections,
	    "customer_id"},
	{"VerifyLog", RPC_READ, verify_log, NULL},
	{"WithdrawAnnouncement", RPC_WRITE | RPC_EDITOR,
	    rpc_withdraw_announcement, NULL},
	{"ImportSubprocessors", RPC_WRITE | RPC_EDITOR,
	    rpc_import_subprocessors, NULL},
	{"GetSubprocessors", RPC_READ | RPC_CUSTOMER, get_subprocessors,
	    "customer"},
	{"GetFeedKey", RPC_READ | RPC_EDITOR | RPC_CUSTOMER, rpc_get_feed_key,
	    "customer_id"},
	{"RotateFeedKey", RPC_WRITE | RPC_EDITOR | RPC_CUSTOMER | RPC_NO_SAVE,
	    rpc_rotate_feed_key, "customer_id"},
};

const rpc_service rpc_registry_service = {
	&spreg__v1__registry__descriptor,
	registry_methods,
	sizeof(registry_methods) / sizeof(registry_methods[0]),
};
