"""Counterfactuals on the demo data: flip rate, median words changed and median seconds per row
(targets: >= 90%, <= 2 words, < 10 s), plus minimality, fluency and diversity.
Run `python benchmarks/counterfactual_eval.py [--rows 40]` (rows evenly spaced over the data)."""
from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=40)
    ns = parser.parse_args()

    from tools.context import ToolContext, Workspace
    from tools.registry import get_tool
    from tools.settings import Settings

    workspace = Workspace(Settings.from_env(), quiet=True)
    ctx = ToolContext(workspace)
    workspace.task  # load before timing
    rows = list(workspace.dataset)
    step = max(1, len(rows) // ns.rows)
    chosen = rows[::step][: ns.rows]
    tool_cls = get_tool("counterfactual")
    tool = tool_cls()
    flipped, words, seconds, minimal, ppl, diversity, kinds = 0, [], [], [], [], [], {}
    for row in chosen:
        start = time.perf_counter()
        out = tool.run(ctx, tool_cls.Params(id=row.id))  # uncached: every row is searched
        seconds.append(time.perf_counter() - start)
        if out["counterfactuals"]:
            best = out["counterfactuals"][0]
            flipped += 1
            words.append(best["words_changed"])
            minimal.append(best["minimality"])
            if best["perplexity_ratio"] is not None:
                ppl.append(best["perplexity_ratio"])
            for kind in best["kinds"]:
                kinds[kind] = kinds.get(kind, 0) + 1
            if out["diversity"] is not None:
                diversity.append(out["diversity"])
        print(f"#{row.id:>3} {out['prediction']:<8} {seconds[-1]:5.1f} s  "
              + (f"{best['words_changed']} words: {'; '.join(best['edits'])} "
                 f"-> {best['prediction']} {best['probability']}"
                 if out["counterfactuals"] else "no flip"), flush=True)
    n = len(chosen)
    print(f"\n{n} rows: flip rate {flipped / n:.1%} (target >= 90%); "
          f"median words changed {statistics.median(words) if words else '-'} "
          f"(target <= 2); median {statistics.median(seconds):.1f} s per row (target < 10 s), "
          f"mean {statistics.mean(seconds):.1f} s")
    if minimal:
        print(f"best counterfactual: median minimality {statistics.median(minimal):.3f}, median perplexity ratio "
              f"{statistics.median(ppl) if ppl else '-'}; "
              f"mean diversity of the returned sets {statistics.mean(diversity) if diversity else '-'}")
        print("edit kinds in the best counterfactuals: "
              + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])))


if __name__ == "__main__":
    main()
