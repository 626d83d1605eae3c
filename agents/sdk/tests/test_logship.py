"""Log shipping: numbering, truncation, batching and delivery without loss or duplicates.

These drive a real LogShipper against a real gRPC server (FakeManager) on a Unix socket.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import grpc
import pytest
from fake_manager import FakeManager
from support import connect

from hyperagent.v1 import agent_pb2, common_pb2
from hyperagent_sdk.connection import Link
from hyperagent_sdk.logship import (
    TRUNCATED_SUFFIX,
    LogShipper,
    fill_columns,
    request_lines,
    truncate_utf8,
)

INFO = common_pb2.LOG_LEVEL_INFO


@pytest.fixture
def link(manager: FakeManager) -> Link:
    link = Link(backoff_initial=0.001, backoff_max=0.01)
    connect(manager, link)
    return link


@pytest.fixture
def shipper(link: Link) -> Iterator[LogShipper]:
    shipper = LogShipper(link, batch_lines=1000, linger=0.02)
    shipper.start()
    yield shipper
    shipper.stop()
    link.shut()


def seqs_sent(manager: FakeManager, task_id: str) -> list[int]:
    """The seqs of every line the manager acknowledged, in the order it received them."""
    with manager.cond:
        return [
            line.seq
            for r in manager.log_requests
            if r.task_id == task_id
            for line in request_lines(r)
        ]


# -- truncation ------------------------------------------------------------------------------


def test_short_text_is_left_alone() -> None:
    assert truncate_utf8("hello", 5) == ("hello", False)
    assert truncate_utf8("héllo", 6) == ("héllo", False)


def test_zero_means_no_limit() -> None:
    assert truncate_utf8("x" * 100_000, 0) == ("x" * 100_000, False)


def test_long_text_is_cut_to_the_limit_suffix_included() -> None:
    text, cut = truncate_utf8("a" * 100, 40)
    assert cut
    assert text == "a" * (40 - len(TRUNCATED_SUFFIX.encode())) + TRUNCATED_SUFFIX
    assert len(text.encode()) == 40


@pytest.mark.parametrize("char", ["é", "€", "🦀"])  # 2, 3 and 4 bytes in UTF-8
def test_the_cut_never_splits_a_character(char: str) -> None:
    suffix_bytes = len(TRUNCATED_SUFFIX.encode())
    for limit in range(suffix_bytes + 1, suffix_bytes + 12):
        text, cut = truncate_utf8(char * 50, limit)
        assert cut
        assert text.endswith(TRUNCATED_SUFFIX)
        kept = text.removesuffix(TRUNCATED_SUFFIX)
        assert set(kept) <= {char}
        assert len(text.encode()) <= limit
        # As many whole characters as fit, not one fewer.
        assert len(kept) == (limit - suffix_bytes) // len(char.encode())


def test_a_limit_smaller_than_the_suffix_cuts_without_it() -> None:
    text, cut = truncate_utf8("abcdefghij", 4)
    assert (text, cut) == ("abcd", True)


def test_lines_over_the_managers_limit_are_stored_truncated_and_marked(
    manager: FakeManager,
) -> None:
    link = Link(backoff_initial=0.001, backoff_max=0.01)
    connect(manager, link, max_log_line_bytes=100)
    shipper = LogShipper(link)
    shipper.start()
    try:
        shipper.open("t1", "cap-t1")
        shipper.append("t1", INFO, "é" * 100, {"n": "1"})
        shipper.append("t1", INFO, "short", {})
        assert shipper.flush("t1", timeout=5)
    finally:
        shipper.stop()
        link.shut()
    long_line, short_line = manager.stored["t1"][1], manager.stored["t1"][2]
    assert len(long_line.message.encode()) <= 100
    assert long_line.message.endswith(TRUNCATED_SUFFIX)
    assert set(long_line.message.removesuffix(TRUNCATED_SUFFIX)) == {"é"}
    assert dict(long_line.fields) == {"n": "1", "truncated": "true"}
    assert short_line.message == "short"
    assert "truncated" not in short_line.fields


# -- numbering and order ---------------------------------------------------------------------


def test_each_task_numbers_its_lines_from_one(manager: FakeManager, shipper: LogShipper) -> None:
    shipper.open("a", "cap-a")
    shipper.open("b", "cap-b")
    for i in range(5):
        shipper.append("a", INFO, f"a{i}", {})
        if i < 3:
            shipper.append("b", common_pb2.LOG_LEVEL_WARN, f"b{i}", {"i": str(i)})
    assert shipper.flush("a", timeout=5)
    assert shipper.flush("b", timeout=5)
    assert sorted(manager.stored["a"]) == [1, 2, 3, 4, 5]
    assert sorted(manager.stored["b"]) == [1, 2, 3]
    assert manager.messages("a") == ["a0", "a1", "a2", "a3", "a4"]
    b2 = manager.stored["b"][3]
    assert (b2.level, b2.message, dict(b2.fields)) == (common_pb2.LOG_LEVEL_WARN, "b2", {"i": "2"})
    assert b2.time.seconds > 0


def test_lines_logged_from_many_threads_are_numbered_without_gaps(
    manager: FakeManager, shipper: LogShipper
) -> None:
    shipper.open("t", "cap-t")
    sink = shipper.sink("t")  # what a handler's ctx.log calls, shared by its threads

    def log_many(name: str) -> None:
        for i in range(2000):
            sink(INFO, f"{name} {i}", {})

    threads = [threading.Thread(target=log_many, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert shipper.flush("t", timeout=10)
    assert seqs_sent(manager, "t") == list(range(1, 8001))
    # Each writer's lines keep their order.
    messages = manager.messages("t")
    for n in range(4):
        mine = [int(m.split()[1]) for m in messages if m.startswith(f"w{n} ")]
        assert mine == list(range(2000))


def test_a_closed_tasks_sink_drops_what_it_is_given(
    manager: FakeManager, shipper: LogShipper
) -> None:
    shipper.open("t", "cap-t")
    sink = shipper.sink("t")
    sink(INFO, "kept", {})
    assert shipper.flush("t", timeout=10)
    shipper.close("t")
    sink(INFO, "from a thread the handler left running", {})
    assert shipper.stats("t") == (0, 0, 0)  # forgotten, and nothing queued behind its back
    assert manager.messages("t") == ["kept"]


# -- batching --------------------------------------------------------------------------------


def test_a_full_batch_goes_at_once_and_the_rest_waits_for_the_linger(
    manager: FakeManager, link: Link
) -> None:
    shipper = LogShipper(link, batch_lines=1000, linger=60)  # the linger never passes here
    shipper.start()
    try:
        shipper.open("t", "cap-t")
        for i in range(2500):
            shipper.append("t", INFO, f"line {i}", {})
        assert manager.wait_for(lambda: len(manager.stored["t"]) == 2000)
        # The 500 left wait: fewer than a batch, and not lingering long enough yet.
        appended, _acked, pending = shipper.stats("t")
        assert (appended, pending) == (2500, 500)
        assert shipper.flush("t", timeout=5)  # a flush sends them at once
    finally:
        shipper.stop()
        link.shut()
    assert [len(request_lines(r)) for r in manager.log_requests] == [1000, 1000, 500]
    assert seqs_sent(manager, "t") == list(range(1, 2501))


def test_a_few_lines_are_sent_after_the_linger_without_a_flush(
    manager: FakeManager, shipper: LogShipper
) -> None:
    shipper.open("t", "cap-t")
    for i in range(3):
        shipper.append("t", INFO, f"line {i}", {})
    assert manager.wait_for(lambda: len(manager.stored["t"]) == 3, timeout=5)
    assert [len(request_lines(r)) for r in manager.log_requests] == [3]


def test_no_request_exceeds_the_byte_limit(manager: FakeManager, link: Link) -> None:
    limit = 64 * 1024
    shipper = LogShipper(link, batch_lines=1000, linger=0.02, max_request_bytes=limit)
    shipper.start()
    try:
        shipper.open("t", "cap-t")
        for i in range(40):
            shipper.append("t", INFO, f"{i:03d}" + "x" * 10_000, {"n": str(i)})
        assert shipper.flush("t", timeout=5)
    finally:
        shipper.stop()
        link.shut()
    sizes = [r.ByteSize() for r in manager.log_requests]
    assert len(sizes) > 1
    assert max(sizes) <= limit
    assert seqs_sent(manager, "t") == list(range(1, 41))


def test_the_managers_message_limit_bounds_requests_too(socket_path: str) -> None:
    manager = FakeManager(socket_path, max_message_bytes=32 * 1024)
    link = Link(backoff_initial=0.001, backoff_max=0.01)
    connect(manager, link)
    shipper = LogShipper(link, max_request_bytes=1024 * 1024)
    shipper.start()
    try:
        shipper.open("t", "cap-t")
        for _ in range(20):
            shipper.append("t", INFO, "y" * 5000, {})
        assert shipper.flush("t", timeout=5)
    finally:
        shipper.stop()
        link.shut()
        manager.stop()
    assert max(r.ByteSize() for r in manager.log_requests) <= 32 * 1024
    assert len(manager.stored["t"]) == 20


def test_a_manager_that_predates_columns_gets_every_line_as_a_line(socket_path: str) -> None:
    manager = FakeManager(socket_path, log_columns=False)
    link = Link(backoff_initial=0.001, backoff_max=0.01)
    connect(manager, link, max_log_line_bytes=50)
    shipper = LogShipper(link, max_request_bytes=4096)
    shipper.start()
    try:
        shipper.open("t", "cap-t")
        for i in range(100):
            shipper.append("t", INFO, f"{i} " + "z" * (i % 70), {"i": str(i)})
        assert shipper.flush("t", timeout=5)
    finally:
        shipper.stop()
        link.shut()
        manager.stop()
    assert len(manager.log_requests) > 1
    assert not any(r.HasField("columns") for r in manager.log_requests)
    stored = manager.stored["t"]
    assert sorted(stored) == list(range(1, 101))
    assert [stored[seq].fields["i"] for seq in (1, 100)] == ["0", "99"]
    assert stored[70].fields["truncated"] == "true"  # i = 69: 72 characters
    assert "truncated" not in stored[100].fields
    assert max(r.ByteSize() for r in manager.log_requests) <= 4096


# -- delivery --------------------------------------------------------------------------------


def test_a_failed_batch_is_resent_with_the_same_seqs_and_nothing_is_lost_or_doubled(
    manager: FakeManager, shipper: LogShipper
) -> None:
    manager.fail_next("PushLogs", grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL)
    shipper.open("t", "cap-t")
    for i in range(2500):
        shipper.append("t", INFO, f"line {i}", {})
    assert shipper.flush("t", timeout=10)
    assert manager.calls["PushLogs"] == len(manager.log_requests) + 2  # two refused attempts
    assert seqs_sent(manager, "t") == list(range(1, 2501))  # in order, each exactly once
    assert manager.messages("t") == [f"line {i}" for i in range(2500)]


def test_lines_logged_while_the_manager_is_away_are_delivered_when_it_is_back(
    manager: FakeManager, shipper: LogShipper
) -> None:
    release = manager.hold("PushLogs")
    manager.fail_next("PushLogs", grpc.StatusCode.UNAVAILABLE)
    shipper.open("t", "cap-t")
    shipper.append("t", INFO, "before", {})
    assert manager.wait_for(lambda: manager.calls["PushLogs"] == 1)
    for i in range(100):
        shipper.append("t", INFO, f"during {i}", {})
    release.set()
    assert shipper.flush("t", timeout=10)
    assert manager.messages("t") == ["before"] + [f"during {i}" for i in range(100)]
    assert seqs_sent(manager, "t") == list(range(1, 102))


def test_two_batches_are_on_their_way_at_once_and_acknowledged_in_order(
    manager: FakeManager, link: Link
) -> None:
    release = manager.hold("PushLogs")
    shipper = LogShipper(link, batch_lines=100, linger=60)
    shipper.start()
    try:
        shipper.open("t", "cap-t")
        for i in range(250):
            shipper.append("t", INFO, f"line {i}", {})
        # The second batch went before the first was answered; a third waits for room.
        assert manager.wait_for(lambda: manager.calls["PushLogs"] == 2)
        assert shipper.stats("t")[1] == 0  # nothing acknowledged yet
        release.set()
        assert shipper.flush("t", timeout=5)
    finally:
        shipper.stop()
        link.shut()
    assert manager.calls["PushLogs"] == 3
    assert seqs_sent(manager, "t") == list(range(1, 251))


def test_logging_never_waits_for_the_network(manager: FakeManager, shipper: LogShipper) -> None:
    release = manager.hold("PushLogs")  # the manager takes its time to answer
    shipper.open("t", "cap-t")
    shipper.append("t", INFO, "first", {})
    assert manager.wait_for(lambda: manager.calls["PushLogs"] == 1)
    done = threading.Event()

    def log_lots() -> None:
        for i in range(20_000):
            shipper.append("t", INFO, f"line {i}", {})
        done.set()

    threading.Thread(target=log_lots, daemon=True).start()
    try:
        # Every line is queued while the first requests are still unanswered (two at most are
        # on their way at once).
        assert done.wait(20)
        assert manager.calls["PushLogs"] <= 2
    finally:
        release.set()
    assert shipper.flush("t", timeout=20)
    assert seqs_sent(manager, "t") == list(range(1, 20_002))


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.NOT_FOUND,
    ],
)
def test_lines_of_a_task_that_is_no_longer_ours_are_dropped_with_a_warning(
    manager: FakeManager,
    shipper: LogShipper,
    caplog: pytest.LogCaptureFixture,
    code: grpc.StatusCode,
) -> None:
    manager.fail_next("PushLogs", code)
    shipper.open("t", "cap-t")
    with caplog.at_level(logging.WARNING, logger="hyperagent_sdk"):
        for i in range(10):
            shipper.append("t", INFO, f"line {i}", {})
        assert shipper.flush("t", timeout=5)
    assert "dropping 10 log lines of task t" in caplog.text
    shipper.append("t", INFO, "after", {})  # ignored: the task is not ours any more
    assert shipper.flush("t", timeout=5)
    assert manager.calls["PushLogs"] == 1
    assert manager.stored["t"] == {}


def test_flush_reports_failure_when_the_shipper_stops_first(
    manager: FakeManager, link: Link
) -> None:
    release = manager.hold("PushLogs")
    shipper = LogShipper(link)
    shipper.start()
    shipper.open("t", "cap-t")
    shipper.append("t", INFO, "stuck", {})
    result: list[bool] = []
    flusher = threading.Thread(target=lambda: result.append(shipper.flush("t")))
    flusher.start()
    assert manager.wait_for(lambda: manager.calls["PushLogs"] == 1)
    shipper.stop(timeout=0)
    flusher.join(5)
    release.set()
    link.shut()
    assert result == [False]


# -- the wire form -----------------------------------------------------------------------------


def test_lines_in_columns_read_back_as_they_were_appended() -> None:
    entries = [
        (7, 1_700_000_000_123_456_789, INFO, "plain", {}),
        (8, 1_700_000_000_987_654_321, common_pb2.LOG_LEVEL_WARN, "ünïcode ✓", {"a": "1", "b": ""}),
        (9, 5, common_pb2.LOG_LEVEL_ERROR, "", {"only": "fields"}),
        (10, 6, INFO, "é" * 60, {"long": "x" * 500}),
    ]
    request = agent_pb2.PushLogsRequest()
    bound = fill_columns(request.columns, entries, 100)
    assert bound >= request.ByteSize()
    lines = request_lines(request)
    assert [line.seq for line in lines] == [7, 8, 9, 10]
    assert [(line.time.seconds, line.time.nanos) for line in lines[:2]] == [
        (1_700_000_000, 123_456_789),
        (1_700_000_000, 987_654_321),
    ]
    assert [line.level for line in lines] == [e[2] for e in entries]
    assert [line.message for line in lines[:3]] == ["plain", "ünïcode ✓", ""]
    assert [dict(line.fields) for line in lines[:3]] == [
        {},
        {"a": "1", "b": ""},
        {"only": "fields"},
    ]
    # The last line was over the limit in its message and in a field: both cut, and marked.
    cut = lines[3]
    assert len(cut.message.encode()) <= 100
    assert cut.message.endswith(TRUNCATED_SUFFIX)
    assert len(cut.fields["long"]) <= 100
    assert cut.fields["truncated"] == "true"


def test_a_request_carries_lines_in_one_form_or_the_other() -> None:
    old = agent_pb2.PushLogsRequest()
    old.lines.add(seq=3, level=INFO, message="from an older agent")
    assert [(line.seq, line.message) for line in request_lines(old)] == [(3, "from an older agent")]
    assert request_lines(agent_pb2.PushLogsRequest()) == []
