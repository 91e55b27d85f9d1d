#!/usr/bin/python3
"""Checks the services' OpenAPI documents (as the build merged them) against OpenAPI 3.1's rules.

Debian ships no OpenAPI 3.1 meta-schema, so this is a structural check of the parts of the specification
the documents use (META_SCHEMA below, JSON Schema 2020-12), and then what a schema cannot say: every $ref
resolves inside its document, every schema is a valid JSON Schema 2020-12 schema with no unknown keyword,
path templates and path parameters agree, security requirements name defined schemes, operationIds are
unique, every component is used, and two documents share only the probes, which they describe alike.

Usage: documents.py DOCUMENT.json...    Exit status 1 when any check fails.
Also imported by conformance.py for its helpers (load, deref, operations).
"""

import json
import os
import re
import sys

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# What the documents answer with; anything else is more likely a typo than a new kind of answer.
MEDIA_TYPES = ("application/json", "application/problem+json", "text/plain", "text/html", "text/event-stream")
# The paths every service serves alike (src/core/openapi.json).
SHARED_PATHS = ("/health", "/ready", "/metrics", "/openapi.json")

# The keywords a schema may use: JSON Schema 2020-12's and the OpenAPI 3.1 dialect's.
SCHEMA_KEYWORDS = {
    "$schema", "$id", "$ref", "$defs", "$comment", "$anchor", "$dynamicRef", "$dynamicAnchor", "$vocabulary",
    "type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
    "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxContains", "minContains",
    "maxProperties", "minProperties", "required", "dependentRequired", "allOf", "anyOf", "oneOf", "not", "if",
    "then", "else", "dependentSchemas", "prefixItems", "items", "contains", "properties", "patternProperties",
    "additionalProperties", "propertyNames", "unevaluatedItems", "unevaluatedProperties", "format",
    "contentEncoding", "contentMediaType", "contentSchema", "title", "description", "default", "deprecated",
    "readOnly", "writeOnly", "examples", "discriminator", "xml", "externalDocs", "example",
}
SUBSCHEMA = ("not", "if", "then", "else", "items", "contains", "additionalProperties", "propertyNames",
             "unevaluatedItems", "unevaluatedProperties", "contentSchema")
SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")

_EXTENSION = {"^x-": {}}
_REF = {"type": "object", "required": ["$ref"], "properties": {"$ref": {"type": "string"}, "summary": {},
                                                                   "description": {}},
        "additionalProperties": False}

# The OpenAPI 3.1 objects the documents use, with the members the specification allows and requires.
META_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["openapi", "info", "paths"],
    "properties": {
        "openapi": {"type": "string", "pattern": r"^3\.1\.[0-9]+$"},
        "info": {"$ref": "#/$defs/info"},
        "jsonSchemaDialect": {"type": "string"},
        "servers": {"type": "array", "items": {"$ref": "#/$defs/server"}},
        "paths": {"type": "object", "patternProperties": {"^/": {"$ref": "#/$defs/pathItem"}, **_EXTENSION},
                  "additionalProperties": False},
        "webhooks": {"type": "object"},
        "components": {"$ref": "#/$defs/components"},
        "security": {"$ref": "#/$defs/security"},
        "tags": {"type": "array"},
        "externalDocs": {"type": "object"},
    },
    "patternProperties": _EXTENSION,
    "additionalProperties": False,
    "$defs": {
        "info": {
            "type": "object",
            "required": ["title", "version"],
            "properties": {"title": {"type": "string"}, "summary": {"type": "string"},
                           "description": {"type": "string"}, "termsOfService": {"type": "string"},
                           "contact": {"type": "object"}, "license": {"type": "object"},
                           "version": {"type": "string"}},
            "patternProperties": _EXTENSION,
            "additionalProperties": False,
        },
        "server": {
            "type": "object",
            "required": ["url"],
            "properties": {"url": {"type": "string"}, "description": {"type": "string"},
                           "variables": {"type": "object"}},
            "patternProperties": _EXTENSION,
            "additionalProperties": False,
        },
        "components": {
            "type": "object",
            "properties": {
                section: {"type": "object", "propertyNames": {"pattern": r"^[a-zA-Z0-9.\-_]+$"},
                          "additionalProperties": {"$ref": "#/$defs/" + kind}}
                for section, kind in (("schemas", "schema"), ("responses", "responseOrRef"),
                                      ("parameters", "parameterOrRef"), ("headers", "headerOrRef"),
                                      ("securitySchemes", "securityScheme"), ("requestBodies", "requestBody"))
            },
            "patternProperties": _EXTENSION,
            "additionalProperties": False,
        },
        "schema": {"type": ["object", "boolean"]},
        "pathItem": {
            "type": "object",
            "properties": {"$ref": {"type": "string"}, "summary": {"type": "string"},
                           "description": {"type": "string"}, "servers": {"type": "array"},
                           "parameters": {"type": "array", "items": {"$ref": "#/$defs/parameterOrRef"}},
                           **{method: {"$ref": "#/$defs/operation"} for method in METHODS}},
            "patternProperties": _EXTENSION,
            "additionalProperties": False,
        },
        "operation": {
            "type": "object",
            "required": ["responses"],
            "properties": {
                "tags": {"type": "array", "items": {"type": "string"}}, "summary": {"type": "string"},
                "description": {"type": "string"}, "externalDocs": {"type": "object"},
                "operationId": {"type": "string"},
                "parameters": {"type": "array", "items": {"$ref": "#/$defs/parameterOrRef"}},
                "requestBody": {"$ref": "#/$defs/requestBody"},
                "responses": {"$ref": "#/$defs/responses"},
                "callbacks": {"type": "object"}, "deprecated": {"type": "boolean"},
                "security": {"$ref": "#/$defs/security"}, "servers": {"type": "array"},
            },
            "patternProperties": _EXTENSION,
            "additionalProperties": False,
        },
        "responses": {
            "type": "object",
            "minProperties": 1,
            "patternProperties": {"^[1-5](?:[0-9]{2}|XX)$": {"$ref": "#/$defs/responseOrRef"}, **_EXTENSION},
            "properties": {"default": {"$ref": "#/$defs/responseOrRef"}},
            "additionalProperties": False,
        },
        "responseOrRef": {"if": {"required": ["$ref"]}, "then": _REF, "else": {"$ref": "#/$defs/response"}},
        "response": {
            "type": "object",
            "required": ["description"],
            "properties": {"description": {"type": "string"},
                           "headers": {"type": "object", "additionalProperties": {"$ref": "#/$defs/headerOrRef"}},
                           "content": {"$ref": "#/$defs/content"}, "links": {"type": "object"}},
            "patternProperties": _EXTENSION,
            "additionalProperties": False,
        },
        "requestBody": {
            "type": "object",
            "required": ["content"],
            "properties": {"description": {"type": "string"}, "content": {"$ref": "#/$defs/content"},
                           "required": {"type": "boolean"}},
            "patternProperties": _EXTENSION,
            "additionalProperties": False,
        },
        "content": {
            "type": "object",
            "propertyNames": {"enum": list(MEDIA_TYPES)},
            "additionalProperties": {
                "type": "object",
                "properties": {"schema": {"$ref": "#/$defs/schema"}, "example": {}, "examples": {"type": "object"},
                               "encoding": {"type": "object"}},
                "patternProperties": _EXTENSION,
                "additionalProperties": False,
            },
        },
        "parameterOrRef": {"if": {"required": ["$ref"]}, "then": _REF, "else": {"$ref": "#/$defs/parameter"}},
        "parameter": {
            "type": "object",
            "required": ["name", "in", "schema"],
            "properties": {"name": {"type": "string"}, "in": {"enum": ["query", "header", "path", "cookie"]},
                           "description": {"type": "string"}, "required": {"type": "boolean"},
                           "deprecated": {"type": "boolean"}, "allowEmptyValue": {"type": "boolean"},
                           "style": {"type": "string"}, "explode": {"type": "boolean"},
                           "allowReserved": {"type": "boolean"}, "schema": {"$ref": "#/$defs/schema"},
                           "example": {}, "examples": {"type": "object"}},
            "if": {"properties": {"in": {"const": "path"}}},
            "then": {"required": ["required"], "properties": {"required": {"const": True}}},
            "patternProperties": _EXTENSION,
            "additionalProperties": False,
        },
        "headerOrRef": {"if": {"required": ["$ref"]}, "then": _REF, "else": {"$ref": "#/$defs/header"}},
        "header": {
            "type": "object",
            "required": ["schema"],
            "properties": {"description": {"type": "string"}, "required": {"type": "boolean"},
                           "deprecated": {"type": "boolean"}, "style": {"const": "simple"},
                           "explode": {"type": "boolean"}, "schema": {"$ref": "#/$defs/schema"},
                           "example": {}, "examples": {"type": "object"}},
            "patternProperties": _EXTENSION,
            "additionalProperties": False,
        },
        "securityScheme": {
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"enum": ["apiKey", "http", "mutualTLS", "oauth2", "openIdConnect"]},
                           "description": {"type": "string"}, "name": {"type": "string"},
                           "in": {"enum": ["query", "header", "cookie"]}, "scheme": {"type": "string"},
                           "bearerFormat": {"type": "string"}, "flows": {"type": "object"},
                           "openIdConnectUrl": {"type": "string"}},
            "if": {"properties": {"type": {"const": "http"}}},
            "then": {"required": ["scheme"]},
            "patternProperties": _EXTENSION,
            "additionalProperties": False,
        },
        "security": {
            "type": "array",
            "items": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        },
    },
}


def load(path):
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def pointer(document, ref):
    """The value a local $ref ("#/components/schemas/Event") names; KeyError when there is none."""
    if not ref.startswith("#/"):
        raise KeyError(ref + " is not a reference inside the document")
    value = document
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, list):
            value = value[int(token)]
        elif isinstance(value, dict) and token in value:
            value = value[token]
        else:
            raise KeyError(ref)
    return value


def deref(document, value):
    """A response, parameter or header object, following its $ref (and theirs)."""
    seen = set()
    while isinstance(value, dict) and "$ref" in value:
        if value["$ref"] in seen:
            raise KeyError(value["$ref"] + " refers to itself")
        seen.add(value["$ref"])
        value = pointer(document, value["$ref"])
    return value


def operations(document):
    """(path, method, path item, operation) of every operation."""
    for path, item in document.get("paths", {}).items():
        if path.startswith("x-"):
            continue
        for method in METHODS:
            if method in item:
                yield path, method, item, item[method]


def _walk(value, where):
    """(JSON pointer, object) of every object in `value`."""
    if isinstance(value, dict):
        yield where, value
        for key, member in value.items():
            yield from _walk(member, where + "/" + key.replace("~", "~0").replace("/", "~1"))
    elif isinstance(value, list):
        for index, member in enumerate(value):
            yield from _walk(member, where + "/" + str(index))


def _schemas(document):
    """(where, schema) of every schema of the document: components' and those of parameters, headers and
    contents (a $ref'd parameter, header or response is checked where it is defined)."""
    components = document.get("components", {})
    for name, schema in components.get("schemas", {}).items():
        yield "#/components/schemas/" + name, schema

    def of_content(content, where):
        for media, entry in content.items():
            if "schema" in entry:
                yield "%s/content/%s/schema" % (where, media.replace("/", "~1")), entry["schema"]

    def of_response(response, where):
        if "$ref" in response:
            return
        for name, header in response.get("headers", {}).items():
            if "$ref" not in header:
                yield "%s/headers/%s/schema" % (where, name), header["schema"]
        yield from of_content(response.get("content", {}), where)

    for section in ("parameters", "headers"):
        for name, value in components.get(section, {}).items():
            if "$ref" not in value:
                yield "#/components/%s/%s/schema" % (section, name), value["schema"]
    for name, response in components.get("responses", {}).items():
        yield from of_response(response, "#/components/responses/" + name)
    for path, item in document.get("paths", {}).items():
        where_path = "#/paths/" + path.replace("~", "~0").replace("/", "~1")
        for index, parameter in enumerate(item.get("parameters", [])):
            if "$ref" not in parameter:
                yield "%s/parameters/%d/schema" % (where_path, index), parameter["schema"]
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            where = where_path + "/" + method
            for index, parameter in enumerate(operation.get("parameters", [])):
                if "$ref" not in parameter:
                    yield "%s/parameters/%d/schema" % (where, index), parameter["schema"]
            yield from of_content(operation.get("requestBody", {}).get("content", {}), where + "/requestBody")
            for status, response in operation["responses"].items():
                yield from of_response(response, "%s/responses/%s" % (where, status))


def _unknown_keywords(schema, where):
    if not isinstance(schema, dict):
        return
    for key in schema:
        if key not in SCHEMA_KEYWORDS and not key.startswith("x-"):
            yield "%s: '%s' is not a JSON Schema 2020-12 or OpenAPI keyword" % (where, key)
    for key in SUBSCHEMA:
        if key in schema:
            yield from _unknown_keywords(schema[key], where + "/" + key)
    for key in SUBSCHEMA_LISTS:
        for index, member in enumerate(schema.get(key, [])):
            yield from _unknown_keywords(member, "%s/%s/%d" % (where, key, index))
    for key in SUBSCHEMA_MAPS:
        for name, member in schema.get(key, {}).items():
            yield from _unknown_keywords(member, "%s/%s/%s" % (where, key, name))


def check(document):
    """What is wrong with one document, as a list of sentences."""
    problems = ["structure: %s at #/%s" % (error.message, "/".join(str(p).replace("~", "~0").replace("/", "~1")
                                                                    for p in error.absolute_path))
                for error in Draft202012Validator(META_SCHEMA).iter_errors(document)]
    if problems:
        return problems

    used = set()
    for where, value in _walk(document, "#"):
        ref = value.get("$ref")
        if isinstance(ref, str):
            used.add(ref)
            try:
                pointer(document, ref)
            except (KeyError, IndexError, ValueError):
                problems.append("%s: $ref %s does not resolve inside the document" % (where, ref))
    if problems:
        return problems

    for where, schema in _schemas(document):
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as error:
            problems.append("%s is not a valid JSON Schema 2020-12 schema: %s" % (where, error.message))
        problems.extend(_unknown_keywords(schema, where))

    schemes = set(document.get("components", {}).get("securitySchemes", {}))
    operation_ids = set()
    for path, method, item, operation in operations(document):
        name = "%s %s" % (method.upper(), path)
        parameters = [deref(document, p) for p in item.get("parameters", []) + operation.get("parameters", [])]
        in_path = sorted(p["name"] for p in parameters if p["in"] == "path")
        in_template = sorted(re.findall(r"\{([^}/]+)\}", path))
        if in_path != in_template:
            problems.append("%s: the path's parameters %s are declared as %s" % (name, in_template, in_path))
        if "operationId" not in operation:
            problems.append("%s has no operationId" % name)
        elif operation["operationId"] in operation_ids:
            problems.append("%s: operationId %s is taken" % (name, operation["operationId"]))
        operation_ids.add(operation.get("operationId"))
        if "security" not in operation:
            problems.append("%s says nothing about security (an open operation says [{}])" % name)
        for requirement in operation.get("security", []):
            for scheme in requirement:
                if scheme not in schemes:
                    problems.append("%s: security scheme %s is not defined" % (name, scheme))
                used.add("#/components/securitySchemes/" + scheme)
        for status, response in operation["responses"].items():
            media = set(deref(document, response).get("content", {}))
            problem = status.startswith(("4", "5"))
            if problem and media and media != {"application/problem+json"}:
                problems.append("%s: %s answers %s, not application/problem+json" % (name, status, sorted(media)))
            if not problem and "application/problem+json" in media:
                problems.append("%s: %s answers a problem document" % (name, status))

    unrouted = document.get("x-flashtix-unrouted", {})
    for status in ("404", "405"):
        if status not in unrouted:
            problems.append("x-flashtix-unrouted does not say what a request no operation describes gets (%s)" % status)

    for section, members in document.get("components", {}).items():
        for name in members:
            if "#/components/%s/%s" % (section, name) not in used:
                problems.append("components/%s/%s is not used" % (section, name))
    return problems


def check_together(documents):
    """What is wrong across the documents: a path in two of them, or a shared path described differently."""
    problems = []
    owner = {}
    for name, document in documents.items():
        for path, item in document["paths"].items():
            if path in SHARED_PATHS:
                first = owner.setdefault(path, name)
                if json.dumps(item, sort_keys=True) != json.dumps(documents[first]["paths"][path], sort_keys=True):
                    problems.append("%s describes %s differently from %s" % (name, path, first))
            elif path in owner:
                problems.append("%s is described by %s and %s; answers are matched to a document by path" %
                                (path, owner[path], name))
            else:
                owner[path] = name
    for path in SHARED_PATHS:
        for name, document in documents.items():
            if path not in document["paths"]:
                problems.append("%s does not describe %s, which every service serves" % (name, path))
    return problems


def main(paths):
    if not paths:
        print(__doc__)
        return 2
    documents = {}
    failed = False
    for path in paths:
        name = os.path.basename(path)
        try:
            document = load(path)
        except (OSError, ValueError) as error:
            print("FAIL %s: %s" % (name, error))
            failed = True
            continue
        problems = check(document)
        for problem in problems:
            print("FAIL %s: %s" % (name, problem))
        failed = failed or bool(problems)
        count = sum(1 for _ in operations(document))
        print("%s %s: OpenAPI %s, %d paths, %d operations, %d schemas" %
              ("FAIL" if problems else "ok  ", name, document.get("openapi"), len(document.get("paths", {})), count,
               len(document.get("components", {}).get("schemas", {}))))
        documents[name] = document
    if len(documents) == len(paths):
        problems = check_together(documents)
        for problem in problems:
            print("FAIL %s" % problem)
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
