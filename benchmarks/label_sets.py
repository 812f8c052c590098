"""Label sets on the default model (SmolLM2-135M) and the demo reviews: label mass (the share of
the model's answer on the label words, mean and minimum over rows), accuracy uncalibrated and
calibrated, and the scoring mode, for the label sets real data brings (issue 18):

- `words`: the demo's own labels, negative / positive (the default setup);
- `0/1`: the gold labels recoded 0 / 1 (SmolLM2 writes " 0" and " 1" as the bare-space token then
  the digit: scored as whole sequences);
- `0/1 + names`: the same with `--label-names 0=negative,1=positive`;
- `multi-word`: `--label-names "0=very negative,1=very positive"` (shared first token "very");
- `4 classes`: the review's domain (film, product, restaurant, service) as the label.

Targets (issue 18): label mass >= 0.9 and accuracy >= 0.80 with calibration for `words`.
Run `python benchmarks/label_sets.py [--rows 218] [--only words,0/1]` (rows evenly spaced)."""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

SETS = {  # name: (label of each demo row, label names)
    "words": (lambda row: row["label"], None),
    "0/1": (lambda row: str(int(row["label"] == "positive")), None),
    "0/1 + names": (lambda row: str(int(row["label"] == "positive")), "0=negative,1=positive"),
    "multi-word": (lambda row: str(int(row["label"] == "positive")), "0=very negative,1=very positive"),
    "4 classes": (lambda row: row["domain"], None),
}


def measure(name: str, rows: list[dict], folder: Path) -> dict:
    from tools.context import Workspace
    from tools.settings import Settings

    label_of, names = SETS[name]
    path = folder / f"{name.replace('/', '-').replace(' ', '_')}.jsonl"
    path.write_text("".join(json.dumps({"id": r["id"], "text": r["text"], "label": label_of(r)}) + "\n"
                            for r in rows))
    workspace = Workspace(Settings.from_env(data=str(path), label_names=names), quiet=True)
    start = time.perf_counter()
    table = workspace.predictions()
    seconds = time.perf_counter() - start
    task = workspace.task
    gold = np.array([r.label for r in workspace.dataset.rows])
    index = {row_id: i for i, row_id in enumerate(table.ids)}
    probs = table.probs[[index[r.id] for r in workspace.dataset.rows]]
    labels = np.array(table.labels)
    raw = probs * task.calibration  # calibrated = raw / calibration, renormalised
    return {"set": name, "labels": list(table.labels), "words": task.label_words, "scoring": task.scoring,
            "rows": len(gold), "mass_mean": float(table.label_mass.mean()), "mass_min": float(table.label_mass.min()),
            "accuracy_raw": float(np.mean(labels[raw.argmax(1)] == gold)),
            "accuracy": float(np.mean(labels[probs.argmax(1)] == gold)), "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=218)
    parser.add_argument("--only", help="comma-separated set names (default: all)")
    ns = parser.parse_args()

    from tools.data.dataset import demo_path

    rows = [json.loads(line) for line in demo_path().read_text().splitlines() if line.strip()]
    step = max(1, len(rows) // ns.rows)
    rows = rows[::step][: ns.rows]
    chosen = [s.strip() for s in ns.only.split(",")] if ns.only else list(SETS)
    print(f"Label sets on SmolLM2-135M, demo reviews ({len(rows)} rows). Targets for `words`: mass >= 0.9, "
          "calibrated accuracy >= 0.80.")
    print(f"{'set':<12} {'scoring':<11} {'mass mean':>9} {'mass min':>8} {'acc raw':>7} {'acc cal':>7} {'s':>5}  "
          "labels -> words")
    with tempfile.TemporaryDirectory() as tmp:
        for name in chosen:
            r = measure(name, rows, Path(tmp))
            words = ", ".join(f"{a}->{b}" if a != b else a for a, b in zip(r["labels"], r["words"]))
            print(f"{name:<12} {r['scoring']:<11} {r['mass_mean']:>9.3f} {r['mass_min']:>8.3f} "
                  f"{r['accuracy_raw']:>7.3f} {r['accuracy']:>7.3f} {r['seconds']:>5.0f}  {words}", flush=True)


if __name__ == "__main__":
    main()
