"""Wiring a consumer from settings, its pre-flight, and its signal handling (an entry
point, not the core).

The pre-flight runs ``tubeq doctor``'s checks of the services a consumer uses (result
store, artifact store, analyzer key, queue access) before the first pull:

- a refused credential or a wrong setting stops it at once, nothing leased: ``tubeq
  consume`` exits 4 with the failing checklist lines. Discovered while processing, the
  same fault would push every message it touched one attempt closer to the DLQ on each
  container restart.
- a service that is only unreachable (down, overloaded, timing out) is waited for, with
  exponential backoff, for up to ``TUBEQ_PREFLIGHT_WAIT_S``; still down then, the consumer
  exits ``EXIT_UNAVAILABLE`` (75, EX_TEMPFAIL: try again later), again with nothing
  leased, so the supervisor's restart simply tries again. A signal ends the wait cleanly.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from consumer.handlers.base import Handler, HandlerRegistry
from consumer.handlers.batch import batch_handlers
from consumer.handlers.batch_config import BatchConfig
from consumer.handlers.embed import EmbedAfterAnalysis, EmbedHandler, Process
from consumer.handlers.video import VideoHandler
from consumer.journal import FileReplyJournal
from consumer.pipeline import Pipeline
from consumer.presence import Presence
from consumer.runner import MessageResult, Preflight, Runner, RunnerConfig
from consumer.spend import DeferredLedger
from consumer.template_pipeline import TemplatePipeline, TemplateRouter
from shared import early_signals, factory
from shared.doctor import CONSUMER_SERVICES, CheckResult, run_checks
from shared.errors import TubeqError
from shared.logging import get_logger
from shared.ports import ConsumerRegistry, Queue
from shared.retry_policy import RetryPolicy
from shared.settings import Settings
from shared.templates.loader import load_templates

log = get_logger("tubeq.consumer")

#: longest pause between two pre-flight attempts
PREFLIGHT_MAX_DELAY_S = 30.0
#: exit status when the services stayed unreachable for TUBEQ_PREFLIGHT_WAIT_S (EX_TEMPFAIL)
EXIT_UNAVAILABLE = 75


class PreflightFailed(TubeqError):
    """A service the consumer needs refused its credentials or is misconfigured."""

    code = "preflight"
    systemic = True


def checklist(results: list[CheckResult]) -> str:
    """The failing lines, one per line, each with its fix."""
    return "\n".join(
        f"  ✘ {r.service}: {r.name} — {r.detail}" + (f"\n      fix: {r.fix}" if r.fix else "")
        for r in results
        if not r.ok
    )


def make_preflight(
    settings: Settings,
    *,
    wait_s: float | None = None,
    check: Callable[[Settings], list[CheckResult]] | None = None,
) -> Preflight:
    """The consumer's start-up check (see the module docstring); ``check`` is for tests."""
    run = check or (lambda s: run_checks(s, only=CONSUMER_SERVICES))
    wait_s = settings.preflight_wait_s if wait_s is None else wait_s

    def preflight(stop: threading.Event) -> None:
        deadline = time.monotonic() + wait_s
        delay = 1.0
        while True:
            failing = [r for r in run(settings) if not r.ok]
            if not failing:
                log.info("consumer.preflight_passed")
                return
            if any(not r.transient for r in failing):
                raise PreflightFailed(
                    "the pre-flight checks failed, nothing was leased:\n" + checklist(failing)
                )
            if stop.is_set():
                return  # stopping anyway; the runner will not pull
            if time.monotonic() + delay > deadline:
                _give_up(failing, wait_s)
            log.warning(
                "consumer.preflight_waiting",
                failing=[f"{r.service}: {r.name}" for r in failing],
                retry_in_s=delay,
            )
            if stop.wait(delay):
                return
            delay = min(delay * 2, PREFLIGHT_MAX_DELAY_S)

    return preflight


def _give_up(failing: list[CheckResult], wait_s: float) -> None:
    log.error("consumer.preflight_unavailable", waited_s=wait_s)
    print(
        f"error: services still unreachable after {wait_s:g} s, nothing was leased "
        f"(exit {EXIT_UNAVAILABLE}: try again later):\n{checklist(failing)}",
        file=sys.stderr,
        flush=True,
    )
    # Not exit 4: nothing needs fixing by hand, and a restart is the right response.
    raise SystemExit(EXIT_UNAVAILABLE)


@dataclass
class Consumer:
    runner: Runner
    queue: Queue
    pipeline: Pipeline
    #: what else the consumer opened (the batch store and client)
    closers: tuple[Callable[[], None], ...] = ()
    #: its row in the result store (the overview's running consumers), if the store keeps one
    presence: Presence | None = None

    def close(self) -> None:
        if self.presence is not None:
            self.presence.stop()  # a clean stop: the row goes, before the store closes
        for close in self.closers:
            close()
        self.queue.close()
        if self.pipeline.ledger is not None:
            self.pipeline.ledger.close()  # what the store could not take before
        self.pipeline.results.close()
        for part in (self.pipeline.analyzer, self.pipeline.artifacts, self.pipeline.transcripts):
            part.close()


def build_consumer(
    settings: Settings,
    on_result: Callable[[MessageResult], None] | None = None,
    *,
    preflight: Preflight | None = None,
) -> Consumer:
    """The consumer for these settings; its runner checks the services first (``preflight``,
    default ``make_preflight(settings)``)."""
    queue = factory.build_queue(settings)
    results = factory.build_results(settings)
    # every billed model call goes to the spend ledger in the result store, once the reply
    # is journaled (and via this machine's disk while the store is down)
    ledger = DeferredLedger(results, settings.journal_folder)
    pipeline = Pipeline(
        transcripts=factory.build_transcript_source(settings),
        analyzer=factory.build_analyzer(settings, ledger=ledger),
        ledger=ledger,
        results=results,
        artifacts=factory.build_artifacts(settings),
        video_fallback=settings.gemini_video_fallback,
        claim_ttl_s=settings.visibility_timeout_s,
        # a paid reply is on this disk before the store is asked to keep it
        journal=FileReplyJournal(settings.journal_folder),
    )
    closers: list[Callable[[], None]] = []
    # analysis templates (issue 13): a broken TUBEQ_TEMPLATES_DIR stops the start, not a job
    template_analyzer = factory.build_template_analyzer(settings, ledger=ledger)
    closers.append(template_analyzer.close)
    template_store = factory.build_template_results(settings)
    closers.append(template_store.close)
    templates = TemplatePipeline(
        transcripts=pipeline.transcripts,
        analyzer=template_analyzer,
        claims=results,
        store=template_store,
        artifacts=pipeline.artifacts,
        templates=load_templates(settings.templates_dir),
        ledger=ledger,
        claim_ttl_s=settings.visibility_timeout_s,
    )
    analyse: Process = TemplateRouter(pipeline.process, templates)
    extra: list[Handler[Any]] = []
    if settings.embedding_backend != "none":
        # semantic search (issue 13): each analysed video gets a video.embed job
        embedder = factory.build_embedder(settings)
        closers.append(embedder.close)
        vectors = factory.build_vectors(settings)
        closers.append(vectors.close)
        analyse = EmbedAfterAnalysis(analyse, queue)
        extra.append(EmbedHandler(vectors, embedder, ledger, flush=ledger.flush))
    handlers: list[Handler[Any]] = [VideoHandler(analyse, results), *extra]
    if settings.analyzer_backend == "gemini":
        # batch backfills (issue 12): their batches live in the result store (any of them)
        batches = factory.build_batch_store(settings)
        closers.append(batches.close)
        batch_analyzer = factory.build_batch_analyzer(settings)
        closers.append(batch_analyzer.close)
        handlers += batch_handlers(
            transcripts=pipeline.transcripts,
            artifacts=pipeline.artifacts,
            results=results,
            batches=batches,
            analyzer=batch_analyzer,
            queue=queue,
            config=BatchConfig.from_settings(settings),
        )
    # the overview's running consumers: a row refreshed by its own heartbeat, never per video
    presence = (
        Presence(results, settings.consumer_heartbeat_s)
        if isinstance(results, ConsumerRegistry)
        else None
    )
    checks = preflight or make_preflight(settings)
    runner = Runner(
        queue=queue,
        handlers=HandlerRegistry(handlers),
        policy=RetryPolicy(
            max_retries=settings.max_retries,
            base_s=settings.retry_base_s,
            cap_s=settings.retry_cap_s,
            jitter=settings.retry_jitter,
        ),
        config=RunnerConfig(
            batch_size=settings.batch_size,
            concurrency=settings.concurrency,
            visibility_timeout_s=settings.visibility_timeout_s,
            poll_interval_s=settings.poll_interval_s,
            shutdown_grace_s=settings.shutdown_grace_s,
        ),
        on_result=on_result,
        preflight=presence.after(checks) if presence is not None else checks,
    )
    if presence is not None:
        presence.watch(runner)
    return Consumer(
        runner=runner,
        queue=queue,
        pipeline=pipeline,
        closers=tuple(closers),
        presence=presence,
    )


def install_signal_handlers(runner: Runner) -> None:
    """First SIGTERM/SIGINT: stop pulling and finish in-flight work. Second: exit now."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        if runner.stopping:
            log.warning("consumer.exit_now", signal=signal.Signals(signum).name)
            # Leases of unfinished messages expire and the queue redelivers them.
            os._exit(128 + signum)
        log.info("consumer.signal", signal=signal.Signals(signum).name)
        runner.stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    early = early_signals.received()
    if early is not None:
        # stopped while starting up: nothing is leased yet, so this is a clean stop
        log.info("consumer.signal", signal=signal.Signals(early).name, during="start-up")
        runner.stop()
