"""Ready reducers: ``add_messages``, ``append``, ``merge_dict`` — and ``operator.add``."""

from __future__ import annotations

import copy
import operator
from typing import Annotated, TypedDict

from orkes import END, START, OrkesGraph, OrkesMessageSchema
from orkes.graph.reducers import add_messages, append, merge_dict


def user(content: str, message_id: str | None = None) -> OrkesMessageSchema:
    message = OrkesMessageSchema(role="user", content=content)
    if message_id is not None:
        message["id"] = message_id
    return message


def assistant(content: str, message_id: str | None = None) -> OrkesMessageSchema:
    message = OrkesMessageSchema(role="assistant", content=content)
    if message_id is not None:
        message["id"] = message_id
    return message


# -- add_messages ------------------------------------------------------------------------


def test_add_messages_appends_one_message() -> None:
    history = [user("Hi")]
    assert add_messages(history, assistant("Hello")) == [user("Hi"), assistant("Hello")]


def test_add_messages_appends_a_list() -> None:
    history = [user("Hi")]
    assert add_messages(history, [assistant("Hello"), user("How are you?")]) == [
        user("Hi"),
        assistant("Hello"),
        user("How are you?"),
    ]


def test_add_messages_takes_any_iterable() -> None:
    new = (m for m in [assistant("a"), assistant("b")])
    assert add_messages([], new) == [assistant("a"), assistant("b")]
    assert add_messages([], (assistant("c"),)) == [assistant("c")]


def test_add_messages_replaces_by_id_in_place() -> None:
    history = [user("Hi", "1"), assistant("Hello", "2"), user("More", "3")]
    assert add_messages(history, assistant("Hello again", "2")) == [
        user("Hi", "1"),
        assistant("Hello again", "2"),
        user("More", "3"),
    ]


def test_add_messages_replaces_and_appends_in_one_call() -> None:
    history = [user("Hi", "1"), assistant("Hello", "2")]
    assert add_messages(history, [user("Hey", "1"), assistant("New", "9"), assistant("No id")]) == [
        user("Hey", "1"),
        assistant("Hello", "2"),
        assistant("New", "9"),
        assistant("No id"),
    ]


def test_a_later_message_in_the_same_batch_replaces_an_earlier_one() -> None:
    assert add_messages([], [assistant("draft", "7"), assistant("final", "7")]) == [
        assistant("final", "7")
    ]


def test_messages_without_id_never_replace() -> None:
    history = [user("same")]
    assert add_messages(history, user("same")) == [user("same"), user("same")]


def test_add_messages_with_none_as_existing() -> None:
    assert add_messages(None, user("Hi")) == [user("Hi")]
    assert add_messages(None, [user("Hi"), user("There")]) == [user("Hi"), user("There")]
    assert add_messages(None, []) == []


def test_add_messages_mutates_neither_input() -> None:
    history = [user("Hi", "1"), assistant("Hello", "2")]
    new = [user("Hey", "1"), assistant("Bye")]
    history_before, new_before = copy.deepcopy(history), copy.deepcopy(new)
    merged = add_messages(history, new)
    assert history == history_before
    assert new == new_before
    assert merged is not history
    assert merged is not new
    assert add_messages(history, []) is not history


def test_add_messages_keeps_the_message_objects() -> None:
    message = assistant("Hello")
    (merged,) = add_messages(None, message)
    assert merged is message


# -- append ------------------------------------------------------------------------------


def test_append_one_item_or_every_item_of_a_list() -> None:
    assert append([1], 2) == [1, 2]
    assert append([1], [2, 3]) == [1, 2, 3]
    assert append(None, 4) == [4]
    assert append(None, [4, 5]) == [4, 5]
    assert append([], []) == []


def test_append_treats_a_tuple_as_one_item() -> None:
    assert append([(0, 0)], (1, 2)) == [(0, 0), (1, 2)]


def test_append_does_not_mutate() -> None:
    existing, new = [1], [2]
    merged = append(existing, new)
    assert (existing, new) == ([1], [2])
    assert merged is not existing


# -- merge_dict --------------------------------------------------------------------------


def test_merge_dict_new_keys_win() -> None:
    assert merge_dict({"a": 1, "b": 2}, {"b": 3, "c": 4}) == {"a": 1, "b": 3, "c": 4}
    assert merge_dict(None, {"a": 1}) == {"a": 1}
    assert merge_dict({"a": 1}, {}) == {"a": 1}


def test_merge_dict_does_not_mutate() -> None:
    existing, new = {"a": 1}, {"b": 2}
    merged = merge_dict(existing, new)
    assert (existing, new) == ({"a": 1}, {"b": 2})
    assert merged is not existing
    assert type(merged) is dict


# -- through a graph ---------------------------------------------------------------------


class Collected(TypedDict):
    seen: Annotated[list[str], operator.add]
    tags: Annotated[list[str], append]
    meta: Annotated[dict[str, int], merge_dict]
    messages: Annotated[list[OrkesMessageSchema], add_messages]


def collected(**values: object) -> Collected:
    state: Collected = {"seen": [], "tags": [], "meta": {}, "messages": []}
    state.update(values)  # type: ignore[typeddict-item]
    return state


def fan_out_graph() -> OrkesGraph[Collected]:
    def left(state: Collected) -> dict[str, object]:
        return {"seen": ["left"], "tags": "L", "meta": {"left": 1}, "messages": user("from left")}

    def right(state: Collected) -> dict[str, object]:
        return {"seen": ["right"], "tags": ["R"], "meta": {"right": 2}, "messages": [user("r")]}

    def after(state: Collected) -> dict[str, object]:
        return {"seen": [f"after {len(state['seen'])}"]}

    graph = OrkesGraph(Collected).add_node(right).add_node(left).add_node(after)
    graph.add_edge(START, "right").add_edge(START, "left")
    graph.add_edge(["left", "right"], "after").add_edge("after", END)
    return graph


def test_operator_add_and_the_ready_reducers_merge_parallel_writes_in_name_order() -> None:
    result = fan_out_graph().compile().run(collected(seen=["start"]))
    assert result == {
        "seen": ["start", "left", "right", "after 3"],
        "tags": ["L", "R"],
        "meta": {"left": 1, "right": 2},
        "messages": [user("from left"), user("r")],
    }


def test_a_graph_run_does_not_mutate_the_input_lists() -> None:
    state = collected(seen=["start"], messages=[user("Hi", "1")])
    before = copy.deepcopy(state)
    fan_out_graph().compile().run(state)
    assert state == before


def test_add_messages_replaces_by_id_through_a_graph() -> None:
    def revise(state: Collected) -> dict[str, object]:
        return {"messages": [assistant("revised", "a1")]}

    graph = OrkesGraph(Collected).add_node(revise)
    graph.add_edge(START, "revise").add_edge("revise", END)
    result = graph.compile().run(collected(messages=[user("Hi", "u1"), assistant("draft", "a1")]))
    assert result["messages"] == [user("Hi", "u1"), assistant("revised", "a1")]


def test_the_whole_state_returned_does_not_double_append() -> None:
    def reply(state: Collected) -> Collected:
        state["messages"].append(assistant("Hello"))  # the seed's style: change, return all
        return state

    graph = OrkesGraph(Collected).add_node(reply).add_edge(START, "reply").add_edge("reply", END)
    result = graph.compile().run(collected(seen=["x"], messages=[user("Hi")]))
    assert result["messages"] == [user("Hi"), assistant("Hello")]
    assert result["seen"] == ["x"]
