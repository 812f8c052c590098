"""Architecture coverage as a contract (issue 23): a tiny random model per architecture, built from
a config (no download), saved as safetensors and loaded through whybox's own loader exactly as a
user's local folder; every model tool of the registry either runs on it or is refused with a
one-line reason (a WhyboxError), never a traceback. Which tools apply is decided by the tools
themselves (their `needs_hooks` and the hooks `tools/models/architecture.py` finds), not here."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import _tiny_tokenizer
from tools.errors import ModelLoadError, WhyboxError

_DECODER = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, max_position_embeddings=128)
_ENCODER = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                max_position_embeddings=130)
# model_type -> (causal LM or classifier, config keywords)
ARCHITECTURES: dict[str, tuple[str, dict]] = {
    "llama": ("causal", _DECODER),
    "qwen2": ("causal", _DECODER),
    "qwen3": ("causal", {**_DECODER, "head_dim": 8}),
    "gemma2": ("causal", {**_DECODER, "head_dim": 8}),
    "gemma3_text": ("causal", {**_DECODER, "head_dim": 8}),
    "mistral": ("causal", _DECODER),
    "phi3": ("causal", _DECODER),
    "gpt2": ("causal", dict(n_embd=32, n_layer=2, n_head=4, n_positions=128)),
    "gpt_neox": ("causal", dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                                max_position_embeddings=128)),
    "opt": ("causal", dict(hidden_size=32, ffn_dim=64, num_hidden_layers=2, num_attention_heads=4,
                           word_embed_proj_dim=32, max_position_embeddings=128)),
    "bert": ("classifier", _ENCODER),
    "roberta": ("classifier", _ENCODER),
    "distilbert": ("classifier", dict(dim=32, hidden_dim=64, n_layers=2, n_heads=4, max_position_embeddings=128)),
    "deberta-v2": ("classifier", _ENCODER),
    "modernbert": ("classifier", {**_ENCODER, "global_attn_every_n_layers": 1, "local_attention": 16}),
}
VOCAB = 64

# Each model tool with arguments that make it run on the tiny data (row 100: "the food was good").
TOOL_CALLS: dict[str, dict] = {
    "predict": {"id": 100},
    "attribute": {"id": 100, "method": "occlusion", "k": 3},
    "attribute:integrated_gradients": {"id": 100, "method": "integrated_gradients", "k": 3, "steps": 4},
    "logit_lens": {"id": 100},
    "top_neurons": {"id": 100, "k": 3},
    "probe": {},
    "steer": {"id": 100, "target": "positive", "layer": 1, "strength": 2.0},
    "patch": {"id": 100, "contrast_id": 103},
    "similar": {"id": 100, "k": 2},
    "describe_model": {},
}


def _save_tiny(model_type: str, folder: Path) -> Path:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification

    kind, keywords = ARCHITECTURES[model_type]
    tok = _tiny_tokenizer(folder)
    config = AutoConfig.for_model(model_type, vocab_size=VOCAB, pad_token_id=tok.pad_token_id,
                                  bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, **keywords)
    torch.manual_seed(0)
    if kind == "causal":
        model = AutoModelForCausalLM.from_config(config)
    else:
        config.num_labels = 2
        config.id2label = {0: "negative", 1: "positive"}
        config.label2id = {"negative": 0, "positive": 1}
        model = AutoModelForSequenceClassification.from_config(config)
    model.save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.fixture(scope="module", params=sorted(ARCHITECTURES))
def arch_context(request, tmp_path_factory, tiny_data):
    """One loaded tiny model per architecture for the whole module, with its own home."""
    from tools.context import ToolContext, Workspace
    from tools.settings import Settings

    root = tmp_path_factory.mktemp(f"arch-{request.param}")
    folder = _save_tiny(request.param, root / "model")
    settings = Settings.from_env(model=str(folder), data=str(tiny_data), home=str(root / "home"))
    return request.param, ToolContext(Workspace(settings, quiet=True))


SLOW_CALLS = ("probe", "attribute:integrated_gradients")  # 2-9 s each per architecture: ~60 s together


@pytest.mark.parametrize("call", [pytest.param(c, marks=pytest.mark.slow) if c in SLOW_CALLS else c
                                  for c in sorted(TOOL_CALLS)])
def test_every_model_tool_runs_or_is_refused_with_a_reason(arch_context, call):
    from tools.models.architecture import missing_hooks
    from tools.registry import get_tool, run_tool

    model_type, ctx = arch_context
    name = call.split(":")[0]
    tool = get_tool(name)
    handle = ctx.workspace.model
    missing = missing_hooks(handle.model, getattr(tool, "needs_hooks", ()))
    if ARCHITECTURES[model_type][0] == "causal":
        assert not missing, f"{model_type}: architecture.py finds no {missing}"
    if missing:
        with pytest.raises(WhyboxError) as refused:
            run_tool(ctx, name, TOOL_CALLS[call])
        assert name in str(refused.value) and handle.architecture in str(refused.value)
        return
    result = run_tool(ctx, name, TOOL_CALLS[call])
    assert result.output and result.tool == name


def test_the_hooks_are_found_per_block(arch_context):
    from tools.models.architecture import embeddings, final_norm, mlp_output_projections, unembedding

    model_type, ctx = arch_context
    model = ctx.workspace.model.model
    assert ctx.workspace.model.layers is not None and len(ctx.workspace.model.layers) == 2
    assert len(mlp_output_projections(model)) == 2
    assert embeddings(model) is model.get_input_embeddings()
    if ARCHITECTURES[model_type][0] == "causal":
        assert final_norm(model) is not None and unembedding(model) is model.get_output_embeddings()


def test_a_model_without_a_head_is_refused_at_load_with_the_fix(tmp_path):
    from transformers import BertConfig, BertModel

    from tools.models.handle import load_model

    tok = _tiny_tokenizer(tmp_path)
    BertModel(BertConfig(vocab_size=VOCAB, pad_token_id=tok.pad_token_id, **_ENCODER)).save_pretrained(tmp_path)
    with pytest.raises(ModelLoadError) as refused:
        load_model(str(tmp_path), tmp_path / "models", quiet=True)
    message = str(refused.value)
    assert "BertModel" in message and "has no head" in message
    assert "load a *ForSequenceClassification or a causal LM" in message
    from tools.context import Workspace
    from tools.settings import Settings

    switched = Workspace(Settings.from_env(model=str(tmp_path), home=str(tmp_path / "home")), quiet=True)
    with pytest.raises(ModelLoadError, match="BertModel has no head"):
        switched.check()  # the UI's model switch: refused before any weights load
