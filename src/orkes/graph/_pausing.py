"""What a durable run does where it pauses: interrupts, answers, breakpoints, ``once``.

A mixin of :class:`~orkes.graph._durable.Saver`: the pauses a task asks for
(``ctx.interrupt``) and the breakpoints a step hits (``interrupt_before`` /
``interrupt_after``) are kept as pending writes of the checkpoint the step started from,
so a crash never loses one; the answers ``resume`` gives are kept beside them, and so
are the results ``ctx.once`` records.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from orkes.errors import CheckpointConflict, CheckpointError
from orkes.graph._thread_runs import NO_ANSWER
from orkes.graph.context import Pauses, PauseSignal
from orkes.persistence.base import PendingWrite

if TYPE_CHECKING:
    from orkes.graph._tasks import Task
    from orkes.graph.plan import Run
    from orkes.persistence.base import Checkpointer

__all__ = ["Pausing"]

# An interrupt's id: "<step>:<node>[#<send index>]", "/"-joined down into subgraphs, then
# ":<n>" (the n-th ctx.interrupt of the task) or ":before" / ":after" (a breakpoint).
_INTERRUPT_ID = re.compile(r"\d+:[^/]+(?:/\d+:[^/]+)*:(?:\d+|before|after)")


def _an_interrupt_id(key: object) -> bool:
    """Whether ``key`` has an interrupt id's shape (a stale or mistyped one, if not waiting)."""
    return isinstance(key, str) and _INTERRUPT_ID.fullmatch(key) is not None


class Pausing:
    """The pause-handling half of a saver (see the module's docs)."""

    __slots__ = ()

    checkpointer: Checkpointer
    thread_id: str
    head_id: str | None
    answers: dict[str, Any]  # interrupt id -> the answer given on resume
    onces: dict[str, dict[str, Any]]  # task id -> name -> ctx.once's result
    paused_at: dict[str, PendingWrite]  # interrupt id -> the pause kept

    def resume_answers(self, state: object, answer: object) -> list[PendingWrite]:
        """What resuming the thread answers: its interrupts (``answer``), its breakpoints.

        Nothing when ``state`` is new input (the run starts over from START).
        """
        if state is not None or self.head_id is None:
            return []
        answers = [] if answer is NO_ANSWER else self.take_answers(answer)
        return answers + self.passed_breakpoints()

    def pauses_for(self, run: Run, task: Task) -> Pauses:
        """What ``ctx.interrupt`` and ``ctx.once`` of this attempt of ``task`` work with."""
        task_id = task.task_id(run.step)
        head = self.head_id

        def record(name: str, value: Any) -> None:
            if head is not None:
                write = PendingWrite(task_id, task.node.name, {"value": value}, f"once:{name}")
                self.checkpointer.put_writes(self.thread_id, head, write)

        async def arecord(name: str, value: Any) -> None:
            if head is not None:
                write = PendingWrite(task_id, task.node.name, {"value": value}, f"once:{name}")
                await self.checkpointer.aput_writes(self.thread_id, head, write)

        onces = self.onces.setdefault(task_id, {})
        return Pauses(task_id, self.answers, onces, record, arecord)

    def paused(self, run: Run, task: Task, signal: PauseSignal) -> None:
        """Keep a pause: resuming finds it, and a crash does not lose it."""
        self._keep([self._pause(run, task, signal)])

    async def apaused(self, run: Run, task: Task, signal: PauseSignal) -> None:
        """:meth:`paused` for async code."""
        await self._akeep([self._pause(run, task, signal)])

    def _pause(self, run: Run, task: Task, signal: PauseSignal) -> PendingWrite:
        path = run.path if signal.path is None else signal.path
        return PendingWrite(
            task.task_id(run.step),
            task.node.name,
            {
                "id": signal.interrupt_id,
                "payload": signal.payload,
                "node": signal.node or task.node.name,
                "path": list(path),
                "step": run.step,
            },
            f"interrupt:{signal.interrupt_id}",
        )

    def _keep(self, writes: Sequence[PendingWrite]) -> None:
        if self.head_id is not None:
            for write in writes:
                self.checkpointer.put_writes(self.thread_id, self.head_id, write)

    async def _akeep(self, writes: Sequence[PendingWrite]) -> None:
        if self.head_id is not None:
            for write in writes:
                await self.checkpointer.aput_writes(self.thread_id, self.head_id, write)

    def take_answers(self, value: Any) -> list[PendingWrite]:
        """Note the answer(s) given to ``resume``; return the writes that keep them.

        One value answers the one pending interrupt; a dict keyed by interrupt ids
        answers those. Raises ``CheckpointError`` naming the pending ids otherwise.
        """
        waiting = sorted(key for key in self.paused_at if key not in self.answers)
        answered = sorted(key for key in self.paused_at if not key.endswith((":before", ":after")))
        if not waiting and answered:
            raise CheckpointConflict(
                f"another worker advanced the thread first: {', '.join(map(repr, answered))} "
                f"of thread {self.thread_id!r} was already answered (that run goes on; if it "
                "failed, resume(thread_id) without an answer goes on from there)"
            )
        if not waiting:
            raise CheckpointError(
                f"thread {self.thread_id!r} has no interrupt waiting for an answer; "
                "resume(thread_id) without one goes on after a crash or a failure"
            )
        if (
            isinstance(value, dict)
            and value
            and (any(key in self.paused_at for key in value) or all(map(_an_interrupt_id, value)))
        ):
            unknown = [key for key in value if key not in waiting]  # answered already, too
            if unknown:
                raise CheckpointError(
                    f"thread {self.thread_id!r} has no interrupt {unknown[0]!r} waiting; the "
                    f"waiting ones are {', '.join(map(repr, waiting))}"
                )
            given = dict(value)
        elif len(waiting) == 1:
            given = {waiting[0]: value}
        else:
            listed = ", ".join(map(repr, waiting)) or "none"
            raise CheckpointError(
                f"thread {self.thread_id!r} has {len(waiting)} interrupts waiting ({listed}); "
                "answer them by id: resume(thread_id, {interrupt_id: answer, ...})"
            )
        self.answers.update(given)
        return [
            PendingWrite(key, self.paused_at[key].node, {"value": answer}, f"answer:{key}")
            for key, answer in given.items()
        ]

    def passed_breakpoints(self) -> list[PendingWrite]:
        """Answers (``None``) for the breakpoints the thread stands at: resuming passes them."""
        passed = [
            key
            for key in self.paused_at
            if key.endswith((":before", ":after")) and key not in self.answers
        ]
        self.answers.update(dict.fromkeys(passed))
        return [
            PendingWrite(key, self.paused_at[key].node, {"value": None}, f"answer:{key}")
            for key in passed
        ]

    def before(self, run: Run, tasks: Sequence[Task]) -> tuple[Any, ...]:
        """The breakpoints (``interrupt_before``) these tasks hit, kept; ``()`` if none.

        A breakpoint the thread paused at already (a resume) lets the run through.
        """
        hits, writes = self._breakpoints(run, tasks, "before")
        self._keep(writes)
        return hits

    async def abefore(self, run: Run, tasks: Sequence[Task]) -> tuple[Any, ...]:
        """:meth:`before` for async code."""
        hits, writes = self._breakpoints(run, tasks, "before")
        await self._akeep(writes)
        return hits

    def after(self, run: Run) -> tuple[Any, ...]:
        """The breakpoints (``interrupt_after``) the finished step hit, kept at the new head."""
        hits, writes = self._breakpoints(run, [task for task, _, _ in run.report or ()], "after")
        self._keep(writes)
        return hits

    async def aafter(self, run: Run) -> tuple[Any, ...]:
        """:meth:`after` for async code."""
        hits, writes = self._breakpoints(run, [task for task, _, _ in run.report or ()], "after")
        await self._akeep(writes)
        return hits

    def _breakpoints(
        self, run: Run, tasks: Sequence[Task], when: str
    ) -> tuple[tuple[Any, ...], list[PendingWrite]]:
        from orkes.events import Interrupt

        names = run.plan.interrupt_before if when == "before" else run.plan.interrupt_after
        hits: list[Any] = []
        writes: list[PendingWrite] = []
        for task in tasks:
            if task.node.name not in names or self.head_id is None:
                continue
            step = run.step
            interrupt_id = f"{task.task_id(step)}:{when}"
            if interrupt_id in self.paused_at:
                continue
            write = PendingWrite(
                task.task_id(step),
                task.node.name,
                {
                    "id": interrupt_id,
                    "payload": None,
                    "node": task.node.name,
                    "path": list(run.path),
                    "step": step,
                },
                f"interrupt:{interrupt_id}",
            )
            writes.append(write)
            self.paused_at[interrupt_id] = write
            hits.append(Interrupt(interrupt_id, task.node.name, None, step=step, path=run.path))
        return tuple(hits), writes

    def interrupts(self, signals: Sequence[tuple[str, PauseSignal]], run: Run) -> tuple[Any, ...]:
        """The ``Interrupt`` events of a paused superstep."""
        from orkes.events import Interrupt

        return tuple(
            Interrupt(
                signal.interrupt_id,
                signal.node or node,
                signal.payload,
                step=run.step,
                path=run.path if signal.path is None else signal.path,
            )
            for node, signal in signals
        )
