/*
 * Notices by e-mail (spregd --smtp): one thread that sends each
 * customer's contacts a plain-text notice of every change that calls
 * for one (announced, withdrawn, took effect, retired, an objection, an
 * assessment turning failing), through an SMTP relay with libcurl.
 *
 * Each (customer, contact) pair keeps its position in the log in the
 * store (meta "mail_pos/<customer>/<contact>"), raised in the sender's
 * own write transaction after the relay accepted the message: a restart
 * or a relay that refuses resends from there (at least once). A contact
 * added later starts with the changes after it was first seen. Failures
 * are logged and retried with exponential backoff; a hung relay holds
 * up this thread only. With digest_minutes, a contact gets at most one
 * message per that many minutes, listing every change since the last.
 */
#ifndef DELIVER_MAIL_H
#define DELIVER_MAIL_H

#include "core/err.h"
#include "db/db.h"

typedef struct mail_options {
	const char *url;	/* smtp://host:port or smtps://host:port */
	const char *user;	/* NULL: no authentication */
	const char *password;
	const char *from;	/* the envelope and From: address */
	int timeout_ms;
	int retry_min_ms;
	int retry_max_ms;
	int digest_minutes;	/* 0: one message per change */
} mail_options;

typedef struct mail_sender mail_sender;

/* Starts the thread; the strings of o must outlive it. */
spreg_status mail_start(db *d, const mail_options *o, mail_sender **out,
    err *e);
/* Stops it (a message being sent is abandoned, and sent again after a
 * restart). NULL is fine. */
void mail_stop(mail_sender *m);

#endif
