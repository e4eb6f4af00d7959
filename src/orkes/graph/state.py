"""What a state schema says: its keys and which of them merge through a reducer."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from typing_extensions import is_typeddict

from orkes.errors import GraphDefinitionError

__all__ = ["Reducer", "StateSchema"]

Reducer = Callable[[Any, Any], Any]
"""A function ``(old, new) -> merged`` attached to a key with ``Annotated[T, reducer]``."""


@dataclass(frozen=True, slots=True)
class StateSchema:
    """The keys of a ``TypedDict`` state and the reducer of each key that has one.

    Example:
        >>> import operator
        >>> from typing import Annotated, TypedDict
        >>> class S(TypedDict):
        ...     items: Annotated[list[int], operator.add]
        ...     name: str
        >>> schema = StateSchema.from_typeddict(S)
        >>> schema.keys, list(schema.reducers)
        (('items', 'name'), ['items'])
    """

    schema: type[Any]
    keys: tuple[str, ...]
    key_set: frozenset[str]
    reducers: Mapping[str, Reducer]
    reduce_first_write: frozenset[str] = frozenset()

    @classmethod
    def from_typeddict(cls, schema: object) -> "StateSchema":
        """Read ``schema``'s keys and reducers; raise if it is not a ``TypedDict`` class."""
        if not (isinstance(schema, type) and is_typeddict(schema)):
            raise GraphDefinitionError(
                f"the state schema must be a TypedDict class, got {schema!r}; "
                "declare it as `class State(TypedDict): ...`"
            )
        try:
            hints = get_type_hints(schema, include_extras=True)
        except Exception as exc:  # NameError for an undefined forward reference, and kin
            raise GraphDefinitionError(
                f"cannot read the annotations of state schema {schema.__name__!r}: {exc}; "
                "every name used in them must be importable where the schema is defined"
            ) from exc
        reducers: dict[str, Reducer] = {}
        for key, hint in hints.items():
            reducer = _reducer_of(hint)
            if reducer is not None:
                reducers[key] = reducer
        keys = tuple(hints)
        reduce_first_write = frozenset(
            key
            for key, reducer in reducers.items()
            if getattr(reducer, "reduces_first_write", False)
        )
        return cls(schema, keys, frozenset(keys), reducers, reduce_first_write)


def _reducer_of(hint: object) -> Reducer | None:
    """The last callable in an ``Annotated`` hint's metadata, looking through ``Required``."""
    while get_origin(hint) is not Annotated and get_args(hint) and _is_qualifier(hint):
        hint = get_args(hint)[0]
    if get_origin(hint) is not Annotated:
        return None
    for metadata in reversed(get_args(hint)[1:]):
        if callable(metadata):
            reducer: Reducer = metadata
            return reducer
    return None


def _is_qualifier(hint: object) -> bool:
    name = getattr(get_origin(hint), "_name", None) or getattr(hint, "_name", None)
    return name in {"Required", "NotRequired", "ReadOnly"}
