"""The checkpoint serializer: every supported value comes back exactly (type, order, zone,
fold), anything else is refused when written, and no stored data — however hostile — runs
code, imports a module or makes ``loads`` raise anything but ``CheckpointError``."""

from __future__ import annotations

import builtins
import collections
import contextlib
import dataclasses
import datetime as dt
import decimal
import enum
import importlib
import inspect
import json
import math
import sys
import uuid
import zoneinfo
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, TypedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orkes.errors import CheckpointError, SerializationError
from orkes.persistence import register
from orkes.persistence.serde import MAX_DEPTH, TAG, dumps, loads


@register
@dataclasses.dataclass(frozen=True)
class Owner:
    """A registered dataclass, nested in other values."""

    name: str
    since: dt.date


@register
class Mood(enum.Enum):
    """A registered Enum, with values that are themselves tagged."""

    HAPPY = "happy"
    CALM = 2
    PAIR = (1, 2)


@register
@dataclasses.dataclass
class Doc:
    """A registered dataclass holding other registered values (and anything, for errors)."""

    title: str
    owner: Any = None
    mood: Mood = Mood.CALM
    size: int = dataclasses.field(default=0, init=False)

    def __post_init__(self) -> None:
        self.size = len(self.title)


class Model:
    """A stand-in for a pydantic model: ``model_dump`` and ``model_validate``."""

    def __init__(self, text: str, at: dt.date) -> None:
        self.text = text
        self.at = at

    def model_dump(self) -> dict[str, Any]:
        return {"text": self.text, "at": self.at}

    @classmethod
    def model_validate(cls, data: dict[str, Any]) -> Model:
        return cls(data["text"], data["at"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and (other.text, other.at) == (self.text, self.at)

    def __repr__(self) -> str:
        return f"Model({self.text!r}, {self.at!r})"

    __hash__ = None  # type: ignore[assignment]


register(Model, name="tests.Model")


# --- what comes back is what went in --------------------------------------------------


def assert_same(back: Any, value: Any) -> None:
    """Equal, of the same types all the way down, dict keys in the same order."""
    assert type(back) is type(value), (back, value)
    if isinstance(value, (list, tuple)):
        for got, want in zip(back, value, strict=True):
            assert_same(got, want)
    elif isinstance(value, dict):
        assert list(back) == list(value)
        for key in value:
            assert_same(back[key], value[key])
    elif isinstance(value, (set, frozenset)):
        assert back == value
    elif dataclasses.is_dataclass(value):
        for field in dataclasses.fields(value):
            assert_same(getattr(back, field.name), getattr(value, field.name))
    elif isinstance(value, Model):
        assert_same(back.model_dump(), value.model_dump())
    elif isinstance(value, int):  # repr would refuse a long one
        assert back == value
    else:  # scalars and registered values: repr shows zone, fold, -0.0, Decimal exponents
        assert repr(back) == repr(value)


fixed_zones = st.builds(
    dt.timezone, st.timedeltas(min_value=dt.timedelta(hours=-23), max_value=dt.timedelta(hours=23))
)
zones = st.none() | st.timezones() | fixed_zones | st.just(dt.timezone.utc)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.builds(
        lambda digits, sign: sign * 10**digits + 7,
        st.integers(3900, 6000),
        st.sampled_from([1, -1]),
    ),
    st.floats(allow_nan=False),
    st.text(),
    st.binary(max_size=20),
    st.datetimes(timezones=zones),
    st.dates(),
    st.times(timezones=zones),
    st.timedeltas(),
    st.uuids(),
    st.decimals(allow_nan=False, places=4) | st.decimals(allow_nan=False),
    st.sampled_from(list(Mood)),
    st.builds(Owner, st.text(max_size=5), st.dates()),
    st.builds(Doc, st.text(max_size=5), st.none() | st.integers(), st.sampled_from(list(Mood))),
    st.builds(Model, st.text(max_size=5), st.dates()),
)
hashable = st.one_of(
    st.integers(),
    st.text(max_size=5),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
    st.tuples(st.integers(), st.text(max_size=2)),
    st.frozensets(st.integers(), max_size=2),
    st.dates(),
    st.sampled_from(list(Mood)),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
        st.dictionaries(st.sampled_from([TAG, "v", "type"]), inner, max_size=3),
        st.dictionaries(hashable, inner, max_size=3),
        st.frozensets(hashable, max_size=3),
        st.sets(st.integers() | st.text(max_size=3), max_size=3),
        st.builds(Doc, st.text(max_size=5), inner),
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(values)
def test_every_supported_value_comes_back_exactly(value: Any) -> None:
    text = dumps(value)
    assert_same(loads(text), value)
    assert_same(loads(text.encode()), value)


plain_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8).filter(lambda key: key != TAG), inner, max_size=4),
    max_leaves=20,
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(plain_json)
def test_plain_json_is_stored_as_itself(value: Any) -> None:
    assert dumps(value) == json.dumps(value, separators=(",", ":"))
    assert_same(loads(dumps(value)), value)


def test_a_chat_state_reads_as_plain_json() -> None:
    state = {"messages": [{"role": "user", "content": "hi"}], "n": 3, "ok": True, "x": None}
    assert dumps(state) == (
        '{"messages":[{"role":"user","content":"hi"}],"n":3,"ok":true,"x":null}'
    )


def test_a_user_dict_that_uses_the_tag_key_is_stored_tagged_and_comes_back_as_a_dict() -> None:
    tricky = {"__orkes__": "tuple", "v": [1, 2]}
    assert dumps(tricky) == '{"__orkes__":"dict","v":[["__orkes__","tuple"],["v",[1,2]]]}'
    assert_same(loads(dumps({"inner": [tricky]})), {"inner": [tricky]})


def test_non_str_keys_keep_their_type_and_order() -> None:
    value = {2: "b", "2": "s", 1.5: "f", None: "n", True: "t", (1, "x"): "tuple"}
    assert_same(loads(dumps(value)), value)


def test_non_finite_floats_round_trip() -> None:
    back = loads(dumps([math.inf, -math.inf, math.nan, -0.0]))
    assert back[:2] == [math.inf, -math.inf]
    assert math.isnan(back[2])
    assert math.copysign(1, back[3]) == -1


def test_named_zones_and_folds_are_kept() -> None:
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    second = dt.datetime(2026, 10, 25, 2, 30, tzinfo=paris, fold=1)  # the clocks go back
    value = [second, dt.time(9, tzinfo=paris), dt.datetime(2026, 10, 25, 2, 30, fold=1)]
    assert_same(loads(dumps(value)), value)
    assert loads(dumps(second)).utcoffset() == dt.timedelta(hours=1)


def test_long_ints_are_stored_in_hex_and_long_plain_numbers_are_refused() -> None:
    huge = -(10**20_000)
    text = dumps({"n": huge})
    assert text.startswith('{"n":{"__orkes__":"int","v":"-')
    assert loads(text) == {"n": huge}
    with pytest.raises(CheckpointError, match="not readable JSON: ValueError: Exceeds"):
        loads("9" * 5000)


def test_a_typed_dict_needs_no_registering_and_may_be_registered() -> None:
    class Message(TypedDict):
        role: str
        content: str

    assert register(Message) is Message
    message: Message = {"role": "user", "content": "hi"}
    assert dumps(message) == '{"role":"user","content":"hi"}'


def test_a_registered_pydantic_model_round_trips() -> None:
    import pydantic

    @register
    class Ticket(pydantic.BaseModel):
        title: str
        due: dt.date
        tags: tuple[str, ...] = ()
        owner: Owner | None = None

    ticket = Ticket(title="t", due=dt.date(2026, 1, 2), tags=("a",), owner=Owner("o", dt.date.min))
    assert_same(loads(dumps({"ticket": ticket})), {"ticket": ticket})


# --- refused when written ---------------------------------------------------------------


class Secret:
    """A type nobody registered."""


def test_an_unknown_type_is_refused_naming_where_the_type_and_the_path() -> None:
    with pytest.raises(SerializationError) as caught:
        dumps({"docs": [1, 2, Doc("t", owner=Secret())]}, where="key 'docs' written by 'fetch'")
    assert str(caught.value) == (
        "key 'docs' written by 'fetch' holds a tests.persistence.test_serde.Secret at "
        "['docs'][2].owner, which checkpoints cannot store: store plain data (str, numbers, "
        "lists, dicts, …), or register the type with orkes.persistence.register(Secret)"
    )
    assert isinstance(caught.value, TypeError)
    assert caught.value.type_name == "tests.persistence.test_serde.Secret"
    assert caught.value.at == "['docs'][2].owner"


class Point(NamedTuple):
    x: int


class Level(enum.IntEnum):
    LOW = 1


@dataclasses.dataclass
class Unregistered:
    x: int


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (object(), "builtins.object at its top"),
        ([Point(1)], "test_serde.Point at [0]"),
        ({"level": Level.LOW}, "test_serde.Level at ['level']"),
        ((Unregistered(1),), "test_serde.Unregistered at [0]"),
        ({Secret(): 1}, "test_serde.Secret at <key>"),
        ({"od": collections.OrderedDict(a=1)}, "collections.OrderedDict at ['od']"),
        ({"b": bytearray(b"x")}, "builtins.bytearray at ['b']"),
        ({"s": {Secret()}}, "test_serde.Secret at ['s'][0]"),
        (Model("t", Secret()), "test_serde.Secret at ['at']"),  # type: ignore[arg-type]
    ],
)
def test_what_is_neither_plain_nor_known_is_refused_never_made_a_string(
    value: object, shown: str
) -> None:
    with pytest.raises(SerializationError, match=rf"^the value holds a .*{_escape(shown)}"):
        dumps(value)


def _escape(text: str) -> str:
    import re

    return re.escape(text)


def test_too_deep_values_are_refused_both_ways() -> None:
    deep: Any = []
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    with pytest.raises(SerializationError, match="nests deeper than 200 levels"):
        dumps(deep)
    with pytest.raises(CheckpointError, match="not readable JSON: RecursionError"):
        loads("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CheckpointError, match="deeper than 200 levels"):
        loads("[" * (MAX_DEPTH + 10) + "]" * (MAX_DEPTH + 10))


def test_a_value_that_holds_itself_is_refused_with_a_short_message() -> None:
    loop: list[Any] = []
    loop.append({"again": loop})
    with pytest.raises(SerializationError, match=r"or holds itself\) at \[0\]\['again'\]") as e:
        dumps(loop)
    assert len(str(e.value)) < 200


containers: list[Callable[[Any], Any]] = [
    lambda inner: [inner],
    lambda inner: (inner,),
    lambda inner: {"k": inner},
    lambda inner: {1: inner},
    lambda inner: {TAG: inner},
    lambda inner: Owner(inner, dt.date.min),
    lambda inner: {b"key": inner},
]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(containers), min_size=MAX_DEPTH, max_size=MAX_DEPTH))
def test_whatever_dumps_writes_at_the_deepest_loads_reads(
    chain: list[Callable[[Any], Any]],
) -> None:
    value: Any = "leaf"
    for wrap in chain:
        value = wrap(value)
    assert_same(loads(dumps(value)), value)
    with pytest.raises(SerializationError, match="nests deeper"):
        dumps([value])


@pytest.mark.parametrize(
    "wrap",
    [lambda inner: Owner(inner, dt.date.min), lambda inner: {TAG: inner}],
    ids=["dataclass", "escaped-dict"],
)
def test_the_deepest_values_are_read_from_350_frames_deep(wrap: Callable[[Any], Any]) -> None:
    value: Any = "leaf"
    for _ in range(MAX_DEPTH):  # the costliest levels: three frames, or three JSON levels
        value = wrap(value)

    def at_depth(frames: int) -> Any:
        return at_depth(frames - 1) if frames else loads(dumps(value))

    assert_same(at_depth(350 - len(inspect.stack(0))), value)


def test_a_stack_too_deep_to_store_from_gives_serialization_error() -> None:
    value: Any = "leaf"
    for _ in range(MAX_DEPTH):
        value = {TAG: value}

    def at_depth(frames: int) -> Any:
        return at_depth(frames - 1) if frames else dumps(value)

    with pytest.raises(SerializationError, match="nests too deep to store here"):
        at_depth(sys.getrecursionlimit() - 300)


# --- register -------------------------------------------------------------------------


def test_register_refuses_what_it_cannot_rebuild_and_name_clashes() -> None:
    with pytest.raises(SerializationError, match=r"register\(\) takes a dataclass"):
        register(int)
    with pytest.raises(SerializationError, match=r"register\(\) takes a dataclass"):
        register(Owner("x", dt.date.min))  # type: ignore[type-var]

    @dataclasses.dataclass
    class Other:
        x: int

    with pytest.raises(SerializationError) as caught:
        register(Other, name="tests.Model")
    assert str(caught.value).startswith("the name 'tests.Model' is registered for <class ")
    assert register(Model, name="tests.Model") is Model  # the same class again: fine


def test_a_given_name_is_what_is_stored() -> None:
    @dataclasses.dataclass
    class Renamed:
        x: int

    register(Renamed, name="app.Renamed.v2")
    assert dumps(Renamed(1)) == '{"__orkes__":"dataclass","type":"app.Renamed.v2","v":{"x":1}}'
    assert loads(dumps(Renamed(1))) == Renamed(1)


# --- hostile stored data --------------------------------------------------------------

OWNER = "tests.persistence.test_serde.Owner"
MOOD = "tests.persistence.test_serde.Mood"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "not readable JSON"),
        ('{"messages": [{"role": "us', "not readable JSON"),  # a truncated row
        (b"\xff\xfe\x00", "not readable JSON"),
        ('{"__orkes__": "nope", "v": 1}', "unknown tag 'nope'"),
        ('{"__orkes__": null, "v": 1}', "tag 'None', which is not text"),
        ('{"__orkes__": ["tuple"], "v": 1}', "which is not text"),
        ('{"__orkes__": "tuple", "v": 3}', "where a list belongs"),
        ('{"__orkes__": "set", "v": [[1]]}', "wrong shape: TypeError"),
        ('{"__orkes__": "dict", "v": [[[1], 2]]}', "wrong shape: TypeError"),
        ('{"__orkes__": "dict", "v": [[1]]}', "where a list belongs"),
        ('{"__orkes__": "timedelta", "v": [1, 2]}', "where a list belongs"),
        ('{"__orkes__": "timedelta", "v": ["a", 2, 3]}', "str where an int belongs"),
        ('{"__orkes__": "timedelta", "v": [1e300, 2, 3]}', "float where an int belongs"),
        ('{"__orkes__": "timedelta", "v": [99999999999, 0, 0]}', "OverflowError"),
        ('{"__orkes__": "bytes", "v": "***"}', "wrong shape: Error"),
        ('{"__orkes__": "date", "v": 5}', "int where text belongs"),
        ('{"__orkes__": "date", "v": "2026-13-01"}', "wrong shape: ValueError"),
        ('{"__orkes__": "decimal", "v": "x"}', "InvalidOperation"),
        ('{"__orkes__": "uuid", "v": "x"}', "ValueError"),
        ('{"__orkes__": "float", "v": "1e999"}', "'1e999' for a float"),
        ('{"__orkes__": "int", "v": "0x10"}', "'0x10' for a long int"),
        ('{"__orkes__": "datetime", "v": ["2026-01-01T00:00", "../../etc/passwd", 0]}', "zone"),
        ('{"__orkes__": "datetime", "v": ["2026-01-01T00:00", "No/Such_Zone", 0]}', "zone"),
        ('{"__orkes__": "time", "v": ["01:00", "UTC", 2]}', "wrong fold"),
        ('{"__orkes__": "time", "v": ["01:00", "UTC", true]}', "wrong fold"),
        ('{"__orkes__": "dataclass", "type": "os.system", "v": {"command": "id"}}', "os.system"),
        ('{"__orkes__": "dataclass", "type": ["x"], "v": {}}', "not registered"),
        ('{"__orkes__": "enum", "type": "tests.Model", "v": 1}', "a enum, which it is not"),
        ('{"__orkes__": "model", "type": "' + OWNER + '", "v": {}}', "which it is not"),
        ('{"__orkes__": "dataclass", "type": "' + OWNER + '", "v": [1]}', "mapping of fields"),
        ('{"__orkes__": "dataclass", "type": "' + OWNER + '", "v": {"x": 1}}', "TypeError"),
        ('{"__orkes__": "enum", "type": "' + MOOD + '", "v": "sad"}', "ValueError"),
        ('{"__orkes__": "model", "type": "tests.Model", "v": {}}', "KeyError"),
    ],
)
def test_hostile_stored_data_gives_checkpoint_error(text: str | bytes, says: str) -> None:
    with pytest.raises(CheckpointError) as caught:
        loads(text)
    assert type(caught.value) is CheckpointError
    assert says in str(caught.value)


def test_a_registered_class_that_refuses_its_fields_gives_checkpoint_error_with_the_cause() -> None:
    @register
    @dataclasses.dataclass
    class Strict:
        n: int

        def __post_init__(self) -> None:
            if type(self.n) is not int:
                raise AssertionError("n must be an int")

    name = f"{Strict.__module__}.{Strict.__qualname__}"
    with pytest.raises(CheckpointError, match="could not be rebuilt: AssertionError") as caught:
        loads(json.dumps({TAG: "dataclass", "type": name, "v": {"n": "1"}}))
    assert isinstance(caught.value.__cause__, AssertionError)


@contextlib.contextmanager
def recorded_imports() -> Iterator[list[str]]:
    """Every module name imported (or tried) while inside, by any route."""
    names: list[str] = []
    real_import, real_import_module = builtins.__import__, importlib.import_module

    def spy_import(name: str, *args: Any, **kwargs: Any) -> Any:
        names.append(name)
        return real_import(name, *args, **kwargs)

    def spy_import_module(name: str, package: str | None = None) -> Any:
        names.append(name)
        return real_import_module(name, package)

    builtins.__import__, importlib.import_module = spy_import, spy_import_module
    try:
        yield names
    finally:
        builtins.__import__, importlib.import_module = real_import, real_import_module


MODULE_NAMES = ["os.system", "antigravity.geohash", "subprocess.Popen", "builtins.eval"]


def test_loading_imports_no_module_the_data_names() -> None:
    assert "antigravity" not in sys.modules
    payloads: list[dict[str, Any]] = [
        {TAG: kind, "type": name, "v": {"args": ["id"]}}
        for kind in ("dataclass", "enum", "model", "pickle")
        for name in MODULE_NAMES
    ] + [{TAG: name, "v": "x"} for name in MODULE_NAMES]
    payloads += [{TAG: "datetime", "v": ["2026-01-01T00:00", name, 0]} for name in ("os", "a/b")]
    with recorded_imports() as names:
        for payload in payloads:
            with pytest.raises(CheckpointError):
                loads(json.dumps(payload))
    # Only zoneinfo, and how it looks for a zone in the IANA data package (tzdata.zoneinfo.*).
    assert {name.split(".")[0] for name in names} <= {"zoneinfo", "importlib", "tzdata"}, names
    assert "antigravity" not in sys.modules


def test_no_registered_constructor_is_called_for_a_name_not_registered() -> None:
    calls: list[object] = []

    @dataclasses.dataclass
    class Spy:
        x: int

        def __post_init__(self) -> None:
            calls.append(self)

    register(Spy, name="tests.spy")
    real_name = f"{Spy.__module__}.{Spy.__qualname__}"
    for stored in [
        {TAG: "dataclass", "type": real_name, "v": {"x": 1}},  # its class path: unknown
        {TAG: "model", "type": "tests.spy", "v": {"x": 1}},  # the name, as another kind
        {TAG: "enum", "type": "tests.spy", "v": 1},
    ]:
        with pytest.raises(CheckpointError):
            loads(json.dumps(stored))
    assert calls == []
    assert loads(json.dumps({TAG: "dataclass", "type": "tests.spy", "v": {"x": 1}})).x == 1
    assert len(calls) == 1


tags = st.sampled_from(
    ["tuple", "set", "frozenset", "dict", "bytes", "datetime", "date", "time", "timedelta",
     "uuid", "decimal", "float", "int", "enum", "dataclass", "model", "other"]
)  # fmt: skip
type_names = st.sampled_from([OWNER, MOOD, "tests.Model", "os.system", "tests.spy"]) | st.text(
    max_size=5
)
json_trees = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=4), inner, max_size=3)
        | st.fixed_dictionaries({"__orkes__": tags, "v": inner})
        | st.fixed_dictionaries({"__orkes__": tags, "type": type_names, "v": inner})
        | st.fixed_dictionaries({"__orkes__": inner}, optional={"v": inner, "type": inner})
    ),
    max_leaves=12,
)


@settings(max_examples=1000, deadline=None)
@given(json_trees)
def test_any_json_tree_loads_or_gives_checkpoint_error(tree: Any) -> None:
    with contextlib.suppress(CheckpointError):
        loads(json.dumps(tree))


@settings(max_examples=300, deadline=None)
@given(st.text() | st.binary())
def test_any_text_loads_or_gives_checkpoint_error(text: str | bytes) -> None:
    with contextlib.suppress(CheckpointError):
        loads(text)


@settings(max_examples=300, deadline=None)
@given(values, st.data())
def test_damaged_stored_values_load_or_give_checkpoint_error(
    value: Any, data: st.DataObject
) -> None:
    text = dumps(value)
    cut = data.draw(st.integers(0, len(text)))
    changed = data.draw(st.characters(codec="ascii"))
    for damaged in (text[:cut], text[:cut] + changed + text[cut + 1 :]):
        with contextlib.suppress(CheckpointError):
            loads(damaged)


def test_a_typical_value_set() -> None:
    value = {
        "at": dt.datetime(2026, 11, 28, 12, 30, tzinfo=dt.timezone.utc),
        "id": uuid.UUID(int=7),
        "price": decimal.Decimal("9.99"),
        "owner": Owner("ada", dt.date(2026, 1, 1)),
        "mood": Mood.CALM,
        "doc": Doc("t", owner=Owner("o", dt.date.max), mood=Mood.PAIR),
    }
    assert_same(loads(dumps(value)), value)
