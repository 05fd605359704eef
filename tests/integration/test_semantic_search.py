"""Semantic search end to end, on the embedded store (sqlite-vec) and on a real PostgreSQL
with pgvector: `tubeq enqueue` → `tubeq consume --burst` (the video is analysed, then its
``video.embed`` job embeds its passages through the real google-genai client against the
local Gemini stub) → `tubeq search --mode hybrid` finds a paraphrase that full-text misses,
at the second it is spoken. Then: a second embed run pays nothing, every call is in the spend
ledger, and wrong settings (an unknown model, a dimension the model does not make) fail
with a message that says what to change."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from tests.support import gemini_stub as gs
from tests.support.postgres import PgCluster, pgvector_cluster  # noqa: F401
from tests.support.search_data import sample_segments
from tubeq.cli.main import app as cli

pytestmark = pytest.mark.services

VIDEO = "tq-sample08"
#: "later, when Ibarra hurried and played a natural move without counting." (1:53:27)
LINE = 1502
#: the same thought in other words: full-text (all words must match) finds nothing
PARAPHRASE = "Ibarra rushed a natural move without calculating"
THESAURUS = {"rushed": "hurried", "calculating": "counting"}


@pytest.fixture
def gemini() -> Iterator[gs.GeminiStub]:
    with gs.GeminiStub() as stub:
        stub.embed.synonyms = dict(THESAURUS)
        yield stub


@pytest.fixture(params=["sqlite", "pgvector"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The result store's settings: the embedded SQLite, or Postgres with pgvector."""
    if request.param == "sqlite":
        yield {}
        return
    cluster: PgCluster = request.getfixturevalue("pgvector_cluster")
    name = cluster.create_database()
    try:
        yield {"TUBEQ_RESULTS_BACKEND": "postgres", "TUBEQ_DATABASE_URL": cluster.dsn(name)}
    finally:
        cluster.drop_database(name)


@pytest.fixture
def env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gemini: gs.GeminiStub, store: dict[str, str]
) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    return {
        "TUBEQ_DATA_DIR": str(tmp_path / "data"),
        "COLUMNS": "200",
        "TUBEQ_EMBEDDING_BACKEND": "gemini",
        "TUBEQ_GEMINI_API_KEY": gemini.api_key,
        "TUBEQ_GEMINI_BASE_URL": gemini.base_url,
        "TUBEQ_PREFLIGHT_WAIT_S": "0",
        **store,
    }


def run(env: dict[str, str], *args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == code, result.output
    return result


def search(env: dict[str, str], text: str, mode: str) -> list[dict[str, Any]]:
    out = run(env, "search", text, "--mode", mode, "--json")
    hits: list[dict[str, Any]] = json.loads(out.stdout)["hits"]
    return hits


def embed_calls(env: dict[str, str]) -> list[tuple[Any, ...]]:
    """The spend ledger's embedding rows (purpose, model, tokens, cost) in either store."""
    sql = (
        "SELECT purpose, model, prompt_tokens, cost_usd, video_id FROM model_calls "
        "WHERE purpose IN ('embed', 'search') ORDER BY purpose, call_id"
    )
    if "TUBEQ_DATABASE_URL" in env:
        with psycopg.connect(env["TUBEQ_DATABASE_URL"]) as conn:
            return [tuple(r) for r in conn.execute(sql).fetchall()]
    with sqlite3.connect(Path(env["TUBEQ_DATA_DIR"]) / "results.sqlite3") as db:
        return [tuple(r) for r in db.execute(sql).fetchall()]


def test_analysed_then_embedded_then_a_paraphrase_is_found_at_its_second(
    env: dict[str, str], gemini: gs.GeminiStub
) -> None:
    spoken_at = int(sample_segments(VIDEO)[LINE]["start"])
    run(env, "enqueue", VIDEO)
    run(env, "consume", "--burst")
    # the analysis sent the embed job, and the same burst ran it: every text in calls of
    # at most 100, as documents, at the configured size
    assert gemini.embed.calls, "the consumer made no embedding call"
    assert all(len(texts) <= 100 for texts in gemini.embed.calls)
    assert {config for config in gemini.embed.configs} == {("RETRIEVAL_DOCUMENT", 768)}
    embedded = sum(len(texts) for texts in gemini.embed.calls)
    assert embedded > 1600  # the 2-hour lecture's caption lines, its summary, its key points

    assert search(env, PARAPHRASE, "fulltext") == []
    hits = search(env, PARAPHRASE, "hybrid")
    best = hits[0]
    assert best["video_id"] == VIDEO
    assert best["at_s"] == spoken_at
    assert best["url"] == f"https://www.youtube.com/watch?v={VIDEO}&t={spoken_at}s"
    assert best["matched_by"] == ["semantic"]
    assert "Ibarra hurried" in best["text"]
    # the query was embedded as a query
    assert gemini.embed.configs[-1] == ("RETRIEVAL_QUERY", 768)

    # words that full-text finds too: one hit, found by both rankings, its words marked
    both = search(env, "Ibarra hurried", "hybrid")[0]
    assert (both["at_s"], both["matched_by"]) == (spoken_at, ["fulltext", "semantic"])
    assert "<mark>" in both["snippet"]

    # the table the people read
    table = run(env, "search", PARAPHRASE, "--semantic").stdout
    assert "1:53:27" in table and f"t={spoken_at}s" in table


def test_a_second_embed_run_pays_nothing_and_every_call_is_in_the_ledger(
    env: dict[str, str], gemini: gs.GeminiStub
) -> None:
    run(env, "enqueue", VIDEO)
    run(env, "consume", "--burst")
    calls_after_first = len(gemini.embed.calls)
    ledger = embed_calls(env)
    embeds = [row for row in ledger if row[0] == "embed"]
    assert len(embeds) == calls_after_first  # one row per paid call
    assert {row[1] for row in embeds} == {"gemini-embedding-001"}
    assert {row[4] for row in embeds} == {VIDEO}
    tokens = sum(row[2] for row in embeds)
    assert tokens > 0
    # priced at TUBEQ_EMBEDDING_PRICE_PER_M (0.15 USD per million tokens)
    assert sum(row[3] for row in embeds) == pytest.approx(tokens * 0.15 / 1e6, rel=1e-6)

    out = run(env, "embed", "--all").stdout
    assert "sent 1 video.embed job" in out
    run(env, "consume", "--burst")
    assert len(gemini.embed.calls) == calls_after_first  # 0 paid calls
    assert len([r for r in embed_calls(env) if r[0] == "embed"]) == len(embeds)

    # a semantic search is one billed query embedding, in the ledger as 'search'
    search(env, PARAPHRASE, "semantic")
    searches = [r for r in embed_calls(env) if r[0] == "search"]
    assert len(searches) == 1 and searches[0][2] > 0


def test_ask_retrieves_hybrid_once_passages_are_embedded(
    env: dict[str, str], gemini: gs.GeminiStub
) -> None:
    run(env, "enqueue", VIDEO)
    run(env, "consume", "--burst")
    answer = json.loads(run(env, "ask", "Did Ibarra make a rushed natural move?", "--json").stdout)
    segments = sample_segments(VIDEO)
    # the passage that holds the line: it starts at the line, or at the line before (whose
    # passage runs on into it)
    starts = {int(segments[LINE - 1]["start"]), int(segments[LINE]["start"])}
    assert any(p["at_s"] in starts and "Ibarra hurried" in p["text"] for p in answer["passages"])
    assert gemini.embed.configs[-1] == ("RETRIEVAL_QUERY", 768)  # the question was embedded


def test_semantic_modes_say_how_to_turn_them_on_when_off(
    env: dict[str, str], store: dict[str, str]
) -> None:
    off = {**env, "TUBEQ_EMBEDDING_BACKEND": "none"}
    run(off, "enqueue", VIDEO)
    run(off, "consume", "--burst")
    out = run(off, "search", PARAPHRASE, "--mode", "semantic", code=2)
    assert "TUBEQ_EMBEDDING_BACKEND=gemini" in out.output
    assert "tubeq embed --all" in out.output
    assert "TUBEQ_EMBEDDING_BACKEND=gemini" in run(off, "embed", "--all", code=2).output


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_an_unknown_model_stops_the_consumer_with_the_setting_to_change(
    env: dict[str, str], gemini: gs.GeminiStub
) -> None:
    bad = {**env, "TUBEQ_EMBEDDING_MODEL": "gemini-embedding-999"}
    run(bad, "enqueue", VIDEO)
    out = run(bad, "consume", "--burst", code=4).output
    assert "Gemini does not know the embedding model 'gemini-embedding-999'" in out
    assert "TUBEQ_EMBEDDING_MODEL" in out
    # nothing was embedded, and the job was handed back, not dead-lettered
    assert gemini.embed.calls == []
    assert json.loads(run(bad, "dlq", "list", "--json").stdout)["dead_letters"] == []


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_dimension_mismatch_stops_the_consumer_with_the_setting_to_change(
    env: dict[str, str], gemini: gs.GeminiStub
) -> None:
    # a model answering another size than asked: tubeq checks every vector it gets
    gemini.embed.answer_dims = 3072
    run(env, "enqueue", VIDEO)
    out = run(env, "consume", "--burst", code=4).output
    assert "returned 3072-dimension vectors" in out
    assert "TUBEQ_EMBEDDING_DIMENSIONS is 768" in out


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_the_api_searches_in_every_mode_and_says_when_semantic_is_off(
    env: dict[str, str], gemini: gs.GeminiStub
) -> None:
    from fastapi.testclient import TestClient

    from producer.api import create_app
    from shared import factory
    from shared.settings import Settings

    run(env, "enqueue", VIDEO)
    run(env, "consume", "--burst")
    key = "key-one-0123456789abcdef"
    auth = {"Authorization": f"Bearer {key}"}
    spoken_at = int(sample_segments(VIDEO)[LINE]["start"])
    for embedding in ("gemini", "none"):
        settings = Settings.load(
            data_dir=Path(env["TUBEQ_DATA_DIR"]),
            api_keys=key,
            embedding_backend=embedding,
            gemini_api_key=gemini.api_key,
            gemini_base_url=gemini.base_url,
        )
        queue, results = factory.build_queue(settings), factory.build_results(settings)
        artifacts = factory.build_artifacts(settings)
        try:
            with TestClient(create_app(settings, queue, results, artifacts)) as client:
                params = {"q": PARAPHRASE, "mode": "hybrid"}
                reply = client.get("/v1/search", params=params, headers=auth)
                if embedding == "gemini":
                    assert reply.status_code == 200, reply.text
                    best = reply.json()["hits"][0]
                    assert (best["video_id"], best["at_s"]) == (VIDEO, spoken_at)
                    assert best["matched_by"] == ["semantic"]
                    assert best["passage"] == "transcript"
                else:
                    assert reply.status_code == 400, reply.text
                    assert "TUBEQ_EMBEDDING_BACKEND=gemini" in reply.json()["message"]
                bad = client.get("/v1/search", params={"q": "x", "mode": "vibes"}, headers=auth)
                assert bad.status_code == 422
        finally:
            queue.close()
            results.close()
            artifacts.close()


def test_supabase_embeds_and_searches_through_the_same_functions_over_postgrest(
    pgvector_cluster: PgCluster,  # noqa: F811
    gemini: gs.GeminiStub,
) -> None:
    """The embed handler and the semantic search on Supabase's path: the functions of
    sql/015 over PostgREST (the local stub runs them as service_role, grants and RLS as on
    Supabase), on a PostgreSQL with pgvector."""
    from consumer.handlers.base import Outcome
    from consumer.handlers.embed import EmbedHandler
    from shared.adapter_settings import GeminiSettings
    from shared.adapters.gemini_embedder import GeminiEmbedder
    from shared.adapters.postgres_results import PostgresResultStore
    from shared.adapters.supabase_vectors import SupabaseVectors
    from shared.embeddings import EmbeddingModel, EmbedVideoJob
    from shared.hybrid import SemanticSide
    from shared.search import SearchQuery
    from tests.support.postgrest_stub import PostgrestStub, service_role_key
    from tests.support.search_data import fill_with_samples

    name = pgvector_cluster.create_database()
    dsn = pgvector_cluster.dsn(name)
    try:
        store = PostgresResultStore(dsn, pool_size=1, timeout_s=20)
        try:
            fill_with_samples(store, (VIDEO,))
        finally:
            store.close()
        model = EmbeddingModel("gemini-embedding-001", 768)
        section = GeminiSettings(api_key=gemini.api_key, base_url=gemini.base_url)
        with PostgrestStub(dsn) as stub:
            vectors = SupabaseVectors(stub.url, service_role_key(), timeout_s=20)
            embedder = GeminiEmbedder.from_settings(section, model=model, price_per_m=0.15)
            ledger: list[Any] = []

            class Ledger:
                def record_call(self, call: Any) -> None:
                    ledger.append(call)

            handler = EmbedHandler(vectors, embedder, Ledger())
            try:
                job = EmbedVideoJob(video_id=VIDEO)
                assert handler.process(job, 1) == Outcome.DONE
                assert handler.process(job, 2) == Outcome.SKIPPED  # nothing new to pay for
                assert len(ledger) == len(gemini.embed.calls) == 17  # 1,6xx texts, 100 a call
                side = SemanticSide(vectors, embedder)
                assert side.ready()
                (best, *_) = side.hits(SearchQuery(text=PARAPHRASE, mode="semantic"), 5)
            finally:
                embedder.close()
                vectors.close()
        assert (best.video_id, best.at_s) == (VIDEO, int(sample_segments(VIDEO)[LINE]["start"]))
        rpc = {r.path.rsplit("/", 1)[-1] for r in stub.requests}
        assert rpc >= {"tubeq_embedding_plan", "tubeq_save_embeddings", "tubeq_semantic_search"}
    finally:
        pgvector_cluster.drop_database(name)
