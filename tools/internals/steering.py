"""Steering machinery for tools/builtin/steer.py (contrastive activation addition, Turner et al.
2023; Panickssery et al. 2024): the hook that adds a direction to one block's output, the two
ways of building a direction (difference of class means over pooled row states; a concept's
words minus contrast words in template sentences) and one steered reading of the model.

Why a separate module: the tool module keeps its contract (Params, Output, run, narrate, figure,
planning) and stays under design.md's 500 lines. The hook comes from a context manager that holds
the model's lock and removes the hook also after an error (habits 10 and 15). torch and numpy are
imported inside the functions, so importing the tool (the planner does, for every tool) never
loads them (tests/test_one_tool_one_module.py).
"""
from __future__ import annotations

import threading
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, Iterator

from tools.errors import InputError, ToolUnavailable

if TYPE_CHECKING:
    import numpy as np
    import torch

    from tools.context import ToolContext


MAX_NEW_TOKENS = 20  # generation: the continuation read at each strength
TEMPLATES = ("It is {w}.", "That was {w}.", "I found it {w}.")  # never the first token (attention sinks)
NEUTRAL = ("wooden", "square", "blue", "metal", "yearly", "green", "round", "plastic")
POLES = {
    "positive": ("good", "great", "excellent", "wonderful", "amazing", "lovely", "fantastic", "delightful"),
    "negative": ("bad", "terrible", "awful", "horrible", "poor", "disappointing", "dreadful", "boring"),
    "formal": ("formal", "courteous", "respectful", "professional", "proper", "dignified", "ceremonious", "polite"),
    "informal": ("casual", "chatty", "slangy", "relaxed", "laid-back", "cheeky", "breezy", "informal"),
    "happy": ("happy", "joyful", "cheerful", "glad", "delighted", "elated", "merry", "content"),
    "sad": ("sad", "unhappy", "miserable", "gloomy", "sorrowful", "depressed", "downcast", "heartbroken"),
    "angry": ("angry", "furious", "irate", "enraged", "mad", "outraged", "livid", "hostile"),
    "calm": ("calm", "peaceful", "serene", "relaxed", "tranquil", "composed", "placid", "quiet"),
}
OPPOSITE = {"positive": "negative", "negative": "positive", "formal": "informal", "informal": "formal",
            "happy": "sad", "sad": "happy", "angry": "calm", "calm": "angry"}
ALIASES = {"positivity": "positive", "negativity": "negative", "formality": "formal", "casual": "informal",
           "informality": "informal", "happiness": "happy", "joy": "happy", "sadness": "sad", "anger": "angry",
           "calmness": "calm"}
AXES = ("sentiment", "polarity", "emotion", "tone", "style", "label", "labels", "class")  # an axis, not a pole


@contextmanager
def steering(model: Any, layer: int, vector: "torch.Tensor") -> Iterator[None]:
    """Add `vector` to the output of block `layer` at every position, for forward passes of this
    thread, while the context is open; holds the model's lock and removes the hook on exit."""
    from tools.models.architecture import decoder_layers
    from tools.models.lock import model_lock

    blocks = decoder_layers(model)
    if not blocks:
        raise ToolUnavailable("whybox does not know where this architecture keeps its transformer blocks.")
    owner = threading.get_ident()

    def hook(module, args, output):
        if threading.get_ident() != owner:
            return None
        if isinstance(output, tuple):
            return (output[0] + vector.to(output[0].device, output[0].dtype), *output[1:])
        return output + vector.to(output.device, output.dtype)  # the block's device: layers may sit on 2 GPUs

    with model_lock(model):
        handle = blocks[layer].register_forward_hook(hook)
        try:
            yield
        finally:
            handle.remove()


def rows_direction(states: "np.ndarray", labels: list[str | None], target: str, layer: int) -> tuple[Any, int, int]:
    """(mean state of the `target` rows minus the mean of the other labelled rows at block
    `layer`'s output, rows of the target, other rows). `states` is [rows, layers+1, hidden]."""
    import numpy as np

    x = states[:, layer + 1, :].astype(np.float64)
    mine = np.array([label == target for label in labels])
    other = np.array([label is not None and label != target for label in labels])
    if not mine.any() or not other.any():
        missing = target if not mine.any() else "any other label"
        raise InputError(f"No labelled rows of {missing}, so there is no difference of means to steer along.")
    return x[mine].mean(0) - x[other].mean(0), int(mine.sum()), int(other.sum())


def word_states(handle: Any, layer: int, words: tuple[str, ...] | list[str]) -> "np.ndarray":
    """[words, hidden]: each word's residual state at block `layer`'s output, averaged over its own
    tokens in every template sentence (raw text, no task prompt)."""
    import numpy as np
    import torch

    from tools.internals.capture import captured_residual

    out = []
    for word in words:
        per_template = []
        for template in TEMPLATES:
            sentence = template.format(w=word)
            start = sentence.index(word)
            end = start + len(word)
            try:
                enc = handle.tokenizer(sentence, return_offsets_mapping=True)
                mask = [s < end and e > start and e > s for s, e in enc["offset_mapping"]]
            except (NotImplementedError, KeyError, TypeError):  # a slow tokenizer: no offsets
                enc = handle.tokenizer(sentence)
                mask = [False] + [True] * (len(enc["input_ids"]) - 1)
            if not any(mask):
                mask = [True] * len(enc["input_ids"])
            with torch.no_grad(), captured_residual(handle.model) as states:
                handle.model(input_ids=torch.tensor([list(enc["input_ids"])]))
            hidden = states[layer + 1][0][torch.tensor(mask, dtype=torch.bool)]
            per_template.append(hidden.double().mean(0).cpu().numpy())
        out.append(np.mean(per_template, axis=0))
    return np.stack(out)


def concept_lists(concept: str) -> tuple[str, tuple[str, ...], tuple[str, ...], str]:
    """(canonical concept, its words, the contrast words, what the contrast is)."""
    key = concept.lower()
    key = ALIASES.get(key, key)
    if key in AXES:
        raise InputError(f"'{concept}' names an axis, not a direction to steer towards.",
                         "Name a pole (concept 'positive', 'formal'...) or a `target` label.")
    if key in POLES:
        return key, POLES[key], POLES[OPPOSITE[key]], "opposite words"
    return concept, (concept,), NEUTRAL, "neutral words"


def concept_direction(ctx: ToolContext, handle: Any, layer: int, words: tuple[str, ...] | list[str],
                      contrast: tuple[str, ...] | list[str]) -> "np.ndarray":
    """Mean state of the words minus that of the contrast words, cached per (model, layer, lists)."""
    import numpy as np

    from tools.cache import cache_key

    key = cache_key(tool="steer-concept", model=handle.content_hash, layer=layer, words=list(words),
                    contrast=list(contrast), templates=list(TEMPLATES))
    cached = ctx.cache.get(key)
    if isinstance(cached, list) and len(cached) == handle.hidden_size:
        return np.asarray(cached, dtype=np.float64)
    direction = word_states(handle, layer, words).mean(0) - word_states(handle, layer, contrast).mean(0)
    if direction.shape != (handle.hidden_size,):  # our bug: checked before it is cached
        raise RuntimeError(f"Concept direction of shape {direction.shape}; expected ({handle.hidden_size},).")
    ctx.cache.put(key, direction.tolist())
    return direction


def residual_norm(handle: Any, task: Any, text: str, layer: int) -> float:
    """Mean L2 norm of the residual state at block `layer`'s output over the text's own tokens."""
    import torch

    from tools.internals.capture import captured_residual

    encoded = task.encode(text)
    with torch.no_grad(), captured_residual(handle.model) as states:
        handle.model(input_ids=torch.tensor([list(encoded.input_ids)]))
    mask = torch.tensor(encoded.content_mask, dtype=torch.bool)
    return float(states[layer + 1][0][mask].norm(dim=-1).mean())


def steered(handle: Any, task: Any, text: str, layer: int, vector: "torch.Tensor | None") -> Any:
    """One reading of the model with `vector` added at `layer` (None: no hook at all):
    (label probabilities [L], label-word mass) for classifiers, the Generation otherwise."""
    context = nullcontext() if vector is None else steering(handle.model, layer, vector)
    with context:
        if task.is_classifier:
            probs, mass = task.predict_proba([text], batch_size=1)
            return probs[0], float(mass[0])
        return task.generate(text, max_new_tokens=MAX_NEW_TOKENS)



def random_like(vector: "np.ndarray", seed: int) -> "np.ndarray":
    """The control direction: Gaussian noise scaled to the steering direction's norm, seeded so a rerun
    (and the cache) gives the same control."""
    import numpy as np

    noise = np.random.default_rng(seed).standard_normal(np.shape(vector))
    return noise * (np.linalg.norm(vector) / max(float(np.linalg.norm(noise)), 1e-12))


def text_perplexity(handle: Any, text: str, layer: int, vector: "torch.Tensor | None") -> float | None:
    """Perplexity of the text itself (as plain text, no prompt) under the steered model: a rise says the
    push is breaking the model rather than moving one property. None for encoders (no next-token head)
    and texts of one token."""
    import torch

    from tools.models.architecture import is_encoder

    if is_encoder(handle.model) or not hasattr(handle.model, "lm_head"):
        return None
    ids = handle.tokenizer(text, return_tensors="pt").input_ids.to(handle.device)
    if ids.shape[1] < 2:
        return None
    context = nullcontext() if vector is None else steering(handle.model, layer, vector)
    with torch.no_grad(), context:
        loss = handle.model(input_ids=ids, labels=ids).loss
    return float(torch.exp(loss.float()))
