"""The offline ``shared.ports.Answerer``: no model writes an answer; the passages that best
match the question are the answer, best first, labelled as extractive so no reader takes
them for a written one. Free, so ``tubeq ask`` works with no account."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from shared.adapter_settings import ExtractiveSettings
from shared.answers import Answer, Passage, checked_question, not_in_videos


class ExtractiveAnswerer:
    name = "extractive"

    @classmethod
    def from_settings(cls, section: ExtractiveSettings) -> Self:
        return cls()

    def answer(self, question: str, passages: Sequence[Passage]) -> Answer:
        question = checked_question(question, passages)
        if not passages:
            return not_in_videos(question, self.name)
        return Answer(
            question=question,
            answer="the passages that best match the question, best first (no model wrote this)",
            found=True,
            cited=[p.number for p in passages],
            passages=list(passages),
            extractive=True,
            answered_by=self.name,
        )

    def close(self) -> None:
        """Nothing to release."""
