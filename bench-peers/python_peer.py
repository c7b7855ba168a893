"""The official Python SDK on the streams bench-peers wrote: its SSE decoder, chunk
construction and ChatCompletionStreamState (events, accumulation, partial parse of the content
with a Pydantic response format in the json mode), with the bytes delivered in the same 4 KiB
pieces. Writes DATA_DIR/python.json. Exits 3 (and says so) when `import openai` fails.

Usage: python3 python_peer.py DATA_DIR
"""

import json
import os
import re
import sys
import time
from typing import List

try:
    import openai
    from openai._models import construct_type
    from openai._streaming import SSEDecoder
    from openai.lib.streaming.chat import ChatCompletionStreamState
    from openai.types.chat import ChatCompletionChunk
    from pydantic import BaseModel
except ImportError as e:  # pragma: no cover
    print(f"python peer skipped: `import openai` failed ({e})")
    sys.exit(3)

PIECE = 4096
# A longer stream of the same mode is skipped when a run of it would take longer than this,
# extrapolating linearly (the reference is quadratic in some modes, so this is optimistic).
MAX_RUN_SECONDS = 60.0


class Item(BaseModel):
    n: int
    w: str


class Doc(BaseModel):
    items: List[Item]


def run(body: bytes, mode: str) -> int:
    kwargs = {"response_format": Doc} if mode == "json" else {}
    state = ChatCompletionStreamState(**kwargs)
    pieces = (body[i : i + PIECE] for i in range(0, len(body), PIECE))
    events = 0
    for sse in SSEDecoder().iter_bytes(pieces):
        if sse.data.startswith("[DONE]"):
            break
        chunk = construct_type(type_=ChatCompletionChunk, value=json.loads(sse.data))
        events += len(state.handle_chunk(chunk))
    state.get_final_completion()
    return events


def main() -> None:
    data_dir = sys.argv[1] if len(sys.argv) > 1 else "data"
    files = []
    for name in os.listdir(data_dir):
        m = re.fullmatch(r"(\w+)-(\d+)\.sse", name)
        if m:
            files.append((m.group(1), int(m.group(2)), name))
    files.sort(key=lambda f: (f[0], f[1]))
    results = []
    stopped = set()
    print(f"openai {openai.__version__}")
    for mode, n, name in files:
        if mode in stopped:
            print(f"{mode:<9} {n:>7} skipped (a run would take over {MAX_RUN_SECONDS:.0f} s)")
            continue
        with open(os.path.join(data_dir, name), "rb") as f:
            body = f.read()
        best = None
        runs = 0
        start = time.perf_counter()
        while runs < 3 or time.perf_counter() - start < 0.5:
            t = time.perf_counter()
            run(body, mode)
            elapsed = time.perf_counter() - t
            best = elapsed if best is None else min(best, elapsed)
            runs += 1
            if elapsed > 2.0:
                break  # one run is enough at this length
        rate = (n + 2) / best
        print(f"{mode:<9} {n:>7} {rate:>14.0f} chunk/s")
        results.append({"mode": mode, "chunks": n, "python": rate})
        if best * 4 > MAX_RUN_SECONDS:  # the next length is 4x longer
            stopped.add(mode)
    with open(os.path.join(data_dir, "python.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
