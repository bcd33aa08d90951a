/*
 * Writes the seed corpus of fuzz_envelope into the folder named: for a
 * few requests given in JSON, the envelope as a client sends it (raw
 * mode) and the input that makes fuzz_envelope build that envelope
 * itself (structured mode: odd byte, method index, options, payload).
 *   ninja -C build tests/fuzz/fuzz-make-seeds
 *   build/tests/fuzz/fuzz-make-seeds tests/fuzz/corpus/envelope
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pbjson.h"
#include "rpc/rpc.h"
#include "spreg/v1/rpc.pb-c.h"

static const struct seed {
	const char *service, *method, *json;
} seeds[] = {
	{"Registry", "ServerInfo", "{}"},
	{"Registry", "GetSubprocessor", "{\"id\": \"stripe\"}"},
	{"Registry", "GetSubprocessor",
	    "{\"id\": \"aws\", \"as_of\": \"2024-01-01\"}"},
	{"Registry", "ListSubprocessors",
	    "{\"country\": \"US\", \"page_size\": 2}"},
	{"Registry", "ListSubprocessors",
	    "{\"data_category\": \"user.contact\", \"status\": \"active\"}"},
	{"Registry", "ListChanges", "{\"since_seq\": 3, \"limit\": 5}"},
	{"Registry", "ListDataCategories", "{\"parent\": \"user\"}"},
	{"Registry", "PutSubprocessor",
	    "{\"subprocessor\": {\"id\": \"fuzz-vendor\", \"name\": \"Fuzz\","
	    " \"services\": [\"app\"], \"data_categories\": "
	    "[\"user.contact.email\"], \"locations\": [{\"country\": \"US\","
	    " \"role\": \"hosting\"}], \"safeguards\": [{\"mechanism\": "
	    "\"eu-scc-2021-m2\", \"regime\": \"EU\", \"signed_on\": "
	    "\"2023-01-01\"}], \"effective_from\": \"2024-01-01\"}}"},
	{"Registry", "RetireSubprocessor", "{\"id\": \"zoom\"}"},
	{"Registry", "PutDataCategory",
	    "{\"category\": {\"key\": \"user.contact.fax\", \"name\": \"Fax\","
	    " \"parent\": \"user.contact\"}}"},
	{"Registry", "PutCustomer",
	    "{\"customer\": {\"id\": \"acme\", \"name\": \"Acme\", "
	    "\"services\": [\"app\"], \"contacts\": [\"dpo@acme.example\"]}}"},
	{"Registry", "GetCustomer", "{\"id\": \"acme\"}"},
	{"Registry", "ListCustomers", "{\"page_size\": 10}"},
	{"Registry", "DeleteCustomer", "{\"id\": \"acme\"}"},
	{"Registry", "AnnounceChange",
	    "{\"subprocessor\": {\"id\": \"stripe\", \"name\": \"Stripe\"},"
	    " \"effective_at\": \"2099-01-01\", \"reason\": \"move\"}"},
	{"Registry", "ListAnnouncements", "{\"include_applied\": true}"},
	{"Registry", "ObjectToChange",
	    "{\"customer_id\": \"acme\", \"change_seq\": 30}"},
	{"Registry", "ListObjections", "{\"customer_id\": \"acme\"}"},
	{"Assessment", "GetRules", "{}"},
	{"Assessment", "AssessTransfers", "{\"regime\": \"EU\"}"},
};

static void
write_file(const char *dir, const char *name, const uint8_t *data,
    size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz-make-seeds DIR\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		const struct seed *s = &seeds[i];
		const ProtobufCServiceDescriptor *sd = NULL;
		size_t index = 0, base = 0;
		for (size_t k = 0; rpc_services[k] != NULL; k++) {
			const ProtobufCServiceDescriptor *d =
			    rpc_services[k]->desc;
			if (strcmp(d->short_name, s->service) == 0) {
				sd = d;
				break;
			}
			base += d->n_methods;
		}
		const ProtobufCMethodDescriptor *md = sd == NULL ? NULL :
		    protobuf_c_service_descriptor_get_method_by_name(sd,
		        s->method);
		if (md == NULL) {
			fprintf(stderr, "%s/%s: no such method\n", s->service,
			    s->method);
			return 1;
		}
		index = base + (size_t) (md - sd->methods);
		json_t *j;
		ProtobufCMessage *m;
		err e;
		if (pbjson_parse_text(s->json, strlen(s->json), &j, &e) !=
		        SPREG_OK ||
		    pbjson_to_message(j, md->input, &m, &e) != SPREG_OK) {
			fprintf(stderr, "%s: %s\n", s->method, e.msg);
			return 1;
		}
		json_decref(j);
		size_t plen = protobuf_c_message_get_packed_size(m);
		uint8_t *payload = malloc(plen + 3);
		payload[0] = 1;
		payload[1] = (uint8_t) index;
		payload[2] = 2;	/* an actor, no request id, no deadline */
		protobuf_c_message_pack(m, payload + 3);
		protobuf_c_message_free_unpacked(m, NULL);

		char method[256], name[300];
		snprintf(method, sizeof(method), "%s/%s", sd->name, s->method);
		Spreg__V1__Request env = SPREG__V1__REQUEST__INIT;
		env.method = method;
		env.request_id = 1000 + i;
		env.actor = "seed";
		env.payload.data = payload + 3;
		env.payload.len = plen;
		size_t elen = spreg__v1__request__get_packed_size(&env);
		uint8_t *buf = malloc(elen);
		spreg__v1__request__pack(&env, buf);
		snprintf(name, sizeof(name), "%02zu-%s-envelope", i, s->method);
		write_file(argv[1], name, buf, elen);
		snprintf(name, sizeof(name), "%02zu-%s-structured", i,
		    s->method);
		write_file(argv[1], name, payload, plen + 3);
		free(buf);
		free(payload);
	}
	return 0;
}
