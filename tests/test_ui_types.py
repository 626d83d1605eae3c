"""The UI's hand-written types (`ui/src/ipc/types.ts`) against the protos: every interface named
like a proto message has exactly that message's fields (with the proto's field names, as the JSON
mapping the web API and the desktop shell send), and every enum type exactly the enum's values.
So a field added, renamed or removed in a proto fails here until the UI says the same."""

from __future__ import annotations

import re
from pathlib import Path

from google.protobuf import descriptor_pool

from hyperagent.v1 import agent_pb2, client_pb2, common_pb2  # noqa: F401 - registers the files

TYPES = Path(__file__).resolve().parents[1] / "ui" / "src" / "ipc" / "types.ts"
PACKAGE = "hyperagent.v1"
# Interfaces of the desktop shell's own commands, not proto messages.
NOT_PROTO = {"ServiceStatus", "AppInfo", "ServiceReply", "Methods"}


def interfaces(text: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for m in re.finditer(r"export interface (\w+) \{\n(.*?)\n\}", text, re.S):
        body = re.sub(r"/\*\*.*?\*/", "", m.group(2), flags=re.S)
        fields = {f.group(1) for f in re.finditer(r"^\s+(\w+)\??:", body, re.M)}
        out[m.group(1)] = fields
    return out


def unions(text: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for m in re.finditer(r"export type (\w+) =((?:\s*\|?\s*'[A-Z0-9_]+')+);", text):
        out[m.group(1)] = set(re.findall(r"'([A-Z0-9_]+)'", m.group(2)))
    return out


def test_every_ui_message_type_has_exactly_the_protos_fields() -> None:
    pool = descriptor_pool.Default()
    found = interfaces(TYPES.read_text())
    checked = 0
    for name, fields in found.items():
        if name in NOT_PROTO:
            continue
        try:
            message = pool.FindMessageTypeByName(f"{PACKAGE}.{name}")
        except KeyError:
            raise AssertionError(
                f"types.ts: interface {name} names no message of {PACKAGE} "
                f"(add it to NOT_PROTO here if it is not one)"
            ) from None
        want = {f.name for f in message.fields}
        assert fields == want, (
            f"types.ts: {name} has {sorted(fields - want)} not in the proto, "
            f"lacks {sorted(want - fields)}"
        )
        checked += 1
    assert checked >= 40, f"only {checked} interfaces were recognised: is the parser broken?"


def test_every_ui_enum_type_has_exactly_the_protos_values() -> None:
    pool = descriptor_pool.Default()
    found = unions(TYPES.read_text())
    assert len(found) >= 5, found.keys()
    for name, values in found.items():
        enum = pool.FindEnumTypeByName(f"{PACKAGE}.{name}")
        want = {v.name for v in enum.values}
        assert values == want, (
            f"types.ts: {name} has {sorted(values - want)} not in the proto, "
            f"lacks {sorted(want - values)}"
        )


def test_the_ui_method_table_is_the_client_services_unary_methods() -> None:
    service = descriptor_pool.Default().FindServiceByName(f"{PACKAGE}.ClientService")
    want = {
        m.name: (m.input_type.name, m.output_type.name)
        for m in service.methods
        if not m.server_streaming and not m.client_streaming
    }
    body = re.search(r"export interface Methods \{\n(.*?)\n\}", TYPES.read_text(), re.S)
    assert body is not None, "types.ts has no Methods table"
    found = {
        m.group(1): (m.group(2), m.group(3))
        for m in re.finditer(r"^\s+(\w+): \[(\w+), (\w+)\];", body.group(1), re.M)
    }
    for name, types in found.items():
        assert want.get(name) == types, (
            f"types.ts: Methods.{name} is {types}, the proto says {want.get(name)}"
        )
    # Those the UI does not call (the CLI does); a new RPC must be added to one side or the other.
    assert set(want) - set(found) == {"ListActions", "ListTaskTypes", "RollbackAction"}
