import numpy as np
import pytest
import torch

from tools.errors import ModelLoadError
from tools.models import build_task, load_model
from tools.models.handle import peek_task_signature
from tools.models.tasks import _forward_last_logits


def test_label_word_classifier_matches_direct_computation_from_logits(tiny_models, tmp_path):
    handle = load_model(str(tiny_models["causal"]), tmp_path, quiet=True)
    task = build_task(handle, "auto", ["negative", "positive"])
    texts = ["the food was good", "it was very bad", "the price was not good at all"]
    probs, mass = task.predict_proba(texts, batch_size=2)

    tok = handle.tokenizer
    neg, pos = tok.convert_tokens_to_ids("negative"), tok.convert_tokens_to_ids("positive")
    assert task.label_token_ids == [[neg], [pos]]  # the word-level tokenizer has one form per word

    def raw(text):
        prompt = f"Review: {text}\nSentiment (negative or positive):"
        ids = tok(prompt, add_special_tokens=False, return_tensors="pt")
        with torch.no_grad():
            logits = handle.model(**ids).logits[0, -1]
        p = torch.softmax(logits.double(), -1)
        return np.array([p[neg].item(), p[pos].item()])

    content_free = np.mean([raw(t) / raw(t).sum() for t in ("N/A", "", "[MASK]")], axis=0)
    for i, text in enumerate(texts):
        r = raw(text)
        expected = (r / r.sum()) / content_free
        np.testing.assert_allclose(probs[i], expected / expected.sum(), rtol=1e-4)
        np.testing.assert_allclose(mass[i], r.sum(), rtol=1e-4)


def test_batched_left_padded_logits_equal_single_passes(tiny_models, tmp_path):
    handle = load_model(str(tiny_models["causal"]), tmp_path, quiet=True)
    task = build_task(handle, "auto", ["negative", "positive"])
    seqs = [task.encode(t).input_ids for t in ["good", "the movie was great and the food was good", "bad"]]
    batched = _forward_last_logits(handle, seqs)
    for i, ids in enumerate(seqs):
        torch.testing.assert_close(batched[i], _forward_last_logits(handle, [ids])[0], atol=1e-4, rtol=1e-4)


def test_content_mask_marks_only_the_users_text(tiny_models, tmp_path):
    handle = load_model(str(tiny_models["causal"]), tmp_path, quiet=True)
    task = build_task(handle, "auto", ["negative", "positive"])
    enc = task.encode("the battery was bad")
    words = [handle.tokenizer.convert_ids_to_tokens(i) for i, m in zip(enc.input_ids, enc.content_mask) if m]
    assert words == ["the", "battery", "was", "bad"]


def test_sequence_classifier_and_generation_tasks(tiny_models, tmp_path):
    clf = load_model(str(tiny_models["classifier"]), tmp_path, quiet=True)
    assert clf.kind == "sequence_classifier"
    task = build_task(clf, "auto", None)
    assert task.labels == ["negative", "positive"]
    probs, _ = task.predict_proba(["good food", "bad"])
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-6)
    lm = load_model(str(tiny_models["causal"]), tmp_path, quiet=True)
    gen = build_task(lm, "generate", None, max_new_tokens=4)
    out = gen.generate("the food was")
    assert 0 < len(out.tokens) <= 4 and all(0 < p <= 1 for p in out.token_probs)


@pytest.mark.parametrize("kind, labels, task", [("causal", ["negative", "positive"], "auto"), ("causal", None, "auto"),
                                               ("classifier", None, "auto")])
def test_peeked_task_signature_equals_the_built_one(tiny_models, tmp_path, kind, labels, task):
    handle = load_model(str(tiny_models[kind]), tmp_path, quiet=True)
    assert peek_task_signature(tiny_models[kind], task, labels) == build_task(handle, task, labels).signature


def test_model_paths_that_are_not_models(tmp_path):
    with pytest.raises(ModelLoadError, match="Model not found"):
        load_model(str(tmp_path / "missing"), tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelLoadError, match="not a Hugging Face model folder"):
        load_model(str(empty), tmp_path)
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text('{"architectures": ["LlamaForCausalLM"], "model_type": "llama"}')
    (pickled / "pytorch_model.bin").write_bytes(b"\x80\x04")
    with pytest.raises(ModelLoadError, match="safetensors only"):
        load_model(str(pickled), tmp_path)
    afile = tmp_path / "weights.txt"
    afile.write_text("x")
    with pytest.raises(ModelLoadError, match="is a file, not a model folder"):
        load_model(str(afile), tmp_path)


def test_the_cached_template_prefix_gives_the_full_prompt_answer_and_never_crosses_a_hook(tiny_models, tmp_path):
    """Rows share the prompt's template: its key/value cache is computed once and reused across
    calls, which must not change a probability, and must not be reused while a hook (steer,
    patch) changes the residual stream of the prefix too."""
    from tools.models.tasks import _forward_last_logits_shared

    handle = load_model(str(tiny_models["causal"]), tmp_path, quiet=True)
    handle.tokenizer.chat_template = ("{% for m in messages %}<s> {{ m['content'] }} </s>{% endfor %}"
                                      "{% if add_generation_prompt %}<s>{% endif %}")
    task = build_task(handle, "auto", ["negative", "positive"])
    texts = ["good food", "bad service and cold soup", "the staff", "good good good bad"]
    batch = [task.encode(t).input_ids for t in texts]
    full = _forward_last_logits(handle, batch)
    torch.testing.assert_close(_forward_last_logits_shared(handle, batch), full, atol=1e-5, rtol=1e-5)
    assert len(handle._prefix_memo) == 1
    torch.testing.assert_close(_forward_last_logits_shared(handle, batch[1:3]), full[1:3], atol=1e-5, rtol=1e-5)
    assert len(handle._prefix_memo) == 1  # reused, not recomputed
    probs, _ = task.predict_proba(texts)
    reference, _ = task.predict_proba(texts, shared_prefix=False)
    np.testing.assert_allclose(probs, reference, atol=1e-5)

    block = handle.layers[0]
    hook = block.register_forward_hook(lambda module, args, out: (out[0] + 3.0, *out[1:])
                                       if isinstance(out, tuple) else out + 3.0)
    try:
        hooked_full = _forward_last_logits(handle, batch)
        hooked_shared = _forward_last_logits_shared(handle, batch)
    finally:
        hook.remove()
    assert (hooked_full - full).abs().max() > 1e-2  # the hook matters
    torch.testing.assert_close(hooked_shared, hooked_full, atol=1e-5, rtol=1e-5)
