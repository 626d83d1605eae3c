"""Traces exported over OTLP end to end: the real manager, with `[telemetry] otlp_endpoint` set,
runs a plan of two steps on the real echo agent and a task outside any plan, and sends each one's
trace to a collector over real gRPC. The collector is a stand-in (no OpenTelemetry collector can
be installed here): a gRPC server made at test time from the same vendored protocol files
(proto/opentelemetry) that records what it receives. It is first away, then refuses, then takes
the traces: nothing that ended is left out, and a restart of the manager sends nothing twice.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import threading
from concurrent import futures
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import pytest
from harness import REPO, Manager, free_port, wait_until, with_agent

from hyperagent.v1 import client_pb2, common_pb2


def otlp_modules(out: Path) -> tuple[ModuleType, ModuleType]:
    """The OTLP trace service's Python stubs, generated from the vendored protos into `out`."""
    protos = REPO / "proto"
    files = [
        f"opentelemetry/proto/{f}.proto"
        for f in ("common/v1/common", "resource/v1/resource", "trace/v1/trace")
    ] + ["opentelemetry/proto/collector/trace/v1/trace_service.proto"]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{protos}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            *files,
        ],
        check=True,
    )
    sys.path.insert(0, str(out))
    pb2 = importlib.import_module("opentelemetry.proto.collector.trace.v1.trace_service_pb2")
    grpc_mod = importlib.import_module(
        "opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc"
    )
    return pb2, grpc_mod


class Collector:
    """A stand-in OTLP collector: records each export; refuses while `refusing`."""

    def __init__(self, pb2: ModuleType, grpc_mod: ModuleType, port: int) -> None:
        self.pb2 = pb2
        self.requests: list[Any] = []
        self.refused = 0
        self.refusing = True
        self.lock = threading.Lock()
        collector = self

        class Servicer(grpc_mod.TraceServiceServicer):  # type: ignore[misc,name-defined]
            def Export(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
                with collector.lock:
                    if collector.refusing:
                        collector.refused += 1
                        context.abort(grpc.StatusCode.UNAVAILABLE, "the collector is starting")
                    collector.requests.append(request)
                return pb2.ExportTraceServiceResponse()

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        grpc_mod.add_TraceServiceServicer_to_server(Servicer(), self.server)
        self.server.add_insecure_port(f"127.0.0.1:{port}")

    def spans(self) -> list[tuple[Any, Any]]:
        """Every span received, with its resource."""
        with self.lock:
            return [
                (rs.resource, span)
                for r in self.requests
                for rs in r.resource_spans
                for ss in rs.scope_spans
                for span in ss.spans
            ]


@pytest.fixture(scope="module")
def otlp(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, ModuleType]:
    return otlp_modules(tmp_path_factory.mktemp("otlp"))


def test_each_plan_and_lone_task_is_one_trace_sent_once_even_across_a_collector_away_and_a_restart(
    tmp_path: Path, otlp: tuple[ModuleType, ModuleType]
) -> None:
    port = free_port()
    agents = with_agent(tmp_path / "agents", "echo")
    m = Manager(
        root=tmp_path,
        agents_dir=agents,
        extra={
            "telemetry": {"otlp_endpoint": f"http://127.0.0.1:{port}", "retry_backoff_max": "1s"}
        },
    ).start()
    collector = Collector(*otlp, port)
    try:
        m.wait_agent("echo", online=True)
        # The collector is away: the manager keeps what it has to send.
        asked = m.client.Ask(
            client_pb2.AskRequest(text="echo hello world, then sleep for 1 second"), timeout=30
        )
        assert asked.plan.id, asked
        m.client.AcceptPlan(client_pb2.AcceptPlanRequest(plan_id=asked.plan.id), timeout=30)
        lone = m.submit("echo.echo", {"message": "on its own"})
        m.wait_state(lone.id, common_pb2.TASK_STATE_COMPLETED)
        wait_until(
            lambda: (
                m.client.GetPlan(client_pb2.GetPlanRequest(plan_id=asked.plan.id), timeout=30).state
                == client_pb2.PLAN_STATE_SUCCEEDED
            ),
            "the plan ended",
        )
        collector.server.start()  # up, but refusing at first
        wait_until(lambda: collector.refused > 0, "the manager tried to send while it refused")
        with collector.lock:
            collector.refusing = False
        plan_trace = bytes.fromhex(asked.plan.id.replace("-", ""))
        wait_until(
            lambda: (
                {s.trace_id for _, s in collector.spans()}
                >= {plan_trace, bytes.fromhex(lone.id.replace("-", ""))}
            ),
            "both traces arrived",
        )
        spans = collector.spans()
        resource, _ = spans[0]
        assert {kv.key: kv.value.string_value for kv in resource.attributes}["service.name"] == (
            "hyperagent"
        )
        in_plan = [s for _, s in spans if s.trace_id == plan_trace]
        by_name = {s.name: s for s in in_plan}
        root = by_name["plan: echo hello world, then sleep for 1 second"]
        assert root.parent_span_id == b""
        tasks = [s for s in in_plan if s.name.startswith("task ")]
        assert sorted(s.name for s in tasks) == ["task echo.echo", "task echo.sleep"]
        assert all(t.parent_span_id == root.span_id for t in tasks)
        attempts = [s for s in in_plan if s.name.startswith("attempt 1 on ")]
        assert {a.parent_span_id for a in attempts} == {t.span_id for t in tasks}
        for s in in_plan:
            assert root.start_time_unix_nano <= s.start_time_unix_nano <= s.end_time_unix_nano
            assert s.end_time_unix_nano <= root.end_time_unix_nano
        assert root.status.code == 1  # STATUS_CODE_OK
        lone_spans = [s for _, s in spans if s.trace_id == bytes.fromhex(lone.id.replace("-", ""))]
        assert [s.name for s in lone_spans] == ["task echo.echo", "attempt 1 on echo"]

        # A restart sends nothing again: the place it got to is kept.
        received = len(collector.spans())
        assert m.stop() == 0
        m.start()
        m.wait_agent("echo", online=True)
        after = m.submit("echo.echo", {"message": "after the restart"})
        m.wait_state(after.id, common_pb2.TASK_STATE_COMPLETED)
        after_trace = bytes.fromhex(after.id.replace("-", ""))
        wait_until(
            lambda: any(s.trace_id == after_trace for _, s in collector.spans()),
            "the next trace arrived",
        )
        names = [s.name for _, s in collector.spans()[received:]]
        assert names == ["task echo.echo", "attempt 1 on echo"], names
    finally:
        collector.server.stop(grace=None)
        m.stop()
