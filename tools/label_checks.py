"""Honesty checks on a classifier's label set, shared by the tools that report predictions.

A metric over labels the model cannot produce, or over label probabilities renormalised from a
small share of the model's answer, must never come without a sentence saying so (issue 18: 0/1
gold labels scored against the label words "not offensive"/"offensive" gave accuracy 0.000 with no
word of why). No torch here: the planner and `whybox plan` import tools without the model.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Sequence

LOW_LABEL_MASS = 0.5  # below this share of the answer on the label words, answers warn loudly
NAMES_HINT = 'map the gold labels to words with --label-names, e.g. "0=not offensive,1=offensive"'
NAME_THEM = ('name them in the "Label names" box of the web UI (Model and data), or with --label-names, e.g. '
             '"0=negative,1=positive"')


def coded_labels_note(model_labels: Sequence[str], ctx: object) -> str | None:
    """Labels that are bare codes ('0', '1') that a language model is asked to answer with, and no names for
    them: the prompt tells the model nothing about what they mean (a newcomer's 0/1 file got answers near
    chance and no word of why). Read from the workspace, without loading the model."""
    workspace = getattr(ctx, "workspace", None)
    label_words_task = str(getattr(workspace, "task_signature", "")).startswith("label_words")
    if (not label_words_task or getattr(workspace, "label_words", None) or len(model_labels) < 2
            or not all(re.fullmatch(r"\d+|[A-Za-z]", str(x)) for x in model_labels)):
        return None
    return (f"Warning: the labels are bare codes ({', '.join(map(repr, model_labels))}); the model is asked to answer "
            f"with those codes, which tell it nothing about what they mean, so its answers may be near chance. If "
            f"you know what they mean, {NAME_THEM}.")


def unproducible_gold(model_labels: Sequence[str], gold: Sequence[str]) -> dict[str, int]:
    """Gold labels the model has no label for, with their row counts: those rows are always wrong."""
    known = set(model_labels)
    return dict(sorted(Counter(g for g in gold if g not in known).items()))


def never_predicted(model_labels: Sequence[str], predicted: Sequence[str]) -> list[str]:
    seen = set(predicted)
    return [label for label in model_labels if label not in seen]


def label_set_notes(model_labels: Sequence[str], unproducible: dict[str, int], never: Sequence[str], rows: int,
                    mean_mass: float | None) -> list[str]:
    """Warnings, loudest first, for a figure computed over `rows` labelled rows."""
    notes = []
    if unproducible:
        n = sum(unproducible.values())
        shown = ", ".join(f"{label!r} ({count})" for label, count in unproducible.items())
        notes.append(
            f"Warning: {n} of {rows} rows have a gold label the model cannot predict ({shown}); the model's labels "
            f"are {', '.join(map(repr, model_labels))}, so those rows always count as wrong. If these name the same "
            f"classes, {NAMES_HINT}.")
    if never and rows >= len(model_labels):
        notes.append(f"The model never predicts {', '.join(map(repr, never))} on these rows.")
    if mean_mass is not None and mean_mass < LOW_LABEL_MASS:
        notes.append(
            f"Warning: the model put on average only {mean_mass:.1%} of its answer probability on the label words; "
            "the label probabilities are renormalised from that share, so they may say more about the prompt than "
            "about how the model reads the text.")
    return notes
