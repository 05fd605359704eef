"""Estimates of what analysing a video will cost, before its transcript is fetched.

A backfill's dry run knows only each video's duration. It estimates the transcript the way
the analyzer will send it (``render_segments``: one line per caption segment, each with its
``[123.4s]`` timestamp) and counts it with the analyzer's own ``estimate_tokens``, so the
estimate and the budget the analyzer takes agree. The per-call overhead (system instruction,
response schema, data framing) is counted from the real strings too, and long videos take the
analyzer's map-reduce path: one call per chunk plus a merge call.

Speech rate: about 140 words a minute at ~5.6 bytes a word with its space, so ~13 bytes of
text a second; captions come in segments of ~4 s. On the bundled samples this comes out a few
percent high (erring on the generous side), never more than ~15 %.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache

from shared.gemini import prompt
from shared.gemini.chunking import BYTES_PER_TOKEN, estimate_tokens, format_timestamp

SPEECH_BYTES_PER_S = 13.0
SEGMENT_S = 4.0
#: output of one call: an analysis is a few hundred words of JSON
OUTPUT_TOKENS_PER_CALL = 800
#: the prompt's wording around the data block and the metadata lines (title, channel, ...)
FRAMING_TOKENS = 120


@dataclass(frozen=True)
class CallEstimate:
    input_tokens: int
    output_tokens: int
    calls: int


@cache
def call_overhead_tokens() -> int:
    """What every call sends besides the data: the system instruction and the schema."""
    fixed = prompt.SYSTEM_INSTRUCTION + json.dumps(prompt.response_json_schema())
    return estimate_tokens(fixed) + FRAMING_TOKENS


def transcript_tokens(duration_s: float) -> int:
    """Estimated tokens of a rendered transcript of a video this long, timestamps included."""
    if duration_s <= 0:
        return 0
    segments = math.ceil(duration_s / SEGMENT_S)
    # a timestamp from the middle of the video stands for all of them; + space + newline
    per_line = len(format_timestamp(duration_s / 2).encode("utf-8")) + 2
    total_bytes = duration_s * SPEECH_BYTES_PER_S + segments * per_line
    return math.ceil(total_bytes / BYTES_PER_TOKEN)


def analysis_estimate(duration_s: float, chunk_tokens: int) -> CallEstimate:
    """Calls and tokens for one video, following the analyzer's whole-or-chunked rule."""
    text = transcript_tokens(duration_s)
    overhead = call_overhead_tokens()
    if text <= chunk_tokens:
        return CallEstimate(text + overhead, OUTPUT_TOKENS_PER_CALL, 1)
    chunks = math.ceil(text / chunk_tokens)
    # the merge call reads the chunk analyses, roughly one call's output each
    merge_input = overhead + chunks * OUTPUT_TOKENS_PER_CALL
    return CallEstimate(
        input_tokens=text + chunks * overhead + merge_input,
        output_tokens=(chunks + 1) * OUTPUT_TOKENS_PER_CALL,
        calls=chunks + 1,
    )
