"""The graph builder: record nodes and edges, then ``compile()`` them into a frozen plan.

Example:
    >>> from typing import TypedDict
    >>> from orkes.graph.core import OrkesGraph
    >>> class State(TypedDict):
    ...     n: int
    >>> graph = OrkesGraph(State)
    >>> def double(state: State) -> State:
    ...     return {"n": state["n"] * 2}
    >>> compiled = graph.add_node(double).add_edge(graph.START, "double").add_edge(
    ...     "double", graph.END).compile()
    >>> compiled.run({"n": 21})
    {'n': 42}
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from typing_extensions import Self

from orkes.errors import GraphDefinitionError
from orkes.graph._definition import (
    Branch,
    Edge,
    Join,
    NodeSpec,
    check_name_list,
    command_destinations,
    is_async_callable,
    takes_context,
)
from orkes.graph._sentinels import END, RESERVED_NAMES, START, Terminal, normalize_target
from orkes.graph.policies import CachePolicy, RetryPolicy
from orkes.graph.signatures import GateFn, NodeFn
from orkes.graph.state import StateSchema

if TYPE_CHECKING:
    from orkes.graph.compiled import CompiledGraph

__all__ = ["END", "START", "NodeFn", "OrkesGraph"]

StateT = TypeVar("StateT", bound=Mapping[str, Any])


class OrkesGraph(Generic[StateT]):
    """Records the nodes and edges of a graph over the ``TypedDict`` state ``state_schema``.

    Every ``add_*`` method returns the graph, so calls chain. ``compile()`` checks the
    whole graph, lists every problem at once, and freezes the builder.

    Args:
        state_schema: a ``TypedDict`` class; ``Annotated[T, reducer]`` keys merge writes.
        name: a name for messages, traces and pictures.
        description: what the graph does, for people reading traces and pictures.
    """

    START: Terminal = START
    END: Terminal = END

    def __init__(
        self,
        state_schema: type[StateT],
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> None:
        self.state_schema = state_schema
        self.schema = StateSchema.from_typeddict(state_schema)
        self.name = name
        self.description = description
        self.nodes: dict[str, Callable[..., Any]] = {}
        self.node_specs: dict[str, NodeSpec] = {}
        self.edges: list[Edge] = []
        self.joins: list[Join] = []
        self.branches: list[Branch] = []
        self._edge_pairs: set[tuple[str, str]] = set()
        self._compiled: CompiledGraph[StateT] | None = None

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return (
            f"<OrkesGraph{label} over {self.state_schema.__name__}: {len(self.nodes)} nodes, "
            f"{len(self.edges) + len(self.joins) + len(self.branches)} edges>"
        )

    @overload
    def add_node(
        self,
        name: str,
        fn: NodeFn[StateT] | CompiledGraph[Any],
        /,
        *,
        destinations: Iterable[str] | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        cache: CachePolicy | None = None,
        stream_tokens: bool = True,
        defer: bool = False,
    ) -> Self: ...
    @overload
    def add_node(
        self,
        fn: NodeFn[StateT] | CompiledGraph[Any],
        /,
        *,
        destinations: Iterable[str] | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        cache: CachePolicy | None = None,
        stream_tokens: bool = True,
        defer: bool = False,
    ) -> Self: ...
    def add_node(
        self,
        name_or_fn: str | NodeFn[StateT] | CompiledGraph[Any],
        fn: NodeFn[StateT] | CompiledGraph[Any] | None = None,
        /,
        *,
        destinations: Iterable[str] | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        cache: CachePolicy | None = None,
        stream_tokens: bool = True,
        defer: bool = False,
    ) -> Self:
        """Add a node: ``add_node("name", fn)``, or ``add_node(fn)`` to name it ``fn.__name__``.

        ``fn`` takes the state (and a ``RunContext`` if it declares a second parameter),
        sync or ``async``; or it is a compiled graph (a subgraph: see the subgraphs page).

        Args:
            name_or_fn: the node's name, or its function (then named after it).
            fn: the function (or compiled graph), when a name came first.
            destinations: where a ``Command`` or ``Send`` it returns may lead (also read
                from a ``-> Command[Literal["a", "b"]]`` return annotation).
            retry: call it again on the failures the policy names.
            timeout: seconds it may run before ``NodeTimeout``.
            cache: reuse its update for equal inputs.
            stream_tokens: ``False`` keeps its LLM tokens out of ``"messages"`` streams
                (a router's or a classifier's calls, say).
            defer: run it once nothing else is pending, after whichever branches ran.
        """
        self._check_open()
        name, node_fn = self._name_and_fn(name_or_fn, fn)
        if name in self.nodes:
            raise GraphDefinitionError(
                f"node {name!r} is already in the graph; node names must be unique"
            )
        self.node_specs[name] = self._spec(
            name, node_fn, destinations, retry, timeout, cache, stream_tokens, defer
        )
        self.nodes[name] = node_fn
        return self

    def _name_and_fn(self, name_or_fn: object, fn: object) -> tuple[str, Any]:
        from orkes.graph.compiled import CompiledGraph

        if isinstance(builder := name_or_fn if fn is None else fn, OrkesGraph):
            raise GraphDefinitionError(
                f"add_node got the builder {builder!r}; a subgraph node is a compiled graph: "
                "add_node('name', graph.compile())"
            )
        if fn is None:
            if isinstance(name_or_fn, str):
                raise GraphDefinitionError(
                    f"node {name_or_fn!r} has no function; call add_node({name_or_fn!r}, fn)"
                )
            fn = name_or_fn
            name = fn.name if isinstance(fn, CompiledGraph) else getattr(fn, "__name__", None)
            if not isinstance(name, str) or name == "<lambda>":
                hint = "give the graph a name=, or " if isinstance(fn, CompiledGraph) else ""
                raise GraphDefinitionError(
                    f"cannot name node {fn!r} after its function; {hint}call add_node('name', fn)"
                )
        elif isinstance(name_or_fn, str):
            name = name_or_fn
        else:
            raise GraphDefinitionError(
                f"a node's name must be a str, got {name_or_fn!r}; call add_node('name', fn)"
            )
        if not callable(fn) and not isinstance(fn, CompiledGraph):
            raise GraphDefinitionError(
                f"node {name!r} must be callable (a function taking the state), got {fn!r}"
            )
        if not name or name in RESERVED_NAMES:
            raise GraphDefinitionError(
                f"node name {name!r} is reserved or empty; START and END are the graph's ends, "
                "pick another name"
            )
        return name, fn

    def _spec(
        self,
        name: str,
        fn: Callable[..., Any],
        destinations: Iterable[str] | None,
        retry: RetryPolicy | None,
        timeout: float | None,
        cache: CachePolicy | None,
        stream_tokens: bool,
        defer: bool,
    ) -> NodeSpec:
        where = f"add_node({name!r}, ...)"
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise GraphDefinitionError(f"{where}: retry= takes a RetryPolicy, got {retry!r}")
        if cache is not None and not isinstance(cache, CachePolicy):
            raise GraphDefinitionError(f"{where}: cache= takes a CachePolicy, got {cache!r}")
        if timeout is not None and (
            not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0
        ):
            raise GraphDefinitionError(
                f"{where}: timeout= takes seconds > 0 or None, got {timeout!r}"
            )
        for flag, value in (("stream_tokens", stream_tokens), ("defer", defer)):
            if not isinstance(value, bool):
                raise GraphDefinitionError(f"{where}: {flag}= takes True or False, got {value!r}")
        check_name_list(destinations, f"{where}: destinations=")
        declared = [self._target_name(d, where) for d in destinations or ()]
        from orkes.graph._subgraph import SubgraphNode, subgraph_of

        subgraph = subgraph_of(fn)
        if subgraph is not None:
            adapter = SubgraphNode(self.schema, subgraph, name)
            is_async = bool(subgraph.plan.has_async)
            call: Callable[..., Any] = adapter.acall if is_async else adapter
            return NodeSpec(
                name, call, is_async, True, tuple(declared), retry, timeout, cache,
                stream_tokens, defer, subgraph,
            )  # fmt: skip
        declared += [
            self._target_name(d, where) for d in command_destinations(fn, f"node {name!r}")
        ]
        return NodeSpec(
            name,
            fn,
            is_async_callable(fn),
            takes_context(fn, f"node {name!r}"),
            tuple(dict.fromkeys(declared)),
            retry,
            timeout,
            cache,
            stream_tokens,
            defer,
        )

    def add_edge(
        self, source: str | Sequence[str], target: str, *, max_passes: int | None = None
    ) -> Self:
        """Run ``target`` after ``source``; a list of sources is a join that waits for all.

        Args:
            source: a node, ``START``, or a list of nodes (a join: ``target`` runs once
                every one of them has finished since the join last fired).
            target: a node or ``END``.
            max_passes: how many times this edge may be followed in one run
                (``None``: no limit of its own; ``max_steps`` still applies).
        """
        self._check_open()
        _check_max_passes(max_passes, f"add_edge({source!r}, {target!r})")
        target = self._target_name(target, f"add_edge({source!r}, ...)")
        if isinstance(source, str):
            source = self._source_name(source)
            edge = Edge(source, target, max_passes)
            if (source, target) in self._edge_pairs:
                raise GraphDefinitionError(f"{edge.describe()} is already in the graph")
            self._edge_pairs.add((source, target))
            self.edges.append(edge)
            return self
        sources = tuple(source) if isinstance(source, Sequence) else ()
        if not sources or not all(isinstance(s, str) for s in sources):
            raise GraphDefinitionError(
                f"the source of an edge is a node name, START or a list of node names, "
                f"got {source!r}"
            )
        if any(normalize_target(s) in (START, END) for s in sources):
            raise GraphDefinitionError(
                "a join waits for nodes; START and END cannot be among its sources "
                f"{list(sources)!r}"
            )
        if len(set(sources)) != len(sources):
            raise GraphDefinitionError(f"join sources {list(sources)!r} name a node twice")
        self.joins.append(Join(sources, target, max_passes))
        return self

    def add_conditional_edge(
        self,
        source: str,
        gate: GateFn[StateT],
        mapping: Mapping[Any, str] | None = None,
        *,
        default: str | None = None,
        max_passes: int | None = None,
    ) -> Self:
        """After ``source`` runs, ``gate(state)`` picks what runs next.

        Args:
            source: the node (or ``START``) the edge leaves from.
            gate: a function of the state (and, if it declares one, a ``RunContext``)
                returning a key of ``mapping`` — or, with no mapping, a node name or
                ``END``; a list of them (or of ``Send``) fans out in parallel.
            mapping: gate value -> node name or ``END`` (``"END"`` works too).
            default: where to go when the gate returns a value the mapping lacks.
            max_passes: how many times the gate may be evaluated in one run.

        Example:
            ``graph.add_conditional_edge("set_number", is_even_or_odd,
            {"even": "process_even", "odd": "process_odd"})``
        """
        self._check_open()
        source = self._source_name(source)
        where = f"add_conditional_edge({source!r}, ...)"
        _check_max_passes(max_passes, where)
        if not callable(gate):
            raise GraphDefinitionError(f"the gate of {where} must be callable, got {gate!r}")
        if is_async_callable(gate):
            raise GraphDefinitionError(
                f"the gate of {where} is async; a gate must be a plain function that decides "
                "from the state (do the awaiting in a node)"
            )
        normalized: dict[Hashable, str] | None = None
        if mapping is not None:
            if not isinstance(mapping, Mapping) or not mapping:
                raise GraphDefinitionError(
                    f"the mapping of {where} must be a non-empty dict of gate value -> node, "
                    f"got {mapping!r}"
                )
            normalized = {key: self._target_name(dst, where) for key, dst in mapping.items()}
        if default is not None:
            default = self._target_name(default, where)
        self.branches.append(Branch(source, gate, normalized, default, max_passes))
        return self

    def compile(
        self, *, interrupt_before: Iterable[str] = (), interrupt_after: Iterable[str] = ()
    ) -> CompiledGraph[StateT]:
        """Check the whole graph and return its immutable, runnable plan.

        Args:
            interrupt_before: nodes before which a durable run pauses (a breakpoint:
                ``runner.resume(thread_id)`` goes on).
            interrupt_after: nodes after which it pauses.

        Raises:
            GraphValidationError: listing every problem found, each naming its culprit.
        """
        from orkes.graph.compiled import CompiledGraph
        from orkes.graph.spec import GraphSpec
        from orkes.graph.validate import validate

        check_name_list(interrupt_before, "compile(interrupt_before=...)")
        check_name_list(interrupt_after, "compile(interrupt_after=...)")
        breaks = (tuple(interrupt_before), tuple(interrupt_after))
        if self._compiled is not None and self._compiled.spec.breakpoints == breaks:
            return self._compiled
        spec = GraphSpec.of(self, *breaks)  # frozen: later builder changes cannot reach it
        validate(spec)
        compiled: CompiledGraph[StateT] = CompiledGraph(spec)
        if self._compiled is None:
            self._compiled = compiled
        return compiled

    def _check_open(self) -> None:
        if self._compiled is not None:
            raise GraphDefinitionError(
                f"{self!r} is compiled and frozen; build a new OrkesGraph to change it"
            )

    @staticmethod
    def _source_name(source: object) -> str:
        source = normalize_target(source)
        if source is END:
            raise GraphDefinitionError("an edge cannot leave END; END is where paths stop")
        if not isinstance(source, str) or not source:
            raise GraphDefinitionError(
                f"the source of an edge must be a node name or START, got {source!r}"
            )
        return source

    @staticmethod
    def _target_name(target: object, where: str) -> str:
        target = normalize_target(target)
        if target is START:
            raise GraphDefinitionError(f"{where}: an edge cannot lead to START")
        if not isinstance(target, str) or not target:
            raise GraphDefinitionError(
                f"{where}: a target must be a node name or END, got {target!r}"
            )
        return target


def _check_max_passes(max_passes: object, where: str) -> None:
    if max_passes is not None and (
        not isinstance(max_passes, int) or isinstance(max_passes, bool) or max_passes < 1
    ):
        raise GraphDefinitionError(
            f"{where}: max_passes must be a positive int or None, got {max_passes!r}"
        )
