"""The planner's clarifying choices as buttons under the chat (issue 21).

A clarifying answer lists its options as numbered text ("2. attribute with occlusion") and
answering "2" runs option 2. The buttons are that, one click away: button n asks "n", so a click
runs exactly what typing the number runs (the same planner path, the same run record). There is
a fixed row of buttons, relabelled after each turn and hidden when the turn offered no choice.
"""
from __future__ import annotations

from typing import Any

import gradio as gr

from agent.records import RunRecord

MAX_BUTTONS = 6  # the planner offers at most six layers; a longer list still reads as text above


def choice_labels(record: RunRecord | None) -> list[str]:
    return [choice.label for choice in (record.choices if record is not None else [])][:MAX_BUTTONS]


def choice_updates(record: RunRecord | None) -> list[Any]:
    """The row's visibility, then each button's label and visibility, for this turn's record."""
    labels = choice_labels(record)
    buttons = [gr.Button(value=f"{n}. {label}", visible=True) for n, label in enumerate(labels, 1)]
    buttons += [gr.Button(visible=False) for _ in range(MAX_BUTTONS - len(labels))]
    return [gr.Row(visible=bool(labels)), *buttons]


def choice_row() -> tuple[Any, list[Any]]:
    """The (hidden) row of choice buttons, to be placed under the chat."""
    with gr.Row(visible=False, elem_id="choices") as row:
        buttons = [gr.Button(visible=False, size="sm", elem_id=f"choice-{n}", elem_classes=["wb-choice"])
                   for n in range(1, MAX_BUTTONS + 1)]
    return row, buttons
