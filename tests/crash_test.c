/*
 * Crash test: kill -9 spregd while several clients write. After a restart
 * every acknowledged write is present, the store opens cleanly, and the
 * change log's seqs run 1..last_seq with no gap and no duplicate. The
 * kill/restart cycle runs CYCLES times on one data folder and each
 * verification covers every write acknowledged so far.
 *
 * A write that failed (timeout or UNAVAILABLE around the kill) has an
 * unknown outcome: the server may or may not have applied it, and both
 * are fine. A write that returned OK must survive.
 *
 * Environment: SPREGD, the server binary; SPREG_TEST_KEEP non-empty keeps
 * the data folder (for a failure's post-mortem). Prints "ok - ..." or
 * "not ok - ..." per check, "# ..." diagnostics, and last a line
 * "N passed, M failed"; the exit status is non-zero on any failure.
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spreg/client.h"
#include "support/record.h"
#include "support/spawn.h"
#include "test_token.h"
#include "spreg/v1/registry.pb-c.h"

#define CYCLES 3
#define WRITERS 8
#define WRITE_MS 1500		/* writing before each kill */
#define WRITE_TIMEOUT_MS 2000	/* per put: bounds the wait after a kill */
#define VERIFY_TIMEOUT_MS 10000
#define READY_WAIT_MS 10000
#define ALIVE_GRACE_MS 200	/* a restarted server must outlive this */
#define UPDATE_ONE_IN 4		/* about one put in four is an update */
#define PAGE_LIMIT 1000
#define PROBLEMS_SHOWN 10

#define KIND_CREATED SPREG__V1__CHANGE_KIND__CHANGE_KIND_CREATED
#define KIND_UPDATED SPREG__V1__CHANGE_KIND__CHANGE_KIND_UPDATED

/* One acknowledged put: what the server said it stored. */
typedef struct ack {
	char id[32];
	char name[96];
	uint64_t revision;
	uint64_t seq;
} ack;

typedef struct ack_list {
	ack *items;
	size_t len;
	size_t cap;
} ack_list;

/* One entry of the change log as read back. */
typedef struct logged {
	char id[72];
	uint64_t seq;
	int kind;
	uint64_t old_revision;
	uint64_t new_revision;
} logged;

/* A writer keeps its counters across cycles: new ids stay new, and
 * updates may hit records of earlier cycles. */
typedef struct writer {
	int index;
	pthread_t thread;
	uint32_t rng;
	unsigned next_id;	/* ids w<index>-1 .. -(next_id - 1) tried */
	unsigned version;	/* makes every put's name unique */
	ack_list acks;		/* every cycle's */
	/* This cycle's counts. */
	size_t acked;
	size_t acked_updates;
	size_t unknown;
	size_t errors;		/* definite errors and malformed replies */
	char first_error[512];
} writer;

/* A count of problems found by one check, the first few printed. */
typedef struct problems {
	size_t count;
} problems;

static char test_dir[256];
static char server_url[sizeof(((spawn *) 0)->url)];
static spawn server;	/* pid 0: not running */
static spawn_opts server_opts;
static atomic_bool killed;
static int passed;
static int failed;

static void
diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	fflush(stdout);
}

static bool
check(bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs(ok ? "ok - " : "not ok - ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	fflush(stdout);
	if (ok) {
		passed++;
	} else {
		failed++;
	}
	return ok;
}

static void
problem(problems *p, const char *fmt, ...)
{
	va_list ap;

	if (p->count++ < PROBLEMS_SHOWN) {
		va_start(ap, fmt);
		fputs("#   ", stdout);
		vprintf(fmt, ap);
		fputc('\n', stdout);
		va_end(ap);
	} else if (p->count == PROBLEMS_SHOWN + 1) {
		fputs("#   (more not shown)\n", stdout);
	}
	fflush(stdout);
}

static uint32_t
xorshift(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

static bool
ack_push(ack_list *l, const ack *a)
{
	if (l->len == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		ack *items = realloc(l->items, cap * sizeof(*items));
		if (items == NULL) {
			return false;
		}
		l->items = items;
		l->cap = cap;
	}
	l->items[l->len++] = *a;
	return true;
}

/* The test's own SIGINT/SIGTERM (a harness timeout) must not leave the
 * server running. */
static void
on_signal(int sig)
{
	if (server.pid > 0) {
		kill(server.pid, SIGKILL);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ---- the server process ---- */

/* Starts spregd on the test folder (again: on the same data); true
 * once it is ready. */
static bool
server_start(void)
{
	if (!spawn_start(&server, &server_opts)) {
		return false;
	}
	snprintf(server_url, sizeof(server_url), "%s", server.url);
	return true;
}

static bool
server_alive(void)
{
	char how[64];

	if (server.pid <= 0) {
		return false;
	}
	if (spawn_alive(&server)) {
		return true;
	}
	diag("spregd stopped unexpectedly (%s)",
	    spawn_describe(server.status, how, sizeof(how)));
	return false;
}

/* ---- writers ---- */

/* Puts r; on OK checks the reply and records the acknowledgement. */
static spreg_status
put_record(spreg_client *c, test_record *r, ack_list *acks, char *why,
    size_t why_len)
{
	Spreg__V1__PutSubprocessorRequest req =
	    SPREG__V1__PUT_SUBPROCESSOR_REQUEST__INIT;
	ProtobufCMessage *out = NULL;
	spreg_status st;

	req.subprocessor = &r->sp;
	st = spreg_call(c, "PutSubprocessor", &req.base,
	    &spreg__v1__put_subprocessor_response__descriptor, &out);
	if (st != SPREG_OK) {
		snprintf(why, why_len, "put %s: %s: %s", r->id,
		    spreg_status_name(st), spreg_client_error(c));
		return st;
	}
	const Spreg__V1__PutSubprocessorResponse *resp = (const void *) out;
	const Spreg__V1__Subprocessor *sp = resp->subprocessor;
	const Spreg__V1__Change *ch = resp->change;
	if (sp == NULL || ch == NULL || strcmp(sp->id, r->id) != 0 ||
	    strcmp(sp->name, r->name) != 0 || sp->revision == 0 ||
	    strcmp(ch->subprocessor_id, r->id) != 0 ||
	    ch->new_revision != sp->revision || ch->seq == 0 ||
	    ch->old_revision + 1 != ch->new_revision) {
		snprintf(why, why_len, "put %s: OK with an inconsistent reply",
		    r->id);
		spreg_message_free(out);
		return SPREG_INTERNAL;
	}
	ack a = {.revision = sp->revision, .seq = ch->seq};
	snprintf(a.id, sizeof(a.id), "%s", r->id);
	snprintf(a.name, sizeof(a.name), "%s", r->name);
	spreg_message_free(out);
	if (!ack_push(acks, &a)) {
		snprintf(why, why_len, "out of memory");
		return SPREG_RESOURCE_EXHAUSTED;
	}
	return SPREG_OK;
}

static void
writer_error(writer *w, const char *msg)
{
	if (w->errors++ == 0) {
		snprintf(w->first_error, sizeof(w->first_error), "%s", msg);
	}
}

static void *
writer_main(void *arg)
{
	writer *w = arg;
	spreg_client *c;
	char actor[64], why[512];
	test_record r;

	if (test_client_open(server_url, true, &c) != SPREG_OK) {
		writer_error(w, "spreg_client_open failed");
		return NULL;
	}
	spreg_client_set_timeout(c, WRITE_TIMEOUT_MS);
	snprintf(actor, sizeof(actor), "crash-test writer %d", w->index);
	spreg_client_set_actor(c, actor);
	test_record_init(&r, "app");

	while (!atomic_load(&killed)) {
		bool update = w->next_id > 1 &&
		    xorshift(&w->rng) % UPDATE_ONE_IN == 0;
		unsigned n = update ?
		    1 + xorshift(&w->rng) % (w->next_id - 1) :
		    w->next_id++;
		snprintf(r.id, sizeof(r.id), "w%d-%u", w->index, n);
		snprintf(r.name, sizeof(r.name), "Writer %d record %u v%u",
		    w->index, n, ++w->version);
		spreg_status st = put_record(c, &r, &w->acks, why,
		    sizeof(why));
		if (st == SPREG_OK) {
			w->acked++;
			w->acked_updates += update;
		} else if (st == SPREG_UNAVAILABLE ||
		    st == SPREG_DEADLINE_EXCEEDED) {
			w->unknown++;	/* may or may not be applied */
		} else {
			writer_error(w, why);
		}
	}
	spreg_client_close(c);
	return NULL;
}

/* ---- verification ---- */

static int
ack_cmp(const void *pa, const void *pb)
{
	const ack *a = pa, *b = pb;
	int c = strcmp(a->id, b->id);

	if (c != 0) {
		return c;
	}
	return a->revision < b->revision ? -1 : a->revision > b->revision;
}

/* By id, then revision, then seq: a sound log reads as one chain of
 * revisions per id. */
static int
logged_cmp(const void *pa, const void *pb)
{
	const logged *a = pa, *b = pb;
	int c = strcmp(a->id, b->id);

	if (c != 0) {
		return c;
	}
	if (a->new_revision != b->new_revision) {
		return a->new_revision < b->new_revision ? -1 : 1;
	}
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static spreg_status
server_info(spreg_client *c, uint64_t *last_seq, uint64_t *subprocessors)
{
	Spreg__V1__ServerInfoRequest req = SPREG__V1__SERVER_INFO_REQUEST__INIT;
	ProtobufCMessage *out = NULL;
	spreg_status st;

	st = spreg_call(c, "ServerInfo", &req.base,
	    &spreg__v1__server_info_response__descriptor, &out);
	if (st != SPREG_OK) {
		diag("ServerInfo: %s: %s", spreg_status_name(st),
		    spreg_client_error(c));
		return st;
	}
	const Spreg__V1__ServerInfoResponse *info = (const void *) out;
	*last_seq = info->last_seq;
	*subprocessors = info->subprocessors;
	spreg_message_free(out);
	return SPREG_OK;
}

/*
 * Reads the whole change log in pages into *log_out (caller frees) and
 * checks that seqs are exactly 1..last_seq. false when the log could not
 * be read at all.
 */
static bool
read_log(spreg_client *c, logged **log_out, size_t *len_out,
    uint64_t *last_seq_out, problems *p)
{
	logged *log = NULL;
	size_t len = 0, cap = 0;
	uint64_t since = 0, last_seq = 0, expect = 1;
	bool first_page = true;

	for (;;) {
		Spreg__V1__ListChangesRequest req =
		    SPREG__V1__LIST_CHANGES_REQUEST__INIT;
		ProtobufCMessage *out = NULL;
		req.since_seq = since;
		req.limit = PAGE_LIMIT;
		spreg_status st = spreg_call(c, "ListChanges", &req.base,
		    &spreg__v1__list_changes_response__descriptor, &out);
		if (st != SPREG_OK) {
			diag("ListChanges since %llu: %s: %s",
			    (unsigned long long) since, spreg_status_name(st),
			    spreg_client_error(c));
			free(log);
			return false;
		}
		const Spreg__V1__ListChangesResponse *resp = (const void *) out;
		if (first_page) {
			last_seq = resp->last_seq;
			first_page = false;
		} else if (resp->last_seq != last_seq) {
			problem(p, "last_seq moved from %llu to %llu while "
			    "nothing was writing",
			    (unsigned long long) last_seq,
			    (unsigned long long) resp->last_seq);
		}
		if (resp->n_changes > PAGE_LIMIT) {
			problem(p, "a page of %zu changes (limit %d)",
			    resp->n_changes, PAGE_LIMIT);
		}
		for (size_t i = 0; i < resp->n_changes; i++) {
			const Spreg__V1__Change *ch = resp->changes[i];
			if (ch->seq != expect) {
				if (ch->seq > expect) {
					problem(p, "gap: seq %llu follows %llu",
					    (unsigned long long) ch->seq,
					    (unsigned long long) (expect - 1));
				} else {
					problem(p, "duplicate or out of order: "
					    "seq %llu follows %llu",
					    (unsigned long long) ch->seq,
					    (unsigned long long) (expect - 1));
				}
			}
			if (ch->seq <= since) {
				problem(p, "seq %llu returned for since %llu",
				    (unsigned long long) ch->seq,
				    (unsigned long long) since);
			}
			expect = ch->seq + 1;
			if (len == cap) {
				cap = cap ? cap * 2 : 1024;
				logged *grown = realloc(log,
				    cap * sizeof(*log));
				if (grown == NULL) {
					diag("out of memory");
					spreg_message_free(out);
					free(log);
					return false;
				}
				log = grown;
			}
			logged *l = &log[len++];
			snprintf(l->id, sizeof(l->id), "%s",
			    ch->subprocessor_id);
			l->seq = ch->seq;
			l->kind = (int) ch->kind;
			l->old_revision = ch->old_revision;
			l->new_revision = ch->new_revision;
		}
		size_t n = resp->n_changes;
		uint64_t next = n ? resp->changes[n - 1]->seq : since;
		spreg_message_free(out);
		if (n == 0 || next >= last_seq) {
			break;
		}
		if (next <= since) {
			problem(p, "paging does not advance past seq %llu",
			    (unsigned long long) since);
			break;
		}
		since = next;
	}
	if (len != last_seq || (len > 0 && log[len - 1].seq != last_seq)) {
		problem(p, "%zu changes read, last seq %llu, last_seq %llu",
		    len, len ? (unsigned long long) log[len - 1].seq : 0ULL,
		    (unsigned long long) last_seq);
	}
	*log_out = log;
	*len_out = len;
	*last_seq_out = last_seq;
	return true;
}

static spreg_status
get_record(spreg_client *c, const char *id, uint64_t revision,
    char *name, size_t name_len, uint64_t *revision_out)
{
	Spreg__V1__GetSubprocessorRequest req =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	ProtobufCMessage *out = NULL;
	spreg_status st;

	req.id = (char *) id;
	req.revision = revision;
	st = spreg_call(c, "GetSubprocessor", &req.base,
	    &spreg__v1__get_subprocessor_response__descriptor, &out);
	if (st != SPREG_OK) {
		return st;
	}
	const Spreg__V1__GetSubprocessorResponse *resp = (const void *) out;
	if (resp->subprocessor == NULL) {
		spreg_message_free(out);
		return SPREG_INTERNAL;
	}
	snprintf(name, name_len, "%s", resp->subprocessor->name);
	*revision_out = resp->subprocessor->revision;
	spreg_message_free(out);
	return SPREG_OK;
}

/* (1) Every acknowledged write is readable, at its revision and as the
 * current record or an older one of it. acks sorted by id, revision. */
static void
verify_acks_present(spreg_client *c, const ack *acks, size_t n,
    const logged *by_id, size_t nlog, problems *p)
{
	char name[256];
	uint64_t revision;
	spreg_status st;

	for (size_t i = 0; i < n; i++) {
		const ack *a = &acks[i];
		st = get_record(c, a->id, a->revision, name, sizeof(name),
		    &revision);
		if (st != SPREG_OK) {
			problem(p, "%s revision %llu (acknowledged, seq %llu): "
			    "%s: %s", a->id, (unsigned long long) a->revision,
			    (unsigned long long) a->seq, spreg_status_name(st),
			    spreg_client_error(c));
		} else if (revision != a->revision ||
		    strcmp(name, a->name) != 0) {
			problem(p, "%s revision %llu: history has revision "
			    "%llu name '%s', acknowledged name '%s'", a->id,
			    (unsigned long long) a->revision,
			    (unsigned long long) revision, name, a->name);
		}
		if (i + 1 < n && strcmp(acks[i + 1].id, a->id) == 0) {
			continue;
		}
		/* a is the newest acknowledged write of its id. */
		st = get_record(c, a->id, 0, name, sizeof(name), &revision);
		if (st != SPREG_OK) {
			problem(p, "%s (acknowledged at revision %llu): %s: %s",
			    a->id, (unsigned long long) a->revision,
			    spreg_status_name(st), spreg_client_error(c));
			continue;
		}
		if (revision < a->revision) {
			problem(p, "%s: current revision %llu is older than "
			    "the acknowledged %llu", a->id,
			    (unsigned long long) revision,
			    (unsigned long long) a->revision);
		} else if (revision == a->revision &&
		    strcmp(name, a->name) != 0) {
			problem(p, "%s revision %llu: name '%s', acknowledged "
			    "'%s'", a->id, (unsigned long long) revision, name,
			    a->name);
		}
		/* The log's newest revision of the id is the current one. */
		logged key = {.new_revision = UINT64_MAX, .seq = UINT64_MAX};
		snprintf(key.id, sizeof(key.id), "%s", a->id);
		size_t lo = 0, hi = nlog;	/* first entry > key */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (logged_cmp(&by_id[mid], &key) <= 0) {
				lo = mid + 1;
			} else {
				hi = mid;
			}
		}
		if (lo == 0 || strcmp(by_id[lo - 1].id, a->id) != 0) {
			problem(p, "%s: stored but not in the change log",
			    a->id);
		} else if (by_id[lo - 1].new_revision != revision) {
			problem(p, "%s: current revision %llu, newest in the "
			    "change log %llu", a->id,
			    (unsigned long long) revision,
			    (unsigned long long) by_id[lo - 1].new_revision);
		}
	}
}

/* (3) Each acknowledged write has its change in the log, at the seq the
 * server acknowledged. by_id is sorted with logged_cmp. */
static void
verify_acks_logged(const ack *acks, size_t n, const logged *by_id,
    size_t nlog, problems *p)
{
	for (size_t i = 0; i < n; i++) {
		const ack *a = &acks[i];
		logged key = {.new_revision = a->revision, .seq = 0};
		snprintf(key.id, sizeof(key.id), "%s", a->id);
		size_t lo = 0, hi = nlog;	/* first entry >= key */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (logged_cmp(&by_id[mid], &key) < 0) {
				lo = mid + 1;
			} else {
				hi = mid;
			}
		}
		if (lo == nlog || strcmp(by_id[lo].id, a->id) != 0 ||
		    by_id[lo].new_revision != a->revision) {
			problem(p, "no change for %s new_revision %llu "
			    "(acknowledged with seq %llu)", a->id,
			    (unsigned long long) a->revision,
			    (unsigned long long) a->seq);
		} else if (by_id[lo].seq != a->seq) {
			problem(p, "%s new_revision %llu is seq %llu in the "
			    "log, acknowledged as seq %llu", a->id,
			    (unsigned long long) a->revision,
			    (unsigned long long) by_id[lo].seq,
			    (unsigned long long) a->seq);
		}
	}
}

/* Each id's changes form one chain: created 0 -> 1, then updated
 * r -> r+1. Returns the number of created changes. */
static size_t
verify_chains(const logged *by_id, size_t nlog, size_t *ids_out,
    problems *p)
{
	size_t created = 0, ids = 0;

	for (size_t i = 0; i < nlog; i++) {
		const logged *l = &by_id[i];
		bool first = i == 0 || strcmp(by_id[i - 1].id, l->id) != 0;
		if (l->kind == KIND_CREATED) {
			created++;
		}
		if (first) {
			ids++;
			if (l->kind != KIND_CREATED ||
			    l->old_revision != 0 || l->new_revision != 1) {
				problem(p, "%s: first change (seq %llu) is "
				    "kind %d %llu -> %llu, not created 0 -> 1",
				    l->id,
				    (unsigned long long) l->seq, l->kind,
				    (unsigned long long) l->old_revision,
				    (unsigned long long) l->new_revision);
			}
			continue;
		}
		const logged *prev = &by_id[i - 1];
		if (l->kind != KIND_UPDATED ||
		    l->old_revision != prev->new_revision ||
		    l->new_revision != l->old_revision + 1 ||
		    l->seq <= prev->seq) {
			problem(p, "%s: seq %llu kind %d %llu -> %llu after "
			    "seq %llu (revision %llu)", l->id,
			    (unsigned long long) l->seq, l->kind,
			    (unsigned long long) l->old_revision,
			    (unsigned long long) l->new_revision,
			    (unsigned long long) prev->seq,
			    (unsigned long long) prev->new_revision);
		}
	}
	*ids_out = ids;
	return created;
}

/* Collects every writer's acknowledgements and the probes', sorted. */
static ack *
all_acks(writer *writers, const ack_list *probes, size_t *n_out)
{
	size_t n = probes->len;

	for (int i = 0; i < WRITERS; i++) {
		n += writers[i].acks.len;
	}
	ack *all = malloc((n ? n : 1) * sizeof(*all));
	if (all == NULL) {
		return NULL;
	}
	size_t k = 0;
	for (int i = 0; i < WRITERS; i++) {
		memcpy(all + k, writers[i].acks.items,
		    writers[i].acks.len * sizeof(*all));
		k += writers[i].acks.len;
	}
	if (probes->len > 0) {
		memcpy(all + k, probes->items, probes->len * sizeof(*all));
	}
	qsort(all, n, sizeof(*all), ack_cmp);
	*n_out = n;
	return all;
}

/* Checks the restarted server against everything acknowledged so far. */
static void
verify(int cycle, writer *writers, ack_list *probes)
{
	spreg_client *c = NULL;
	logged *log = NULL;
	ack *acks = NULL;
	size_t nlog = 0, nacks = 0;
	uint64_t last_seq = 0, info_last_seq, info_records;

	if (test_client_open(server_url, true, &c) != SPREG_OK) {
		check(false, "cycle %d: open a client", cycle);
		return;
	}
	spreg_client_set_timeout(c, VERIFY_TIMEOUT_MS);
	spreg_client_set_actor(c, "crash-test verifier");
	if (server_info(c, &info_last_seq, &info_records) != SPREG_OK) {
		check(false, "cycle %d: ServerInfo", cycle);
		goto out;
	}
	if ((acks = all_acks(writers, probes, &nacks)) == NULL) {
		check(false, "cycle %d: out of memory", cycle);
		goto out;
	}

	/* (2) seqs 1..last_seq, no gap, no duplicate. */
	problems seqs = {0};
	diag("cycle %d: reading the change log", cycle);
	if (!read_log(c, &log, &nlog, &last_seq, &seqs)) {
		check(false, "cycle %d: read the change log", cycle);
		goto out;
	}
	if (last_seq != info_last_seq) {
		problem(&seqs, "ListChanges last_seq %llu, ServerInfo last_seq "
		    "%llu", (unsigned long long) last_seq,
		    (unsigned long long) info_last_seq);
	}
	check(seqs.count == 0, "cycle %d: change seqs are 1..%llu with no gap "
	    "and no duplicate", cycle, (unsigned long long) last_seq);

	qsort(log, nlog, sizeof(*log), logged_cmp);

	/* (1) every acknowledged write is present. */
	problems present = {0};
	verify_acks_present(c, acks, nacks, log, nlog, &present);
	check(present.count == 0, "cycle %d: all %zu acknowledged writes are "
	    "present", cycle, nacks);

	/* (3) and their changes are logged. */
	problems logged_ok = {0};
	verify_acks_logged(acks, nacks, log, nlog, &logged_ok);
	check(logged_ok.count == 0, "cycle %d: every acknowledged write's "
	    "change is in the log at its seq", cycle);

	/* (4) one created change per stored record, one revision chain per
	 * id. */
	problems counts = {0};
	size_t ids;
	size_t created = verify_chains(log, nlog, &ids, &counts);
	if (created != info_records || ids != info_records) {
		problem(&counts, "%zu created changes and %zu ids in the log, "
		    "%llu subprocessors stored", created, ids,
		    (unsigned long long) info_records);
	}
	check(counts.count == 0, "cycle %d: %zu created changes = %llu "
	    "stored subprocessors; revisions chain per id", cycle, created,
	    (unsigned long long) info_records);

	/* (5) the restarted server takes a new write at last_seq + 1. */
	test_record r;
	char why[512];
	test_record_init(&r, "app");
	snprintf(r.id, sizeof(r.id), "probe-%d", cycle);
	snprintf(r.name, sizeof(r.name), "Probe after restart %d", cycle);
	size_t before = probes->len;
	spreg_status st = put_record(c, &r, probes, why, sizeof(why));
	if (st != SPREG_OK) {
		diag("%s", why);
	} else if (probes->items[before].seq != last_seq + 1 ||
	    probes->items[before].revision != 1) {
		diag("%s: seq %llu revision %llu, expected seq %llu revision 1",
		    r.id, (unsigned long long) probes->items[before].seq,
		    (unsigned long long) probes->items[before].revision,
		    (unsigned long long) (last_seq + 1));
		st = SPREG_INTERNAL;
	}
	check(st == SPREG_OK, "cycle %d: a new write after the restart gets "
	    "seq %llu", cycle, (unsigned long long) (last_seq + 1));

out:
	free(log);
	free(acks);
	spreg_client_close(c);
}

/* ---- the test ---- */

/* Writes for WRITE_MS, kills the server with SIGKILL mid-write, stops the
 * writers. */
static bool
write_and_kill(int cycle, writer *writers)
{
	int started = 0;

	atomic_store(&killed, false);
	for (; started < WRITERS; started++) {
		writer *w = &writers[started];
		w->acked = w->acked_updates = w->unknown = w->errors = 0;
		w->first_error[0] = '\0';
		if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
			diag("pthread_create failed");
			break;
		}
	}
	int64_t start = rawsp_now_ms();
	if (started == WRITERS) {
		spawn_sleep_ms(WRITE_MS);
	}
	int status = spawn_stop(&server, SIGKILL);
	atomic_store(&killed, true);
	int64_t killed_at = rawsp_now_ms();
	for (int i = 0; i < started; i++) {
		pthread_join(writers[i].thread, NULL);
	}

	size_t acked = 0, updates = 0, unknown = 0, errors = 0;
	for (int i = 0; i < WRITERS; i++) {
		acked += writers[i].acked;
		updates += writers[i].acked_updates;
		unknown += writers[i].unknown;
		errors += writers[i].errors;
		if (writers[i].errors > 0) {
			diag("writer %d: %zu error(s), first: %s", i,
			    writers[i].errors, writers[i].first_error);
		}
	}
	diag("cycle %d: %zu acknowledged writes (%zu updates), %zu with "
	    "unknown outcome; killed after %lld ms, writers stopped %lld ms "
	    "later", cycle, acked, updates, unknown,
	    (long long) (killed_at - start),
	    (long long) (rawsp_now_ms() - killed_at));
	return check(started == WRITERS && status != -1 &&
	    WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && acked > 0 &&
	    errors == 0,
	    "cycle %d: %zu writes acknowledged before kill -9, no other "
	    "errors", cycle, acked);
}

int
main(void)
{
	writer writers[WRITERS];
	ack_list probes = {0};
	int status;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("SPREGD") == NULL || getenv("SPREGD")[0] == '\0') {
		fprintf(stderr, "crash_test: set SPREGD to spregd's path\n");
		return 2;
	}
	if (!spawn_mkdtemp(test_dir, sizeof(test_dir), "spreg-crash")) {
		fprintf(stderr, "crash_test: mkdtemp %s: %s\n", test_dir,
		    strerror(errno));
		return 2;
	}
	static const char *const args[] = {"--no-sample", NULL};
	server_opts = (spawn_opts){.dir = test_dir, .args = args,
	    .wait_ms = READY_WAIT_MS};

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A closed stdout must not kill the test before its cleanup. */
	signal(SIGPIPE, SIG_IGN);

	memset(writers, 0, sizeof(writers));
	for (int i = 0; i < WRITERS; i++) {
		writers[i].index = i;
		writers[i].next_id = 1;
		writers[i].rng = 2463534242u + 7919u * (uint32_t) i;
	}
	diag("data folder %s, %d writers, %d cycles", test_dir, WRITERS,
	    CYCLES);
	int64_t start = rawsp_now_ms();

	if (!check(server_start(), "spregd starts on an empty "
	        "data folder")) {
		goto out;
	}
	for (int cycle = 1; cycle <= CYCLES; cycle++) {
		write_and_kill(cycle, writers);	/* verify even if it failed */
		bool up = server_start();
		if (up) {
			spawn_sleep_ms(ALIVE_GRACE_MS);
			up = server_alive();
		}
		if (!check(up, "cycle %d: spregd restarts cleanly on the "
		        "killed server's data folder", cycle)) {
			goto out;
		}
		verify(cycle, writers, &probes);
		if (!check(server_alive(), "cycle %d: spregd still running "
		        "after the checks", cycle)) {
			goto out;
		}
	}
	status = spawn_stop(&server, SIGTERM);
	check(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "spregd stops cleanly on SIGTERM");
	diag("%lld ms in all", (long long) (rawsp_now_ms() - start));

out:
	if (server.pid > 0) {
		spawn_stop(&server, SIGKILL);
	}
	const char *keep = getenv("SPREG_TEST_KEEP");
	if (keep != NULL && keep[0] != '\0') {
		diag("kept the data folder %s", test_dir);
	} else {
		spawn_rmrf(test_dir);
	}
	for (int i = 0; i < WRITERS; i++) {
		free(writers[i].acks.items);
	}
	free(probes.items);
	printf("%d passed, %d failed\n", passed, failed);
	return failed > 0 ? 1 : 0;
}
