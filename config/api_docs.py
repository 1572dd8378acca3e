"""The API's docs page: the OpenAPI schema rendered on the server (no script, no CDN)."""

from functools import lru_cache

from django.shortcuts import render
from drf_spectacular.generators import SchemaGenerator

METHODS = ("get", "post", "put", "patch", "delete")


@lru_cache(maxsize=1)
def _schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type_of(prop: dict) -> str:
    if "$ref" in prop:
        return _ref_name(prop["$ref"])
    if "allOf" in prop:
        return " & ".join(_type_of(part) for part in prop["allOf"])
    if "oneOf" in prop:
        return " | ".join(_type_of(part) for part in prop["oneOf"])
    kind = prop.get("type", "object")
    if kind == "array":
        return f"[{_type_of(prop.get('items', {}))}]"
    if prop.get("format"):
        kind = f"{kind} ({prop['format']})"
    if prop.get("enum"):
        kind += ": " + ", ".join(str(value) for value in prop["enum"] if value not in ("", None))
    if prop.get("maxLength"):
        kind += f" ≤{prop['maxLength']}"
    if prop.get("nullable"):
        kind += " | null"
    return kind


def _components(schema: dict) -> list[dict]:
    shown = []
    for name, component in sorted(schema.get("components", {}).get("schemas", {}).items()):
        required = set(component.get("required", []))
        shown.append({
            "name": name, "description": component.get("description", ""),
            "one_of": [_type_of(part) for part in component.get("oneOf", [])],
            "fields": [{"name": field, "type": _type_of(prop), "required": field in required,
                        "description": prop.get("description", ""),
                        "read_only": prop.get("readOnly", False)}
                       for field, prop in component.get("properties", {}).items()]})
    return shown


def _operations(schema: dict) -> list[dict]:
    operations = []
    for route, item in schema.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            body = (operation.get("requestBody", {}).get("content", {})
                    .get("application/json", {}).get("schema"))
            operations.append({
                "method": method.upper(), "path": route,
                "summary": operation.get("summary", ""),
                "description": operation.get("description", ""),
                "parameters": [{"name": p["name"], "in": p["in"],
                                "required": p.get("required", False),
                                "type": _type_of(p.get("schema", {})),
                                "description": p.get("description", "")}
                               for p in operation.get("parameters", [])],
                "body": _type_of(body) if body else "",
                "responses": [{"code": code, "description": answer.get("description", ""),
                               "type": _type_of(answer.get("content", {})
                                                .get("application/json", {})
                                                .get("schema", {}))
                               if answer.get("content") else ""}
                              for code, answer in operation.get("responses", {}).items()],
            })
    return operations


def docs(request):
    schema = _schema()
    return render(request, "api/docs.html", {
        "info": schema.get("info", {}), "operations": _operations(schema),
        "components": _components(schema)})
