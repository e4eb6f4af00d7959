"""Routing decided at run time: ``Send`` (fan out with an argument) and ``Command``.

A gate, or a node's return, may give ``Send(node, arg)`` objects: the named node then
runs once per ``Send``, in parallel in the next superstep, called with ``arg`` instead of
the state (map-reduce). A node may return ``Command(update=..., goto=...)`` to update the
state and choose what runs next in one go; where it may go is declared with
``add_node(..., destinations=(...))`` or a ``-> Command[Literal["a", "b"]]`` annotation,
so that validation and pictures know every edge.

Example:
    >>> from orkes import Command, Send
    >>> Send("worker", {"topic": "cats"})
    Send(node='worker', arg={'topic': 'cats'})
    >>> Command(update={"n": 1}, goto="next")
    Command(update={'n': 1}, goto='next')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from orkes.errors import RoutingError

__all__ = ["Command", "ParentCommand", "Send"]

NodeName = TypeVar("NodeName", bound=str, covariant=True)

NO_RESUME: Any = object()
"""``Command``'s ``resume`` when none was given."""


@dataclass(frozen=True, slots=True)
class Send:
    """Run ``node`` once more in the next superstep, called with ``arg`` instead of the state.

    Attributes:
        node: the node to run (checked at run time: it must be a node of the graph).
        arg: what the node is called with; its update merges into the state as usual.
    """

    node: str
    arg: Any


class Command(Generic[NodeName]):
    """What a node returns to update the state and say where to go, in one value.

    Args:
        update: the keys to write (merged through reducers like any update).
        goto: a node name, ``END``, a ``Send``, or a list of them: what runs next, in
            addition to the node's edges. Each must be among the node's declared
            destinations (``add_node(..., destinations=...)`` or
            ``-> Command[Literal[...]]``).
        graph: ``Command.PARENT`` to route in the graph that holds this subgraph
            instead: the subgraph ends, and its node in the parent acts as if it had
            returned this command.
        resume: only as a run's input, never a node's return:
            ``runner.invoke(Command(resume=answer), thread_id=...)`` is
            ``runner.resume(thread_id, answer)`` (as LangGraph users write it; ``run``,
            ``stream`` and their a-twins take it too).
    """

    PARENT: ClassVar[str] = "__parent__"
    """``graph=Command.PARENT``: route in the parent graph."""

    __slots__ = ("goto", "graph", "resume", "update")

    def __init__(
        self,
        *,
        update: Mapping[str, Any] | None = None,
        goto: NodeName | Send | Sequence[NodeName | Send] = (),
        graph: str | None = None,
        resume: Any = NO_RESUME,
    ) -> None:
        self.update = update
        self.goto = goto
        self.graph = graph
        self.resume = resume

    def __repr__(self) -> str:
        parts = [f"update={self.update!r}"] if self.update is not None else []
        if self.goto != ():
            parts.append(f"goto={self.goto!r}")
        if self.graph is not None:
            parts.append("graph=Command.PARENT" if self.graph == self.PARENT else repr(self.graph))
        if self.resume is not NO_RESUME:
            parts.append(f"resume={self.resume!r}")
        return f"Command({', '.join(parts)})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Command):
            return NotImplemented
        return (self.update, self.goto, self.graph, self.resume) == (
            other.update,
            other.goto,
            other.graph,
            other.resume,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable contents: unhashable like a dict

    def targets(self) -> list[str | Send]:
        """``goto`` as a list: node names (``END`` included) and ``Send`` objects."""
        goto = self.goto
        if isinstance(goto, (str, Send)):
            return [goto]
        return list(goto)


class ParentCommand(RoutingError):
    """A subgraph's node returned ``Command(graph=Command.PARENT)``: it rises to the parent.

    The parent's invoke path catches it at the subgraph's node and takes ``command`` as
    that node's return. Reaching the caller, it says that no graph holds this one.
    """

    def __init__(self, node: str, command: Command[Any]) -> None:
        super().__init__(
            f"node {node!r} returned Command(graph=Command.PARENT, ...), but its graph is not "
            "running as a subgraph: there is no parent graph to route in",
            node=node,
            value=command,
        )
        self.command = Command(update=command.update, goto=command.goto)
