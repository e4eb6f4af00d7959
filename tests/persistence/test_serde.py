"""The checkpoint serializer: every supported value comes back equal, anything else is
refused when written, and no stored data — however hostile — runs code or crashes a load."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import decimal
import enum
import json
import math
import sys
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orkes.errors import CheckpointError, SerializationError
from orkes.persistence import register
from orkes.persistence.serde import MAX_DEPTH, dumps, loads


@register
@dataclasses.dataclass(frozen=True)
class Owner:
    """A registered dataclass, nested in other values."""

    name: str
    since: dt.date


@register
class Mood(enum.Enum):
    """A registered Enum."""

    HAPPY = "happy"
    CALM = 2


class Model:
    """A stand-in for a pydantic model: ``model_dump`` and ``model_validate``."""

    def __init__(self, text: str) -> None:
        self.text = text

    def model_dump(self) -> dict[str, Any]:
        return {"text": self.text}

    @classmethod
    def model_validate(cls, data: dict[str, Any]) -> Model:
        return cls(data["text"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and other.text == self.text

    __hash__ = None  # type: ignore[assignment]


register(Model, name="tests.Model")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
    st.binary(max_size=20),
    st.datetimes(timezones=st.none() | st.timezones()),
    st.dates(),
    st.times(),
    st.timedeltas(),
    st.uuids(),
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
    st.sampled_from(list(Mood)),
    st.builds(Owner, st.text(max_size=5), st.dates()),
    st.builds(Model, st.text(max_size=5)),
)
hashable = st.one_of(st.integers(), st.text(max_size=5), st.tuples(st.integers()))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
        st.dictionaries(hashable, inner, max_size=3),
        st.frozensets(hashable, max_size=3),
        st.sets(st.integers(), max_size=3),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(values)
def test_every_supported_value_comes_back_equal_and_of_its_type(value: Any) -> None:
    back = loads(dumps(value))
    assert back == value
    assert type(back) is type(value)


def test_plain_json_stays_plain_and_readable() -> None:
    state = {"messages": [{"role": "user", "content": "hi"}], "n": 3, "ok": True, "x": None}
    assert json.loads(dumps(state)) == state


def test_a_user_dict_that_uses_the_tag_key_is_not_taken_for_a_tag() -> None:
    tricky = {"__orkes__": "tuple", "v": [1, 2]}
    assert loads(dumps(tricky)) == tricky


def test_non_finite_floats_round_trip() -> None:
    back = loads(dumps([math.inf, -math.inf, math.nan]))
    assert back[:2] == [math.inf, -math.inf]
    assert math.isnan(back[2])


def test_an_unknown_type_is_refused_naming_where_what_and_the_path() -> None:
    class Secret:
        pass

    with pytest.raises(SerializationError) as caught:
        dumps({"docs": [1, {"owner": Secret()}]}, where="key 'docs' written by 'fetch'")
    message = str(caught.value)
    assert message.startswith("key 'docs' written by 'fetch' holds a ")
    assert "Secret at ['docs'][1]['owner']" in message
    assert "orkes.persistence.register(" in message
    with pytest.raises(SerializationError, match=r"holds a builtins\.object"):
        dumps(object())


def test_register_refuses_what_it_cannot_rebuild_and_name_clashes() -> None:
    with pytest.raises(SerializationError, match="register\\(\\) takes a dataclass"):
        register(int)

    @dataclasses.dataclass
    class Other:
        x: int

    with pytest.raises(SerializationError, match="is registered for"):
        register(Other, name="tests.Model")


def test_too_deep_values_are_refused_both_ways() -> None:
    deep: Any = []
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(SerializationError, match="nests deeper than"):
        dumps(deep)
    text = "[" * 5000 + "]" * 5000
    with pytest.raises(CheckpointError):
        loads(text)
    with pytest.raises(CheckpointError, match="deeper than"):
        loads("[" * (MAX_DEPTH + 10) + "]" * (MAX_DEPTH + 10))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "9" * 5000,
        '{"__orkes__": "nope", "v": 1}',
        '{"__orkes__": "tuple", "v": 3}',
        '{"__orkes__": "dict", "v": [[[1], 2]]}',
        '{"__orkes__": "dict", "v": [[1]]}',
        '{"__orkes__": "timedelta", "v": [1, 2]}',
        '{"__orkes__": "timedelta", "v": ["a", 2, 3]}',
        '{"__orkes__": "bytes", "v": "***"}',
        '{"__orkes__": "date", "v": 5}',
        '{"__orkes__": "decimal", "v": "x"}',
        '{"__orkes__": "float", "v": "1e999"}',
        '{"__orkes__": "dataclass", "type": "os.system", "v": {"command": "echo hi"}}',
        '{"__orkes__": "enum", "type": "tests.Model", "v": 1}',
        '{"__orkes__": "dataclass", "type": "tests.persistence.test_serde.Owner", "v": [1]}',
    ],
)
def test_hostile_stored_data_gives_checkpoint_error(text: str) -> None:
    with pytest.raises(CheckpointError):
        loads(text)


def test_loading_imports_nothing_and_calls_no_named_constructor() -> None:
    assert "antigravity" not in sys.modules
    with pytest.raises(CheckpointError, match="not registered in this process"):
        loads('{"__orkes__": "model", "type": "antigravity.Geohash", "v": {}}')
    assert "antigravity" not in sys.modules


tags = st.sampled_from(
    ["tuple", "set", "frozenset", "dict", "bytes", "datetime", "date", "time", "timedelta",
     "uuid", "decimal", "float", "enum", "dataclass", "model", "other"]
)  # fmt: skip
json_trees = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=4), inner, max_size=3)
        | st.fixed_dictionaries({"__orkes__": tags, "v": inner})
    ),
    max_leaves=10,
)


@settings(max_examples=400, deadline=None)
@given(json_trees)
def test_any_json_tree_loads_or_gives_checkpoint_error(tree: Any) -> None:
    with contextlib.suppress(CheckpointError):
        loads(json.dumps(tree))


@settings(max_examples=200, deadline=None)
@given(st.text() | st.binary())
def test_any_text_loads_or_gives_checkpoint_error(text: str | bytes) -> None:
    with contextlib.suppress(CheckpointError):
        loads(text)


def test_a_typical_value_set() -> None:
    value = {
        "at": dt.datetime(2026, 11, 28, 12, 30, tzinfo=dt.timezone.utc),
        "id": uuid.UUID(int=7),
        "price": decimal.Decimal("9.99"),
        "owner": Owner("ada", dt.date(2026, 1, 1)),
        "mood": Mood.CALM,
    }
    assert loads(dumps(value)) == value
