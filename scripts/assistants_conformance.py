#!/usr/bin/env python3
"""Derives the expected output of the Assistants conformance cases under this SDK's
deliberate differences (../shared/conformance/README.md, "Deliberate differences"), from
the reference SDK's own expected output, and writes a cases file for check.py.

The reference's expected files for the `assistants` kind show two behaviours the README
says we do not copy: `on_tool_call_done` fired again for the last tool call on every later
step or run event, and `get_final_run_steps()` returning steps as of their last delta
(`in_progress`). This script applies exactly those two changes, nothing else:

  1. only the first `on_tool_call_done` of each tool call (by its `id`) is kept;
  2. in `final_run_steps`, a step that finished in the stream (`thread.run.step.completed`,
     `failed`, `cancelled`, `expired`) is that event's data, and a step that finished
     without being created in the stream (a stream after `submit_tool_outputs`) is listed
     too, in the order the stream first names each step.

Run from the project root; then check with

    python3 scripts/assistants_conformance.py
    python3 ../shared/conformance/check.py --cases tests/conformance/assistants/cases.json --cmd <replay>
"""

import json
import os
import shutil

SHARED = os.path.join("..", "shared")
OUT = os.path.join("tests", "conformance", "assistants")
FINISHED = {"thread.run.step.completed", "thread.run.step.failed", "thread.run.step.cancelled", "thread.run.step.expired"}


def sse_events(path):
    events, name, data = [], None, []
    for line in open(path, encoding="utf-8").read().splitlines() + [""]:
        if line == "":
            if data:
                text = "\n".join(data)
                if not text.startswith("[DONE]"):
                    events.append((name, json.loads(text)))
            name, data = None, []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" ") if line[5:6] == " " else line[5:])
    return events


def derive(expected_lines, events):
    out, done_ids = [], set()
    for line in expected_lines:
        if line.get("type") == "callback" and line.get("name") == "on_tool_call_done":
            call_id = line["args"]["tool_call"].get("id")
            if call_id in done_ids:
                continue
            done_ids.add(call_id)
        if line.get("type") == "final_run_steps":
            reference = {s["id"]: s for s in line["run_steps"]}
            order, finished = [], {}
            for name, data in events:
                if name and name.startswith("thread.run.step.") and isinstance(data, dict) and "id" in data:
                    if data["id"] not in order and (name == "thread.run.step.created" or name in FINISHED):
                        order.append(data["id"])
                    if name in FINISHED:
                        finished[data["id"]] = data
            line = {"type": "final_run_steps", "run_steps": [finished.get(i, reference.get(i)) for i in order]}
        out.append(line)
    return out


def main():
    cases = json.load(open(os.path.join(SHARED, "conformance", "cases.json")))
    os.makedirs(os.path.join(OUT, "inputs"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "expected"), exist_ok=True)
    ours = []
    for case in cases:
        if case["kind"] != "assistants":
            continue
        src = os.path.join(SHARED, case["input"])
        inp = os.path.join("inputs", case["name"] + ".sse")
        shutil.copyfile(src, os.path.join(OUT, inp))
        expected = [json.loads(l) for l in open(os.path.join(SHARED, case["expected"]), encoding="utf-8") if l.strip()]
        derived = derive(expected, sse_events(src))
        exp = os.path.join("expected", case["name"] + ".jsonl")
        with open(os.path.join(OUT, exp), "w", encoding="utf-8") as f:
            for line in derived:
                f.write(json.dumps(line, sort_keys=True) + "\n")
        ours.append({"name": case["name"], "kind": "assistants", "input": inp, "args": [], "expected": exp,
                     "source": case["input"], "reference_expected": case["expected"]})
    with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(ours, f, indent=1)
        f.write("\n")
    print(f"{len(ours)} cases written to {OUT}")


if __name__ == "__main__":
    main()
