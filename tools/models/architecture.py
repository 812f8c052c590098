"""The one place that knows where each architecture keeps its blocks (more paths join with issue 7)."""
from __future__ import annotations

from torch import nn

# Attribute paths to the list of transformer blocks, tried in order.
_LAYER_PATHS = (
    "model.layers",  # LLaMA, Mistral, Qwen2, Gemma, Phi-3 (causal LM)
    "layers",  # the same architectures' base model
    "transformer.h",  # GPT-2, GPT-J, Falcon
    "gpt_neox.layers",  # Pythia
    "model.decoder.layers",  # OPT
    "bert.encoder.layer",  # BERT classifiers
    "roberta.encoder.layer",
    "distilbert.transformer.layer",
    "deberta.encoder.layer",  # DeBERTa-v2 / v3 classifiers
    "encoder.layer",
)


def _walk(root: nn.Module, path: str) -> nn.Module | None:
    node: object = root
    for part in path.split("."):
        node = getattr(node, part, None)
        if node is None:
            return None
    return node if isinstance(node, nn.Module) else None


# Bidirectional encoder families, matched against `config.model_type` (their blocks are the BERT-style
# paths above). Tools that read a prediction position need this: an encoder's classifier reads the
# first token ([CLS]), a left-to-right model the last, and a later position cannot affect an earlier
# one only in the latter.
ENCODER_FAMILIES = ("bert", "roberta", "distilbert", "deberta", "modernbert")


def is_encoder(model: nn.Module) -> bool:
    """True for a bidirectional encoder (BERT, RoBERTa, DistilBERT, DeBERTa, ModernBERT), from the config."""
    model_type = str(getattr(getattr(model, "config", None), "model_type", "")).lower()
    return any(family in model_type for family in ENCODER_FAMILIES)


def decoder_layers(model: nn.Module) -> nn.ModuleList | None:
    """The model's list of blocks, or None for an architecture we do not know yet."""
    for path in _LAYER_PATHS:
        found = _walk(model, path)
        if isinstance(found, nn.ModuleList):
            return found
    return None


# Attribute names of a block's self-attention module, tried in order.
_ATTENTION_NAMES = ("self_attn", "attn", "attention", "self_attention")


def attention_modules(model: nn.Module) -> list[nn.Module]:
    """Each block's self-attention module (empty for an architecture we do not know)."""
    layers = decoder_layers(model) or []
    found = []
    for layer in layers:
        module = next((getattr(layer, n) for n in _ATTENTION_NAMES
                       if isinstance(getattr(layer, n, None), nn.Module)), None)
        if module is not None:
            found.append(module)
    return found


# A block's MLP output projection: its INPUT is the neuron vector (SiLU(gate) x up for LLaMA).
_MLP_OUT_PATHS = (
    "mlp.down_proj",  # LLaMA, Mistral, Qwen2, Gemma, Phi-3
    "mlp.c_proj",  # GPT-2
    "mlp.fc_out",  # GPT-J
    "mlp.dense_4h_to_h",  # Pythia, Falcon
    "fc2",  # OPT
    "output.dense",  # BERT / RoBERTa (the intermediate activation feeds it)
    "ffn.lin2",  # DistilBERT
    "mlp.Wo",  # ModernBERT
)
# The final normalisation before the unembedding (logit lens).
_FINAL_NORM_PATHS = ("model.norm", "transformer.ln_f", "gpt_neox.final_layer_norm", "model.decoder.final_layer_norm",
                     "model.final_norm")  # the last: ModernBERT (an encoder: read, never a lens)


def mlp_output_projections(model: nn.Module) -> list[nn.Module]:
    """Each block's MLP output projection, or [] when the architecture is unknown."""
    layers = decoder_layers(model) or []
    found = []
    for layer in layers:
        module = next((m for m in (_walk(layer, p) for p in _MLP_OUT_PATHS) if m is not None), None)
        if module is None:
            return []
        found.append(module)
    return found


def final_norm(model: nn.Module) -> nn.Module | None:
    """The normalisation the unembedding reads (logit lens), or None."""
    for path in _FINAL_NORM_PATHS:
        found = _walk(model, path)
        if found is not None:
            return found
    return None


def embeddings(model: nn.Module) -> nn.Module | None:
    """The token embedding (gradient attributions differentiate with respect to its output)."""
    try:
        return model.get_input_embeddings()
    except (AttributeError, NotImplementedError):
        return None


def unembedding(model: nn.Module) -> nn.Module | None:
    """The next-token head of a causal LM; None for a classifier (its head reads labels, not tokens)."""
    if is_encoder(model) or not type(model).__name__.endswith(("ForCausalLM", "LMHeadModel")):
        return None
    try:
        return model.get_output_embeddings()
    except (AttributeError, NotImplementedError):
        return None


# The hook points a tool can declare in `needs_hooks`, and how each is found.
HOOKS = {
    "blocks": lambda m: decoder_layers(m),
    "mlp": lambda m: mlp_output_projections(m) or None,
    "final_norm": final_norm,
    "unembedding": unembedding,
    "embeddings": embeddings,
}


def missing_hooks(model: nn.Module, needs: tuple[str, ...] | list[str]) -> list[str]:
    """The hook points among `needs` that this model lacks (empty: the tool applies)."""
    return [name for name in needs if HOOKS[name](model) is None]


def require_hooks(handle, tool: str, needs: tuple[str, ...] | list[str]) -> None:
    """Refuse a tool, with the reason, on a model that lacks a hook point it needs."""
    from tools.errors import ToolUnavailable

    missing = missing_hooks(handle.model, needs)
    if not missing:
        return
    why = {"unembedding": "no next-token head (an encoder classifier's head reads labels, not tokens)",
           "final_norm": "no final normalisation before a next-token head"}
    reasons = "; ".join(why.get(name, f"no {name} hook point whybox knows") for name in missing)
    raise ToolUnavailable(f"`{tool}` does not apply to {handle.architecture}: {reasons}.",
                          "Load a causal LM (e.g. --model smollm2) for this tool.")
