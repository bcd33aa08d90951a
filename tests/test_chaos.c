/*
 * Chaos: 10,000 random and mutated messages from 8 clients at once at a
 * real spregd. Each must be answered with a spreg.v1.Reply carrying a
 * known code, or dropped (no reply before the timeout); the server must
 * stay up, serve a normal Get afterwards, hold exactly the data it held
 * before (every write sent is one that must fail validation), and exit
 * 0 on SIGTERM.
 *
 * The messages: random bytes, junk of random length, valid read
 * envelopes with bit flips, truncations and duplications (of the
 * envelope or of its payload), envelopes for unknown methods, messages
 * over --max-message, and write envelopes whose payloads are mutated but
 * checked here to stay invalid (an id or key that is not a slug, an
 * actor over 200 bytes).
 *
 * Alongside, hostile peers that nng's own sockets never are: one that
 * pipelines 5,000 requests on one connection and never reads a reply,
 * and half-open ones (5 that never finish the SP handshake, 5 that send
 * nothing after it). The server (--idle-timeout 2) must close all of
 * them, and still answer the others as above.
 */
#include <ctype.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spreg/client.h"
#include "support/check.h"
#include "support/rawsp.h"
#include "support/spawn.h"
#include "test_token.h"
#include "spreg/v1/registry.pb-c.h"
#include "spreg/v1/rpc.pb-c.h"

#define CLIENTS 8
#define MESSAGES 10000
#define MAX_MESSAGE 65536
#define OVERSIZE 80		/* of MESSAGES; a multiple of CLIENTS */
#define REPLY_TIMEOUT_MS 5000
#define DROP_TIMEOUT_MS 100	/* for messages the server must drop */
#define REG "spreg.v1.Registry/"
#define PIPELINED 5000
#define HALF_OPEN 10

static char dir[64];
static spawn server;

/* What was sent. */
enum kind {
	K_RANDOM,		/* random bytes, up to 512 */
	K_JUNK,			/* random length up to 16 KiB, patterned */
	K_FLIP_ENVELOPE,	/* a valid read envelope with bit flips */
	K_FLIP_PAYLOAD,		/* ... with its payload flipped */
	K_TRUNCATE,		/* a valid read envelope cut short */
	K_DUPLICATE,		/* envelope or payload repeated */
	K_UNKNOWN_METHOD,
	K_OVERSIZE,		/* over --max-message */
	K_BAD_WRITE,		/* a write that must fail validation */
	K_NKINDS,
};
static const char *const kind_names[K_NKINDS] = {
	"random bytes", "junk", "flipped envelope", "flipped payload",
	"truncated", "duplicated", "unknown method", "oversize",
	"invalid write",
};

/* How it went. */
enum outcome {
	O_REPLY_OK,
	O_REPLY_ERROR,		/* a reply with a known non-OK code */
	O_DROPPED,		/* no reply: timeout or connection closed */
	O_BAD_REPLY,		/* undecodable or unknown code: a failure */
	O_WRITE_ACCEPTED,	/* an invalid write answered OK: a failure */
	O_NOUTCOMES,
};
static const char *const outcome_names[O_NOUTCOMES] = {
	"reply OK", "reply with error code", "dropped / timed out",
	"BAD REPLY", "WRITE ACCEPTED",
};

static atomic_int tally[K_NKINDS][O_NOUTCOMES];
static atomic_int codes[17];

/* xorshift64*: reproducible from the seed printed. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static size_t
rnd_below(uint64_t *s, size_t n)
{
	return n == 0 ? 0 : (size_t) (rnd(s) % n);
}

static bool
start_server(void)
{
	const char *args[] = {"--max-message", "65536", "--idle-timeout",
	    "2", NULL};
	spawn_opts o = {.dir = dir, .args = args, .log_level = "error"};

	return spawn_start(&server, &o);
}

/* --- Envelopes ---------------------------------------------------------- */

typedef struct buf {
	uint8_t *data;
	size_t len;
} buf;

static buf
pack_envelope(const char *method, uint64_t request_id, const char *actor,
    const uint8_t *payload, size_t plen)
{
	Spreg__V1__Request env = SPREG__V1__REQUEST__INIT;
	buf b;

	env.method = (char *) method;
	env.request_id = request_id;
	env.actor = (char *) actor;
	env.token = test_token;	/* past the token: the handlers get it */
	env.payload.data = (uint8_t *) payload;
	env.payload.len = plen;
	b.len = spreg__v1__request__get_packed_size(&env);
	b.data = malloc(b.len + 1);
	spreg__v1__request__pack(&env, b.data);
	return b;
}

static buf
pack_message(const ProtobufCMessage *m)
{
	buf b;
	b.len = protobuf_c_message_get_packed_size(m);
	b.data = malloc(b.len + 1);
	protobuf_c_message_pack(m, b.data);
	return b;
}

/* A valid read request, chosen at random: its method and payload. */
static buf
read_payload(uint64_t *s, const char **method)
{
	static const char *const ids[] = {"stripe", "aws", "zoom", "nobody",
	    "mailchimp"};
	switch (rnd_below(s, 6)) {
	case 0: {
		Spreg__V1__GetSubprocessorRequest g =
		    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
		g.id = (char *) ids[rnd_below(s, 5)];
		*method = REG "GetSubprocessor";
		return pack_message(&g.base);
	}
	case 1: {
		Spreg__V1__ListSubprocessorsRequest l =
		    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;
		l.country = rnd_below(s, 2) ? "US" : "";
		l.page_size = (uint32_t) rnd_below(s, 20);
		*method = REG "ListSubprocessors";
		return pack_message(&l.base);
	}
	case 2: {
		Spreg__V1__ListChangesRequest c =
		    SPREG__V1__LIST_CHANGES_REQUEST__INIT;
		c.since_seq = rnd_below(s, 30);
		c.limit = (uint32_t) rnd_below(s, 10);
		*method = REG "ListChanges";
		return pack_message(&c.base);
	}
	case 3: {
		Spreg__V1__ListDataCategoriesRequest c =
		    SPREG__V1__LIST_DATA_CATEGORIES_REQUEST__INIT;
		c.parent = "user";
		*method = REG "ListDataCategories";
		return pack_message(&c.base);
	}
	case 4: {
		Spreg__V1__ServerInfoRequest i =
		    SPREG__V1__SERVER_INFO_REQUEST__INIT;
		*method = REG "ServerInfo";
		return pack_message(&i.base);
	}
	default: {
		Spreg__V1__ListCustomersRequest c =
		    SPREG__V1__LIST_CUSTOMERS_REQUEST__INIT;
		c.page_size = 5;
		*method = REG "ListCustomers";
		return pack_message(&c.base);
	}
	}
}

static void
flip_bits(uint64_t *s, buf *b)
{
	size_t n = 1 + rnd_below(s, 8);
	for (size_t i = 0; i < n && b->len > 0; i++) {
		b->data[rnd_below(s, b->len)] ^= (uint8_t) (1u << rnd_below(s, 8));
	}
}

static buf
repeat(const buf *b, size_t times)
{
	buf r = {malloc(b->len * times + 1), b->len * times};
	for (size_t i = 0; i < times; i++) {
		memcpy(r.data + i * b->len, b->data, b->len);
	}
	return r;
}

/* [a-z0-9][a-z0-9-]{0,63}, as the server's validate_slug. */
static bool
is_slug(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64 || !(islower((unsigned char) s[0]) ||
	    isdigit((unsigned char) s[0]))) {
		return false;
	}
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char) s[i];
		if (!islower(c) && !isdigit(c) && c != '-') {
			return false;
		}
	}
	return true;
}

/* Could a category key with this text pass? Only [a-z0-9_.] can. */
static bool
maybe_category_key(const char *s)
{
	if (s[0] == '\0') {
		return false;
	}
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char) *s;
		if (!islower(c) && !isdigit(c) && c != '_' && c != '.') {
			return false;
		}
	}
	return true;
}

static const char *const bad_ids[] = {
	"", "Stripe", "has space", "-leading-dash", "UPPER", "semi;colon",
	"x/../y", "\xc3\xa9t\xc3\xa9", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};
#define NBAD (sizeof(bad_ids) / sizeof(bad_ids[0]))

/* Does this write payload (as the server will decode it) fail for
 * sure? Undecodable counts: it is refused before anything runs. */
static bool
write_is_invalid(const char *method, const buf *p)
{
	bool invalid = true;
	ProtobufCMessage *m = NULL;

	if (strcmp(method, REG "PutSubprocessor") == 0) {
		Spreg__V1__PutSubprocessorRequest *r =
		    spreg__v1__put_subprocessor_request__unpack(NULL, p->len,
		        p->data);
		m = (ProtobufCMessage *) r;
		invalid = r == NULL || r->subprocessor == NULL ||
		    !is_slug(r->subprocessor->id);
	} else if (strcmp(method, REG "AnnounceChange") == 0) {
		Spreg__V1__AnnounceChangeRequest *r =
		    spreg__v1__announce_change_request__unpack(NULL, p->len,
		        p->data);
		m = (ProtobufCMessage *) r;
		invalid = r == NULL || r->subprocessor == NULL ||
		    !is_slug(r->subprocessor->id);
	} else if (strcmp(method, REG "PutCustomer") == 0) {
		Spreg__V1__PutCustomerRequest *r =
		    spreg__v1__put_customer_request__unpack(NULL, p->len,
		        p->data);
		m = (ProtobufCMessage *) r;
		invalid = r == NULL || r->customer == NULL ||
		    !is_slug(r->customer->id);
	} else if (strcmp(method, REG "RetireSubprocessor") == 0) {
		Spreg__V1__RetireSubprocessorRequest *r =
		    spreg__v1__retire_subprocessor_request__unpack(NULL, p->len,
		        p->data);
		m = (ProtobufCMessage *) r;
		invalid = r == NULL || !is_slug(r->id);
	} else if (strcmp(method, REG "DeleteCustomer") == 0) {
		Spreg__V1__DeleteCustomerRequest *r =
		    spreg__v1__delete_customer_request__unpack(NULL, p->len,
		        p->data);
		m = (ProtobufCMessage *) r;
		invalid = r == NULL || !is_slug(r->id);
	} else if (strcmp(method, REG "PutDataCategory") == 0) {
		Spreg__V1__PutDataCategoryRequest *r =
		    spreg__v1__put_data_category_request__unpack(NULL, p->len,
		        p->data);
		m = (ProtobufCMessage *) r;
		invalid = r == NULL || r->category == NULL ||
		    !maybe_category_key(r->category->key);
	} else if (strcmp(method, REG "ObjectToChange") == 0) {
		Spreg__V1__ObjectToChangeRequest *r =
		    spreg__v1__object_to_change_request__unpack(NULL, p->len,
		        p->data);
		m = (ProtobufCMessage *) r;
		invalid = r == NULL || !is_slug(r->customer_id);
	}
	if (m != NULL) {
		protobuf_c_message_free_unpacked(m, NULL);
	}
	return invalid;
}

/* A write whose id or key is invalid, with other fields filled at
 * random; then mutated, as long as it stays invalid. */
static buf
bad_write(uint64_t *s, const char **method)
{
	const char *bad = bad_ids[rnd_below(s, NBAD)];
	char *cats[] = {"user.contact.email", "user.name"};
	char *services[] = {"app", "support"};
	Spreg__V1__Location loc = SPREG__V1__LOCATION__INIT, *locs[] = {&loc};
	Spreg__V1__Subprocessor sp = SPREG__V1__SUBPROCESSOR__INIT;
	buf p;

	sp.id = (char *) bad;
	sp.name = "Chaos Vendor";
	sp.services = services;
	sp.n_services = rnd_below(s, 3);
	sp.data_categories = cats;
	sp.n_data_categories = rnd_below(s, 3);
	loc.country = rnd_below(s, 2) ? "US" : "ZZ";
	loc.role = "hosting";
	sp.locations = locs;
	sp.n_locations = rnd_below(s, 2);
	sp.effective_from = "2024-01-01";
	switch (rnd_below(s, 7)) {
	case 0: {
		Spreg__V1__PutSubprocessorRequest r =
		    SPREG__V1__PUT_SUBPROCESSOR_REQUEST__INIT;
		r.subprocessor = &sp;
		r.expected_revision = rnd_below(s, 3);
		*method = REG "PutSubprocessor";
		p = pack_message(&r.base);
		break;
	}
	case 1: {
		Spreg__V1__AnnounceChangeRequest r =
		    SPREG__V1__ANNOUNCE_CHANGE_REQUEST__INIT;
		r.subprocessor = &sp;
		r.effective_at = "2099-01-01";
		r.reason = "chaos";
		*method = REG "AnnounceChange";
		p = pack_message(&r.base);
		break;
	}
	case 2: {
		Spreg__V1__Customer c = SPREG__V1__CUSTOMER__INIT;
		Spreg__V1__PutCustomerRequest r =
		    SPREG__V1__PUT_CUSTOMER_REQUEST__INIT;
		c.id = (char *) bad;
		c.name = "Chaos Customer";
		c.services = services;
		c.n_services = 1;
		r.customer = &c;
		*method = REG "PutCustomer";
		p = pack_message(&r.base);
		break;
	}
	case 3: {
		Spreg__V1__RetireSubprocessorRequest r =
		    SPREG__V1__RETIRE_SUBPROCESSOR_REQUEST__INIT;
		r.id = (char *) bad;
		*method = REG "RetireSubprocessor";
		p = pack_message(&r.base);
		break;
	}
	case 4: {
		Spreg__V1__DeleteCustomerRequest r =
		    SPREG__V1__DELETE_CUSTOMER_REQUEST__INIT;
		r.id = (char *) bad;
		*method = REG "DeleteCustomer";
		p = pack_message(&r.base);
		break;
	}
	case 5: {
		Spreg__V1__DataCategory c = SPREG__V1__DATA_CATEGORY__INIT;
		Spreg__V1__PutDataCategoryRequest r =
		    SPREG__V1__PUT_DATA_CATEGORY_REQUEST__INIT;
		c.key = rnd_below(s, 2) ? "user.Contact.fax" : "user.contact fax";
		c.name = "Fax";
		c.parent = "user.contact";
		r.category = &c;
		*method = REG "PutDataCategory";
		p = pack_message(&r.base);
		break;
	}
	default: {
		Spreg__V1__ObjectToChangeRequest r =
		    SPREG__V1__OBJECT_TO_CHANGE_REQUEST__INIT;
		r.customer_id = (char *) bad;
		r.change_seq = rnd_below(s, 40);
		*method = REG "ObjectToChange";
		p = pack_message(&r.base);
		break;
	}
	}
	/* Mutate a copy; keep it only if it stays invalid. */
	buf m = {malloc(p.len + 1), p.len};
	memcpy(m.data, p.data, p.len);
	switch (rnd_below(s, 3)) {
	case 0:
		flip_bits(s, &m);
		break;
	case 1:
		m.len = rnd_below(s, m.len + 1);
		break;
	default:
		break;
	}
	if (write_is_invalid(*method, &m)) {
		free(p.data);
		return m;
	}
	free(m.data);
	return p;
}

/* One message of the given kind. */
static buf
make_message(uint64_t *s, enum kind k, uint64_t request_id)
{
	const char *method;
	buf b, p;

	switch (k) {
	case K_RANDOM:
		b.len = rnd_below(s, 513);
		b.data = malloc(b.len + 1);
		for (size_t i = 0; i < b.len; i++) {
			b.data[i] = (uint8_t) rnd(s);
		}
		return b;
	case K_JUNK: {
		b.len = rnd_below(s, 16385);
		b.data = malloc(b.len + 1);
		uint8_t fill = (uint8_t) rnd(s);
		for (size_t i = 0; i < b.len; i++) {
			/* runs of a byte, ASCII text, or field tags */
			switch (i % 3 == 0 ? rnd_below(s, 3) : 0) {
			case 0:
				b.data[i] = fill;
				break;
			case 1:
				b.data[i] = (uint8_t) (' ' + rnd_below(s, 95));
				break;
			default:
				b.data[i] = (uint8_t) (0x0a + 8 * rnd_below(s, 6));
			}
		}
		return b;
	}
	case K_FLIP_ENVELOPE:
		p = read_payload(s, &method);
		b = pack_envelope(method, request_id, "chaos", p.data, p.len);
		free(p.data);
		flip_bits(s, &b);
		return b;
	case K_FLIP_PAYLOAD:
		p = read_payload(s, &method);
		flip_bits(s, &p);
		b = pack_envelope(method, request_id, "chaos", p.data, p.len);
		free(p.data);
		return b;
	case K_TRUNCATE:
		p = read_payload(s, &method);
		b = pack_envelope(method, request_id, "chaos", p.data, p.len);
		free(p.data);
		b.len = rnd_below(s, b.len);
		return b;
	case K_DUPLICATE: {
		p = read_payload(s, &method);
		size_t times = 2 + rnd_below(s, 4);
		if (rnd_below(s, 2)) {
			buf r = repeat(&p, times);
			b = pack_envelope(method, request_id, "chaos", r.data,
			    r.len);
			free(r.data);
		} else {
			buf e = pack_envelope(method, request_id, "chaos",
			    p.data, p.len);
			b = repeat(&e, times);
			free(e.data);
		}
		free(p.data);
		return b;
	}
	case K_UNKNOWN_METHOD: {
		static const char *const names[] = {
			"", "/", "spreg.v1.Registry/", "spreg.v1.Registry/Nope",
			"spreg.v1.Nope/GetSubprocessor",
			"spreg.v2.Registry/GetSubprocessor", "GetSubprocessor",
			"//spreg.v1.Registry/GetSubprocessor",
			"spreg.v1.Registry/GetSubprocessor/extra",
			"spreg.v1.Registry\0/ServerInfo", "\xff\xfe/\x80",
		};
		p = read_payload(s, &method);
		b = pack_envelope(names[rnd_below(s, sizeof(names) /
		    sizeof(names[0]))], request_id, "chaos", p.data, p.len);
		free(p.data);
		return b;
	}
	case K_OVERSIZE:
		b.len = MAX_MESSAGE + 1 + rnd_below(s, 3 * MAX_MESSAGE);
		if (rnd_below(s, 2)) {
			/* A read envelope with a huge payload. */
			uint8_t *pad = calloc(1, b.len);
			p = read_payload(s, &method);
			memcpy(pad, p.data, p.len);
			free(p.data);
			b = pack_envelope(method, request_id, "chaos", pad,
			    b.len);
			free(pad);
		} else {
			b.data = malloc(b.len);
			memset(b.data, (int) rnd_below(s, 256), b.len);
		}
		return b;
	case K_BAD_WRITE:
	default: {
		p = bad_write(s, &method);
		char actor[300] = "chaos";
		if (rnd_below(s, 8) == 0) {
			/* Valid payloads may be sent with an actor too long:
			 * refused before the handler runs. */
			memset(actor, 'a', 250);
			actor[250] = '\0';
		}
		b = pack_envelope(method, request_id, actor, p.data, p.len);
		free(p.data);
		return b;
	}
	}
}

/* --- Clients ------------------------------------------------------------ */

static int
open_socket(nng_socket *s)
{
	int rv;
	if ((rv = nng_req0_open(s)) != 0) {
		return rv;
	}
	/* No resends: each message is sent once. */
	nng_socket_set_ms(*s, NNG_OPT_REQ_RESENDTIME, 600000);
	nng_socket_set_ms(*s, NNG_OPT_SENDTIMEO, 2000);
	nng_socket_set_size(*s, NNG_OPT_RECVMAXSZ, 0);
	if ((rv = nng_dial(*s, server.url, NULL, 0)) != 0) {
		nng_close(*s);
	}
	return rv;
}

/* One exchange on a socket of its own; returns the outcome. */
static enum outcome exchange(nng_socket sock, enum kind k, buf *b);

/*
 * The server drops the connection of a sender over --max-message. After
 * such a drop libnng 1.5.2's REQ side sometimes never returns from
 * nng_sendmsg (despite NNG_OPT_SENDTIMEO) or nng_close, while the server
 * keeps answering everyone. So oversize messages are sent from a child
 * process forked before this process starts nng, one fresh socket each
 * (never closed: the child _exits), and the child reports each outcome
 * on a pipe; main kills it if it wedges and counts what is unsent.
 */
static pid_t oversize_child;
static int oversize_pipe = -1;

static void
start_oversize(uint64_t seed, int count)
{
	int fds[2];

	if (pipe(fds) != 0 || (oversize_child = fork()) < 0) {
		abort();
	}
	if (oversize_child > 0) {
		close(fds[1]);
		oversize_pipe = fds[0];
		return;
	}
	close(fds[0]);
	uint64_t s = seed;
	for (int i = 0; i < count; i++) {
		nng_socket sock;
		buf b = make_message(&s, K_OVERSIZE, rnd(&s) | 1);
		unsigned char o = O_DROPPED;
		if (open_socket(&sock) == 0) {
			o = (unsigned char) exchange(sock, K_OVERSIZE, &b);
		} else {
			free(b.data);
		}
		if (write(fds[1], &o, 1) != 1) {
			break;
		}
	}
	_exit(0);
}

/* Collects the child's outcomes; returns how many went unsent. */
static int
finish_oversize(int count, int wait_ms)
{
	int got = 0, status;

	for (int waited = 0; waited < wait_ms; waited += 50) {
		if (waitpid(oversize_child, &status, WNOHANG) ==
		    oversize_child) {
			oversize_child = 0;
			break;
		}
		spawn_sleep_ms(50);
	}
	if (oversize_child > 0) {
		kill(oversize_child, SIGKILL);
		waitpid(oversize_child, &status, 0);
	}
	unsigned char o;
	while (read(oversize_pipe, &o, 1) == 1) {
		if (o < O_NOUTCOMES) {
			atomic_fetch_add(&tally[K_OVERSIZE][o], 1);
			got++;
		}
	}
	close(oversize_pipe);
	return count - got;
}

typedef struct client {
	int index;
	int count;
	uint64_t seed;
	int socket_errors;
	nng_socket sock;	/* closed by main after the join */
	bool open;
} client;

static enum kind
pick_kind(uint64_t *s)
{
	/* Oversize messages are sent by main alone (see send_oversize). */
	static const enum kind weights[] = {
		K_RANDOM, K_RANDOM, K_JUNK, K_JUNK, K_FLIP_ENVELOPE,
		K_FLIP_ENVELOPE, K_FLIP_PAYLOAD, K_FLIP_PAYLOAD, K_TRUNCATE,
		K_DUPLICATE, K_DUPLICATE, K_UNKNOWN_METHOD, K_BAD_WRITE,
		K_BAD_WRITE, K_BAD_WRITE, K_BAD_WRITE,
	};
	return weights[rnd_below(s, sizeof(weights) / sizeof(weights[0]))];
}

static enum outcome
exchange(nng_socket sock, enum kind k, buf *b)
{
	enum outcome o;
	nng_msg *m;

	nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO,
	    k == K_OVERSIZE ? DROP_TIMEOUT_MS : REPLY_TIMEOUT_MS);
	if (nng_msg_alloc(&m, b->len) != 0) {
		abort();
	}
	memcpy(nng_msg_body(m), b->data, b->len);
	free(b->data);
	if (nng_sendmsg(sock, m, 0) != 0) {
		nng_msg_free(m);
		o = O_DROPPED;
	} else if (nng_recvmsg(sock, &m, 0) != 0) {
		o = O_DROPPED;
	} else {
		Spreg__V1__Reply *r = spreg__v1__reply__unpack(NULL,
		    nng_msg_len(m), nng_msg_body(m));
		if (r == NULL || (unsigned) r->code > 16) {
			o = O_BAD_REPLY;
		} else {
			atomic_fetch_add(&codes[r->code], 1);
			if (r->code != SPREG__V1__CODE__OK) {
				o = O_REPLY_ERROR;
			} else if (k == K_BAD_WRITE) {
				o = O_WRITE_ACCEPTED;
			} else {
				o = O_REPLY_OK;
			}
		}
		if (r != NULL) {
			spreg__v1__reply__free_unpacked(r, NULL);
		}
		nng_msg_free(m);
	}
	return o;
}

static void *
client_run(void *arg)
{
	client *c = arg;
	uint64_t s = c->seed;
	nng_socket sock;
	bool open = false;

	for (int i = 0; i < c->count; i++) {
		enum kind k = pick_kind(&s);
		uint64_t request_id = rnd(&s) | 1;
		buf b = make_message(&s, k, request_id);
		enum outcome o;

		if (!open) {
			if (open_socket(&sock) != 0) {
				c->socket_errors++;
				free(b.data);
				spawn_sleep_ms(50);
				i--;
				if (c->socket_errors > 100) {
					return NULL;
				}
				continue;
			}
			open = true;
		}
		o = exchange(sock, k, &b);
		/* After a drop the socket is kept: the next send abandons
		 * the old request. (Closing it here, from 8 threads while
		 * the server drops pipes, hung nng_close in libnng 1.5.2.) */
		atomic_fetch_add(&tally[k][o], 1);
	}
	c->sock = sock;
	c->open = open;
	return NULL;
}

/* --- Hostile peers ------------------------------------------------------ */

typedef struct pipeliner {
	uint64_t seed;
	rawsp conn;
	int sent;
} pipeliner;

/* Valid read requests, back to back, none of the replies read. */
static void *
pipeliner_run(void *arg)
{
	pipeliner *p = arg;
	uint64_t s = p->seed;

	p->conn = rawsp_connect(server.url, NULL, true, 2000);
	for (int i = 0; i < PIPELINED && p->conn.fd >= 0; i++) {
		const char *method;
		buf pl = read_payload(&s, &method);
		buf b = pack_envelope(method, rnd(&s) | 1, "chaos", pl.data,
		    pl.len);
		bool ok = rawsp_send(&p->conn, (uint32_t) i + 1, b.data, b.len);
		free(pl.data);
		free(b.data);
		if (!ok) {
			break;	/* cut off, or stalled 2 s */
		}
		p->sent++;
	}
	return NULL;
}

/* --- The server's data -------------------------------------------------- */

typedef struct snapshot {
	uint64_t subprocessors, active, categories, last_seq;
	buf lists[5];
} snapshot;

static bool
list(spreg_client *c, const char *method, const ProtobufCMessage *in,
    const ProtobufCMessageDescriptor *od, buf *out)
{
	ProtobufCMessage *m;
	if (spreg_call(c, method, in, od, &m) != SPREG_OK) {
		printf("%s: %s\n", method, spreg_client_error(c));
		return false;
	}
	*out = pack_message(m);
	spreg_message_free(m);
	return true;
}

static bool
take_snapshot(snapshot *sn)
{
	spreg_client *c;
	Spreg__V1__ServerInfoRequest si = SPREG__V1__SERVER_INFO_REQUEST__INIT;
	Spreg__V1__ServerInfoResponse *info;
	Spreg__V1__ListSubprocessorsRequest ls =
	    SPREG__V1__LIST_SUBPROCESSORS_REQUEST__INIT;
	Spreg__V1__ListChangesRequest lc = SPREG__V1__LIST_CHANGES_REQUEST__INIT;
	Spreg__V1__ListDataCategoriesRequest ld =
	    SPREG__V1__LIST_DATA_CATEGORIES_REQUEST__INIT;
	Spreg__V1__ListCustomersRequest lu =
	    SPREG__V1__LIST_CUSTOMERS_REQUEST__INIT;
	Spreg__V1__ListAnnouncementsRequest la =
	    SPREG__V1__LIST_ANNOUNCEMENTS_REQUEST__INIT;
	bool ok;

	memset(sn, 0, sizeof(*sn));
	if (test_client_open(server.url, false, &c) != SPREG_OK) {
		return false;
	}
	spreg_client_set_timeout(c, 10000);
	if (spreg_call(c, "ServerInfo", &si.base,
	        &spreg__v1__server_info_response__descriptor,
	        (ProtobufCMessage **) &info) != SPREG_OK) {
		spreg_client_close(c);
		return false;
	}
	sn->subprocessors = info->subprocessors;
	sn->active = info->active_subprocessors;
	sn->categories = info->data_categories;
	sn->last_seq = info->last_seq;
	spreg_message_free(&info->base);
	ls.page_size = 1000;
	lc.limit = 1000;
	lu.page_size = 1000;
	la.include_applied = true;
	ok = list(c, "ListSubprocessors", &ls.base,
	         &spreg__v1__list_subprocessors_response__descriptor,
	         &sn->lists[0]) &&
	    list(c, "ListChanges", &lc.base,
	        &spreg__v1__list_changes_response__descriptor, &sn->lists[1]) &&
	    list(c, "ListDataCategories", &ld.base,
	        &spreg__v1__list_data_categories_response__descriptor,
	        &sn->lists[2]) &&
	    list(c, "ListCustomers", &lu.base,
	        &spreg__v1__list_customers_response__descriptor,
	        &sn->lists[3]) &&
	    list(c, "ListAnnouncements", &la.base,
	        &spreg__v1__list_announcements_response__descriptor,
	        &sn->lists[4]);
	spreg_client_close(c);
	return ok;
}

static bool
same_snapshot(const snapshot *a, const snapshot *b)
{
	if (a->subprocessors != b->subprocessors || a->active != b->active ||
	    a->categories != b->categories || a->last_seq != b->last_seq) {
		return false;
	}
	for (size_t i = 0; i < 5; i++) {
		if (a->lists[i].len != b->lists[i].len ||
		    memcmp(a->lists[i].data, b->lists[i].data,
		        a->lists[i].len) != 0) {
			printf("snapshot list %zu differs\n", i);
			return false;
		}
	}
	return true;
}

static void
free_snapshot(snapshot *sn)
{
	for (size_t i = 0; i < 5; i++) {
		free(sn->lists[i].data);
	}
}

int
main(void)
{
	snapshot before, after;
	client clients[CLIENTS];
	pthread_t threads[CLIENTS];

	if (getenv("SPREGD") == NULL) {
		fprintf(stderr, "SPREGD must name the spregd binary\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);	/* all of it, even if killed */
	if (!spawn_mkdtemp(dir, sizeof(dir), "spreg-chaos") ||
	    !start_server()) {
		printf("spregd did not start\n0 passed, 1 failed\n");
		return 1;
	}
	uint64_t seed = getenv("CHAOS_SEED") ? strtoull(getenv("CHAOS_SEED"),
	    NULL, 0) : (uint64_t) time(NULL);
	printf("spregd on %s, seed %llu (CHAOS_SEED=%llu repeats it)\n",
	    server.url,
	    (unsigned long long) seed, (unsigned long long) seed);

	start_oversize(seed ^ 0x5eedULL, OVERSIZE);
	CHECK(take_snapshot(&before), "snapshot before");
	printf("before: %llu subprocessors, %llu categories, last_seq %llu\n",
	    (unsigned long long) before.subprocessors,
	    (unsigned long long) before.categories,
	    (unsigned long long) before.last_seq);

	rawsp half[HALF_OPEN];
	for (int i = 0; i < HALF_OPEN; i++) {
		half[i] = rawsp_connect(server.url, NULL, i % 2 == 0, 1000);
	}
	pipeliner pl = {seed ^ 0x919eULL, {-1, false, 0}, 0};
	pthread_t pl_thread;
	if (pthread_create(&pl_thread, NULL, pipeliner_run, &pl) != 0) {
		abort();
	}

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < CLIENTS; i++) {
		clients[i] = (client) {i, (MESSAGES - OVERSIZE) / CLIENTS,
		    (seed + (uint64_t) i * 0x9e3779b97f4a7c15ULL) | 1, 0,
		    NNG_SOCKET_INITIALIZER, false};
		if (pthread_create(&threads[i], NULL, client_run,
		        &clients[i]) != 0) {
			abort();
		}
	}
	int socket_errors = 0;
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(threads[i], NULL);
		socket_errors += clients[i].socket_errors;
	}
	for (int i = 0; i < CLIENTS; i++) {
		if (clients[i].open) {
			nng_close(clients[i].sock);
		}
	}
	int unsent = finish_oversize(OVERSIZE, 60000);
	pthread_join(pl_thread, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double) (t1.tv_sec - t0.tv_sec) +
	    (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;

	int total = 0, by_outcome[O_NOUTCOMES] = {0};
	printf("\n%-18s", "sent");
	for (int o = 0; o < O_NOUTCOMES; o++) {
		printf(" %12.12s", outcome_names[o]);
	}
	printf("\n");
	for (int k = 0; k < K_NKINDS; k++) {
		printf("%-18s", kind_names[k]);
		for (int o = 0; o < O_NOUTCOMES; o++) {
			int n = atomic_load(&tally[k][o]);
			printf(" %12d", n);
			by_outcome[o] += n;
			total += n;
		}
		printf("\n");
	}
	printf("%-18s", "total");
	for (int o = 0; o < O_NOUTCOMES; o++) {
		printf(" %12d", by_outcome[o]);
	}
	printf("\n\nreply codes:");
	for (int i = 0; i < 17; i++) {
		if (atomic_load(&codes[i]) > 0) {
			printf(" %d:%d", i, atomic_load(&codes[i]));
		}
	}
	printf("\n%d messages from %d clients in %.1f s, %d socket errors, "
	    "%d oversize unsent (client-side nng wedged)\n\n", total,
	    CLIENTS + 1, secs, socket_errors, unsent);

	CHECK(total + unsent == MESSAGES, "%d of %d messages sent", total,
	    MESSAGES);
	CHECK(by_outcome[O_BAD_REPLY] == 0, "%d replies not a known Reply",
	    by_outcome[O_BAD_REPLY]);
	CHECK(by_outcome[O_WRITE_ACCEPTED] == 0, "%d invalid writes accepted",
	    by_outcome[O_WRITE_ACCEPTED]);
	CHECK(tally[K_OVERSIZE][O_REPLY_OK] + tally[K_OVERSIZE][O_REPLY_ERROR]
	    == 0, "oversize messages answered");
	/* Answers, not only drops: each client got through most of the
	 * time (a loaded machine may time some out). */
	CHECK(by_outcome[O_REPLY_OK] + by_outcome[O_REPLY_ERROR] >
	    MESSAGES / 2, "only %d replies",
	    by_outcome[O_REPLY_OK] + by_outcome[O_REPLY_ERROR]);

	/* Reading now only drains what the server sent before it closed. */
	bool pl_closed = pl.conn.fd >= 0 && rawsp_wait_closed(&pl.conn, 20000);
	int half_closed = 0;
	for (int i = 0; i < HALF_OPEN; i++) {
		half_closed += half[i].fd >= 0 &&
		    rawsp_wait_closed(&half[i], 20000);
		rawsp_close(&half[i]);
	}
	printf("a peer pipelined %d requests unread: %s; %d of %d half-open "
	    "connections closed by the server\n", pl.sent,
	    pl_closed ? "closed by the server" : "still open", half_closed,
	    HALF_OPEN);
	CHECK(pl.sent > 0 && pl_closed, "the pipelining peer (%d sent) is "
	    "still connected", pl.sent);
	CHECK(half_closed == HALF_OPEN, "%d of %d half-open connections "
	    "closed", half_closed, HALF_OPEN);
	rawsp_close(&pl.conn);

	int status;
	CHECK(waitpid(server.pid, &status, WNOHANG) == 0, "spregd died");

	spreg_client *c;
	Spreg__V1__GetSubprocessorRequest g =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	Spreg__V1__GetSubprocessorResponse *gr;
	g.id = "stripe";
	bool got = false;
	if (test_client_open(server.url, false, &c) == SPREG_OK) {
		spreg_client_set_timeout(c, 10000);
		got = spreg_call(c, "GetSubprocessor", &g.base,
		    &spreg__v1__get_subprocessor_response__descriptor,
		    (ProtobufCMessage **) &gr) == SPREG_OK &&
		    strcmp(gr->subprocessor->id, "stripe") == 0;
		if (got) {
			spreg_message_free(&gr->base);
		}
		spreg_client_close(c);
	}
	CHECK(got, "a normal GetSubprocessor after the storm");

	bool snap = take_snapshot(&after);
	CHECK(snap, "snapshot after");
	CHECK(snap && same_snapshot(&before, &after), "data changed: "
	    "%llu -> %llu subprocessors, last_seq %llu -> %llu",
	    (unsigned long long) before.subprocessors,
	    (unsigned long long) after.subprocessors,
	    (unsigned long long) before.last_seq,
	    (unsigned long long) after.last_seq);
	free_snapshot(&before);
	free_snapshot(&after);

	status = spawn_stop(&server, SIGTERM);
	bool exited = status != -1;
	CHECK(exited && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "spregd on SIGTERM: status %d", status);

	if (!spawn_rmrf(dir)) {
		printf("could not remove %s\n", dir);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
