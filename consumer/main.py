"""Wiring a consumer from settings, and its signal handling (an entry point, not the core)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

from consumer.pipeline import Pipeline
from consumer.runner import MessageResult, Runner, RunnerConfig
from shared import factory
from shared.logging import get_logger
from shared.ports import Queue
from shared.retry_policy import RetryPolicy
from shared.settings import Settings

log = get_logger("tubeq.consumer")


@dataclass
class Consumer:
    runner: Runner
    queue: Queue
    pipeline: Pipeline

    def close(self) -> None:
        self.queue.close()
        self.pipeline.results.close()
        for part in (self.pipeline.analyzer, self.pipeline.artifacts, self.pipeline.transcripts):
            close = getattr(part, "close", None)
            if callable(close):
                close()


def build_consumer(
    settings: Settings, on_result: Callable[[MessageResult], None] | None = None
) -> Consumer:
    queue = factory.build_queue(settings)
    results = factory.build_results(settings)
    pipeline = Pipeline(
        transcripts=factory.build_transcript_source(settings),
        analyzer=factory.build_analyzer(settings),
        results=results,
        artifacts=factory.build_artifacts(settings),
        video_fallback=settings.gemini_video_fallback,
        claim_ttl_s=settings.visibility_timeout_s,
    )
    runner = Runner(
        queue=queue,
        process=pipeline.process,
        results=results,
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
    )
    return Consumer(runner=runner, queue=queue, pipeline=pipeline)


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
