/* Customers, announced changes and objections (GDPR Art. 28(2)). */
#include <stdio.h>
#include <string.h>

#include "core/date.h"
#include "core/validate.h"
#include "core/vocab.h"
#include "rpc/auth.h"
#include "rpc/handlers.h"
#include "rpc/token.h"

spreg_status
rpc_put_customer(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__PutCustomerRequest *in = (const void *) in_;
	Spreg__V1__PutCustomerResponse *out = (void *) out_;
	db_actor who = rpc_actor_of(call);
	spreg_status st;

	if (in->customer == NULL) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "customer: required");
	}
	Spreg__V1__Customer *c = arena_alloc(call->arena, sizeof(*c));
	if (c == NULL) {
		return err_oom(e, NULL);
	}
	*c = *in->customer;
	if ((st = validate_customer(c, e)) != SPREG_OK) {
		return st;
	}
	/* The feed key's generation is the server's: a put keeps it. */
	Spreg__V1__Customer *old;
	err ignored;
	if (db_customer_get(call->txn, c->id, call->arena, &old, &ignored) ==
	    SPREG_OK) {
		c->feed_key_generation = old->feed_key_generation;
	}
	if ((st = db_customer_put(call->txn, c, in->expected_revision, &who,
	         call->arena, &out->change, e)) != SPREG_OK) {
		return st;
	}
	out->customer = c;
	return SPREG_OK;
}

/* The customer whose feed key is asked for. */
static spreg_status
feed_customer(rpc_call *call, const char *id, Spreg__V1__Customer **c,
    err *e)
{
	spreg_status st = rpc_check_id("customer_id", id, e);

	return st != SPREG_OK ? st :
	    db_customer_get(call->txn, id, call->arena, c, e);
}

static spreg_status
feed_key_reply(rpc_call *call, const Spreg__V1__Customer *c,
    Spreg__V1__GetFeedKeyResponse *out, err *e)
{
	char *key = arena_alloc(call->arena, RPC_FEED_KEY_LEN + 1);
	size_t len = strlen(c->id) + RPC_FEED_KEY_LEN + 64;
	char *path = arena_alloc(call->arena, len);

	if (key == NULL || path == NULL) {
		return err_oom(e, NULL);
	}
	rpc_auth_feed_key(call->srv, c->id, c->feed_key_generation, key);
	snprintf(path, len, "/customers/%s/changes.atom?key=%s", c->id, key);
	out->key = key;
	out->feed_path = path;
	out->generation = c->feed_key_generation;
	return SPREG_OK;
}

spreg_status
rpc_get_feed_key(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__GetFeedKeyRequest *in = (const void *) in_;
	Spreg__V1__Customer *c;
	spreg_status st;

	if ((st = feed_customer(call, in->customer_id, &c, e)) != SPREG_OK) {
		return st;
	}
	return feed_key_reply(call, c, (void *) out_, e);
}

spreg_status
rpc_rotate_feed_key(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__RotateFeedKeyRequest *in = (const void *) in_;
	db_actor who = rpc_actor_of(call);
	Spreg__V1__Customer *c;
	Spreg__V1__Change *change;
	spreg_status st;

	if ((st = feed_customer(call, in->customer_id, &c, e)) != SPREG_OK) {
		return st;
	}
	/* A logged customer change: who rotated it, and when, is kept. */
	c->feed_key_generation++;
	if ((st = db_customer_put(call->txn, c, 0, &who, call->arena, &change,
	         e)) != SPREG_OK) {
		return st;
	}
	return feed_key_reply(call, c, (void *) out_, e);
}

spreg_status
rpc_get_customer(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__GetCustomerRequest *in = (const void *) in_;
	Spreg__V1__GetCustomerResponse *out = (void *) out_;
	spreg_status st;

	if ((st = rpc_check_id("id", in->id, e)) != SPREG_OK) {
		return st;
	}
	return db_customer_get(call->txn, in->id, call->arena, &out->customer,
	    e);
}

spreg_status
rpc_list_customers(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__ListCustomersRequest *in = (const void *) in_;
	Spreg__V1__ListCustomersResponse *out = (void *) out_;
	const char *after;
	bool more;
	size_t limit;
	spreg_status st;

	if (call->customer_id != NULL) {
		/* A customer token lists itself. */
		out->customers = arena_alloc(call->arena,
		    sizeof(*out->customers));
		if (out->customers == NULL) {
			return err_oom(e, NULL);
		}
		st = db_customer_get(call->txn, call->customer_id, call->arena,
		    &out->customers[0], e);
		out->n_customers = st == SPREG_OK;
		return st == SPREG_NOT_FOUND ? SPREG_OK : st;
	}
	if ((st = rpc_page_size(call, "page_size", in->page_size, &limit,
	         e)) != SPREG_OK ||
	    (st = rpc_token_open(rpc_server_secret(call->srv), "customers",
	         in->page_token, call->arena, &after, e)) != SPREG_OK ||
	    (st = db_customer_list(call->txn, after, limit, call->arena,
	         &out->customers, &out->n_customers, &more, e)) != SPREG_OK) {
		return st;
	}
	if (more && out->n_customers > 0) {
		out->next_page_token = rpc_token_make(
		    rpc_server_secret(call->srv), "customers",
		    out->customers[out->n_customers - 1]->id, call->arena);
		if (out->next_page_token == NULL) {
			return err_oom(e, NULL);
		}
	}
	return SPREG_OK;
}

spreg_status
rpc_delete_customer(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__DeleteCustomerRequest *in = (const void *) in_;
	Spreg__V1__DeleteCustomerResponse *out = (void *) out_;
	db_actor who = rpc_actor_of(call);
	spreg_status st;

	if ((st = rpc_check_id("id", in->id, e)) != SPREG_OK) {
		return st;
	}
	return db_customer_delete(call->txn, in->id, &who, call->arena,
	    &out->change, e);
}

static bool
has_str(char *const *list, size_t n, const char *s)
{
	char *const one[] = {(char *) s};

	return db_services_meet(list, n, one, 1);
}

static bool
has_category(const Spreg__V1__Subprocessor *sp, const char *key)
{
	if (has_str(sp->data_categories, sp->n_data_categories, key)) {
		return true;
	}
	for (size_t i = 0; i < sp->n_locations; i++) {
		const Spreg__V1__Location *l = sp->locations[i];
		if (has_str(l->data_categories, l->n_data_categories, key)) {
			return true;
		}
	}
	return false;
}

static bool
has_country(const Spreg__V1__Subprocessor *sp, const char *country)
{
	for (size_t i = 0; i < sp->n_locations; i++) {
		if (strcmp(sp->locations[i]->country, country) == 0) {
			return true;
		}
	}
	return false;
}

/* Does sp process in a country, or a data category, that old did not? */
static bool
reaches_further(const Spreg__V1__Subprocessor *sp,
    const Spreg__V1__Subprocessor *old)
{
	for (size_t i = 0; i < sp->n_data_categories; i++) {
		if (!has_category(old, sp->data_categories[i])) {
			return true;
		}
	}
	for (size_t i = 0; i < sp->n_locations; i++) {
		const Spreg__V1__Location *l = sp->locations[i];
		if (!has_country(old, l->country)) {
			return true;
		}
		for (size_t j = 0; j < l->n_data_categories; j++) {
			if (!has_category(old, l->data_categories[j])) {
				return true;
			}
		}
	}
	return false;
}

/* Does sp serve a service of c's that old did not? */
static bool
newly_serves(const Spreg__V1__Subprocessor *sp,
    const Spreg__V1__Subprocessor *old, const Spreg__V1__Customer *c)
{
	for (size_t i = 0; i < sp->n_services; i++) {
		if (has_str(c->services, c->n_services, sp->services[i]) &&
		    !has_str(old->services, old->n_services, sp->services[i])) {
			return true;
		}
	}
	return false;
}

/* Art. 28(2) notice is of processors we engage: an independent
 * controller is owed to no one, and a customer's own choice neither to
 * the customer who chose it and contracts with it nor to anyone else. */
static bool
owes_notice(const Spreg__V1__Subprocessor *sp)
{
	vocab_kind k;

	return !vocab_kind_find(sp->kind, &k) ||
	    (k != VOCAB_KIND_CONTROLLER && k != VOCAB_KIND_CUSTOMER_SELECTED);
}

spreg_status
rpc_put_notice(rpc_call *call, Spreg__V1__Subprocessor *sp, bool emergency,
    const char *reason, Spreg__V1__Change *note, err *e)
{
	int32_t today = date_from_ms(call->now_ms), day, until, old_day;
	Spreg__V1__Subprocessor *old = NULL;
	size_t text_max = validate_limits_get()->text_max;
	bool upcoming = false;
	spreg_status st;
	err ignored;

	spreg__v1__change__init(note);
	if (strlen(reason) > text_max || !validate_text(reason, true) ||
	    (emergency && reason[0] == '\0')) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "reason: %sat most %zu bytes of text", emergency ?
		    "an emergency put needs a reason, " : "", text_max);
	}
	note->reason = (char *) reason;
	note->emergency = emergency;
	if (db_sp_get(call->txn, sp->id, 0, call->arena, &old, &ignored) !=
	    SPREG_OK) {
		old = NULL;
	}
	if (old != NULL && (st = db_sp_upcoming(call->txn, old, &upcoming,
	                        e)) != SPREG_OK) {
		return st;
	}
	/* An upcoming vendor written back as it reads (proposed, same
	 * date) stays upcoming. */
	if (upcoming && sp->status == SP_STATUS_PROPOSED &&
	    (sp->effective_from[0] == '\0' ||
	        strcmp(sp->effective_from, old->effective_from) == 0)) {
		sp->status = SP_STATUS_ACTIVE;
	}
	/* The first day it would be in use; none for a proposal. */
	const char *from = sp->effective_from[0] ? sp->effective_from :
	    old != NULL ? old->effective_from : "";
	if (!date_parse(from, &day) || day < today) {
		day = today;
	}
	if (sp->status == SP_STATUS_PROPOSED ||
	    (date_parse(sp->effective_until, &until) && until <= day)) {
		return SPREG_OK;
	}
	/* What customers were already told of: the vendor in use, or
	 * upcoming on a date no later than this one. */
	bool known = old != NULL && (old->status == SP_STATUS_ACTIVE ||
	    (upcoming && date_parse(old->effective_from, &old_day) &&
	        old_day <= day));
	bool further = !known || reaches_further(sp, old);
	Spreg__V1__Customer **custs;
	size_t ncusts;
	if ((st = db_customers_of_services(call->txn, sp->services,
	         sp->n_services, call->arena, &custs, &ncusts, e)) != SPREG_OK) {
		return st;
	}
	const Spreg__V1__Customer *owed = NULL;
	for (size_t i = 0; i < ncusts && owes_notice(sp); i++) {
		const Spreg__V1__Customer *c = custs[i];
		if (!rpc_serves(sp, c)) {
			continue;
		}
		bool fresh = further || !rpc_serves(old, c) ||
		    newly_serves(sp, old, c);
		if (fresh && day < today + (int32_t) c->notice_days &&
		    (owed == NULL || c->notice_days > owed->notice_days)) {
			owed = c;
		}
	}
	char *when = arena_alloc(call->arena, DATE_BUF);
	if (when == NULL) {
		return err_oom(e, NULL);
	}
	date_format(day, when);
	note->effective_at = when;
	if (owed == NULL) {
		return SPREG_OK;
	}
	if (!emergency) {
		char earliest[DATE_BUF];
		date_format(today + (int32_t) owed->notice_days, earliest);
		return err_set(e, SPREG_FAILED_PRECONDITION,
		    "effective_from: customer '%s' is owed %u days' notice "
		    "before '%s' is in use for it; the earliest allowed date "
		    "is %s. Announce it (AnnounceChange: spreg announce), or "
		    "mark the put an emergency with a reason", owed->id,
		    owed->notice_days, sp->id, earliest);
	}
	note->customer_id = owed->id;
	return SPREG_OK;
}

spreg_status
rpc_put_vendor(rpc_call *call, const Spreg__V1__Subprocessor *in,
    uint64_t expected_revision, bool create_only, bool emergency,
    const char *reason, const db_actor *who, Spreg__V1__Subprocessor **out,
    Spreg__V1__Change **change_out, err *e)
{
	spreg_status st;

	/* Validation normalises in place; work on a copy so a retried
	 * transaction starts from what the client sent. */
	Spreg__V1__Subprocessor *sp = arena_alloc(call->arena, sizeof(*sp));
	if (sp == NULL) {
		return err_oom(e, NULL);
	}
	*sp = *in;
	Spreg__V1__Change note;
	if ((st = validate_subprocessor(rpc_server_catalog(call->srv),
	         rpc_has_category, call, sp, e)) != SPREG_OK ||
	    (st = validate_dpf_map(sp, call->arena, e)) != SPREG_OK ||
	    (st = rpc_check_customer_selected(call, sp, e)) != SPREG_OK ||
	    (st = rpc_put_notice(call, sp, emergency, reason, &note, e)) !=
	        SPREG_OK ||
	    (st = db_sp_put_noted(call->txn, sp, expected_revision,
	         create_only, &note, who, call->arena, change_out, e)) !=
	        SPREG_OK) {
		return st;
	}
	*out = sp;
	return SPREG_OK;
}

spreg_status
rpc_announce_change(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__AnnounceChangeRequest *in = (const void *) in_;
	Spreg__V1__AnnounceChangeResponse *out = (void *) out_;
	db_actor who = rpc_actor_of(call);
	int32_t today = date_from_ms(call->now_ms), effective;
	spreg_status st;

	if (in->subprocessor == NULL) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "subprocessor: required");
	}
	if (!date_parse(in->effective_at, &effective)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "effective_at: not a YYYY-MM-DD date");
	}
	if (effective < today || (effective == today && !in->emergency)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "effective_at: %s is not after today", in->effective_at);
	}
	size_t text_max = validate_limits_get()->text_max;
	if ((in->emergency && in->reason[0] == '\0') ||
	    strlen(in->reason) > text_max) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "reason: an emergency replacement needs a reason (text, at "
		    "most %zu bytes)", text_max);
	}
	/* Stored with the announcement, emergency or not. */
	if ((st = validate_text_field("reason", in->reason, true, e)) !=
	    SPREG_OK) {
		return st;
	}
	Spreg__V1__Subprocessor *sp = arena_alloc(call->arena, sizeof(*sp));
	if (sp == NULL) {
		return err_oom(e, NULL);
	}
	*sp = *in->subprocessor;
	if (sp->effective_from[0] == '\0') {
		sp->effective_from = in->effective_at;	/* in use from then */
	}
	if ((st = validate_subprocessor(rpc_server_catalog(call->srv),
	         rpc_has_category, call, sp, e)) != SPREG_OK ||
	    (st = validate_dpf_map(sp, call->arena, e)) != SPREG_OK ||
	    (st = rpc_check_customer_selected(call, sp, e)) != SPREG_OK) {
		return st;
	}
	/* The notice rule: every customer the vendor serves, before or
	 * after the change, gets its notice_days, unless the vendor is of
	 * a kind owed no notice (a customer's own choice serves that
	 * customer alone). */
	Spreg__V1__Subprocessor *old = NULL;
	err ignored;
	if (db_sp_get(call->txn, sp->id, 0, call->arena, &old, &ignored) !=
	    SPREG_OK) {
		old = NULL;
	}
	size_t nserv = sp->n_services + (old ? old->n_services : 0);
	char **serv = arena_alloc(call->arena, (nserv + 1) * sizeof(*serv));
	if (serv == NULL) {
		return err_oom(e, NULL);
	}
	/* An empty repeated field is NULL, which memcpy may not be given. */
	for (size_t i = 0; i < sp->n_services; i++) {
		serv[i] = sp->services[i];
	}
	for (size_t i = 0; old != NULL && i < old->n_services; i++) {
		serv[sp->n_services + i] = old->services[i];
	}
	Spreg__V1__Customer **custs;
	size_t ncusts;
	if ((st = db_customers_of_services(call->txn, serv, nserv,
	         call->arena, &custs, &ncusts, e)) != SPREG_OK) {
		return st;
	}
	/* The announcement names the customer concerned with the longest
	 * notice; only those owed notice (see owes_notice) bound its date. */
	const Spreg__V1__Customer *strictest = NULL, *owed = NULL;
	for (size_t i = 0; i < ncusts; i++) {
		const Spreg__V1__Customer *c = custs[i];
		bool now = rpc_serves(sp, c);
		bool before = old != NULL && rpc_serves(old, c);
		if (!now && !before) {
			continue;
		}
		if (strictest == NULL || c->notice_days > strictest->notice_days) {
			strictest = c;
		}
		if (((now && owes_notice(sp)) || (before && owes_notice(old))) &&
		    (owed == NULL || c->notice_days > owed->notice_days)) {
			owed = c;
		}
	}
	if (owed != NULL && !in->emergency &&
	    effective < today + (int32_t) owed->notice_days) {
		char earliest[DATE_BUF];
		date_format(today + (int32_t) owed->notice_days, earliest);
		return err_set(e, SPREG_FAILED_PRECONDITION,
		    "effective_at: customer '%s' is owed %u days' notice; the "
		    "earliest allowed date is %s (or announce it as an "
		    "emergency replacement with a reason)", owed->id,
		    owed->notice_days, earliest);
	}
	db_announce an = {sp, effective, in->emergency,
	    in->emergency ? in->reason : "", in->expected_revision,
	    strictest != NULL ? strictest->id : ""};
	return db_announcement_put(call->txn, &an, &who, call->arena,
	    &out->announcement, &out->change, e);
}

spreg_status
rpc_list_announcements(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__ListAnnouncementsRequest *in = (const void *) in_;
	Spreg__V1__ListAnnouncementsResponse *out = (void *) out_;
	Spreg__V1__Customer *c;
	spreg_status st;

	if ((st = db_announcement_list(call->txn, in->include_applied,
	         call->arena, &out->announcements, &out->n_announcements, e)) !=
	    SPREG_OK) {
		return st;
	}
	if (call->anonymous) {
		/* The public learns what changes when, not our contracts'
		 * references nor who typed them, nor a customer's own
		 * choice. */
		size_t kept = 0;
		for (size_t i = 0; i < out->n_announcements; i++) {
			Spreg__V1__Subprocessor *sp =
			    out->announcements[i]->subprocessor;
			if (sp != NULL && sp->customer[0] != '\0') {
				continue;
			}
			for (size_t j = 0; sp != NULL && j < sp->n_safeguards;
			     j++) {
				sp->safeguards[j]->document_ref = (char *) "";
				sp->safeguards[j]->tia_ref = (char *) "";
			}
			if (sp != NULL) {
				sp->updated_by = (char *) "";
			}
			out->announcements[kept++] = out->announcements[i];
		}
		out->n_announcements = kept;
	}
	if (in->customer_id[0] == '\0') {
		return SPREG_OK;
	}
	if ((st = rpc_check_id("customer_id", in->customer_id, e)) !=
	        SPREG_OK ||
	    (st = db_customer_get(call->txn, in->customer_id, call->arena, &c,
	         e)) != SPREG_OK) {
		return st;
	}
	/* Concerned: a service of the customer's, as announced or as the
	 * vendor stands now. */
	size_t kept = 0;
	for (size_t i = 0; i < out->n_announcements; i++) {
		Spreg__V1__Announcement *an = out->announcements[i];
		Spreg__V1__Subprocessor *now;
		err ignored;
		bool concerned = an->subprocessor != NULL &&
		    rpc_serves(an->subprocessor, c);
		if (!concerned && an->subprocessor != NULL &&
		    db_sp_get(call->txn, an->subprocessor->id, 0, call->arena,
		        &now, &ignored) == SPREG_OK) {
			concerned = rpc_serves(now, c);
		}
		if (concerned) {
			out->announcements[kept++] = an;
		}
	}
	out->n_announcements = kept;
	return SPREG_OK;
}

spreg_status
rpc_withdraw_announcement(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__WithdrawAnnouncementRequest *in = (const void *) in_;
	Spreg__V1__WithdrawAnnouncementResponse *out = (void *) out_;
	db_actor who = rpc_actor_of(call);

	if (in->change_seq == 0) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "change_seq: required");
	}
	size_t text_max = validate_limits_get()->text_max;
	if (in->reason[0] == '\0' || strlen(in->reason) > text_max ||
	    !validate_text(in->reason, true)) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "reason: a withdrawal needs a reason (text, at most %zu "
		    "bytes)", text_max);
	}
	return db_announcement_withdraw(call->txn, in->change_seq, in->reason,
	    &who, call->arena, &out->announcement, &out->change, e);
}

spreg_status
rpc_object_to_change(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__ObjectToChangeRequest *in = (const void *) in_;
	Spreg__V1__ObjectToChangeResponse *out = (void *) out_;
	db_actor who = rpc_actor_of(call);
	spreg_status st;

	if ((st = rpc_check_id("customer_id", in->customer_id, e)) !=
	    SPREG_OK) {
		return st;
	}
	if (in->change_seq == 0) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "change_seq: required");
	}
	size_t text_max = validate_limits_get()->text_max;
	if (strlen(in->reason) > text_max) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "reason: at most %zu bytes of text", text_max);
	}
	if ((st = validate_text_field("reason", in->reason, true, e)) !=
	    SPREG_OK) {
		return st;
	}
	return db_objection_put(call->txn, in->customer_id, in->change_seq,
	    in->reason, &who, call->arena, &out->objection, &out->change, e);
}

spreg_status
rpc_list_objections(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__ListObjectionsRequest *in = (const void *) in_;
	Spreg__V1__ListObjectionsResponse *out = (void *) out_;
	spreg_status st;

	if (in->change_seq == 0 && in->customer_id[0] == '\0') {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "change_seq: give change_seq, customer_id or both");
	}
	if (in->customer_id[0] &&
	    (st = rpc_check_id("customer_id", in->customer_id, e)) !=
	        SPREG_OK) {
		return st;
	}
	if ((st = db_objection_list(call->txn, in->change_seq,
	         in->customer_id, call->arena, &out->objections,
	         &out->n_objections, e)) != SPREG_OK ||
	    in->change_seq == 0 || in->customer_id[0] == '\0') {
		return st;
	}
	/* Both: listed by customer, kept for the change. */
	size_t kept = 0;
	for (size_t i = 0; i < out->n_objections; i++) {
		if (out->objections[i]->change_seq == in->change_seq) {
			out->objections[kept++] = out->objections[i];
		}
	}
	out->n_objections = kept;
	return SPREG_OK;
}
