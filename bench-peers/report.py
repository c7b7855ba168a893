"""Merges DATA_DIR/rust.json and DATA_DIR/python.json (when there) into a Markdown table with
ratios (printed, and written to OUT_DIR/RESULTS.md) and a log-log plot of throughput against
stream length (OUT_DIR/throughput.png; skipped with a message when matplotlib is missing).

Usage: python3 report.py DATA_DIR OUT_DIR
"""

import json
import os
import sys


def main() -> None:
    data_dir, out_dir = sys.argv[1], sys.argv[2]
    with open(os.path.join(data_dir, "rust.json")) as f:
        rows = json.load(f)
    python = {}
    py_path = os.path.join(data_dir, "python.json")
    if os.path.exists(py_path):
        with open(py_path) as f:
            for r in json.load(f):
                python[(r["mode"], r["chunks"])] = r["python"]
    lines = [
        "| mode | chunks | ours (chunks/s) | async-openai decode | ours ÷ async-openai | openai-python state | ours ÷ python |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        py = python.get((r["mode"], r["chunks"]))
        py_cells = f"{py:,.0f} | {r['ours'] / py:,.1f}×" if py else "skipped | –"
        lines.append(
            f"| {r['mode']} | {r['chunks']:,} | {r['ours']:,.0f} | {r['async_openai']:,.0f} "
            f"| {r['ours'] / r['async_openai']:.2f}× | {py_cells} |"
        )
    # json mode: serde_json parsing the stream's document into a `Value` and dropping it,
    # timed beside the streams (what any SDK that hands over the parsed document pays).
    docs = [r for r in rows if "document_ns_per_chunk" in r]
    if len(docs) >= 2:
        first, last = docs[0], docs[-1]
        lines.append("")
        lines.append(
            "json, the document alone (serde_json `Value`, parse + drop): "
            + " / ".join(f"{r['document_ns_per_chunk']:.0f}" for r in docs)
            + " ns a chunk at "
            + " / ".join(f"{r['chunks']:,}" for r in docs)
            + f" chunks; {last['chunks']:,} ÷ {first['chunks']:,} throughput "
            + f"{first['document_ns_per_chunk'] / last['document_ns_per_chunk']:.3f} "
            + f"(ours: {last['ours'] / first['ours']:.3f})."
        )
    table = "\n".join(lines)
    print(table)
    with open(os.path.join(out_dir, "RESULTS.md"), "w") as f:
        f.write(table + "\n")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot skipped: matplotlib is not installed (pip install matplotlib)")
        return
    modes = sorted({r["mode"] for r in rows}, key=["text", "tools", "logprobs", "json"].index)
    fig, axes = plt.subplots(1, len(modes), figsize=(4 * len(modes), 3.6), sharey=True)
    for ax, mode in zip(axes, modes):
        mine = [r for r in rows if r["mode"] == mode]
        xs = [r["chunks"] for r in mine]
        ax.plot(xs, [r["ours"] for r in mine], "o-", label="openai-sdk (full pipeline)")
        ax.plot(xs, [r["async_openai"] for r in mine], "s--", label="async-openai (decode only)")
        py = [(r["chunks"], python[(mode, r["chunks"])]) for r in mine if (mode, r["chunks"]) in python]
        if py:
            ax.plot([p[0] for p in py], [p[1] for p in py], "^:", label="openai-python state")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(mode)
        ax.set_xlabel("stream length (chunks)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("throughput (chunks/s)")
    axes[0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    path = os.path.join(out_dir, "throughput.png")
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
