/*
 * A client as an outside program would write it: installed headers and
 * library only (built by tests/install_test.sh with pkg-config). Prints
 * the server's subprocessor count, then one vendor's name.
 */
#include <stdio.h>
#include <stdlib.h>

#include <spreg/client.h>
#include <spreg/status.h>
#include <spreg/v1/registry.pb-c.h>

int
main(int argc, char **argv)
{
	spreg_client *c;
	char token[SPREG_TOKEN_MAX];
	spreg_status st;

	if (argc != 3) {
		fprintf(stderr, "usage: tiny URL VENDOR_ID\n");
		return 2;
	}
	if ((st = spreg_token_resolve(NULL, token, sizeof(token))) != SPREG_OK ||
	    (st = spreg_client_open(argv[1], false, &c)) != SPREG_OK) {
		fprintf(stderr, "tiny: %s\n", spreg_status_name(st));
		return 1;
	}
	spreg_client_set_token(c, token);

	Spreg__V1__ServerInfoRequest ireq = SPREG__V1__SERVER_INFO_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	st = spreg_call(c, "ServerInfo", &ireq.base,
	    &spreg__v1__server_info_response__descriptor, &resp);
	if (st != SPREG_OK) {
		fprintf(stderr, "tiny: ServerInfo: %s: %s\n",
		    spreg_status_name(st), spreg_client_error(c));
		spreg_client_close(c);
		return 1;
	}
	Spreg__V1__ServerInfoResponse *info =
	    (Spreg__V1__ServerInfoResponse *) resp;
	printf("subprocessors: %llu\n",
	    (unsigned long long) info->subprocessors);
	spreg_message_free(resp);

	Spreg__V1__GetSubprocessorRequest greq =
	    SPREG__V1__GET_SUBPROCESSOR_REQUEST__INIT;
	greq.id = argv[2];
	st = spreg_call(c, "GetSubprocessor", &greq.base,
	    &spreg__v1__get_subprocessor_response__descriptor, &resp);
	if (st != SPREG_OK) {
		fprintf(stderr, "tiny: GetSubprocessor: %s: %s\n",
		    spreg_status_name(st), spreg_client_error(c));
		spreg_client_close(c);
		return 1;
	}
	printf("name: %s\n",
	    ((Spreg__V1__GetSubprocessorResponse *) resp)->subprocessor->name);
	spreg_message_free(resp);
	spreg_client_close(c);
	return 0;
}
