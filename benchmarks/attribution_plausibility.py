"""Plausibility of the default attribution on the default model and data (issue 18): on rows holding
an unambiguous sentiment word, how often the answer's top 2 words include one, and how often its
top word is a stopword or punctuation; with the share of rows whose words all score one sign and
the ERASER faithfulness figures of the same runs.

    python benchmarks/attribution_plausibility.py [--rows N] [--methods a,b] [--threads T] [--no-before]

"before" is the behaviour before issue 18 (perturbations replace a word with the pad token,
`baseline="token"`), still reachable as an option; "after" is today's default (the word is
deleted, the same operation as the faithfulness check). Gradient methods have one baseline and
are run once. Rows are an evenly spaced sample of the dataset (deterministic); results go through
the same `explain` the `attribute` tool uses. Target: top-2 >= 70% and stopword top <= 10%.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.sampling import evenly_spaced  # noqa: E402
from tools.attribution.catalog import get_method  # noqa: E402
from tools.attribution.engine import Request, explain  # noqa: E402

# Unambiguous sentiment words, a subset of the Hu & Liu opinion lexicon (Hu and Liu, "Mining and
# summarizing customer reviews", KDD 2004; positive-words.txt / negative-words.txt), kept short and
# explicit here (nothing is downloaded). Context-dependent entries (cheap, cold, fair, hot) are left out.
POSITIVE = frozenset("""
good great excellent perfect perfectly best lovely fantastic friendly impressive brilliant superb wonderful
delicious tasty beautiful beautifully gorgeous stunning nice enjoyed happy memorable fun generous cozy
charming flawless masterpiece amazing awesome pleasant
""".split())
NEGATIVE = frozenset("""
bad terrible awful rude stale bland boring dirty broken slow wrong disappointment disappointing mediocre
greasy soggy overpriced expensive lazy confusing waste crowded loud impossible poor horrible worst
""".split())
# A short English stopword list (a subset of NLTK's), for the "top word is a stopword" rate.
STOPWORDS = frozenset("""
a an the and or but if of to in on at for with by from as is was were are be been being am it its this that
these those i we you he she they me my our your his her their us them so not no nor do did does have has had
very just too then than there here what which who whom when where why how all any both each few more most
some such only own same can will would should could into out up down over under again once about
""".split())


def normalise(word: str) -> str:
    return re.sub(r"[^a-z']", "", word.lower()).strip("'")


def is_stop_or_punct(word: str) -> bool:
    return not re.search(r"[A-Za-z0-9]", word) or normalise(word) in STOPWORDS


def row_figures(result: dict) -> dict:
    """One row's figures from an `explain` result."""
    words = [w["word"] for w in result["words"]]
    scores = np.array([w["score"] for w in result["words"]])
    lexicon = [i for i, w in enumerate(words) if normalise(w) in POSITIVE | NEGATIVE]
    by_size = [t["index"] for t in result["top"]]  # the answer's ranking: largest |score| first
    label = (result["target"].get("label") or "").lower()
    polar = POSITIVE if label == "positive" else NEGATIVE if label == "negative" else None
    by_sign = list(np.argsort(-scores, kind="stable")[:2])  # the faithfulness check's ranking
    f = result.get("faithfulness") or {}
    return {
        "has_lexicon": bool(lexicon),
        "top2": bool(set(by_size[:2]) & set(lexicon)),
        "top2_towards": polar is not None and any(normalise(words[i]) in polar for i in by_sign),
        "has_polar": polar is not None and any(normalise(w) in polar for w in words),
        "stop_top": is_stop_or_punct(words[by_size[0]]),
        "same_sign": bool(result["sanity"]["all_same_sign"]),
        "comp": f.get("comprehensiveness", np.nan), "rcomp": f.get("random_comprehensiveness", np.nan),
        "suff": f.get("sufficiency", np.nan), "rsuff": f.get("random_sufficiency", np.nan),
        "beats": bool(f.get("beats_random", False)),
    }


def summarise(name: str, figures: list[dict], seconds: float) -> str:
    lex = [f for f in figures if f["has_lexicon"]]
    polar = [f for f in figures if f["has_polar"]]
    top2 = np.mean([f["top2"] for f in lex]) if lex else float("nan")
    towards = np.mean([f["top2_towards"] for f in polar]) if polar else float("nan")

    def mean(key: str) -> float:
        return float(np.mean([f[key] for f in figures]))

    return (f"{name:34s} {top2:6.0%} ({sum(f['top2'] for f in lex):2d}/{len(lex):2d}) {towards:6.0%} "
            f"({sum(f['top2_towards'] for f in polar):2d}/{len(polar):2d}) {mean('stop_top'):6.0%} "
            f"{mean('same_sign'):6.0%} {mean('comp'):6.3f} {mean('rcomp'):6.3f} {mean('suff'):6.3f} "
            f"{mean('rsuff'):6.3f} {mean('beats'):6.0%} {seconds / max(1, len(figures)):6.2f}")


def main() -> int:
    from tools.builtin.attribute import DEFAULT_METHOD

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30, help="rows sampled evenly from the dataset (0 = all)")
    parser.add_argument("--methods", default=DEFAULT_METHOD, help="comma-separated (default: the tool's default)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-before", action="store_true", help="skip the pre-issue-18 token baseline")
    ns = parser.parse_args()
    torch.set_num_threads(ns.threads)
    from tools.context import Workspace
    from tools.settings import Settings

    ws = Workspace(Settings.from_env(), quiet=True)
    rows = evenly_spaced(ws.dataset.rows, ns.rows)
    print(f"model {ws.model.name}, dataset {ws.dataset.name}: {len(rows)} rows, {torch.get_num_threads()} thread(s); "
          f"lexicon: {len(POSITIVE)} positive + {len(NEGATIVE)} negative words (Hu & Liu subset)")
    print("top-2: a lexicon word among the answer's 2 largest |scores| (rows with one; target >= 70%); "
          "towards: a word of the explained label's polarity among the 2 highest signed scores; "
          "stop top: the top word is a stopword/punctuation (target <= 10%); one sign: all words share a sign")
    print(f"{'method (baseline)':34s} {'top-2':>14s} {'towards':>14s} {'stop':>6s} {'1 sign':>6s} {'comp':>6s} "
          f"{'rand':>6s} {'suff':>6s} {'rand':>6s} {'beats':>6s} {'s/row':>6s}")
    for method in ns.methods.split(","):
        perturbs = get_method(method).kind != "gradient"
        baselines = (["token"] if perturbs and not ns.no_before else []) + ["delete"]
        for baseline in baselines:
            start = time.perf_counter()
            figures = [row_figures(explain(ws.model, ws.task, row.text, Request(method=method, baseline=baseline)))
                       for row in rows]
            label = f"{method} ({'before: token' if baseline == 'token' else 'after: delete'})" if perturbs \
                else method
            print(summarise(label, figures, time.perf_counter() - start), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
