#include <sodium.h>
#include <string.h>

#include "rpc/token.h"

#define TOKEN_VERSION 1
#define TOKEN_MAC 16
#define TOKEN_ID_MAX 255

static void
mac(const unsigned char secret[32], const char *query, const char *id,
    size_t idlen, unsigned char out[TOKEN_MAC])
{
	crypto_generichash_state h;
	unsigned char version = TOKEN_VERSION;

	crypto_generichash_init(&h, secret, 32, TOKEN_MAC);
	crypto_generichash_update(&h, &version, 1);
	crypto_generichash_update(&h, (const unsigned char *) query,
	    strlen(query) + 1);
	crypto_generichash_update(&h, (const unsigned char *) id, idlen);
	crypto_generichash_final(&h, out, TOKEN_MAC);
}

char *
rpc_token_make(const unsigned char secret[32], const char *query,
    const char *last_id, arena *a)
{
	unsigned char raw[2 + TOKEN_ID_MAX + TOKEN_MAC];
	size_t idlen = strlen(last_id);

	if (idlen > TOKEN_ID_MAX) {
		return NULL;
	}
	raw[0] = TOKEN_VERSION;
	raw[1] = (unsigned char) idlen;
	memcpy(raw + 2, last_id, idlen);
	mac(secret, query, last_id, idlen, raw + 2 + idlen);
	size_t rawlen = 2 + idlen + TOKEN_MAC;
	size_t outlen = sodium_base64_encoded_len(rawlen,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = arena_alloc(a, outlen);
	if (out != NULL) {
		sodium_bin2base64(out, outlen, raw, rawlen,
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	}
	return out;
}

spreg_status
rpc_token_open(const unsigned char secret[32], const char *query,
    const char *token, arena *a, const char **after_id, err *e)
{
	unsigned char raw[2 + TOKEN_ID_MAX + TOKEN_MAC];
	unsigned char want[TOKEN_MAC];
	size_t rawlen;

	if (token[0] == '\0') {
		*after_id = "";
		return SPREG_OK;
	}
	if (sodium_base642bin(raw, sizeof(raw), token, strlen(token), NULL,
	        &rawlen, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    rawlen < 2 + TOKEN_MAC || raw[0] != TOKEN_VERSION ||
	    rawlen != 2 + (size_t) raw[1] + TOKEN_MAC) {
		goto refused;
	}
	size_t idlen = raw[1];
	mac(secret, query, (const char *) raw + 2, idlen, want);
	if (sodium_memcmp(want, raw + 2 + idlen, TOKEN_MAC) != 0) {
		goto refused;
	}
	char *id = arena_alloc(a, idlen + 1);
	if (id == NULL) {
		return err_oom(e, NULL);
	}
	memcpy(id, raw + 2, idlen);
	id[idlen] = '\0';
	*after_id = id;
	return SPREG_OK;

refused:
	return err_set(e, SPREG_INVALID_ARGUMENT,
	    "page_token: not issued by this server for this query");
}
