"""The shared machinery of every case workflow: events in, domain events out, deadlines.

Each process (``case_transfer``, ``jurisdiction_dispute`` ...) is a subclass that says which
events are valid in which state (:meth:`CaseWorkflow.refusal`) and what each does
(:meth:`CaseWorkflow.on_event`). Everything else is here, once: de-duplication by ``event_id``,
the ``receive`` Update with its validator (so intake learns synchronously why an event was
refused), publishing domain events through the activity, and statutory deadlines with their
warning a working day before, the breach and the escalation (DOMAIN.md: a deadline never decides
an outcome by itself).

Follows the entity pattern of samples-python ``message_passing/safe_message_handlers``: all
state in one model, an idempotency guard in every handler, a lock around handlers that await,
and ``all_handlers_finished`` before returning or continuing as new.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, ClassVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer

    from contracts.catalog import EVENT_TYPES
    from contracts.common import EventSpec, Payload
    from contracts.deadline_models import DeadlineInfo, DeadlineStatus
    from contracts.domain import DomainEvent, DomainEventBatch, EntryKind
    from contracts.envelope import Envelope
    from contracts.process import Clock, Clocks, Process
    from contracts.refusal import Refusal
    from contracts.validation import Rejection
    from contracts.workflow_io import CaseStart, CaseStatus, HistoryItem, ReceiveResult, YearScheduleIn

from workflows import deadlines as dl

with workflow.unsafe.imports_passed_through():
    from workflows.activities import PublishActivities

SUBMIT_SIGNAL = "submit"
_PUBLISH_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
REFUSED_ERROR_TYPE = "EventRefused"
# Keep the workflow's own memory of seen event ids bounded; Temporal also de-duplicates
# Updates by id, and the registry upserts by event_id.
MAX_SEEN_IDS = 5000


# How a step sent by an agency not holding the case role the definition names is refused.
_NOT_THE_PARTY: dict[str, str] = {
    "agency": "only {holders}, the agency that opened this case, may send {type}",
    "police": "the case is with {holders}; {sender} may not send {type}",
    "procuratorate": "{holders} is the procuratorate of this case; {sender} may not send {type}",
    "parties": "{sender} is not a party to case {case} (parties: {holders})",
    "office": "only the coordinating office {holders} may send {type}",
    "designated_agency": "{sender} was not designated; {holders} was",
    "referring_agency": "only the referring body {holders} may send {type}",
    "commission": "the clue is with commission {holders}, not {sender}",
    "township": "only {holders}, the township of this case, may send {type}",
}


def _iso(moment: datetime) -> str:
    return moment.isoformat()


Instant = Annotated[AwareDatetime, PlainSerializer(_iso, return_type=str, when_used="json")]
"""A moment in a process's facts: in JSON the text ``datetime.isoformat`` writes (with the offset
it was given, ``+00:00`` rather than pydantic's ``Z``), as the status query has always carried it."""


class DeadlineState(BaseModel):
    """A deadline as the workflow tracks it (the public part is :class:`DeadlineInfo`)."""

    model_config = ConfigDict(extra="forbid")

    info: DeadlineInfo
    warned: bool = False
    version: int = 0
    key: str = ""


class CaseState(BaseModel):
    """Everything a case workflow remembers; carried whole across continue-as-new."""

    model_config = ConfigDict(extra="forbid")

    process: str = ""
    case_id: str = ""
    state: str = "new"
    state_at: datetime | None = None
    closed: bool = False
    seq: int = 0
    seen: list[str] = Field(default_factory=list)
    parties: list[str] = Field(default_factory=list)
    deadlines: dict[str, DeadlineState] = Field(default_factory=dict)
    history: list[HistoryItem] = Field(default_factory=list)
    # The process's own facts as JSON, written only as the state leaves the workflow
    # (CaseWorkflow.snapshot); while it runs they live in the workflow's typed ``d``.
    data: dict[str, Any] = Field(default_factory=dict)


class CaseWorkflow:
    """Base class of the process workflows. Subclasses set ``PROCESS`` and implement the hooks."""

    # The process's rules as data: which steps exist, in which states, from which case role.
    DEFINITION: ClassVar[Process]
    PROCESS: ClassVar[str] = ""
    # Events that report something alongside the process instead of answering its current step
    # (a township's case under a delegated power): they may be dated before that step.
    NOT_ANSWERING: ClassVar[frozenset[str]] = frozenset()
    # The model of the process's own facts (who holds which case role, when its steps happened),
    # kept as ``d``; subclasses narrow the annotation of ``d`` to it.
    DATA: ClassVar[type[BaseModel]]
    # The key of the status data the facts are kept under; empty: their fields are its keys.
    DATA_KEY: ClassVar[str] = ""
    d: BaseModel

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.PROCESS = cls.DEFINITION.name
        data = getattr(cls, "DATA", None)
        if data is None:
            raise TypeError(f"{cls.__name__} must name the model of its process's facts in DATA")
        # A misspelt field must fail when the facts are loaded, not vanish from the carry.
        if data.model_config.get("extra") != "forbid":
            raise TypeError(f"{cls.__name__}.DATA ({data.__name__}) must forbid extra fields")

    @workflow.init
    def __init__(self, start: CaseStart) -> None:
        # Initialised from the start input before any handler runs: an event that reaches the
        # run in its first workflow task (a signal, an Update) is handled in that same task.
        self._lock = asyncio.Lock()
        self._outbox: list[DomainEvent] = []
        self._batch_depth = 0
        self._publishing = 0
        self._start = start
        self._rules: dict[str, dl.Rule] = dl.load_rules(start.rule_settings)
        self._calendar = dl.WorkCalendar(extra=_schedules(start.calendar))
        if start.carry is not None:
            self.s = CaseState.model_validate(start.carry)
        else:
            self.s = CaseState(process=start.process, case_id=start.case_id)
        facts = self.s.data.get(self.DATA_KEY) if self.DATA_KEY else self.s.data
        self.d = self.DATA.model_validate(facts or {})
        self.s.data = {}
        # The opening event in the start input, until the run has taken it.
        self._opening = start.opening if start.carry is None else None
        # The agency event being taken, while its handler runs: steps and deadlines it causes
        # count from when it happened, not from when the workflow got it.
        self._cause: Envelope | None = None
        # The due date of the deadline falling due, while its consequences are recorded: they
        # happened then, whenever the workflow records them.
        self._falling_due: datetime | None = None

    # ----- hooks for the processes -------------------------------------------------------

    def refusal(self, env: Envelope, payload: Payload) -> Refusal | None:
        """Why ``env`` is not valid now beyond what the definition says (its states and its
        sender's case role are checked before), or None to accept it."""
        raise NotImplementedError

    def holders(self, role: str) -> tuple[str | None, ...]:
        """The agencies holding the case ``role`` a step's ``party`` names (None: nobody yet)."""
        raise NotImplementedError

    def out_of_state(self, env: Envelope, payload: Payload, step: EventSpec) -> Refusal:
        """Why ``step`` is refused in the current state; processes word the likely mistakes."""
        valid = ", ".join(sorted(step.valid_in))
        return Refusal("type", f"{env.type} is not valid in state {self.s.state} (valid in: {valid})")

    async def on_event(self, env: Envelope, payload: Payload) -> None:
        """Move the process one step for an accepted event."""
        raise NotImplementedError

    def answers_since(self, env: Envelope) -> datetime | None:
        """When the step ``env`` answers happened: by default the step that brought the case
        into its current state. Processes where an event answers an earlier step override it."""
        return self.s.state_at

    async def on_breach(self, deadline: DeadlineState) -> None:
        """React to a breached duty beyond the generic escalation."""

    async def on_lapse(self, deadline: DeadlineState) -> None:
        """React to a window that lapsed unused."""

    async def on_reminder(self, deadline: DeadlineState) -> None:
        """React to a reminder that fell due."""

    # ----- lifecycle -----------------------------------------------------------------------

    async def run_case(self, start: CaseStart) -> CaseStatus:
        """Body of every subclass's ``@workflow.run``: wait until closed, continue as new when
        the history grows, and leave no handler unfinished."""
        await self.begin()
        while True:
            await workflow.wait_condition(
                lambda: self.s.closed or workflow.info().is_continue_as_new_suggested()
            )
            # Handlers, and deadline watchers still publishing, finish before the run ends: a
            # completion sent with an activity still being scheduled is refused by the server.
            await workflow.wait_condition(lambda: workflow.all_handlers_finished() and self._quiet())
            if self.s.closed:
                return self.status()
            if workflow.info().is_continue_as_new_suggested():
                self.continue_as_new()

    def continue_as_new(self) -> None:
        """Start a fresh run carrying only the live state (history stays small over years)."""
        workflow.continue_as_new(
            self._start.model_copy(
                update={
                    "carry": self.snapshot().model_dump(mode="json"),
                    "calendar": self._start.calendar,
                    "opening": None,
                }
            )
        )

    # ----- the one entry point for agency events ------------------------------------------

    @workflow.update
    async def receive(self, env: Envelope) -> ReceiveResult:
        """Take an agency's event (intake calls this with the event_id as the Update id)."""
        await self._after_opening()
        async with self._lock:
            if str(env.event_id) in self.s.seen:
                return ReceiveResult(accepted=True, duplicate=True, state=self.s.state)
            payload, refusal = self._check(env)
            if refusal is not None:
                raise _refused(refusal)
            assert payload is not None
            await self._take(env, payload)
            return ReceiveResult(accepted=True, duplicate=False, state=self.s.state)

    @receive.validator
    def validate_receive(self, env: Envelope) -> None:
        """Refuse, before anything is written to history, what is not valid now."""
        if str(env.event_id) in self.s.seen or self._opening is not None:
            return  # with the opening event not yet taken, the handler checks after it
        _, refusal = self._check(env)
        if refusal is not None:
            raise _refused(refusal)

    async def begin(self) -> None:
        """First thing in every run: watch the open deadlines it carries (a run continued as new),
        then take the opening event of the start input, whose deadlines get their watchers as
        they open. Each deadline has one watcher, so one timer at a time and one warning."""
        self._watch_open_deadlines()
        await self.take_opening()

    def _watch_open_deadlines(self) -> None:
        for deadline_id, d in self.s.deadlines.items():
            if d.info.status == DeadlineStatus.OPEN:
                self._watch(deadline_id)

    async def take_opening(self) -> None:
        """Take the opening event of the start input, first thing in the run.

        Intake starts a new case with its opening event in the input: a plain start is one
        history event and one lookup less for the server than a signal-with-start, on the
        busiest path (every new case).
        """
        if self._opening is not None:
            await self._take_opening_event(self._opening)
            self._opening = None

    async def _after_opening(self) -> None:
        """Let the opening event of the start input go first.

        A handler's task is created before the run's when both arrive in the run's first
        workflow task, so without this a case's second event would be checked against a case
        that is not open yet and refused.
        """
        if self._opening is not None:
            await workflow.wait_condition(lambda: self._opening is None)

    @workflow.signal(name=SUBMIT_SIGNAL)
    async def submit(self, env: Envelope) -> None:
        """Take an event that may open a case, sent to a run that already exists.

        Intake starts a new case with the event in its input; when the case's workflow runs
        already (a redelivered or a second opening event), it signals it. Intake does not wait
        for the worker; a refusal is therefore answered by the workflow itself, on
        ``lawlink.rejected.<agency>``, with the same body intake would have sent.
        """
        await self._after_opening()
        await self._take_opening_event(env)

    async def _take_opening_event(self, env: Envelope) -> None:
        async with self._lock:
            if str(env.event_id) in self.s.seen:
                return
            payload, refusal = self._check(env)
            if refusal is not None:
                await self._reject(env, refusal)
                return
            assert payload is not None
            await self._take(env, payload)

    def _check(self, env: Envelope) -> tuple[Payload | None, Refusal | None]:
        """The payload, or why the event is not valid in the current state."""
        if env.case_id != self.s.case_id and self.s.case_id:
            return None, Refusal("case_id", f"this workflow carries case {self.s.case_id!r}")
        spec = EVENT_TYPES.get(env.type)
        if spec is None:
            return None, Refusal("type", f"unknown event type {env.type!r}")
        try:
            payload = spec.payload.model_validate(env.payload)
        except Exception as exc:  # intake validated already; this guards direct callers
            return None, Refusal("payload", str(exc))
        refusal = self._defined_refusal(env, payload) or self.refusal(env, payload)
        if refusal is None:
            refusal = self._dated_before_step(env)
        return payload, refusal

    def _defined_refusal(self, env: Envelope, payload: Payload) -> Refusal | None:
        """The definition's checks: the step is this process's, valid in the current state, and
        sent by an agency holding the case role it names."""
        step = self.DEFINITION.step(env.type)
        if step is None:
            return Refusal("type", f"{env.type} does not belong to the {self.DEFINITION.label_en} process")
        if self.s.state not in step.valid_in:
            return self.out_of_state(env, payload, step)
        if not step.party:
            return None
        holders = [a for role in step.party for a in self.holders(role) if a]
        if env.source_agency in holders:
            return None
        text = _NOT_THE_PARTY[step.party[0]] if len(step.party) == 1 else "only {holders} may send {type}"
        return Refusal(
            "source_agency",
            text.format(
                holders=", ".join(holders) or "nobody yet",
                sender=env.source_agency,
                type=env.type,
                case=env.case_id,
            ),
        )

    def _dated_before_step(self, env: Envelope) -> Refusal | None:
        """An event cannot have happened before the step it answers (a decision before its report)."""
        since = None if env.type in self.NOT_ANSWERING else self.answers_since(env)
        if since is None or env.occurred_at >= since:
            return None
        return Refusal(
            "occurred_at",
            f"{env.type} is dated {dl.legal_minute(env.occurred_at)}, before the step it answers "
            f"(state {self.s.state} since {dl.legal_minute(since)})",
        )

    async def _take(self, env: Envelope, payload: Payload) -> None:
        """Record an accepted event and move the process (caller holds the lock)."""
        event_id = str(env.event_id)
        self._remember(event_id)
        self._cause = env
        try:
            await self._take_caused(env, payload, event_id)
        finally:
            self._cause = None

    async def _take_caused(self, env: Envelope, payload: Payload, event_id: str) -> None:
        async with self.batch():
            await self.emit(
                env.type,
                kind=EntryKind.RECEIVED,
                actor=env.source_agency,
                event_id=event_id,
                causation_id=event_id,
                payload=self.received_payload(env, payload),
                at=env.occurred_at,
            )
            # A step's own clocks: answered before its handler moves the case, started after
            # it (the handler records the parties they bind), unless the step closed the case.
            clocks = self.DEFINITION.clocks.get(env.type)
            if clocks is not None:
                await self._answer_clocks(clocks)
            await self.on_event(env, payload)
            if clocks is not None and not self.s.closed:
                await self._start_clocks(clocks)

    async def _reject(self, env: Envelope, refusal: Refusal) -> None:
        await workflow.execute_activity_method(
            PublishActivities.publish_rejection,
            Rejection.single(
                {
                    "event_id": str(env.event_id),
                    "type": env.type,
                    "source_agency": env.source_agency,
                    "case_id": env.case_id,
                },
                refusal.field,
                refusal.reason,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=_PUBLISH_RETRY,
        )

    def received_payload(self, env: Envelope, payload: Payload) -> dict[str, Any]:
        """What of an accepted event goes on the bus; confidential processes override this."""
        return payload.model_dump(mode="json")

    @workflow.query
    def status(self) -> CaseStatus:
        """Current state, open deadlines and history."""
        return CaseStatus(
            process=self.s.process,
            case_id=self.s.case_id,
            state=self.s.state,
            closed=self.s.closed,
            open_deadlines=tuple(d.info for d in self.s.deadlines.values() if d.info.status in _LIVE),
            history=tuple(self.s.history),
            data=self._data_json(),
        )

    def snapshot(self) -> CaseState:
        """The state as it leaves the workflow, with the typed facts written into ``data``."""
        return self.s.model_copy(update={"data": self._data_json()})

    def _data_json(self) -> dict[str, Any]:
        """The facts in the JSON shape the status query's readers know (datetimes as ISO text)."""
        facts = self.d.model_dump(mode="json")
        return {self.DATA_KEY: facts} if self.DATA_KEY else facts

    @workflow.signal
    async def calendar_updated(self, schedule: YearScheduleIn) -> None:
        """A year's official schedule arrived: recompute the provisional deadlines."""
        async with self._lock:
            extra = dict(self._calendar.extra)
            extra[schedule.year] = _schedules((schedule,))[schedule.year]
            self._calendar = dl.WorkCalendar(extra=extra)
            kept = tuple(s for s in self._start.calendar if s.year != schedule.year)
            self._start = self._start.model_copy(update={"calendar": (*kept, schedule)})
            for d in list(self.s.deadlines.values()):
                if d.info.status != DeadlineStatus.OPEN or not d.info.provisional:
                    continue
                rule = self._rules[d.info.rule]
                due = dl.compute_due(d.info.starts_at, rule, self._calendar)
                d.info = d.info.model_copy(
                    update={"due_at": due.due_at, "warn_at": due.warn_at, "provisional": due.provisional}
                )
                d.version += 1
                await self.emit("deadline.recomputed", kind=EntryKind.DEADLINE, deadline=d.info)

    # ----- helpers for subclasses -----------------------------------------------------------

    def transition(self, state: str) -> None:
        """Set the process state (the next emitted event carries it) and when it was entered."""
        self.s.state = state
        self.s.state_at = self.step_time()

    def step_time(self) -> datetime:
        """When the step being taken happened: the agency event's ``occurred_at`` while one is
        taken; otherwise the step is the workflow's own (a coordinator's Update, a timer), which
        happens as it runs."""
        if self._falling_due is not None:
            return self._falling_due
        return self._cause.occurred_at if self._cause is not None else workflow.now()

    def add_parties(self, *agency_ids: str | None) -> None:
        """Record agencies involved in the case (the read model and notifier use them)."""
        for agency_id in agency_ids:
            if agency_id and agency_id not in self.s.parties:
                self.s.parties.append(agency_id)

    async def emit(
        self,
        event_type: str,
        *,
        kind: EntryKind = EntryKind.STEP,
        actor: str | None = None,
        payload: dict[str, Any] | None = None,
        deadline: DeadlineInfo | None = None,
        event_id: str | None = None,
        causation_id: str | None = None,
        at: datetime | None = None,
    ) -> DomainEvent:
        """Publish one domain event; the activity de-duplicates by ``<workflow_id>:<seq>``.

        ``at`` is when it happened (default :meth:`step_time`); the event also carries when the
        workflow recorded it. An outcome the definition gives clocks to meets and cancels them
        before it is announced and starts its own after (:class:`contracts.process.Clocks`; a
        step's own clocks are applied where it is taken, :meth:`_take_caused`).
        """
        clocks = self.DEFINITION.clocks.get(event_type) if kind is EntryKind.STEP else None
        if clocks is not None:
            await self._answer_clocks(clocks)
        event = await self._announce(event_type, kind, actor, payload, deadline, event_id, causation_id, at)
        if clocks is not None:
            await self._start_clocks(clocks)
        return event

    async def _announce(
        self,
        event_type: str,
        kind: EntryKind,
        actor: str | None,
        payload: dict[str, Any] | None,
        deadline: DeadlineInfo | None,
        event_id: str | None,
        causation_id: str | None,
        at: datetime | None,
    ) -> DomainEvent:
        self.s.seq += 1
        info = workflow.info()
        event = DomainEvent(
            event_id=event_id or str(workflow.uuid4()),
            type=event_type,
            occurred_at=at or self.step_time(),
            recorded_at=workflow.now(),
            process=self.s.process,
            case_id=self.s.case_id,
            workflow_id=info.workflow_id,
            seq=self.s.seq,
            kind=kind,
            state=self.s.state,
            actor=actor,
            causation_id=causation_id,
            trace=self._cause.trace if self._cause is not None else None,
            parties=tuple(self.s.parties),
            closed=self.s.closed,
            deadline=deadline,
            payload=payload or {},
        )
        self.s.history.append(
            HistoryItem(seq=event.seq, type=event_type, at=event.occurred_at, actor=actor, state=self.s.state)
        )
        self._outbox.append(event)
        if self._batch_depth == 0:
            await self.flush()
        return event

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """Publish the domain events emitted inside the block together, when it ends."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0:
                await self.flush()

    def _quiet(self) -> bool:
        """Nothing queued, batched or being published."""
        return not self._outbox and self._batch_depth == 0 and self._publishing == 0

    async def flush(self) -> None:
        """Publish what :meth:`emit` queued, in order.

        A step's domain events go together, from one local activity inside the workflow task
        that emitted them: no activity task to schedule, dispatch and complete, and no second
        workflow task to take its result, on the path every step takes. Publishing is a short,
        idempotent NATS call (the ``Nats-Msg-Id`` de-duplicates a retry), which is what local
        activities are for; past the SDK's local retry threshold a long NATS outage backs off
        on workflow timers.
        """
        self._publishing += 1
        try:
            while self._outbox:
                events, self._outbox = self._outbox, []
                await workflow.execute_local_activity_method(
                    PublishActivities.publish_domain_events,
                    DomainEventBatch(events=events),
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=_PUBLISH_RETRY,
                )
        finally:
            self._publishing -= 1

    async def _answer_clocks(self, clocks: Clocks) -> None:
        for rule in clocks.meets:
            await self.close_deadline(rule, key=None)
        for rule in clocks.cancels:
            await self.close_deadline(rule, key=None, cancelled=True)

    async def _start_clocks(self, clocks: Clocks) -> None:
        for clock in clocks.starts:
            if not clock.by_handler:
                await self.start_clock(clock)

    async def start_clock(
        self, clock: Clock | str, *, key: str = "", start: datetime | None = None, party: str | None = None
    ) -> DeadlineState:
        """Start a time limit as the definition declares it: its party is the holder of the
        clock's case role and a breach is told to the holders of its escalation roles.

        A handler starts a clock itself (by rule name) only where a table cannot say it: several
        of one rule (``key``, one opinion per party), a start the workflow computes, or a party
        that is whoever the step names (``party``).
        """
        declared = clock if isinstance(clock, Clock) else self.DEFINITION.clock(clock)
        if declared is None:
            raise ValueError(f"{clock}: no outcome of {self.DEFINITION.name} starts this time limit")
        holder = party
        if holder is None and declared.party is not None:
            holder = next((a for a in self.holders(declared.party) if a), None)
        told = tuple(dict.fromkeys(a for role in declared.escalate_to for a in self.holders(role) if a))
        return await self.open_deadline(declared.rule, party=holder, escalate_to=told, key=key, start=start)

    async def open_deadline(
        self,
        rule_name: str,
        *,
        party: str | None,
        escalate_to: tuple[str, ...] = (),
        key: str = "",
        start: datetime | None = None,
    ) -> DeadlineState:
        """Start the clock of a time limit for ``party`` and announce it.

        The period counts from the rule's anchor (:attr:`deadlines.Rule.anchor`) on the agency
        event being taken, or from ``start`` where the legal start is a date the workflow holds
        (a review cycle's anniversary, a paused review's remaining budget). A period that has
        already run out when the event is taken (an agency that reports late) is breached at
        once, with its true due date, and escalated; no warning is sent for it.

        ``key`` distinguishes several deadlines of one rule (one opinion per party...).
        """
        rule = self._rules[rule_name]
        starts_at = start if start is not None else self._anchor_time(rule)
        due = dl.compute_due(starts_at, rule, self._calendar)
        deadline_id = f"{rule_name}:{key}" if key else rule_name
        if deadline_id in self.s.deadlines:
            deadline_id = f"{deadline_id}#{self.s.seq + 1}"
        info = DeadlineInfo(
            deadline_id=deadline_id,
            rule=rule_name,
            label_zh=rule.label_zh,
            label_en=rule.label_en,
            source=rule.source,
            party=party,
            starts_at=starts_at,
            due_at=due.due_at,
            # A reminder is the warning itself; nothing is "about to be breached".
            warn_at=None if rule.nature is dl.Nature.REMINDER else due.warn_at,
            counting=str(rule.counting),
            length=rule.length,
            provisional=due.provisional,
            status=DeadlineStatus.OPEN,
            escalate_to=escalate_to,
            nature=str(rule.nature),
            anchor=rule.anchor,
        )
        state = DeadlineState(info=info, key=key)
        self.s.deadlines[deadline_id] = state
        await self.emit("deadline.set", kind=EntryKind.DEADLINE, deadline=info)
        if due.due_at <= workflow.now():
            state.warned = True
            await self._fall_due(state)
        else:
            self._watch(deadline_id)
        return state

    def _anchor_time(self, rule: dl.Rule) -> datetime:
        """The moment ``rule`` counts from, read off the agency event being taken."""
        env = self._cause
        if env is None:
            # A step of the workflow's own (a coordinator's Update, a timer) happens as it runs.
            return workflow.now()
        if rule.anchor == dl.ANCHOR_OCCURRED_AT:
            return env.occurred_at
        value = env.payload.get(rule.anchor)
        if value is None:
            return env.occurred_at
        return _as_instant(value)

    async def close_deadline(
        self, rule_name: str, *, key: str | None = "", cancelled: bool = False, at: datetime | None = None
    ) -> None:
        """The step the deadline waited for happened at ``at`` (default: :meth:`step_time`), or
        the deadline no longer applies (``key`` None: every live deadline of the rule, whatever
        its key, as a definition's clocks close them).

        Whether the step was late is judged by when it happened against the due date, not by
        what the workflow's timer saw: a step done in time but reported after the due date
        withdraws the breach, and one done late is breached (if it was not already) and then
        met late, with how late.
        """
        when = at if at is not None else self.step_time()
        for d in self.s.deadlines.values():
            if d.info.rule != rule_name or (key is not None and d.key != key):
                continue
            if cancelled:
                await self._cancel(d, WAITING)
                continue
            if d.info.status not in _ANSWERABLE:
                continue
            late_by = (when - d.info.due_at).total_seconds()
            late = late_by >= 0 and d.info.nature != dl.Nature.REMINDER
            if late and d.info.status == DeadlineStatus.OPEN and d.info.nature == dl.Nature.DUTY:
                await self._fall_due(d)
            withdrawn = not late and d.info.status == DeadlineStatus.BREACHED
            d.info = d.info.model_copy(
                update={
                    "status": DeadlineStatus.MET,
                    "met_at": when,
                    "late_seconds": int(late_by) if late else 0,
                }
            )
            payload: dict[str, Any] = {"late": late, "late_seconds": int(late_by) if late else 0}
            if withdrawn:
                payload["breach_withdrawn"] = True
            await self.emit(
                "deadline.met", kind=EntryKind.DEADLINE, deadline=d.info, payload=payload, at=when
            )
            if withdrawn:
                # The supervisors were told of a breach that the step's own date disproves.
                await self._tell_supervisors("escalation.withdrawn", d, when)

    async def cancel_open_deadlines(self) -> None:
        """Cancel every deadline still waiting for its step (the case closed or took another path)."""
        for d in self.s.deadlines.values():
            await self._cancel(d, _LIVE)

    async def cancel_deadline(self, rule_name: str, *, key: str = "", of: tuple[DeadlineStatus, ...]) -> None:
        """Cancel the rule's deadline (of this key) if its status is one of ``of``: ``WAITING``
        for a step that became moot, ``WAITING + OVERDUE`` where a breach or lapse on record
        must not stand once the step it waited for will never come."""
        for d in self.s.deadlines.values():
            if d.info.rule == rule_name and d.key == key:
                await self._cancel(d, of)

    async def _cancel(self, d: DeadlineState, of: tuple[DeadlineStatus, ...]) -> None:
        if d.info.status in of:
            d.info = d.info.model_copy(update={"status": DeadlineStatus.CANCELLED})
            await self.emit("deadline.cancelled", kind=EntryKind.DEADLINE, deadline=d.info)

    def deadline(self, rule_name: str, key: str = "") -> DeadlineState | None:
        """The newest deadline of a rule (and key), if any."""
        found = None
        for d in self.s.deadlines.values():
            if d.info.rule == rule_name and d.key == key:
                found = d
        return found

    async def close(
        self, state: str, *, actor: str | None = None, payload: dict[str, Any] | None = None
    ) -> None:
        """End the process in ``state``: cancel what still runs, announce it, and return."""
        self.transition(state)
        await self.cancel_open_deadlines()
        self.s.closed = True
        await self.emit("case.closed", actor=actor, payload={"state": state, **(payload or {})})

    def _remember(self, event_id: str) -> None:
        self.s.seen.append(event_id)
        if len(self.s.seen) > MAX_SEEN_IDS:
            del self.s.seen[: len(self.s.seen) - MAX_SEEN_IDS]

    # ----- deadline watchers ------------------------------------------------------------------

    def _watch(self, deadline_id: str) -> None:
        asyncio.create_task(self._watch_deadline(deadline_id), name=f"deadline:{deadline_id}")

    async def _watch_deadline(self, deadline_id: str) -> None:
        while True:
            d = self.s.deadlines[deadline_id]
            if d.info.status != DeadlineStatus.OPEN:
                return
            version = d.version
            if d.info.warn_at is not None and not d.warned:
                if await self._until(d.info.warn_at, deadline_id, version):
                    async with self._lock:
                        if self._still(deadline_id, version):
                            d.warned = True
                            await self.emit("deadline.warning", kind=EntryKind.DEADLINE, deadline=d.info)
                continue
            if await self._until(d.info.due_at, deadline_id, version):
                async with self._lock, self.batch():
                    if self._still(deadline_id, version):
                        await self._fall_due(d)
                return

    async def _fall_due(self, d: DeadlineState) -> None:
        """The period ran out without its step: a duty is breached and escalated, a window
        lapses, a reminder is sent. Dated at the true due date, whenever it is recorded, and so
        is what the process's hook does about it."""
        previous, self._falling_due = self._falling_due, d.info.due_at
        try:
            await self._record_fall_due(d)
        finally:
            self._falling_due = previous

    async def _record_fall_due(self, d: DeadlineState) -> None:
        at = d.info.due_at
        nature = d.info.nature
        if nature == dl.Nature.WINDOW:
            d.info = d.info.model_copy(update={"status": DeadlineStatus.LAPSED})
            await self.emit("deadline.lapsed", kind=EntryKind.DEADLINE, deadline=d.info, at=at)
            await self.on_lapse(d)
            return
        if nature == dl.Nature.REMINDER:
            d.info = d.info.model_copy(update={"status": DeadlineStatus.REMINDED})
            await self.emit("deadline.reminder", kind=EntryKind.DEADLINE, deadline=d.info, at=at)
            await self.on_reminder(d)
            return
        d.info = d.info.model_copy(update={"status": DeadlineStatus.BREACHED})
        await self.emit("deadline.breached", kind=EntryKind.DEADLINE, deadline=d.info, at=at)
        await self._tell_supervisors("escalation.raised", d, at)
        await self.on_breach(d)

    async def _tell_supervisors(self, event_type: str, d: DeadlineState, at: datetime) -> None:
        """One escalation event per supervisor named by the deadline."""
        for target in d.info.escalate_to:
            await self.emit(
                event_type,
                kind=EntryKind.ESCALATION,
                deadline=d.info,
                payload={"target": target, "rule": d.info.rule, "party": d.info.party},
                at=at,
            )

    def _still(self, deadline_id: str, version: int) -> bool:
        d = self.s.deadlines[deadline_id]
        return d.info.status == DeadlineStatus.OPEN and d.version == version

    async def _until(self, when: datetime, deadline_id: str, version: int) -> bool:
        """Sleep until ``when``; False if the deadline closed or was recomputed meanwhile."""
        remaining = (when - workflow.now()).total_seconds()
        if remaining <= 0:
            return True
        try:
            await workflow.wait_condition(
                lambda: not self._still(deadline_id, version) or self.s.closed, timeout=remaining
            )
        except TimeoutError:
            return True
        return False


# Still waiting for its step, not yet due.
WAITING = (DeadlineStatus.OPEN, DeadlineStatus.REMINDED)
# Past its due date with its step not done: a duty breached, a right lapsed.
OVERDUE = (DeadlineStatus.BREACHED, DeadlineStatus.LAPSED)
# A duty whose step may still come, in time or late.
_LIVE = (*WAITING, DeadlineStatus.BREACHED)
# A window that lapsed can still be used late (the request is accepted and marked late).
_ANSWERABLE = (*_LIVE, DeadlineStatus.LAPSED)


def _as_instant(value: Any) -> datetime:
    """A payload date as an aware instant: a datetime as given, a bare date as its 00:00 in
    Shanghai (the legal day it names)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=dl.SHANGHAI)
    else:
        text = str(value)
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=dl.SHANGHAI)
        moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dl.SHANGHAI)


def _refused(refusal: Refusal) -> ApplicationError:
    return ApplicationError(
        refusal.reason,
        {"field": refusal.field, "reason": refusal.reason},
        type=REFUSED_ERROR_TYPE,
        non_retryable=True,
    )


def _schedules(items: tuple[YearScheduleIn, ...]) -> dict[int, dl.YearSchedule]:
    return {
        s.year: dl.parse_year_schedule(
            {"year": s.year, "holidays": list(s.holidays), "workdays": list(s.workdays)}
        )
        for s in items
    }
