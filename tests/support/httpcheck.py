#!/usr/bin/python3
"""Checks for the HTTP tests (tests/http_test.sh), on files curl wrote.

  httpcheck.py schema SPEC METHOD PATH STATUS BODY
      BODY (JSON) is valid against the response schema doc/openapi.json
      (SPEC) gives METHOD PATH (a template: /v1/subprocessors/{id}) for
      STATUS (its application/json body, else its one +json body). The validator knows the JSON Schema the spec uses: $ref,
      type, properties, required, additionalProperties, items, enum,
      pattern, minimum.
  httpcheck.py same BODY KEY CLIOUT
      The HTTP answer BODY holds, under KEY ('.' for the whole), the same
      records as the CLI's --json output CLIOUT (one object, or JSON
      Lines), once proto3 forms are read as the CLI's: a 64-bit integer
      as a decimal string equals the number, and an enum's full name
      (SUBPROCESSOR_STATUS_ACTIVE) its short lower-case one (active).
  httpcheck.py get BODY EXPR
      Prints the value of EXPR (a Python expression over `body`).
Exit status 0 when the check holds, 1 with the reason on stderr.
"""
import json
import re
import sys


def fail(msg):
    print("httpcheck: " + msg, file=sys.stderr)
    sys.exit(1)


def resolve(spec, schema):
    while "$ref" in schema:
        node = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


def validate(spec, schema, value, where):
    schema = resolve(spec, schema)
    t = schema.get("type")
    if t == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            fail("%s: %r is not an integer" % (where, value))
        if "minimum" in schema and value < schema["minimum"]:
            fail("%s: %r below %r" % (where, value, schema["minimum"]))
    elif t is not None and (not isinstance(value, TYPES[t]) or
                            (t != "boolean" and isinstance(value, bool))):
        fail("%s: %r is not of type %s" % (where, value, t))
    if "enum" in schema and value not in schema["enum"]:
        fail("%s: %r is not one of %s" % (where, value, schema["enum"]))
    if "pattern" in schema and not re.search(schema["pattern"], value):
        fail("%s: %r does not match %s" % (where, value, schema["pattern"]))
    if t == "object":
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                fail("%s: required field %s missing" % (where, name))
        for name, v in value.items():
            if name in props:
                validate(spec, props[name], v, where + "." + name)
            elif schema.get("additionalProperties", True) is False:
                fail("%s: field %s is not in the spec" % (where, name))
    if t == "array":
        for i, v in enumerate(value):
            validate(spec, schema["items"], v, "%s[%d]" % (where, i))


def cmd_schema(spec_file, method, path, status, body_file):
    spec = json.load(open(spec_file))
    op = spec["paths"].get(path, {}).get(method.lower())
    if op is None:
        fail("the spec has no %s %s" % (method, path))
    resp = op["responses"].get(status)
    if resp is None:
        fail("the spec gives %s %s no %s response" % (method, path, status))
    # application/json, or the one JSON type given (application/feed+json).
    content = resp.get("content", {})
    types = [t for t in content if t == "application/json" or
             t.endswith("+json")]
    if not types:
        fail("the spec gives %s %s %s no JSON body" % (method, path, status))
    schema = content[types[0]]["schema"]
    validate(spec, schema, json.load(open(body_file)), "body")


def proto3_as_cli(http, cli, where):
    """http (proto3 JSON) equals cli (the CLI's JSON)."""
    if isinstance(cli, dict):
        if not isinstance(http, dict) or set(http) != set(cli):
            fail("%s: fields %s vs the CLI's %s" % (
                where, sorted(http) if isinstance(http, dict) else http,
                sorted(cli)))
        for k in cli:
            proto3_as_cli(http[k], cli[k], where + "." + k)
    elif isinstance(cli, list):
        if not isinstance(http, list) or len(http) != len(cli):
            fail("%s: %d entries vs the CLI's %d" % (
                where, len(http) if isinstance(http, list) else -1,
                len(cli)))
        for i, (h, c) in enumerate(zip(http, cli)):
            proto3_as_cli(h, c, "%s[%d]" % (where, i))
    elif isinstance(cli, int) and not isinstance(cli, bool) and \
            isinstance(http, str):
        if not re.fullmatch(r"-?[0-9]+", http) or int(http) != cli:
            fail("%s: %r vs the CLI's %r" % (where, http, cli))
    elif isinstance(cli, str) and isinstance(http, str) and http != cli:
        # An enum: the full name ends with the short one.
        short = cli.upper().replace("-", "_")
        if not re.fullmatch(r"[A-Z0-9_]+", http) or \
                not (http == short or http.endswith("_" + short)):
            fail("%s: %r vs the CLI's %r" % (where, http, cli))
    elif http != cli:
        fail("%s: %r vs the CLI's %r" % (where, http, cli))


def cmd_same(body_file, key, cli_file):
    body = json.load(open(body_file))
    if key != ".":
        body = body.get(key, [] if key.endswith("s") else {})
    text = open(cli_file).read()
    try:
        cli = json.loads(text)
    except ValueError:
        cli = [json.loads(line) for line in text.splitlines() if line]
    if isinstance(body, list) and not isinstance(cli, list):
        cli = [cli]
    if isinstance(body, list) and len(body) == 0:
        fail("the HTTP answer has no %s: nothing compared" % key)
    proto3_as_cli(body, cli, key)


def main(argv):
    if len(argv) == 6 and argv[0] == "schema":
        cmd_schema(*argv[1:])
    elif len(argv) == 4 and argv[0] == "same":
        cmd_same(*argv[1:])
    elif len(argv) == 3 and argv[0] == "get":
        body = json.load(open(argv[1]))
        print(eval(argv[2], {"body": body}))
    else:
        fail("usage: see the file's comment")


main(sys.argv[1:])
