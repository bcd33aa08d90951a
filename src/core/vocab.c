#include <stdio.h>
#include <string.h>

#include "core/vocab.h"

static const char *const kind_names[VOCAB_KIND_COUNT] = {
	[VOCAB_KIND_SUBPROCESSOR] = "subprocessor",
	[VOCAB_KIND_CONTROLLER] = "controller",
	[VOCAB_KIND_AFFILIATE] = "affiliate",
	[VOCAB_KIND_CUSTOMER_SELECTED] = "customer_selected",
};

const char *
vocab_kind_name(vocab_kind k)
{
	return k < VOCAB_KIND_COUNT ? kind_names[k] : "?";
}

bool
vocab_kind_find(const char *name, vocab_kind *out)
{
	if (name[0] == '\0') {
		*out = VOCAB_KIND_SUBPROCESSOR;
		return true;
	}
	for (int k = 0; k < VOCAB_KIND_COUNT; k++) {
		if (strcmp(name, kind_names[k]) == 0) {
			*out = (vocab_kind) k;
			return true;
		}
	}
	return false;
}

const char *
vocab_kind_of(const char *kind)
{
	return kind[0] != '\0' ? kind : kind_names[VOCAB_KIND_SUBPROCESSOR];
}

const char *
vocab_kind_list(char buf[VOCAB_KIND_LIST_MAX])
{
	size_t len = 0;

	buf[0] = '\0';
	for (int k = 0; k < VOCAB_KIND_COUNT; k++) {
		len += (size_t) snprintf(buf + len, VOCAB_KIND_LIST_MAX - len,
		    "%s%s", k > 0 ? ", " : "", kind_names[k]);
	}
	return buf;
}

const char *
vocab_status_name(Spreg__V1__SubprocessorStatus s)
{
	switch (s) {
	case SP_STATUS_PROPOSED:
		return "proposed";
	case SP_STATUS_ACTIVE:
		return "active";
	case SP_STATUS_RETIRED:
		return "retired";
	default:
		return "unspecified";
	}
}

const char *
vocab_change_kind_name(Spreg__V1__ChangeKind k)
{
	switch (k) {
	case SPREG__V1__CHANGE_KIND__CHANGE_KIND_UNSPECIFIED:
		return "unspecified";
	case CHANGE_CREATED:
		return "created";
	case CHANGE_UPDATED:
		return "updated";
	case CHANGE_RETIRED:
		return "retired";
	case CHANGE_ANNOUNCED:
		return "announced";
	case CHANGE_TOOK_EFFECT:
		return "took-effect";
	case CHANGE_OBJECTION:
		return "objection";
	case CHANGE_CUSTOMER_UPDATED:
		return "customer-updated";
	case CHANGE_CUSTOMER_DELETED:
		return "customer-deleted";
	case CHANGE_ASSESSMENT_CHANGED:
		return "assessment-changed";
	case CHANGE_WITHDRAWN:
		return "withdrawn";
	case CHANGE_FOLLOWED:
		return "followed";
	case CHANGE_UNFOLLOWED:
		return "unfollowed";
	default:
		return NULL;
	}
}

static const char *const role_names[] = {
	[SPREG__V1__ROLE__READER] = "reader",
	[SPREG__V1__ROLE__EDITOR] = "editor",
	[SPREG__V1__ROLE__ADMIN] = "admin",
	[SPREG__V1__ROLE__CUSTOMER] = "customer",
};
#define NROLES (sizeof(role_names) / sizeof(role_names[0]))

const char *
vocab_role_name(Spreg__V1__Role r)
{
	return (unsigned) r < NROLES ? role_names[r] : NULL;
}

bool
vocab_staff_role_find(const char *name, Spreg__V1__Role *out)
{
	static const Spreg__V1__Role staff[] = {SPREG__V1__ROLE__READER,
	    SPREG__V1__ROLE__EDITOR, SPREG__V1__ROLE__ADMIN};

	for (size_t i = 0; i < sizeof(staff) / sizeof(staff[0]); i++) {
		if (strcmp(name, role_names[staff[i]]) == 0) {
			*out = staff[i];
			return true;
		}
	}
	return false;
}
