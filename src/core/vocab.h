/*
 * The names of the registry's kinds and states, one table each, for
 * every layer: validation and its messages, the store's index keys, the
 * handlers' filters, exports and the spreg command all spell them from
 * here. (The spreg command's help text and the manuals spell them in
 * prose.)
 */
#ifndef CORE_VOCAB_H
#define CORE_VOCAB_H

#include <stdbool.h>
#include <stddef.h>

#include "core/pb.h"
#include "spreg/v1/admin.pb-c.h"

/* Subprocessor.kind. A record stores "" for the default kind. */
typedef enum vocab_kind {
	VOCAB_KIND_SUBPROCESSOR,
	VOCAB_KIND_CONTROLLER,
	VOCAB_KIND_AFFILIATE,
	VOCAB_KIND_CUSTOMER_SELECTED,
	VOCAB_KIND_COUNT
} vocab_kind;

/* "subprocessor", "controller", "affiliate", "customer_selected". */
const char *vocab_kind_name(vocab_kind k);
/* The kind called name ("" is the default, subprocessor); false when
 * no kind is. */
bool vocab_kind_find(const char *name, vocab_kind *out);
/* The name of the kind a record stores (kind): "subprocessor" for "".
 * The kind index's key. */
const char *vocab_kind_of(const char *kind);
/* Every kind's name, for a message: "subprocessor, controller, ...". */
#define VOCAB_KIND_LIST_MAX 96
const char *vocab_kind_list(char buf[VOCAB_KIND_LIST_MAX]);

/* "proposed", "active", "retired"; "unspecified" for any other (the
 * status index's keys). */
const char *vocab_status_name(Spreg__V1__SubprocessorStatus s);

/* A change kind as exports and the spreg command print it:
 * "created", "took-effect", "customer-updated", "unspecified"; NULL
 * for a kind this build does not know. */
const char *vocab_change_kind_name(Spreg__V1__ChangeKind k);

/* A token's role: "reader", "editor", "admin", "customer"; NULL for
 * none or one this build does not know. */
const char *vocab_role_name(Spreg__V1__Role r);
/* The role named name, of reader, editor and admin (a customer's
 * token names its customer too); false for any other name. */
bool vocab_staff_role_find(const char *name, Spreg__V1__Role *out);

#endif
