/*
 * spregd's command line: its options, their bounds and defaults, the
 * combinations refused, and the usage text (config.c). main.c starts
 * the server from what it fills.
 */
#ifndef SPREGD_CONFIG_H
#define SPREGD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/validate.h"
#include "db/db.h"
#include "deliver/deliver.h"
#include "deliver/mail.h"
#include "http/http.h"
#include "net/server.h"
#include "net/tls.h"

#define DEFAULT_LISTEN "tcp://127.0.0.1:7450"
#define MAX_LISTEN 16
#define SHUTDOWN_TIMEOUT_DEFAULT 30	/* seconds */

/* What the command line asks for: filled by spregd_configure, read by
 * main.c's start. */
typedef struct spregd_config {
	const char *listen[MAX_LISTEN];
	size_t nlisten;
	const char *publish[MAX_LISTEN];
	size_t npublish;
	const char *http[MAX_LISTEN];
	size_t nhttp;
	bool http_none;		/* --http none */
	bool http_public_off;	/* --http-public off */
	http_limits http_lim;
	size_t http_header_s, http_body_s, http_send_s;
	size_t heartbeat_ms;	/* 0: NET_PUB_HEARTBEAT_MS */
	const char *data_dir;
	char ref_buf[4000];	/* room for "/sample-registry.json" in 4096 */
	const char *ref_dir;	/* NULL: reference_default() */
	const char *ready_file;
	bool sample;
	bool insecure_local;
	db_options dbo;
	net_options no;
	size_t idle_s;
	size_t send_s;
	size_t shutdown_s;
	size_t page_max;
	validate_limits vlim;
	net_tls_options tls;
	deliver_options webhooks;
	size_t webhook_timeout_s;	/* NOT_GIVEN: the default */
	size_t webhook_retry_max_s;
	size_t webhook_pause_after_s;
	size_t mail_digest_min;
	mail_options mail;
	const char *smtp_credentials;
	char smtp_user[256];
	char smtp_password[256];
} spregd_config;

/*
 * Reads the command line into c. Returns -1 to go on and start, or the
 * status to exit with (0 after --help or --version, 1 on a bad option,
 * said on stderr).
 */
int spregd_configure(spregd_config *c, int argc, char **argv);

#endif
