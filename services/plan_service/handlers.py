"""One handler per command, called by every entry point (HTTP and Kafka submissions alike).

A handler loads the stream, replays a retried command's first result instead of acting twice,
checks the caller's expected version, asks the aggregate to decide, and saves. Writers of the
same stream in this process are serialised by a striped lock; writers in other processes are
caught by the event store's (stream, version) key and retried on fresh state.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, cast
from uuid import UUID, uuid5

import psycopg
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError
from prometheus_client import Histogram

from contracts import commands as c
from contracts.common import CommandPayload, StreamType
from services.common.key_vault import KeyVault, PersonErased
from services.plan_service.domain.errors import (
    Erased,
    NotFound,
    RuleViolation,
    ServiceUnavailable,
    VersionConflict,
)
from services.plan_service.domain.incident import UseOfForceIncident
from services.plan_service.domain.plan import SafetyPlan
from services.plan_service.domain.recording import CommandContext, EnvelopeAggregate
from services.plan_service.person_index import PersonIndex
from services.plan_service.store import PlanStore, stored_envelopes

BATCH_SIZE = Histogram(
    "plan_commands_per_transaction",
    "Commands saved in one event-store transaction (group commit)",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200),
)
NEW_STREAM_NAMESPACE = UUID("5a6e7c1e-3b1d-4c2a-9d7e-0c0ffee0a11d")


@dataclass(frozen=True)
class EventRef:
    event_id: UUID
    event_type: str
    stream_version: int
    hash: str


@dataclass(frozen=True)
class CommandResult:
    """What a command produced; the same for the first call and every retry of it."""

    stream_type: StreamType
    stream_id: UUID
    stream_version: int
    events: list[EventRef]
    created: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False


def new_stream_id(command_id: UUID) -> UUID:
    """The id of a stream a command creates, derived from the command so a retry finds it."""
    return uuid5(NEW_STREAM_NAMESPACE, str(command_id))


class PlanCommands:
    def __init__(self, store: PlanStore, index: PersonIndex, vault: KeyVault) -> None:
        self.store = store
        self.index = index
        self.vault = vault
        self._batch: dict[UUID, Any] = {}
        self._writer = _Writer(self.run_batch)
        self._handlers: dict[type[CommandPayload], Callable[..., object]] = {
            c.InviteParticipantV1: SafetyPlan.invite,
            c.RecordJoinV1: SafetyPlan.join,
            c.MakeContributionV1: SafetyPlan.contribute,
            c.ProposeVersionV1: SafetyPlan.propose_version,
            c.GiveAgreementV1: SafetyPlan.agree,
            c.RecordDissentV1: SafetyPlan.dissent,
            c.RespondToDissentV1: SafetyPlan.respond_to_dissent,
            c.SharePlanV1: SafetyPlan.share,
            c.ClosePlanV1: SafetyPlan.close,
            c.AmendIncidentV1: UseOfForceIncident.amend,
            c.RecordPostIncidentReviewV1: UseOfForceIncident.record_review,
        }

    # --- the one door ------------------------------------------------------------------------
    def execute(
        self,
        payload: CommandPayload,
        ctx: CommandContext,
        stream_id: UUID | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Apply one command; raises DomainError subclasses (field + rule) when refused.

        Commands from every thread are queued to one writer, which decides a batch of them on
        cached aggregates and saves the batch in ONE event-store transaction (group commit).
        """
        item = _Item(
            payload, ctx, self._target(payload, ctx, stream_id, expected_version), expected_version
        )
        self._writer.submit(item)
        return item.wait()

    async def execute_async(
        self,
        payload: CommandPayload,
        ctx: CommandContext,
        stream_id: UUID | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """`execute` for the event loop: awaits the writer instead of parking a thread on it."""
        item = _Item(
            payload, ctx, self._target(payload, ctx, stream_id, expected_version), expected_version
        )
        item.notify(asyncio.get_running_loop())
        self._writer.submit(item)
        return await item.wait_async()

    def _target(
        self,
        payload: CommandPayload,
        ctx: CommandContext,
        stream_id: UUID | None,
        expected: int | None,
    ) -> UUID:
        if isinstance(payload, c.StartPlanV1 | c.RecordIncidentV1):
            if expected not in (None, 0):
                raise VersionConflict("expected_version", "new_stream", "a new stream is at 0")
            return stream_id or new_stream_id(ctx.command_id)
        if stream_id is None:
            raise RuleViolation("stream_id", "required", "this command needs its stream id")
        return stream_id

    # --- the writer's side -------------------------------------------------------------------
    def close(self) -> None:
        self._writer.close()

    def run_batch(self, items: list[_Item], *, alone: bool = False) -> None:
        """Decide every item, save all changed aggregates at once, then answer each item.

        When the batch cannot be saved (another process wrote one of its streams first, or a
        database error), every aggregate it touched is dropped from the cache and each item is
        retried alone, so one conflict costs one command, not the batch.
        """
        self._batch = {}
        self._drop_stale({item.stream_id for item in items})
        decided: list[tuple[_Item, CommandResult | BaseException]] = []
        for item in items:
            try:
                decided.append((item, self._decide(item)))
            except Exception as exc:  # refused: rules raise before any state changes
                decided.append((item, _unavailable(exc)))  # a database error here is a 503
        changed = [agg for agg in self._batch.values() if agg.pending_events]
        touched, self._batch = list(self._batch), {}
        try:
            if changed:
                self.store.save(*changed)
        except Exception as exc:
            for stream_id in touched:
                self._evict(stream_id)
            if alone:
                items[0].finish(exc)
            else:
                for item in items:
                    self._run_alone(item)
            return
        for item, outcome in decided:
            item.finish(outcome)

    def _run_alone(self, item: _Item) -> None:
        for _ in range(3):
            probe = _Item(item.payload, item.ctx, item.stream_id, item.expected)
            self.run_batch([probe], alone=True)
            if not isinstance(probe.outcome, IntegrityError):
                item.finish(_unavailable(probe.outcome))
                return
        item.finish(VersionConflict("stream_id", "concurrent_write", "the stream changed; retry"))

    def _decide(self, item: _Item) -> CommandResult:
        payload, ctx, stream_id = item.payload, item.ctx, item.stream_id
        if isinstance(payload, c.StartPlanV1):
            return self._start_plan(payload, self._keyed(ctx, payload.person.person_id), stream_id)
        if isinstance(payload, c.RecordIncidentV1):
            ctx = self._keyed(ctx, payload.patient.person_id)
            return self._record_incident(payload, ctx, stream_id)
        stream_cls = (
            UseOfForceIncident if payload.STREAM_TYPE == "use_of_force_incident" else SafetyPlan
        )
        agg = self._load(stream_cls, stream_id)
        replay = self._replayed(agg, ctx)
        if replay is not None:
            return replay
        ctx = self._keyed(ctx, cast(Any, agg).person_id)
        if item.expected is not None and item.expected != agg.version:
            raise VersionConflict(
                "expected_version", "matches_stream_version", "the stream has moved on"
            )
        before = len(agg.pending_events)
        if isinstance(payload, c.ScheduleReviewV1 | c.CompleteReviewV1):
            assert isinstance(agg, SafetyPlan)
            linked = self._incident_plan(payload.incident_id)
            method: Callable[..., object] = (
                SafetyPlan.schedule_review
                if isinstance(payload, c.ScheduleReviewV1)
                else SafetyPlan.complete_review
            )
            method(agg, payload, ctx, linked)
        else:
            self._handlers[type(payload)](agg, payload, ctx)
        return self._decided(agg, before)

    # --- stream-creating commands ------------------------------------------------------------
    def _start_plan(self, cmd: c.StartPlanV1, ctx: CommandContext, plan_id: UUID) -> CommandResult:
        existing = self._existing(SafetyPlan, plan_id, ctx)
        if existing is not None:
            return existing
        self.index.add(cmd.person.person_id, plan_id)  # before the save: a dangling row is harmless
        plan = SafetyPlan.start(plan_id, cmd, ctx)
        self._batch[plan_id] = plan
        return self._decided(plan, 0)

    def _record_incident(
        self, cmd: c.RecordIncidentV1, ctx: CommandContext, incident_id: UUID
    ) -> CommandResult:
        existing = self._existing(UseOfForceIncident, incident_id, ctx)
        if existing is not None:
            return existing
        plan_id, version = self.plan_in_force(cmd.patient.person_id, cmd.started_at)
        incident = UseOfForceIncident.record(incident_id, cmd, ctx, plan_id, version)
        self._batch[incident_id] = incident
        return self._decided(incident, 0)

    def plan_in_force(self, person_id: str, at: Any) -> tuple[UUID | None, int | None]:
        """The person's plan and its version in force at ``at`` (s.6(5)(d), from history).

        Among the person's plans, the one whose latest version agreed by then is the most recent
        agreement wins; a plan with no agreed version by then is not in force.
        """
        best: tuple[Any, UUID, int] | None = None
        for plan_id in self.index.plans_of(person_id):
            try:
                plan: object = self._fresh(plan_id)
            except AggregateNotFoundError:
                continue  # an index row whose save never happened
            assert isinstance(plan, SafetyPlan)
            number = plan.version_in_force(at)
            if number is None:
                continue
            agreed_at = max(t for t in plan.versions[number].agreed_by.values() if t <= at)
            if best is None or agreed_at > best[0]:
                best = (agreed_at, plan_id, number)
        return (best[1], best[2]) if best else (None, None)

    # --- helpers -----------------------------------------------------------------------------
    def _keyed(self, ctx: CommandContext, person_id: str) -> CommandContext:
        """The context with the patient's data key; an erased person's records take no more."""
        try:
            return replace(ctx, data_key=self.vault.data_key(person_id))
        except PersonErased:
            raise Erased(
                "person_id", "not_erased", "this person's data was erased; nothing can be added"
            ) from None

    def _get(self, stream_id: UUID) -> object:
        """The aggregate as this batch sees it (with the batch's unsaved events)."""
        found = self._batch.get(stream_id)
        if found is None:
            found = self.store.repository.get(stream_id, deepcopy_from_cache=False)
            self._batch[stream_id] = found
        return found

    def _fresh(self, stream_id: UUID) -> object:
        """The aggregate with every stored event applied, even ones other processes wrote."""
        agg: Any = self._get(stream_id)
        for event in self.store.repository.event_store.get(stream_id, gt=agg.version):
            cast(Any, event).mutate(agg)
        return agg

    def _drop_stale(self, stream_ids: set[UUID]) -> None:
        """Bring cached aggregates up to date with what other processes wrote since (one query
        per batch, then one per stale stream for just its new events).

        Without it a stale cache entry is still caught by the (stream, version) key, but only
        after a failed save and a retry; with several API processes that would be the rule.
        Evicting instead of catching up made every such command replay its whole stream.
        """
        cache = self.store.repository.cache
        if cache is None:
            return
        cached: dict[UUID, int] = {}
        for stream_id in stream_ids:
            with contextlib.suppress(KeyError):
                cached[stream_id] = cache.get(stream_id).version
        if not cached:
            return
        with self.index.pool.connection() as conn:
            rows = conn.execute(
                "SELECT originator_id, max(originator_version) FROM planstore_events "
                "WHERE originator_id = ANY(%s) GROUP BY originator_id",
                (list(cached),),
            ).fetchall()
        stored = {row[0]: row[1] for row in rows}
        for stream_id, version in cached.items():
            newest = stored.get(stream_id, version)
            if newest > version:
                self._catch_up(stream_id, newest)
            elif newest != version:
                self._evict(stream_id)

    def _catch_up(self, stream_id: UUID, newest: int) -> None:
        """Apply the events another process stored after the cached version, else evict."""
        cache = self.store.repository.cache
        assert cache is not None
        try:
            agg: Any = cache.get(stream_id)
            for event in self.store.repository.event_store.get(stream_id, gt=agg.version):
                cast(Any, event).mutate(agg)
            caught_up = agg.version >= newest
        except Exception:  # anything odd: the next read loads the stream from the store
            caught_up = False
        if not caught_up:
            self._evict(stream_id)

    def _evict(self, stream_id: UUID) -> None:
        """Drop a cached aggregate that may hold state that was never saved."""
        cache = self.store.repository.cache
        if cache is not None:
            with contextlib.suppress(KeyError):
                cache.get(stream_id, evict=True)

    def _existing(
        self, cls: type[EnvelopeAggregate], stream_id: UUID, ctx: CommandContext
    ) -> CommandResult | None:
        try:
            agg = self._get(stream_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(agg, cls):
            raise RuleViolation("stream_id", "stream_type", "the id belongs to another kind")
        replay = self._replayed(agg, ctx)
        if replay is None:
            raise VersionConflict("stream_id", "stream_exists", "a stream with this id exists")
        return replay

    def _load(self, cls: type[EnvelopeAggregate], stream_id: UUID) -> EnvelopeAggregate:
        try:
            agg = self._get(stream_id)
        except AggregateNotFoundError:
            raise NotFound("stream_id", "stream_exists", "no such plan or incident") from None
        if not isinstance(agg, cls):
            raise NotFound("stream_id", "stream_exists", "no such plan or incident")
        return agg

    def _incident_plan(self, incident_id: UUID | None) -> UUID | None:
        if incident_id is None:
            return None
        try:
            incident = self._get(incident_id)
        except AggregateNotFoundError:
            raise NotFound("payload.incident_id", "incident_exists", "no such incident") from None
        if not isinstance(incident, UseOfForceIncident):
            raise NotFound("payload.incident_id", "incident_exists", "no such incident")
        return incident.plan_id

    def _replayed(self, agg: EnvelopeAggregate, ctx: CommandContext) -> CommandResult | None:
        versions = agg.already_done(ctx)
        if versions is None:
            return None
        unsaved = {
            env["stream_version"]: env
            for env in (cast(Any, e).envelope for e in agg.pending_events)
        }
        wanted = [v for v in versions if v not in unsaved]
        stored = (
            {
                e.stream_version: e.model_dump(mode="json")
                for e in stored_envelopes(self.store, agg.id, upto_version=max(versions))
                if e.stream_version in wanted
            }
            if wanted
            else {}
        )
        envelopes = [unsaved.get(v) or stored[v] for v in versions]
        return _result(agg.STREAM_TYPE, agg.id, envelopes, replayed=True)

    def _decided(self, agg: EnvelopeAggregate, before: int) -> CommandResult:
        self._batch[agg.id] = agg
        envelopes = [cast(Any, e).envelope for e in agg.pending_events[before:]]
        return _result(agg.STREAM_TYPE, agg.id, envelopes, replayed=False)


class _Item:
    """One queued command and, once the writer is done, its outcome."""

    def __init__(
        self, payload: CommandPayload, ctx: CommandContext, stream_id: UUID, expected: int | None
    ) -> None:
        self.payload, self.ctx, self.stream_id, self.expected = payload, ctx, stream_id, expected
        self.outcome: CommandResult | BaseException | None = None
        self._done = threading.Event()
        self._future: asyncio.Future[None] | None = None

    def notify(self, loop: asyncio.AbstractEventLoop) -> None:
        """Also wake an awaiting coroutine on ``loop`` when the writer is done."""
        self._future = loop.create_future()

    def finish(self, outcome: CommandResult | BaseException | None) -> None:
        self.outcome = outcome
        self._done.set()
        future = self._future
        if future is not None:
            future.get_loop().call_soon_threadsafe(_resolve, future)

    async def wait_async(self, timeout: float = 60.0) -> CommandResult:
        assert self._future is not None
        try:
            await asyncio.wait_for(asyncio.shield(self._future), timeout)
        except TimeoutError:
            raise ServiceUnavailable(
                "command", "decided_in_time", "the writer is overloaded"
            ) from None
        return self.wait(0)

    def wait(self, timeout: float = 60.0) -> CommandResult:
        if not self._done.wait(timeout):
            raise ServiceUnavailable("command", "decided_in_time", "the writer is overloaded")
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        assert self.outcome is not None
        return self.outcome


class _Writer:
    """One thread that takes whatever commands are queued (up to ``max_batch``) as one batch."""

    def __init__(self, run_batch: Callable[[list[_Item]], None], max_batch: int = 200) -> None:
        self.run_batch = run_batch
        self.max_batch = max_batch
        self.queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, item: _Item) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="command-writer", daemon=True
                )
                self._thread.start()
        self.queue.put(item)

    def close(self) -> None:
        if self._thread is not None:
            self.queue.put(None)
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while True:
            first = self.queue.get()
            if first is None:
                return
            items = [first]
            while len(items) < self.max_batch:
                try:
                    nxt = self.queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self.queue.put(None)
                    break
                items.append(nxt)
            BATCH_SIZE.observe(len(items))
            try:
                self.run_batch(items)
            except BaseException as exc:  # never leave a caller waiting
                for item in items:
                    if item.outcome is None:
                        item.finish(_unavailable(exc))


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _unavailable(outcome: Any) -> Any:
    """Database failures become a clear 503; anything else is passed through unchanged."""
    if isinstance(outcome, OperationalError | InterfaceError | psycopg.OperationalError):
        return ServiceUnavailable("event_store", "available", "the event store is unavailable")
    return outcome


CREATED_FIELDS = ("contribution_id", "dissent_id", "version_number", "amendment_number")


def _result(
    stream_type: StreamType,
    stream_id: UUID,
    envelopes: list[dict[str, Any]],
    replayed: bool,
) -> CommandResult:
    """The result from the recorded envelopes (JSON-mode dicts, as stored)."""
    created: dict[str, Any] = {}
    for env in envelopes:
        for name in CREATED_FIELDS:
            if name in env["payload"]:
                created[name] = env["payload"][name]
    return CommandResult(
        stream_type=stream_type,
        stream_id=stream_id,
        stream_version=max(e["stream_version"] for e in envelopes),
        events=[
            EventRef(UUID(e["event_id"]), e["event_type"], e["stream_version"], e["hash"])
            for e in envelopes
        ],
        created=created,
        replayed=replayed,
    )
