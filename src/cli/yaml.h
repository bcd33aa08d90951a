/*
 * YAML output of API messages, in the field names of their JSON form,
 * so that what 'spreg get --yaml' prints, 'spreg put' reads back
 * unchanged (JSON and YAML input share one path, src/core/pbjson.h).
 */
#ifndef CLI_YAML_H
#define CLI_YAML_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

/* Writes msg as one YAML document to out. False on OOM or a write
 * error. */
bool cli_yaml_write(const ProtobufCMessage *msg, FILE *out);
/* The same for any JSON tree (a Fides data map). */
bool cli_yaml_write_json(const json_t *json, FILE *out);

#endif
