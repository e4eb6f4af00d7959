from __future__ import annotations

import itertools
import time

from hypothesis import given
from hypothesis import strategies as st

from orkes.connectors.transport.sse import ServerSentEvent, SseDecoder, iter_sse_events


def events_of(body: bytes) -> list[ServerSentEvent]:
    return list(iter_sse_events([body]))


def test_data_lines_are_dispatched_by_a_blank_line() -> None:
    assert events_of(b"data: hello\n\n") == [ServerSentEvent("hello")]


def test_multi_line_data_is_joined_with_newlines() -> None:
    assert events_of(b"data: one\ndata: two\ndata:\n\n") == [ServerSentEvent("one\ntwo\n")]


def test_comments_are_skipped() -> None:
    assert events_of(b": keep-alive\n\n: ping\ndata: x\n\n") == [ServerSentEvent("x")]


def test_event_field_names_the_event_and_resets_after_dispatch() -> None:
    body = b"event: content_block_delta\ndata: {}\n\ndata: plain\n\n"
    assert events_of(body) == [
        ServerSentEvent("{}", event="content_block_delta"),
        ServerSentEvent("plain", event="message"),
    ]


def test_only_one_space_after_the_colon_is_dropped() -> None:
    assert events_of(b"data:no-space\n\ndata:  two-spaces\n\n") == [
        ServerSentEvent("no-space"),
        ServerSentEvent(" two-spaces"),
    ]


def test_id_is_remembered_and_unknown_fields_and_retry_are_ignored() -> None:
    body = b"id: 7\nretry: 100\nfoo: bar\ndata: a\n\ndata: b\n\nid: bad\x00\ndata: c\n\n"
    assert [(event.data, event.id) for event in events_of(body)] == [
        ("a", "7"),
        ("b", "7"),
        ("c", "7"),
    ]


def test_a_field_without_colon_has_an_empty_value() -> None:
    assert events_of(b"data\ndata\n\n") == [ServerSentEvent("\n")]


def test_an_event_with_no_data_is_not_dispatched() -> None:
    assert events_of(b"event: ping\n\n\n\ndata: x\n\n") == [ServerSentEvent("x")]


def test_done_sentinel_is_plain_data() -> None:
    assert events_of(b"data: [DONE]\n\n") == [ServerSentEvent("[DONE]")]


def test_crlf_and_cr_line_endings() -> None:
    assert events_of(b"data: a\r\n\r\ndata: b\r\rdata: c\n\n") == [
        ServerSentEvent("a"),
        ServerSentEvent("b"),
        ServerSentEvent("c"),
    ]


def test_crlf_split_across_chunks_is_one_line_ending() -> None:
    decoder = SseDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n\r") == [ServerSentEvent("a")]
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"data: b\n\n") == [ServerSentEvent("b")]


def test_an_event_ended_by_cr_is_dispatched_at_once() -> None:
    # A server with CR line endings that keeps the body open after its last event (OpenAI's
    # [DONE]) must not leave that event waiting for bytes that never come.
    decoder = SseDecoder()
    assert decoder.feed(b"data: a\r\r") == [ServerSentEvent("a")]
    assert decoder.finish() == []


def test_an_event_cut_off_by_the_end_of_the_body_is_discarded() -> None:
    assert events_of(b"data: complete\n\ndata: cut") == [ServerSentEvent("complete")]
    assert events_of(b"data: complete\n\ndata: cut\n") == [ServerSentEvent("complete")]


def test_utf8_split_inside_a_character() -> None:
    encoded = "data: héllo ✓\n\n".encode()
    cut = encoded.index("✓".encode()) + 1
    assert list(iter_sse_events([encoded[:cut], encoded[cut:]])) == [ServerSentEvent("héllo ✓")]


def test_a_leading_byte_order_mark_is_dropped_even_when_split() -> None:
    assert list(iter_sse_events([b"\xef", b"\xbb\xbfdata: x\n\n"])) == [ServerSentEvent("x")]
    assert events_of(b"\xef\xbb\xbfdata: y\n\n") == [ServerSentEvent("y")]


def test_an_empty_body_has_no_events() -> None:
    assert events_of(b"") == []


def _seconds_to_decode_one_long_event(size: int) -> float:
    body = b"data: " + b"x" * size + b"\n\n"
    chunks = [body[start : start + 1400] for start in range(0, len(body), 1400)]  # TCP segments
    fastest = float("inf")
    for _ in range(3):
        decoder = SseDecoder()
        started = time.perf_counter()
        events = [event for chunk in chunks for event in decoder.feed(chunk)]
        fastest = min(fastest, time.perf_counter() - started)
        assert [len(event.data) for event in events] == [size]
    return fastest


def test_a_long_line_in_small_chunks_takes_linear_time() -> None:
    one_mb = _seconds_to_decode_one_long_event(1_000_000)
    four_mb = _seconds_to_decode_one_long_event(4_000_000)
    assert four_mb < 1.0
    assert four_mb / max(one_mb, 1e-4) < 8  # quadratic would be 16


BODY = (
    b': hello\r\nevent: delta\r\ndata: {"a": 1}\r\n\r\n'
    b"data: line one\ndata: line two\n\nid: 3\rdata: \xc3\xa9\r\r"
    b"data: [DONE]\n\n"
)


@given(st.lists(st.integers(min_value=0, max_value=len(BODY)), max_size=12))
def test_splitting_the_body_anywhere_gives_the_same_events(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(BODY)]
    chunks = [BODY[start:end] for start, end in itertools.pairwise(bounds)]
    assert list(iter_sse_events(chunks)) == events_of(BODY)
    assert [event.data for event in events_of(BODY)] == [
        '{"a": 1}',
        "line one\nline two",
        "é",
        "[DONE]",
    ]
