"""The answerer contract: one suite every ``shared.ports.Answerer`` keeps.

An adapter's test module subclasses ``AnswererContract`` and provides a ``harness`` fixture
returning an ``AnswererHarness``: it builds the answerer on its backend (nothing for the
extractive one; the Gemini stub through the real google-genai client) and declares what the
answerer can do: whether an answer is a paid model call, and whether it judges the passages
(says "not in the videos" when they do not hold the answer) or hands them back as the answer.

The paid backend must behave like a model that reads the passages: it answers from the
passages that share a word with the question, and it is sloppy where a model can be (it cites
numbers that are no passage, twice, and cites something even when it found nothing), so the
adapter's reading of a reply is what the citation tests check.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import pytest

from shared import errors
from shared.answers import NOT_IN_VIDEOS, Answer, Passage
from shared.models import Usage
from shared.ports import Answerer, SpendLedger
from tests.support.spend_ledger import RecordingLedger

QUESTION = "Why must every queue consumer be idempotent?"
#: shares no word with ``PASSAGES``
UNANSWERED = "Who won the chess olympiad in Elista?"

PASSAGES = [
    Passage(
        number=1,
        video_id="ctVideo0001",
        title="Queues 101",
        channel_title="Infra talks",
        at_s=12,
        text="Delivery is at least once, so every consumer must be idempotent.",
    ),
    Passage(
        number=2,
        video_id="ctVideo0001",
        title="Queues 101",
        at_s=30,
        text="Retries use exponential backoff with jitter.",
    ),
    Passage(
        number=3,
        video_id="ctVideo0002",
        at_s=0,
        text="Leases expire on their own, so a killed worker never strands its messages.",
    ),
]


class AnswererHarness(Protocol):
    #: the answerer's ``name``
    name: str
    #: whether an answer is a billed model call (usage counted, priced and in the ledger)
    paid: bool
    #: whether it tells that the passages do not answer the question (``NOT_IN_VIDEOS``);
    #: one that cannot hands the passages back as the answer, labelled ``extractive``
    judges_passages: bool

    def make(self, ledger: SpendLedger | None = None) -> Answerer:
        """A new answerer on the harness's backend, recording its billed calls in ``ledger``."""
        ...

    def questions_asked(self) -> list[str]:
        """The question of every model call made so far, as the model was given it (an
        answerer that calls no model: always empty)."""
        ...


def numbers(passages: list[Passage]) -> set[int]:
    return {p.number for p in passages}


class AnswererContract:
    """Subclass as ``Test<Adapter>`` and provide a ``harness`` fixture."""

    @pytest.fixture
    def ledger(self) -> RecordingLedger:
        return RecordingLedger()

    @pytest.fixture
    def answerer(self, harness: AnswererHarness, ledger: RecordingLedger) -> Iterator[Answerer]:
        built = harness.make(ledger)
        yield built
        built.close()

    def test_implements_the_port(self, harness: AnswererHarness, answerer: Answerer) -> None:
        assert isinstance(answerer, Answerer)
        assert answerer.name == harness.name

    def test_an_answer_rests_on_the_passages_it_was_given(
        self, harness: AnswererHarness, answerer: Answerer
    ) -> None:
        answer = answerer.answer(QUESTION, PASSAGES)
        assert answer.question == QUESTION
        assert answer.answered_by == harness.name
        assert answer.passages == PASSAGES
        assert answer.found and answer.answer.strip() and answer.answer != NOT_IN_VIDEOS
        assert answer.cited and 1 in answer.cited  # the passage that says it
        assert answer.extractive is not harness.judges_passages

    def test_an_answer_cites_only_passages_that_exist_once_each(self, answerer: Answerer) -> None:
        # the paid backend cites 0, n + 1 and a number twice besides the real ones
        for given in (PASSAGES, PASSAGES[:1]):
            answer = answerer.answer(QUESTION, given)
            assert answer.cited
            assert set(answer.cited) <= numbers(given)
            assert len(answer.cited) == len(set(answer.cited))
            assert [p.number for p in answer.sources()] == answer.cited

    def test_passages_the_question_is_not_in(
        self, harness: AnswererHarness, answerer: Answerer
    ) -> None:
        answer = answerer.answer(UNANSWERED, PASSAGES)
        assert answer.passages == PASSAGES
        if harness.judges_passages:
            # the paid backend found nothing yet cited a passage: no source is claimed
            assert (answer.answer, answer.found, answer.cited) == (NOT_IN_VIDEOS, False, [])
            assert answer.sources() == []
        else:
            # not a claim that the passages answer it: they are handed back, labelled
            assert answer.extractive and "no model" in answer.answer
            assert answer.cited == [1, 2, 3]

    def test_no_passages_is_not_in_the_videos_without_a_call(
        self, harness: AnswererHarness, answerer: Answerer, ledger: RecordingLedger
    ) -> None:
        answer = answerer.answer(QUESTION, [])
        assert (answer.answer, answer.found, answer.cited) == (NOT_IN_VIDEOS, False, [])
        assert answer.passages == [] and answer.sources() == []
        assert answer.answered_by == harness.name and answer.question == QUESTION
        assert answer.usage.model_calls == 0 and answer.usage.cost_usd == 0
        assert ledger.calls_made == 0
        assert harness.questions_asked() == []

    @pytest.mark.parametrize("blank", ["", "   ", "\n\t "])
    def test_a_blank_question_is_refused_without_a_call(
        self,
        harness: AnswererHarness,
        answerer: Answerer,
        ledger: RecordingLedger,
        blank: str,
    ) -> None:
        with pytest.raises(errors.InvalidInput, match="question is empty"):
            answerer.answer(blank, PASSAGES)
        assert ledger.calls_made == 0
        assert harness.questions_asked() == []

    def test_the_question_is_answered_with_its_spacing_tidied(
        self, harness: AnswererHarness, answerer: Answerer
    ) -> None:
        answer = answerer.answer("  Why must every\tqueue consumer \n be  idempotent? ", PASSAGES)
        assert answer.question == QUESTION
        assert answer.found
        assert harness.questions_asked() == ([QUESTION] if harness.paid else [])

    @pytest.mark.parametrize("misnumbered", [[2, 3], [1, 3], [2, 1], [1, 1]])
    def test_passages_not_numbered_one_to_n_are_refused_without_a_call(
        self,
        harness: AnswererHarness,
        answerer: Answerer,
        ledger: RecordingLedger,
        misnumbered: list[int],
    ) -> None:
        # a citation is a passage's number: with gaps or repeats it could name the wrong one
        given = [
            p.model_copy(update={"number": n})
            for p, n in zip(PASSAGES[: len(misnumbered)], misnumbered, strict=True)
        ]
        with pytest.raises(errors.InvalidInput, match="numbered 1"):
            answerer.answer(QUESTION, given)
        assert ledger.calls_made == 0
        assert harness.questions_asked() == []

    def test_usage_matches_what_it_costs(
        self, harness: AnswererHarness, answerer: Answerer
    ) -> None:
        usage = answerer.answer(QUESTION, PASSAGES).usage
        if harness.paid:
            assert usage.model_calls == 1
            assert usage.prompt_tokens > 0 and usage.cost_usd > 0
        else:
            assert usage.model_calls == 0 and usage.cost_usd == 0

    def test_the_ledger_has_one_billed_call_per_paid_answer(
        self, harness: AnswererHarness, answerer: Answerer, ledger: RecordingLedger
    ) -> None:
        # the same question twice is two paid calls, not one row deduplicated away
        answers: list[Answer] = [
            answerer.answer(QUESTION, PASSAGES),
            answerer.answer(QUESTION, PASSAGES),
            answerer.answer(UNANSWERED, PASSAGES),  # a "not found" is billed all the same
        ]
        paid = [a for a in answers if a.usage.model_calls]
        assert len(paid) == (3 if harness.paid else 0)
        assert ledger.calls_made == len(ledger.calls) == len(paid)
        assert ledger.total() == sum((a.usage for a in answers), start=Usage())
        assert sorted(c.usage.cost_usd for c in ledger.calls) == sorted(
            a.usage.cost_usd for a in paid
        )
        for call in ledger.calls:
            assert call.purpose == "ask" and call.usage.model_calls == 1
            assert call.model == answers[0].model
        assert len(harness.questions_asked()) == len(paid)

    def test_close_twice_is_harmless(self, harness: AnswererHarness) -> None:
        answerer = harness.make()
        answerer.close()
        answerer.close()
