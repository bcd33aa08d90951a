#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/date.h"
#include "core/validate.h"
#include "core/vocab.h"
#include "db/record.h"
#include "rpc/auth.h"
#include "rpc/handlers.h"

#define PREFIX "spreg_"
#define PREFIX_LEN (sizeof(PREFIX) - 1)
#define ID_BYTES 8
#define ID_LEN (2 * ID_BYTES)
#define SECRET_BYTES 32
#define SECRET_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define SALT_BYTES 16
#define HASH_BYTES 32
/* "spreg_" id "." secret */
#define BEARER_MAX (PREFIX_LEN + ID_LEN + 1 + \
    sodium_base64_ENCODED_LEN(SECRET_BYTES, SECRET_VARIANT))

static const char *
role_name(Spreg__V1__Role r)
{
	const char *name = vocab_role_name(r);

	return name != NULL ? name : "none";
}

/*
 * Salted BLAKE2b rather than a password hash (Argon2): the secret is 256
 * random bits, so there is nothing to slow a guesser down against, and
 * the check runs on every request.
 */
static void
secret_hash(const char *secret, size_t len, const uint8_t *salt,
    uint8_t out[HASH_BYTES])
{
	crypto_generichash(out, HASH_BYTES, (const unsigned char *) secret, len,
	    salt, SALT_BYTES);
}

/* Splits "spreg_<id>.<secret>"; false when it is not of that shape. */
static bool
bearer_split(const char *bearer, char id[ID_LEN + 1], const char **secret,
    size_t *secret_len)
{
	size_t len = strlen(bearer);

	if (len <= PREFIX_LEN + ID_LEN + 1 || len >= BEARER_MAX ||
	    memcmp(bearer, PREFIX, PREFIX_LEN) != 0 ||
	    bearer[PREFIX_LEN + ID_LEN] != '.') {
		return false;
	}
	for (size_t i = 0; i < ID_LEN; i++) {
		char c = bearer[PREFIX_LEN + i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return false;
		}
	}
	memcpy(id, bearer + PREFIX_LEN, ID_LEN);
	id[ID_LEN] = '\0';
	*secret = bearer + PREFIX_LEN + ID_LEN + 1;
	*secret_len = len - (PREFIX_LEN + ID_LEN + 1);
	return true;
}

void
rpc_auth_feed_key(rpc_server *srv, const char *customer_id,
    uint32_t generation, char out[RPC_FEED_KEY_LEN + 1])
{
	unsigned char mac[RPC_FEED_KEY_LEN / 2];
	char msg[128];
	int n = snprintf(msg, sizeof(msg), "spreg feed key v1|%s|%u",
	    customer_id, (unsigned) generation);

	crypto_generichash(mac, sizeof(mac), (const unsigned char *) msg,
	    (size_t) n, rpc_server_secret(srv), 32);
	sodium_bin2hex(out, RPC_FEED_KEY_LEN + 1, mac, sizeof(mac));
}

/* "feed_<customer>.<key>": that customer, for its feed only. */
static spreg_status
feed_key_check(rpc_call *call, db_txn *t, const char *bearer, err *e)
{
	const char *id = bearer + strlen(RPC_FEED_BEARER_PREFIX);
	const char *dot = strchr(id, '.');
	char cid[65], want[RPC_FEED_KEY_LEN + 1];
	Spreg__V1__Customer *c;

	if (dot == NULL || dot == id || dot - id > 64 ||
	    strlen(dot + 1) != RPC_FEED_KEY_LEN) {
		return err_set(e, SPREG_UNAUTHENTICATED, "token: not recognised");
	}
	memcpy(cid, id, (size_t) (dot - id));
	cid[dot - id] = '\0';
	err ignored;
	if (!validate_slug(cid) ||
	    db_customer_get(t, cid, call->arena, &c, &ignored) != SPREG_OK) {
		return err_set(e, SPREG_UNAUTHENTICATED, "token: not recognised");
	}
	rpc_auth_feed_key(call->srv, cid, c->feed_key_generation, want);
	if (sodium_memcmp(want, dot + 1, RPC_FEED_KEY_LEN) != 0) {
		return err_set(e, SPREG_UNAUTHENTICATED, "token: not recognised");
	}
	call->token = RPC_AUTH_FEED_NAME;
	call->role = SPREG__V1__ROLE__CUSTOMER;
	call->customer_id = c->id;
	call->feed_key = true;
	return SPREG_OK;
}

spreg_status
rpc_auth_check(rpc_call *call, db_txn *t, const char *bearer, err *e)
{
	char id[ID_LEN + 1];
	const char *secret;
	size_t secret_len;
	uint8_t hash[HASH_BYTES];
	Spreg__V1__Token *tok;
	spreg_status st;

	call->token = NULL;
	call->token_record = NULL;
	call->role = SPREG__V1__ROLE__ROLE_UNSPECIFIED;
	call->customer_id = NULL;
	call->feed_key = false;
	if (strncmp(bearer, RPC_FEED_BEARER_PREFIX,
	        strlen(RPC_FEED_BEARER_PREFIX)) == 0) {
		return feed_key_check(call, t, bearer, e);
	}
	if (bearer[0] == '\0') {
		if (rpc_server_insecure_local(call->srv)) {
			call->token = RPC_AUTH_INSECURE_NAME;
			call->role = SPREG__V1__ROLE__ADMIN;
			return SPREG_OK;
		}
		return err_set(e, SPREG_UNAUTHENTICATED,
		    "token: missing (every request needs a bearer token; an "
		    "admin makes one with 'spreg token create')");
	}
	if (!bearer_split(bearer, id, &secret, &secret_len)) {
		return err_set(e, SPREG_UNAUTHENTICATED,
		    "token: not recognised");
	}
	st = db_token_get(t, id, call->arena, &tok, e);
	if (st == SPREG_NOT_FOUND) {
		return err_set(e, SPREG_UNAUTHENTICATED,
		    "token: not recognised");
	}
	if (st != SPREG_OK) {
		return st;
	}
	if (tok->salt.len != SALT_BYTES || tok->hash.len != HASH_BYTES) {
		return err_set(e, SPREG_DATA_LOSS, "token %s: stored hash is "
		    "damaged", id);
	}
	secret_hash(secret, secret_len, tok->salt.data, hash);
	if (sodium_memcmp(hash, tok->hash.data, HASH_BYTES) != 0) {
		return err_set(e, SPREG_UNAUTHENTICATED,
		    "token: not recognised");
	}
	if (tok->revoked_at[0] != '\0') {
		return err_set(e, SPREG_UNAUTHENTICATED,
		    "token: revoked at %s", tok->revoked_at);
	}
	call->token = tok->name;
	call->token_record = tok;
	call->role = tok->role;
	if (tok->role == SPREG__V1__ROLE__CUSTOMER) {
		call->customer_id = tok->customer_id;
	}
	return SPREG_OK;
}

spreg_status
rpc_auth_allow(const rpc_call *call, const rpc_method *m, err *e)
{
	Spreg__V1__Role need = (m->flags & RPC_ADMIN) ? SPREG__V1__ROLE__ADMIN :
	    (m->flags & RPC_EDITOR) ? SPREG__V1__ROLE__EDITOR :
	                              SPREG__V1__ROLE__READER;

	if (call->feed_key) {
		/* The capability in a feed's URL reads that feed only. */
		if (m->flags & RPC_PUBLIC) {
			return SPREG_OK;
		}
		return err_set(e, SPREG_PERMISSION_DENIED,
		    "token: a feed key reads its feed only, not %s", m->name);
	}
	if (call->anonymous) {
		/* As if no token were given anywhere else. */
		if (m->flags & RPC_PUBLIC) {
			return SPREG_OK;
		}
		return err_set(e, SPREG_UNAUTHENTICATED,
		    "token: missing (%s is not public)", m->name);
	}

	if (call->role == SPREG__V1__ROLE__CUSTOMER) {
		if (m->flags & RPC_CUSTOMER) {
			return SPREG_OK;
		}
		return err_set(e, SPREG_PERMISSION_DENIED,
		    "token: a customer token may not call %s", m->name);
	}
	if (call->role >= need && call->role <= SPREG__V1__ROLE__ADMIN) {
		return SPREG_OK;
	}
	return err_set(e, SPREG_PERMISSION_DENIED,
	    "token: role %s may not call %s (it needs %s)",
	    role_name(call->role), m->name, role_name(need));
}

/* ---- making tokens -------------------------------------------------------- */

/* Fills tok's id, salt and hash from fresh randomness; *bearer_out is
 * the string to hand over once. */
static spreg_status
token_mint(Spreg__V1__Token *tok, arena *a, char **bearer_out, err *e)
{
	uint8_t idb[ID_BYTES], secretb[SECRET_BYTES];
	char *id = arena_alloc(a, ID_LEN + 1);
	char *bearer = arena_alloc(a, BEARER_MAX);
	uint8_t *salt = arena_alloc(a, SALT_BYTES);
	uint8_t *hash = arena_alloc(a, HASH_BYTES);

	if (id == NULL || bearer == NULL || salt == NULL || hash == NULL) {
		return err_oom(e, NULL);
	}
	randombytes_buf(idb, sizeof(idb));
	randombytes_buf(secretb, sizeof(secretb));
	randombytes_buf(salt, SALT_BYTES);
	sodium_bin2hex(id, ID_LEN + 1, idb, sizeof(idb));
	memcpy(bearer, PREFIX, PREFIX_LEN);
	memcpy(bearer + PREFIX_LEN, id, ID_LEN);
	bearer[PREFIX_LEN + ID_LEN] = '.';
	char *secret = bearer + PREFIX_LEN + ID_LEN + 1;
	sodium_bin2base64(secret, BEARER_MAX - (PREFIX_LEN + ID_LEN + 1),
	    secretb, sizeof(secretb), SECRET_VARIANT);
	sodium_memzero(secretb, sizeof(secretb));
	secret_hash(secret, strlen(secret), salt, hash);
	tok->id = id;
	tok->salt = (ProtobufCBinaryData) {SALT_BYTES, salt};
	tok->hash = (ProtobufCBinaryData) {HASH_BYTES, hash};
	*bearer_out = bearer;
	return SPREG_OK;
}

/* A copy fit to send: no salt, no hash. */
static Spreg__V1__Token *
token_public(const Spreg__V1__Token *tok, arena *a)
{
	Spreg__V1__Token *out = arena_alloc(a, sizeof(*out));

	if (out != NULL) {
		*out = *tok;
		out->salt = (ProtobufCBinaryData) {0, NULL};
		out->hash = (ProtobufCBinaryData) {0, NULL};
	}
	return out;
}

/* By name or by id; NOT_FOUND names what was asked for. */
static spreg_status
token_find(rpc_call *call, const char *name, Spreg__V1__Token ***all,
    size_t *nall, Spreg__V1__Token **out, err *e)
{
	spreg_status st;

	if ((st = db_token_list(call->txn, call->arena, all, nall, e)) !=
	    SPREG_OK) {
		return st;
	}
	for (size_t i = 0; i < *nall; i++) {
		if (strcmp((*all)[i]->name, name) == 0 ||
		    strcmp((*all)[i]->id, name) == 0) {
			*out = (*all)[i];
			return SPREG_OK;
		}
	}
	*out = NULL;
	return SPREG_NOT_FOUND;
}

static spreg_status
create_token(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__CreateTokenRequest *in = (const void *) in_;
	Spreg__V1__CreateTokenResponse *out = (void *) out_;
	Spreg__V1__Token **all, *same;
	size_t nall;
	char now[TIME_BUF];
	spreg_status st;

	if ((st = rpc_check_id("name", in->name, e)) != SPREG_OK) {
		return st;
	}
	/* RevokeToken takes a name or an id, and changes name the caller:
	 * neither may be mistaken for another. */
	size_t hex = strspn(in->name, "0123456789abcdef");
	if (strcmp(in->name, RPC_AUTH_INSECURE_NAME) == 0 ||
	    (hex == ID_LEN && in->name[hex] == '\0')) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "name: '%s' is reserved (an --insecure-local caller, or a "
		    "token id)", in->name);
	}
	if (in->role < SPREG__V1__ROLE__READER ||
	    in->role > SPREG__V1__ROLE__CUSTOMER) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "role: reader, editor, admin or customer");
	}
	if ((in->role == SPREG__V1__ROLE__CUSTOMER) !=
	    (in->customer_id[0] != '\0')) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "customer_id: required for a customer token, and only "
		    "for one");
	}
	if (in->customer_id[0] != '\0') {
		Spreg__V1__Customer *c;
		if ((st = rpc_check_id("customer_id", in->customer_id, e)) !=
		        SPREG_OK ||
		    (st = db_customer_get(call->txn, in->customer_id,
		         call->arena, &c, e)) != SPREG_OK) {
			return st;
		}
	}
	st = token_find(call, in->name, &all, &nall, &same, e);
	if (st == SPREG_OK) {
		return err_set(e, SPREG_ALREADY_EXISTS, "name: a token named "
		    "'%s' exists (a revoked token keeps its name, which the "
		    "change log refers to)", in->name);
	}
	if (st != SPREG_NOT_FOUND) {
		return st;
	}
	Spreg__V1__Token *tok = arena_alloc(call->arena, sizeof(*tok));
	if (tok == NULL) {
		return err_oom(e, NULL);
	}
	spreg__v1__token__init(tok);
	time_format(call->now_ms, now);
	tok->name = in->name;
	tok->role = in->role;
	tok->customer_id = in->customer_id;
	tok->created_at = arena_strdup(call->arena, now);
	tok->created_by = (char *) call->token;
	if (tok->created_at == NULL) {
		return err_oom(e, NULL);
	}
	if ((st = token_mint(tok, call->arena, &out->secret, e)) != SPREG_OK ||
	    (st = db_token_put(call->txn, tok, e)) != SPREG_OK) {
		return st;
	}
	if ((out->token = token_public(tok, call->arena)) == NULL) {
		return err_oom(e, NULL);
	}
	return SPREG_OK;
}

static int
by_name(const void *a, const void *b)
{
	const Spreg__V1__Token *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static spreg_status
list_tokens(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__ListTokensRequest *in = (const void *) in_;
	Spreg__V1__ListTokensResponse *out = (void *) out_;
	Spreg__V1__Token **all;
	size_t nall;
	spreg_status st;

	if ((st = db_token_list(call->txn, call->arena, &all, &nall, e)) !=
	    SPREG_OK) {
		return st;
	}
	out->tokens = arena_alloc(call->arena, (nall + 1) *
	    sizeof(*out->tokens));
	if (out->tokens == NULL) {
		return err_oom(e, NULL);
	}
	for (size_t i = 0; i < nall; i++) {
		if (all[i]->revoked_at[0] != '\0' && !in->include_revoked) {
			continue;
		}
		if ((out->tokens[out->n_tokens++] = token_public(all[i],
		         call->arena)) == NULL) {
			return err_oom(e, NULL);
		}
	}
	qsort(out->tokens, out->n_tokens, sizeof(*out->tokens), by_name);
	return SPREG_OK;
}

static spreg_status
revoke_token(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	const Spreg__V1__RevokeTokenRequest *in = (const void *) in_;
	Spreg__V1__RevokeTokenResponse *out = (void *) out_;
	Spreg__V1__Token **all, *tok;
	size_t nall, admins = 0;
	char now[TIME_BUF];
	spreg_status st;

	if (in->name[0] == '\0' || strlen(in->name) > 64) {
		return err_set(e, SPREG_INVALID_ARGUMENT,
		    "name: a token's name or id");
	}
	st = token_find(call, in->name, &all, &nall, &tok, e);
	if (st == SPREG_NOT_FOUND) {
		return err_set(e, SPREG_NOT_FOUND, "name: no token '%s'",
		    validate_slug(in->name) ? in->name : "?");
	}
	if (st != SPREG_OK) {
		return st;
	}
	if (tok->revoked_at[0] != '\0') {
		return err_set(e, SPREG_FAILED_PRECONDITION,
		    "name: token '%s' was revoked at %s", tok->name,
		    tok->revoked_at);
	}
	for (size_t i = 0; i < nall; i++) {
		admins += all[i]->role == SPREG__V1__ROLE__ADMIN &&
		    all[i]->revoked_at[0] == '\0';
	}
	/* Nobody could make tokens any more but an --insecure-local run. */
	if (tok->role == SPREG__V1__ROLE__ADMIN && admins == 1) {
		return err_set(e, SPREG_FAILED_PRECONDITION,
		    "name: '%s' is the last admin token; create another admin "
		    "token first", tok->name);
	}
	time_format(call->now_ms, now);
	tok->revoked_at = arena_strdup(call->arena, now);
	tok->revoked_by = (char *) call->token;
	if (tok->revoked_at == NULL) {
		return err_oom(e, NULL);
	}
	if ((st = db_token_put(call->txn, tok, e)) != SPREG_OK) {
		return st;
	}
	if ((out->token = token_public(tok, call->arena)) == NULL) {
		return err_oom(e, NULL);
	}
	return SPREG_OK;
}

static spreg_status
who_am_i(rpc_call *call, const ProtobufCMessage *in_,
    ProtobufCMessage *out_, err *e)
{
	Spreg__V1__WhoAmIResponse *out = (void *) out_;
	(void) in_;

	out->insecure_local = rpc_server_insecure_local(call->srv);
	if (call->token_record != NULL) {
		out->token = token_public(call->token_record, call->arena);
		return out->token != NULL ? SPREG_OK : err_oom(e, NULL);
	}
	/* No token: an --insecure-local caller. */
	if ((out->token = arena_alloc(call->arena, sizeof(*out->token))) ==
	    NULL) {
		return err_oom(e, NULL);
	}
	spreg__v1__token__init(out->token);
	out->token->name = (char *) call->token;
	out->token->role = call->role;
	return SPREG_OK;
}

/* Indexed like spreg__v1__admin__descriptor.methods. The secret is not
 * kept with the saved reply (RPC_NO_SAVE): a resent CreateToken finds
 * the name taken, and the admin revokes it and makes another. */
static const rpc_method admin_methods[] = {
	{"CreateToken", RPC_WRITE | RPC_ADMIN | RPC_NO_SAVE, create_token,
	    NULL},
	{"ListTokens", RPC_READ | RPC_ADMIN, list_tokens, NULL},
	{"RevokeToken", RPC_WRITE | RPC_ADMIN, revoke_token, NULL},
	{"WhoAmI", RPC_READ | RPC_CUSTOMER, who_am_i, NULL},
};

const rpc_service rpc_admin_service = {
	&spreg__v1__admin__descriptor,
	admin_methods,
	sizeof(admin_methods) / sizeof(admin_methods[0]),
};

/* ---- the first admin token -------------------------------------------------- */

typedef struct bootstrap {
	Spreg__V1__Token *tok;
	bool created;
} bootstrap;

static spreg_status
bootstrap_put(bootstrap *b, db_txn *t, err *e)
{
	bool any;
	spreg_status st;

	b->created = false;
	if ((st = db_token_any(t, &any, e)) != SPREG_OK || any) {
		return st;	/* tokens exist: nothing to do */
	}
	b->created = true;
	return db_token_put(t, b->tok, e);
}

/* path.tmp, owner-only, synced, then linked to path: an existing path
 * is never replaced (EEXIST), so a token someone holds stays valid. */
static spreg_status
write_secret(const char *path, const char *bearer, err *e)
{
	char tmp[4096];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int) sizeof(tmp)) {
		return err_set(e, SPREG_INVALID_ARGUMENT, "%s: path too long",
		    path);
	}
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		return err_set(e, SPREG_UNAVAILABLE, "%s: %s", tmp,
		    strerror(errno));
	}
	size_t len = strlen(bearer);
	bool ok = fchmod(fd, 0600) == 0 &&
	    write(fd, bearer, len) == (ssize_t) len &&
	    write(fd, "\n", 1) == 1 && fsync(fd) == 0;
	int saved = errno;
	if (close(fd) != 0 && ok) {
		ok = false;
		saved = errno;
	}
	if (ok && link(tmp, path) != 0) {
		ok = false;
		saved = errno;
	}
	unlink(tmp);
	if (ok) {
		/* The name itself durable before the token is committed. */
		char dir[4096];
		snprintf(dir, sizeof(dir), "%s", path);
		int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			ok = fsync(dfd) == 0;
			saved = errno;
			close(dfd);
		}
		if (!ok) {
			unlink(path);
		}
	}
	if (!ok && saved == EEXIST) {
		return err_set(e, SPREG_FAILED_PRECONDITION, "%s exists and the "
		    "store has no token: spregd never replaces a token file; "
		    "move it away to have a new admin token written", path);
	}
	if (!ok) {
		return err_set(e, saved == ENOSPC || saved == EDQUOT ?
		    SPREG_RESOURCE_EXHAUSTED : SPREG_UNAVAILABLE, "%s: %s", path,
		    strerror(saved));
	}
	return SPREG_OK;
}

spreg_status
rpc_auth_bootstrap(rpc_server *srv, const char *path, bool *created, err *e)
{
	db_session *s;
	db_txn t;
	arena a;
	bool any = false;
	char *bearer = NULL, now[TIME_BUF];
	spreg_status st;

	*created = false;
	if ((st = db_session_create(rpc_server_db(srv), &s)) != SPREG_OK) {
		return err_set(e, st, "out of memory");
	}
	arena_init(&a, 1 << 20);
	if ((st = db_read_begin(s, &t, e)) == SPREG_OK) {
		st = db_token_any(&t, &any, e);
		db_read_end(s);
	}
	if (st != SPREG_OK || any) {
		goto out;
	}
	Spreg__V1__Token *tok = arena_alloc(&a, sizeof(*tok));
	if (tok == NULL) {
		st = err_oom(e, NULL);
		goto out;
	}
	spreg__v1__token__init(tok);
	time_format(time_now_ms(), now);
	tok->name = "admin";
	tok->role = SPREG__V1__ROLE__ADMIN;
	tok->created_at = now;
	tok->created_by = "spregd (first start)";
	if ((st = token_mint(tok, &a, &bearer, e)) != SPREG_OK) {
		goto out;
	}
	/* The file first: a token committed but never written down would
	 * lock everyone out. */
	if ((st = write_secret(path, bearer, e)) != SPREG_OK) {
		goto out;
	}
	bootstrap b = {tok, false};
	do {
		if ((st = db_write_begin(s, &t, NULL, e)) != SPREG_OK) {
			break;
		}
		st = bootstrap_put(&b, &t, e);
	} while (db_write_retry(&t, &st, e));
	if (st != SPREG_OK || !b.created) {
		unlink(path);
	}
	*created = st == SPREG_OK && b.created;
out:
	if (bearer != NULL) {
		sodium_memzero(bearer, strlen(bearer));
	}
	arena_fini(&a);
	db_session_destroy(s);
	return st;
}
