/*
 * spreg: the command-line client of spregd. One table of commands; the
 * framework (cli.c) parses the global options wherever they stand, runs
 * the command's handler and maps statuses to exit codes.
 */
#include "cli/commands.h"

static const cli_command commands[] = {
	{"get", cmd_get, "Show subprocessors (several IDs in one call)",
	    "get ID [ID ...] [--revision N | --as-of WHEN] [--yaml]"},
	{"list", cmd_list, "List subprocessors (every page, ordered by id)",
	    "list [--category K] [--country CC] [--mechanism M] [--service S]\n"
	    "            [--status S] [--customer ID] [--purpose KEY] [--kind K]\n"
	    "            [--fourth-party ID] [--as-of WHEN] [--page-size N]\n"
	    "            [--all | --limit N]"},
	{"put", cmd_put,
	    "Create or update a subprocessor from a JSON or YAML file",
	    "put FILE|- [--expected-revision N] [--create-only]\n"
	    "            [--emergency REASON]"},
	{"edit", cmd_edit,
	    "Edit a subprocessor in $EDITOR and write it back",
	    "edit ID"},
	{"import", cmd_import,
	    "Create or update many subprocessors at once, all or none",
	    "import FILE [--dry-run] [--emergency REASON]\n"
	    "       spreg import --csv-template"},
	{"retire", cmd_retire, "Retire a subprocessor",
	    "retire ID [--effective-until DATE] [--expected-revision N]"},
	{"vendor follow", cmd_vendor_follow,
	    "Have spregd keep a vendor's fourth parties as another spregd lists "
	    "them",
	    "vendor follow VENDOR URL [--every SECONDS] [--once]"},
	{"vendor unfollow", cmd_vendor_unfollow,
	    "Stop following a vendor's list (or all its lists)",
	    "vendor unfollow VENDOR [URL]"},
	{"vendor follows", cmd_vendor_follows,
	    "List the lists spregd follows, with each one's last outcome",
	    "vendor follows [VENDOR]"},
	{"diff", cmd_diff,
	    "What was added, changed and removed between two dates",
	    "diff WHEN1 WHEN2"},
	{"changes", cmd_changes, "Show the change log",
	    "changes [--since N] [--limit N] [--customer ID | --subprocessor "
	    "ID]"},
	{"watch", cmd_watch,
	    "Print each change as it is committed, from the log then live",
	    "watch [--since N] [--customer ID | --subprocessor ID] [--pub URL]\n"
	    "            [--count N]"},
	{"categories", cmd_categories,
	    "List the data categories of the taxonomy",
	    "categories [--parent K]"},
	{"category put", cmd_category_put,
	    "Add a data category under an existing parent",
	    "category put KEY --name NAME [--special] [--description TEXT]"},
	{"customer put", cmd_customer_put,
	    "Create or update a customer from a JSON or YAML file",
	    "customer put FILE|- [--expected-revision N]"},
	{"customer get", cmd_customer_get, "Show one customer",
	    "customer get ID [--yaml]"},
	{"customer list", cmd_customer_list, "List the customers",
	    "customer list"},
	{"customer delete", cmd_customer_delete, "Delete a customer",
	    "customer delete ID"},
	{"customer feed-key", cmd_customer_feed_key,
	    "Show (or --rotate) the key of a customer's private Atom feed",
	    "customer feed-key ID [--rotate]"},
	{"announce", cmd_announce,
	    "Announce a new, changed or retired subprocessor ahead of its date",
	    "announce FILE|- --effective DATE [--emergency REASON]\n"
	    "            [--expected-revision N]\n"
	    "       spreg announce --retire ID --effective DATE "
	    "[--emergency REASON]"},
	{"announcements", cmd_announcements, "List announced changes",
	    "announcements [--pending] [--customer ID]"},
	{"withdraw", cmd_withdraw,
	    "Withdraw an announcement before its effective date",
	    "withdraw SEQ --reason TEXT"},
	{"object", cmd_object, "Object to an announced change for a customer",
	    "object SEQ --reason TEXT [--customer ID]"},
	{"objections", cmd_objections, "List objections",
	    "objections [--change SEQ] [--customer ID]"},
	{"assess", cmd_assess,
	    "Assess every transfer: subprocessor x country x data category",
	    "assess [--customer ID | --regime EU|UK|CH] [--as-of DATE]\n"
	    "            [--subprocessor ID] [--horizon DAYS]\n"
	    "            [--suppose-invalid MECHANISM[@DATE]]... [--service S]\n"
	    "            [--country CC] [--category K]"},
	{"rules", cmd_rules, "Show the transfer rules in force and their sources",
	    "rules [--regime EU|UK|CH]"},
	{"export", cmd_export,
	    "Export transfer records or the public subprocessor list",
	    "export [--format csv|jsonl|xlsx] [--as-of WHEN]\n"
	    "            [--customer ID | --regime R] [--output FILE]\n"
	    "            [--subprocessors] [--category K] [--country CC]\n"
	    "            [--mechanism M] [--service S] [--page-size N]"},
	{"info", cmd_info, "Show the server's version and counts", "info"},
	{"verify", cmd_verify,
	    "Check the hash-chained change log and every stored record",
	    "verify"},
	{"token create", cmd_token_create, "Create an access token (admin)",
	    "token create --role ROLE --name NAME"},
	{"token list", cmd_token_list, "List access tokens (admin)",
	    "token list [--all]"},
	{"token revoke", cmd_token_revoke, "Revoke an access token (admin)",
	    "token revoke NAME"},
	{"whoami", cmd_whoami, "Show the token in use and its role", "whoami"},
	{"webhook add", cmd_webhook_add,
	    "Send a customer's changes to a URL (admin)",
	    "webhook add --customer ID URL [--secret-file F]"},
	{"webhook list", cmd_webhook_list,
	    "List webhooks: state, lag, last status and error",
	    "webhook list [--customer ID]"},
	{"webhook pause", cmd_webhook_pause, "Stop sending to a webhook (admin)",
	    "webhook pause ID"},
	{"webhook resume", cmd_webhook_resume,
	    "Send to a paused webhook again, its backlog first (admin)",
	    "webhook resume ID"},
	{"webhook remove", cmd_webhook_remove,
	    "Remove a webhook and what it is owed (admin)", "webhook remove ID"},
	{"webhook test", cmd_webhook_test,
	    "Queue a test delivery (seq 0) to a webhook (admin)",
	    "webhook test ID"},
	{"help", NULL, "Show help for a command", "help [COMMAND]"},
};

int
main(int argc, char **argv)
{
	return cli_main(commands, sizeof(commands) / sizeof(commands[0]), argc,
	    argv);
}
