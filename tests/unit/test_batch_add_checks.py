"""The batch-add checks of ``shared.results_common``: what they refuse, and that the SQLite
store's triggers refuse with the very same texts (the contract suite,
``tests/contract/batch_store_contract.py``, runs both against the stores)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from shared import results_common as rc
from shared.classify import classify
from shared.errors import InvalidInput
from shared.gemini.batch_models import BatchItem, ItemState
from shared.sql_queries import load

REFUSALS = {
    "NEW_BATCH_ID_EMPTY": rc.NEW_BATCH_ID_EMPTY,
    "ITEM_VIDEO_ID_EMPTY": rc.ITEM_VIDEO_ID_EMPTY,
    "ITEM_VERSION_EMPTY": rc.ITEM_VERSION_EMPTY,
    "ITEM_PROMPT_EMPTY": rc.ITEM_PROMPT_EMPTY,
    "ITEM_JOB_NOT_JSON": rc.ITEM_JOB_NOT_JSON,
}


def item(**overrides: object) -> BatchItem:
    values: dict[str, object] = {
        "batch_id": "",
        "video_id": "dQw4w9WgXcQ",
        "analysis_version": "gemini:m:p1",
        "state": ItemState.PENDING,
        "prompt": "a transcript",
        "job": json.dumps({"kind": "video.batch_collect", "video_id": "dQw4w9WgXcQ"}),
        "language": "de",
    }
    return BatchItem(**(values | overrides))  # type: ignore[arg-type]


def test_a_good_add_becomes_tubeq_batch_adds_payload() -> None:
    good = item()
    assert rc.batch_add_payload(good, "b1", 7) == {
        "item": {
            "video_id": good.video_id,
            "analysis_version": good.analysis_version,
            "prompt": good.prompt,
            "job": good.job,
            "language": "de",
        },
        "new_batch_id": "b1",
        "max_items": 7,
    }


@pytest.mark.parametrize(
    ("bad", "new_batch_id", "refusal"),
    [
        (item(), "", rc.NEW_BATCH_ID_EMPTY),
        (item(video_id=""), "b1", rc.ITEM_VIDEO_ID_EMPTY),
        (item(analysis_version=""), "b1", rc.ITEM_VERSION_EMPTY),
        (item(prompt=""), "b1", rc.ITEM_PROMPT_EMPTY),
        (item(job=""), "b1", rc.ITEM_JOB_NOT_JSON),
        (item(job="{'single': 'quotes'}"), "b1", rc.ITEM_JOB_NOT_JSON),
        (item(job='{"n": NaN}'), "b1", rc.ITEM_JOB_NOT_JSON),
        (item(job="[Infinity]"), "b1", rc.ITEM_JOB_NOT_JSON),
    ],
)
def test_a_bad_add_is_invalid_input_saying_what_to_do(
    bad: BatchItem, new_batch_id: str, refusal: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        rc.batch_add_payload(bad, new_batch_id, 10)
    assert caught.value.message.startswith(refusal)


def test_a_job_that_is_not_json_is_not_repeated_in_the_error() -> None:
    secretish = "not json: tok_" + "x" * 40
    with pytest.raises(InvalidInput) as caught:
        rc.check_batch_add(item(job=secretish), "b1")
    assert "tok_" not in caught.value.message
    assert "line 1 column 1" in caught.value.message  # where it broke, not what it said


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_the_sqlite_triggers_refuse_with_the_same_texts(name: str) -> None:
    triggers = load("sqlite_schema.sql")
    text = REFUSALS[name]
    assert "'" not in text  # it sits in an SQL string literal as it is
    assert (
        f"RAISE(ABORT, '{text}')"
        in triggers["batches_refuse_bad"] + triggers["batch_items_refuse_bad"]
    ), f"{name} is worded differently in sql/queries/sqlite_schema.sql"


def test_a_trigger_refusal_is_classified_as_invalid_input_with_its_text() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (a TEXT)")
    db.execute("CREATE TRIGGER t_no BEFORE INSERT ON t BEGIN SELECT RAISE(ABORT, 'no a'); END")
    with pytest.raises(sqlite3.IntegrityError) as raised:
        db.execute("INSERT INTO t VALUES ('x')")
    mapped = classify(raised.value)
    assert type(mapped) is InvalidInput and mapped.message == "no a"
    # other constraint failures are not refusals of ours: their classification is unchanged
    db.execute("CREATE TABLE u (a TEXT NOT NULL)")
    with pytest.raises(sqlite3.IntegrityError) as other:
        db.execute("INSERT INTO u VALUES (NULL)")
    assert not isinstance(classify(other.value), InvalidInput)
    db.close()
