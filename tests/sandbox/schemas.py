"""GitHub's official schemas, fetched with npm: REST responses (OpenAPI) and webhook payloads."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7, DRAFT202012

from tests.npm_cache import npm_package

API = "urn:github:api"
HOOKS = "urn:github:webhooks"


def _nullable_to_json_schema(node: Any) -> Any:
    """Rewrite OpenAPI 3.0 `nullable: true` into JSON Schema (the 3.1 flavour of the description)."""
    if isinstance(node, list):
        return [_nullable_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable_to_json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False) is True:
        if isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
            if "enum" in node and None not in node["enum"]:
                node["enum"] = [*node["enum"], None]
        else:
            return {"anyOf": [node, {"type": "null"}]}
    return node


@lru_cache(maxsize=1)
def _api() -> tuple[dict[str, Any], Registry[Any], list[tuple[re.Pattern[str], str, int]]]:
    path = npm_package("@octokit/openapi") / "generated" / "api.github.com.json"
    document = _nullable_to_json_schema(json.loads(path.read_text()))
    registry: Registry[Any] = Registry().with_resource(API, Resource.from_contents(document, DRAFT202012))
    templates = []
    for template in document["paths"]:
        # `{path}` (contents) and `{ref}` (e.g. "tags/v1") span slashes; other parameters are one segment.
        pattern = re.sub(r"\{(path|ref)\}", "(?:.+)", template)
        pattern = re.sub(r"\{[^}/]+\}", "[^/]+", pattern)
        literal = len(re.sub(r"\{[^}/]+\}", "", template))
        templates.append((re.compile(f"^{pattern}$"), template, literal))
    return document, registry, templates


def operation_for(method: str, path: str) -> str | None:
    """The OpenAPI path template (most specific) that `method path` is an operation of."""
    document, _registry, templates = _api()
    matches = [(literal, template) for pattern, template, literal in templates
               if pattern.match(path) and method.lower() in document["paths"][template]]
    return max(matches)[1] if matches else None


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def response_validator(template: str, method: str, status: int) -> Validator | None:
    """A validator for the JSON answer of an operation at `status`, None when it declares no body."""
    document, registry, _templates = _api()
    responses = document["paths"][template][method.lower()]["responses"]
    response = responses.get(str(status))
    if response is None:
        raise AssertionError(f"{method} {template} does not declare status {status}")
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    if "application/json" not in response.get("content", {}):
        return None
    base = f"{API}#/paths/{_pointer(template, method.lower())}/responses"
    if "$ref" in responses[str(status)]:
        base = f"{API}#/components/responses/{_pointer(responses[str(status)]['$ref'].rsplit('/', 1)[-1])}"
        ref = f"{base}/content/application~1json/schema"
    else:
        ref = f"{base}/{status}/content/application~1json/schema"
    return Draft202012Validator({"$ref": ref}, registry=registry)


@lru_cache(maxsize=1)
def _hooks() -> tuple[dict[str, Any], Registry[Any]]:
    document = json.loads((npm_package("@octokit/webhooks-schemas") / "schema.json").read_text())
    return document, Registry().with_resource(HOOKS, Resource.from_contents(document, DRAFT7))


def webhook_validator(event: str, action: str | None) -> Validator:
    """A validator for one webhook event (+ action), from @octokit/webhooks-schemas."""
    document, registry = _hooks()
    name = f"{event}${action}" if action else f"{event}$event"
    if name not in document["definitions"]:
        raise AssertionError(f"no webhook schema named {name}")
    return Draft7Validator({"$ref": f"{HOOKS}#/definitions/{name}"}, registry=registry)


def problems(validator: Validator, instance: Any, limit: int = 8) -> list[str]:
    """Readable validation errors: where, and what is wrong."""
    found = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}" for e in found[:limit]]
