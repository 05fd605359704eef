"""What ``tubeq ask`` answers with: the numbered passages and the answer resting on them.

Apart from ``shared.ask`` (how a question is answered) so that the ``Answerer`` port
(``shared.ports.search``) can name them without importing the feature that uses the port.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from shared.artifacts import watch_url
from shared.errors import InvalidInput
from shared.models import Usage

#: the answer when the passages do not hold one
NOT_IN_VIDEOS = "not in the videos"


class Passage(BaseModel):
    """One numbered source of an answer: a transcript passage and where it is spoken."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: int = Field(ge=1)
    video_id: str
    title: str | None = None
    channel_title: str | None = None
    at_s: int = Field(ge=0)
    text: str

    @property
    def url(self) -> str:
        return watch_url(self.video_id, self.at_s)

    def as_json(self) -> dict[str, object]:
        return self.model_dump(mode="json") | {"url": self.url}


class Answer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    question: str
    #: the answer, or ``NOT_IN_VIDEOS``; offline, a line saying the passages are the answer
    answer: str
    #: False when the passages do not answer the question (or none were found)
    found: bool
    #: the passage numbers the answer rests on
    cited: list[int] = Field(default_factory=list)
    passages: list[Passage] = Field(default_factory=list)
    #: True when no model wrote it: the answer is the best passages themselves
    extractive: bool = False
    answered_by: str
    model: str | None = None
    usage: Usage = Field(default_factory=Usage)

    def sources(self) -> list[Passage]:
        """The cited passages, in the order cited (all of them when none is cited)."""
        by_number = {p.number: p for p in self.passages}
        cited = [by_number[n] for n in self.cited if n in by_number]
        return cited or ([] if not self.found else list(self.passages))

    def as_json(self) -> dict[str, object]:
        data = self.model_dump(mode="json", exclude={"passages"})
        return data | {"passages": [p.as_json() for p in self.passages]}


def tidy_question(question: str) -> str:
    """The question with each run of spaces, tabs and line breaks one space (what the model
    is asked and the answer repeats); nothing left is ``InvalidInput``."""
    tidy = " ".join(question.split())
    if not tidy:
        raise InvalidInput("the question is empty: ask something about the videos")
    return tidy


def checked_question(question: str, passages: Sequence[Passage]) -> str:
    """What every ``Answerer`` checks before it answers (before any paid call): the tidied
    question, and passages numbered 1..n in order; a citation is a passage's number, so with
    a gap or a repeat it could name the wrong passage."""
    numbers = [p.number for p in passages]
    if numbers != list(range(1, len(numbers) + 1)):
        raise InvalidInput(
            f"the passages must be numbered 1..{len(numbers)} in order, not {numbers}"
        )
    return tidy_question(question)


def not_in_videos(question: str, answered_by: str) -> Answer:
    """The answer when there is no passage to answer from (no model is asked)."""
    return Answer(question=question, answer=NOT_IN_VIDEOS, found=False, answered_by=answered_by)
