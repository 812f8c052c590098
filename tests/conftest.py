"""Shared fixtures. Every test gets its own WHYBOX_HOME (and HOME/XDG dirs) in a temp folder;
tests on the real default model share one persistent home under .cache/ so the GGUF is
converted and the dataset predicted once per checkout, not once per test."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
REAL_HOME = REPO / ".cache" / "test-home"
VOCAB_WORDS = (
    "the a it was is not good bad great terrible food movie battery price service and but very "
    "positive negative positive. negative. review text sentiment answer question : . , ? ( ) or "
    "classify this of with one word"
).split()


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    home = tmp_path / "whybox-home"
    monkeypatch.setenv("WHYBOX_HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    for name in ("WHYBOX_MODEL", "WHYBOX_DATA", "WHYBOX_LLM", "WHYBOX_LABELS", "WHYBOX_LABEL_NAMES", "WHYBOX_TASK",
                 "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return home


def _tiny_tokenizer(folder: Path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<unk>", "<pad>", "<s>", "</s>"]
    vocab = {tok: i for i, tok in enumerate(specials + sorted(set(VOCAB_WORDS)))}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", pad_token="<pad>", bos_token="<s>",
                                  eos_token="</s>")
    tok.save_pretrained(folder)
    return tok


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """A tiny random LLaMA causal LM and a tiny LLaMA sequence classifier, saved as safetensors."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, LlamaForSequenceClassification

    root = tmp_path_factory.mktemp("tiny-models")
    folders = {}
    for kind in ("causal", "classifier"):
        folder = root / kind
        tok = _tiny_tokenizer(folder)
        config = LlamaConfig(
            vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=128, pad_token_id=tok.pad_token_id,
            bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        )
        torch.manual_seed(0)
        if kind == "causal":
            model = LlamaForCausalLM(config)
        else:
            config.num_labels = 2
            config.id2label = {0: "negative", 1: "positive"}
            config.label2id = {"negative": 0, "positive": 1}
            model = LlamaForSequenceClassification(config)
        model.save_pretrained(folder, safe_serialization=True)
        folders[kind] = folder
    return folders


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """A small labelled JSONL dataset whose words the tiny tokenizer knows."""
    path = tmp_path_factory.mktemp("tiny-data") / "tiny.jsonl"
    rows = [
        ("the food was good", "positive"), ("the movie was great", "positive"),
        ("good service and good price", "positive"), ("the battery was bad", "negative"),
        ("terrible food", "negative"), ("the price was not good", "negative"),
        ("a great movie", "positive"), ("bad service", "negative"),
        ("it was very good", "positive"), ("it was very bad", "negative"),
    ]
    path.write_text("".join(json.dumps({"id": 100 + i, "text": t, "label": label}) + "\n"
                            for i, (t, label) in enumerate(rows)))
    return path


@pytest.fixture
def tiny_assistant(tiny_models, tiny_data, isolated_home):
    from agent import Assistant
    from tools.settings import Settings

    settings = Settings.from_env(model=str(tiny_models["causal"]), data=str(tiny_data))
    return Assistant(settings, quiet=True)


@pytest.fixture(scope="session")
def real_workspace():
    """The default SmolLM2 model and demo data, with a persistent home (converted once)."""
    from tools.context import Workspace
    from tools.settings import Settings

    REAL_HOME.mkdir(parents=True, exist_ok=True)
    workspace = Workspace(Settings.from_env(home=str(REAL_HOME)), quiet=True)
    workspace.predictions()  # load the model and predict the dataset once for all slow tests
    return workspace
