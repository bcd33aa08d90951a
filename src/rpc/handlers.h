/* Handlers of service spreg.v1.Registry kept outside registry.c, and the
 * helpers they share. Internal to src/rpc/. */
#ifndef RPC_HANDLERS_H
#define RPC_HANDLERS_H

#include "db/record.h"
#include "rpc/rpc.h"

#define RPC_PAGE_DEFAULT 100

/* The page size a list call runs with: requested, or when 0 the default
 * (at most page_max). INVALID_ARGUMENT "field: at most N" above the
 * server's page_max. */
spreg_status rpc_page_size(const rpc_call *call, const char *field,
    uint32_t requested, size_t *size_out, err *e);
db_actor rpc_actor_of(const rpc_call *call);
/* Shipped or user-added category? arg is the rpc_call. */
bool rpc_has_category(void *arg, const char *key);
/* Does sp serve one of c's services? A customer_selected vendor serves
 * its customer only. */
bool rpc_serves(const Spreg__V1__Subprocessor *sp,
    const Spreg__V1__Customer *c);
spreg_status rpc_check_id(const char *field, const char *id, err *e);
/* A customer_selected vendor's customer exists (INVALID_ARGUMENT
 * naming "customer" otherwise): in the call's transaction, or in t. */
spreg_status rpc_check_customer_selected(rpc_call *call,
    const Spreg__V1__Subprocessor *sp, err *e);
spreg_status rpc_check_customer_in(db_txn *t, arena *a,
    const Spreg__V1__Subprocessor *sp, err *e);
/* Checks the vendor filters of a request (category, country, mechanism,
 * service); fields are named with prefix ("" or "filter."). */
spreg_status rpc_check_filter(rpc_call *call, const char *prefix,
    const char *category, const char *country, const char *mechanism,
    const char *service, err *e);

/* An http:// or https:// URL with a host, printable ASCII, at most max
 * bytes (INVALID_ARGUMENT naming field). */
spreg_status rpc_check_url(const char *field, const char *url, size_t max,
    err *e);
/*
 * PutSubprocessor's write of in (copied, validated and normalised, the
 * notice rule applied) by who: *out is the record written, *change_out
 * its change (NULL when nothing changed), in notice.c. The Follows
 * poller writes a vendor through it too.
 */
spreg_status rpc_put_vendor(rpc_call *call, const Spreg__V1__Subprocessor *in,
    uint64_t expected_revision, bool create_only, bool emergency,
    const char *reason, const db_actor *who, Spreg__V1__Subprocessor **out,
    Spreg__V1__Change **change_out, err *e);
/*
 * A fetched public list f on the vendor's fourth parties from url
 * (follow.c). apply: they become those of the list (others kept);
 * confirm (a 304): the list is as last read, its fourth parties
 * confirmed today, written once a day at most. Each writes the vendor,
 * by who, only when it differs: *change_out is then its change, else
 * NULL.
 */
spreg_status rpc_follow_apply(rpc_call *call, const char *vendor,
    const char *url, const publist_fetched *f, const db_actor *who,
    Spreg__V1__Change **change_out, err *e);
spreg_status rpc_follow_confirm(rpc_call *call, const char *vendor,
    const char *url, const db_actor *who, Spreg__V1__Change **change_out,
    err *e);
/*
 * The notice rule on PutSubprocessor: FAILED_PRECONDITION naming the
 * customer owed the longest notice, the days and the earliest date,
 * when sp (validated) would be in use for a customer sooner than its
 * notice_days and is new to it (a new vendor, one not yet in use or
 * upcoming, or newly serving one of its services, a country or a data
 * category); unless emergency, with a reason. Fills note with what the
 * Change records: emergency, reason, the customer, the first day in use.
 * A proposed vendor passes; but an upcoming one written back as it
 * reads (proposed, its effective_from) stays upcoming: sp->status is set
 * active, and checked.
 */
spreg_status rpc_put_notice(rpc_call *call, Spreg__V1__Subprocessor *sp,
    bool emergency, const char *reason, Spreg__V1__Change *note, err *e);
/* ImportSubprocessors (bulk.c). */
#define RPC_IMPORT_MAX 1000	/* items of one request */
spreg_status rpc_import_subprocessors(rpc_call *call,
    const ProtobufCMessage *in, ProtobufCMessage *out, err *e);
spreg_status rpc_put_customer(rpc_call *call, const ProtobufCMessage *in,
    ProtobufCMessage *out, err *e);
spreg_status rpc_get_customer(rpc_call *call, const ProtobufCMessage *in,
    ProtobufCMessage *out, err *e);
spreg_status rpc_list_customers(rpc_call *call, const ProtobufCMessage *in,
    ProtobufCMessage *out, err *e);
spreg_status rpc_delete_customer(rpc_call *call, const ProtobufCMessage *in,
    ProtobufCMessage *out, err *e);
spreg_status rpc_announce_change(rpc_call *call, const ProtobufCMessage *in,
    ProtobufCMessage *out, err *e);
spreg_status rpc_list_announcements(rpc_call *call,
    const ProtobufCMessage *in, ProtobufCMessage *out, err *e);
spreg_status rpc_withdraw_announcement(rpc_call *call,
    const ProtobufCMessage *in, ProtobufCMessage *out, err *e);
spreg_status rpc_get_feed_key(rpc_call *call, const ProtobufCMessage *in,
    ProtobufCMessage *out, err *e);
spreg_status rpc_rotate_feed_key(rpc_call *call, const ProtobufCMessage *in,
    ProtobufCMessage *out, err *e);
spreg_status rpc_object_to_change(rpc_call *call, const ProtobufCMessage *in,
    ProtobufCMessage *out, err *e);
spreg_status rpc_list_objections(rpc_call *call, const ProtobufCMessage *in,
    ProtobufCMessage *out, err *e);

#endif
