/*
 * The handlers of the spreg command, one group per file, all of one
 * signature (see cli.h); main.c lists them in its command table.
 */
#ifndef CLI_COMMANDS_H
#define CLI_COMMANDS_H

#include "cli/cli.h"
#include "spreg/v1/registry.pb-c.h"

/* vendor.c: subprocessors. */
int cmd_get(cli *c);
int cmd_list(cli *c);
int cmd_put(cli *c);
int cmd_edit(cli *c);
int cmd_retire(cli *c);
int cmd_diff(cli *c);
/* follow.c: a vendor's fourth parties kept by spregd from another
 * spregd's list (service Follows). */
int cmd_vendor_follow(cli *c);
int cmd_vendor_unfollow(cli *c);
int cmd_vendor_follows(cli *c);
/* "follow: URL every N s, last fetch T: outcome" lines of vendor id;
 * nothing when the token may not list follows. */
void vendor_print_follows(cli *c, const char *id);

/* log.c: the change log, the taxonomy and the server. */
int cmd_changes(cli *c);
int cmd_watch(cli *c);
int cmd_categories(cli *c);
int cmd_category_put(cli *c);
int cmd_info(cli *c);
int cmd_verify(cli *c);

/* notice.c: customers, announcements, objections (GDPR Art. 28(2)). */
int cmd_customer_put(cli *c);
int cmd_customer_get(cli *c);
int cmd_customer_list(cli *c);
int cmd_customer_delete(cli *c);
int cmd_customer_feed_key(cli *c);
int cmd_announce(cli *c);
int cmd_announcements(cli *c);
int cmd_withdraw(cli *c);
int cmd_object(cli *c);
int cmd_objections(cli *c);

/* assess.c: transfer assessment. */
int cmd_assess(cli *c);
int cmd_rules(cli *c);

/* export.c */
int cmd_export(cli *c);

/* import.c: many vendors at once (vendormap.c: CSV and Fides). */
int cmd_import(cli *c);

/* admin.c: tokens. */
int cmd_token_create(cli *c);
int cmd_token_list(cli *c);
int cmd_token_revoke(cli *c);
int cmd_whoami(cli *c);

/* webhook.c: webhooks (service Delivery). */
int cmd_webhook_add(cli *c);
int cmd_webhook_list(cli *c);
int cmd_webhook_pause(cli *c);
int cmd_webhook_resume(cli *c);
int cmd_webhook_remove(cli *c);
int cmd_webhook_test(cli *c);

/* Shared by the files above (vendor.c). */

/* "created stripe revision 1 (change seq 25)", or "unchanged ...". */
void vendor_print_write(const char *id, uint64_t revision,
    const Spreg__V1__Change *change);
/* A change kind as the tables print it ("customer-updated"). */
const char *vendor_kind_name(Spreg__V1__ChangeKind kind, char *buf,
    size_t len);
/* Reads a subprocessor file (JSON or YAML), country codes upper-cased. */
int vendor_read(const char *path, Spreg__V1__Subprocessor **sp_out);
/* Prints a subprocessor as "key: value" lines. */
void vendor_print(const Spreg__V1__Subprocessor *sp);

#endif
