"""`tubeq cloudflare setup`: plan, then apply, everything tubeq needs on a Cloudflare account.

wrangler no longer accepts ``http_pull`` consumers in its config, and the consumers' retry
and lease settings must be the very settings tubeq's consumers run with, so one command of
ours provisions: the jobs queue and its dead-letter queue, an HTTP pull consumer on each,
the R2 bucket with a lifecycle rule expiring the Gemini chunk cache, and the Worker's KV
namespace.

``plan`` only reads; ``apply`` performs the plan's changes in order (queues before the
consumers that name them). A plan with nothing to change makes no mutating call, so a second
run is free and says so; ``--dry-run`` is ``plan`` alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from shared.cloudflare_types import ConsumerInfo, PullConsumerSpec, QueueInfo
from shared.errors import ConfigError
from shared.gemini.partials import CACHE_PREFIX
from shared.ports import CloudflareAccount
from shared.settings import Settings

Action = Literal["created", "updated", "unchanged"]

#: the id of tubeq's lifecycle rule; other rules on the bucket are left as they are
LIFECYCLE_RULE_ID = "tubeq-gemini-cache-expiry"
#: the DLQ is read by `tubeq dlq` peeks and redrives; each read costs an attempt there, and
#: past its max_retries Cloudflare would delete the letter: keep it at the maximum
DLQ_CONSUMER = PullConsumerSpec(max_retries=100, visibility_timeout_ms=60_000)


#: the steps' resource labels: a consumer is named by its queue, a rule by its bucket
_ON_QUEUE = "HTTP pull consumer on"
_ON_BUCKET = "lifecycle rule on R2 bucket"


@dataclass
class Step:
    """One resource's part of the plan, and afterwards of the report."""

    resource: str
    name: str
    action: Action
    #: what differs (for ``updated``), e.g. ``max_retries 3 → 5``
    changes: list[str] = field(default_factory=list)
    id: str | None = None
    #: what the resource is to be, for people (a consumer's settings, the rule)
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "name": self.name,
            "action": self.action,
            "changes": self.changes,
            "id": self.id,
            "detail": self.detail,
        }


@dataclass
class Plan:
    """What is there and what to do; ``apply`` fills in the ids of what it creates."""

    queue: Step
    dlq: Step
    consumer: Step
    dlq_consumer: Step
    bucket: Step
    lifecycle: Step
    kv: Step
    jobs_spec: PullConsumerSpec
    consumer_id: str | None = None
    dlq_consumer_id: str | None = None
    #: the whole rule list to PUT (others kept, ours added or replaced)
    rules: list[dict[str, Any]] = field(default_factory=list)
    applied: bool = False

    @property
    def steps(self) -> list[Step]:
        return [
            self.queue,
            self.dlq,
            self.consumer,
            self.dlq_consumer,
            self.bucket,
            self.lifecycle,
            self.kv,
        ]

    @property
    def changes_anything(self) -> bool:
        return any(s.action != "unchanged" for s in self.steps)

    def env(self) -> dict[str, str | None]:
        """The settings to put in ``.env`` (None: known only once applied)."""
        return {
            "TUBEQ_CF_QUEUE_ID": self.queue.id,
            "TUBEQ_CF_DLQ_ID": self.dlq.id,
            "TUBEQ_CF_KV_NAMESPACE_ID": self.kv.id,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "steps": [s.as_dict() for s in self.steps],
            "env": self.env(),
        }


def jobs_consumer_spec(settings: Settings) -> PullConsumerSpec:
    """The jobs queue's consumer, from the settings the consumers themselves run with."""
    return PullConsumerSpec(
        max_retries=settings.max_retries,
        visibility_timeout_ms=round(settings.visibility_timeout_s * 1000),
        retry_delay=round(settings.retry_base_s),
        dead_letter_queue=settings.dead_letter_queue_name,
    )


def lifecycle_rule(settings: Settings) -> dict[str, Any]:
    """Delete the Gemini chunk cache after ``r2_cache_expiry_days`` (R2 counts seconds)."""
    return {
        "id": LIFECYCLE_RULE_ID,
        "enabled": True,
        "conditions": {"prefix": CACHE_PREFIX},
        "deleteObjectsTransition": {
            "condition": {"type": "Age", "maxAge": settings.r2_cache_expiry_days * 86_400}
        },
    }


# ---- plan: reads only -------------------------------------------------------------------


def plan(account: CloudflareAccount, settings: Settings) -> Plan:
    queues = {q.name: q for q in account.list_queues()}
    queue = _queue_step(queues.get(settings.cf_queue_name), settings.cf_queue_name, "queue")
    dlq_name = settings.dead_letter_queue_name
    dlq = _queue_step(queues.get(dlq_name), dlq_name, "dead-letter queue")

    spec = jobs_consumer_spec(settings)
    jobs_consumers = account.list_consumers(queue.id) if queue.id else []
    consumer, consumer_id = _consumer_step(jobs_consumers, spec, settings.cf_queue_name)
    dlq_consumers = account.list_consumers(dlq.id) if dlq.id else []
    dlq_consumer, dlq_consumer_id = _consumer_step(dlq_consumers, DLQ_CONSUMER, dlq_name)

    bucket_name = settings.r2_bucket
    bucket_there = account.bucket_exists(bucket_name)
    bucket = Step("R2 bucket", bucket_name, "unchanged" if bucket_there else "created")
    existing_rules = account.lifecycle_rules(bucket_name) if bucket_there else []
    rules, lifecycle = _lifecycle_step(existing_rules, lifecycle_rule(settings), bucket_name)

    kv_id = account.find_kv_namespace(settings.cf_kv_namespace)
    kv = Step(
        "KV namespace", settings.cf_kv_namespace, "unchanged" if kv_id else "created", id=kv_id
    )
    return Plan(
        queue=queue,
        dlq=dlq,
        consumer=consumer,
        dlq_consumer=dlq_consumer,
        bucket=bucket,
        lifecycle=lifecycle,
        kv=kv,
        jobs_spec=spec,
        consumer_id=consumer_id,
        dlq_consumer_id=dlq_consumer_id,
        rules=rules,
    )


def _queue_step(found: QueueInfo | None, name: str, resource: str) -> Step:
    if found is None:
        return Step(resource, name, "created")
    return Step(resource, name, "unchanged", id=found.id)


def _consumer_step(
    consumers: list[ConsumerInfo], spec: PullConsumerSpec, queue_name: str
) -> tuple[Step, str | None]:
    workers = [c for c in consumers if c.type == "worker"]
    if workers:
        script = workers[0].script_name or "a Worker"
        raise ConfigError(
            f"queue {queue_name} has a Worker consumer ({script}); a queue has either a "
            "Worker consumer or an HTTP pull consumer, and tubeq's consumers pull over HTTP. "
            f"Remove it (`wrangler queues consumer remove {queue_name} {script}`, and its "
            "[[queues.consumers]] entry in wrangler.toml), then run setup again"
        )
    detail = ", ".join(f"{k}={v}" for k, v in spec.settings().items())
    if spec.dead_letter_queue:
        detail += f", dead_letter_queue={spec.dead_letter_queue}"
    current = next((c for c in consumers if c.type == "http_pull"), None)
    if current is None:
        return Step(_ON_QUEUE, queue_name, "created", detail=detail), None
    changes = _consumer_changes(current, spec)
    action: Action = "updated" if changes else "unchanged"
    return Step(_ON_QUEUE, queue_name, action, changes, current.id, detail), current.id


def _consumer_changes(current: ConsumerInfo, spec: PullConsumerSpec) -> list[str]:
    changes = []
    for key, want in spec.settings().items():
        have = current.settings.get(key)
        if have is None or have != want:
            changes.append(f"{key} {_number(have)} → {want}")
    want_dlq = spec.dead_letter_queue or ""
    if current.dead_letter_queue != want_dlq:
        changes.append(
            f"dead_letter_queue {current.dead_letter_queue or '(none)'} → {want_dlq or '(none)'}"
        )
    return changes


def _lifecycle_step(
    existing: list[dict[str, Any]], ours: dict[str, Any], bucket: str
) -> tuple[list[dict[str, Any]], Step]:
    prefix, days = CACHE_PREFIX, ours["deleteObjectsTransition"]["condition"]["maxAge"] // 86_400
    detail = f"{LIFECYCLE_RULE_ID}: delete {prefix}* after {days} days"
    kept = len(existing) - sum(1 for r in existing if r.get("id") == LIFECYCLE_RULE_ID)
    if kept:
        detail += f" (and {kept} other rule(s) kept)"
    index = next((i for i, r in enumerate(existing) if r.get("id") == LIFECYCLE_RULE_ID), None)
    if index is None:
        return [*existing, ours], Step(_ON_BUCKET, bucket, "created", detail=detail)
    changes = _rule_changes(existing[index], ours)
    if not changes:
        return existing, Step(_ON_BUCKET, bucket, "unchanged", detail=detail)
    merged = [*existing[:index], ours, *existing[index + 1 :]]
    return merged, Step(_ON_BUCKET, bucket, "updated", changes, detail=detail)


def _rule_changes(have: dict[str, Any], want: dict[str, Any]) -> list[str]:
    def age(rule: dict[str, Any]) -> Any:
        condition = (rule.get("deleteObjectsTransition") or {}).get("condition") or {}
        return condition.get("maxAge") if condition.get("type") == "Age" else None

    changes = []
    if have.get("enabled") is not True:
        changes.append("enabled false → true")
    have_prefix = (have.get("conditions") or {}).get("prefix")
    if have_prefix != want["conditions"]["prefix"]:
        changes.append(f"prefix {have_prefix!r} → {want['conditions']['prefix']!r}")
    if age(have) != age(want):
        before = f"{age(have) // 86_400} days" if isinstance(age(have), int) else "(none)"
        changes.append(f"delete after {before} → {age(want) // 86_400} days")
    return changes


def _number(value: float | None) -> str:
    if value is None:
        return "(unset)"
    return str(int(value)) if value == int(value) else str(value)


# ---- apply: the plan's changes, in order --------------------------------------------------


def apply(account: CloudflareAccount, the_plan: Plan) -> Plan:
    """Perform the plan; returns it with the ids of what was created. Makes no call at all
    when nothing changes."""
    p = the_plan
    if p.queue.action == "created":
        p.queue.id = account.create_queue(p.queue.name).id
    if p.dlq.action == "created":
        p.dlq.id = account.create_queue(p.dlq.name).id
    assert p.queue.id is not None and p.dlq.id is not None
    _apply_consumer(account, p.consumer, p.queue.id, p.consumer_id, p.jobs_spec)
    _apply_consumer(account, p.dlq_consumer, p.dlq.id, p.dlq_consumer_id, DLQ_CONSUMER)
    if p.bucket.action == "created":
        account.create_bucket(p.bucket.name)
    if p.lifecycle.action != "unchanged":
        account.put_lifecycle_rules(p.bucket.name, p.rules)
    if p.kv.action == "created":
        p.kv.id = account.create_kv_namespace(p.kv.name)
    p.applied = True
    return p


def _apply_consumer(
    account: CloudflareAccount,
    step: Step,
    queue_id: str,
    consumer_id: str | None,
    spec: PullConsumerSpec,
) -> None:
    if step.action == "created":
        step.id = account.create_pull_consumer(queue_id, spec).id
    elif step.action == "updated" and consumer_id is not None:
        account.update_pull_consumer(queue_id, consumer_id, spec)
