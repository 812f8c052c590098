"""Label sets as real data brings them (issue 18): 0/1 labels, integer labels, a label-names
verbalizer, multi-word labels, labels sharing a first token (scored as whole sequences), four
classes, and the warnings that keep a metric over unproducible labels from lying.

The tiny LLaMA here has a byte-level BPE tokenizer that splits digits like SmolLM2's: " 0" is
the bare-space token then "0", the case the issue reports as refused."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from tools.errors import InputError, ModelLoadError

WORDS = ("the a it was is not good bad great terrible food movie price service very offensive tweet you are "
         "so nice stupid idiot thanks what when where please open close tell me i will do inform question "
         "directive commissive positive negative enough review sentiment or classify this one word of").split()


@pytest.fixture(scope="module")
def bpe_model(tmp_path_factory) -> Path:
    """A tiny random LLaMA with a byte-level BPE tokenizer whose digits are single tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("bpe-model")
    core = Tokenizer(models.BPE(unk_token=None))
    core.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                   pre_tokenizers.ByteLevel(add_prefix_space=False)])
    core.decoder = decoders.ByteLevel()
    corpus = [" ".join(WORDS), "0 1 2 3 10 12", "Review: Sentiment (0 or 1):"] + [w.capitalize() for w in WORDS]
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<pad>", "<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    core.train_from_iterator(corpus * 5, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", bos_token="<s>", eos_token="</s>")
    tok.save_pretrained(folder)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder, safe_serialization=True)
    return folder


def _csv(path: Path, header: tuple[str, str], rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("id", *header))
        writer.writerows((i, *row) for i, row in enumerate(rows))
    return path


def _assistant(model: Path, data: Path, **settings):
    from agent import Assistant
    from tools.settings import Settings

    return Assistant(Settings.from_env(model=str(model), data=str(data), **settings), quiet=True)


OLID = [("you are so stupid", "1"), ("thanks you are nice", "0"), ("what a idiot", "1"), ("the food was good", "0"),
        ("you are a idiot", "1"), ("it was a great movie", "0")]


def test_zero_one_labels_share_the_bare_space_token_and_are_scored_as_sequences(bpe_model, tmp_path):
    tok = __import__("transformers").AutoTokenizer.from_pretrained(bpe_model)
    assert [tok.convert_ids_to_tokens(tok.encode(s)) for s in (" 0", " 1")] == [["Ġ", "0"], ["Ġ", "1"]]
    assistant = _assistant(bpe_model, _csv(tmp_path / "olid.csv", ("tweet", "subtask_a"), OLID),
                           text_column="tweet", label_column="subtask_a")
    task = assistant.context.task
    assert task.labels == ["0", "1"] and task.scoring == "sequence"
    assert task.label_token_ids == [[tok.convert_tokens_to_ids("0")], [tok.convert_tokens_to_ids("1")]]
    probs, mass = task.predict_proba([t for t, _ in OLID], batch_size=4)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-6)
    assert ((mass > 0) & (mass <= 1)).all()
    out = assistant.run_tool("score", {}).output
    assert out["rows"] == 6 and out["model_labels"] == ["0", "1"] and out["unproducible"] == {}
    assert 0 < out["label_mass"] < 0.5  # a random model hardly ever answers a label ...
    result = assistant.run_tool("score", {})
    assert any(c.startswith("Warning: the model put on average only") for c in result.caveats)  # ... and says so
    # ... and that bare codes tell the model nothing, with where to name them (a newcomer's 0/1 file)
    assert result.caveats[0].startswith("Warning: the labels are bare codes ('0', '1')") and "Label names" in \
        result.caveats[0]
    predicted = assistant.run_tool("predict", {"id": 0})
    assert any(c.startswith("Warning: the labels are bare codes") for c in predicted.caveats)


def test_sequence_scores_with_the_prompt_cache_equal_full_forwards(bpe_model, tmp_path):
    from tools.models import build_task, load_model
    from tools.models.label_words import _sequence_log_probs_full, sequence_log_probs

    handle = load_model(str(bpe_model), tmp_path, quiet=True)
    task = build_task(handle, "auto", ["0", "1", "2"], label_words=["not offensive", "offensive", "very offensive"])
    prompts = [task.encode(t).input_ids for t in ("you are so stupid", "thanks", "the food was good and nice")]
    forms = [f for label in task.label_sequences for f in label]
    assert max(len(f) for f in forms) > 1
    torch.testing.assert_close(sequence_log_probs(handle, prompts, forms),
                               _sequence_log_probs_full(handle, prompts, forms), atol=1e-4, rtol=1e-4)


def test_label_names_map_integer_gold_labels_to_words(bpe_model, tmp_path):
    data = _csv(tmp_path / "olid.csv", ("text", "label"), OLID)
    assistant = _assistant(bpe_model, data, label_names="0=not offensive,1=offensive")
    task = assistant.context.task
    assert task.labels == ["0", "1"] and task.label_words == ["not offensive", "offensive"]
    assert "not offensive or offensive" in task.prompt_with_span("x")[0]
    out = assistant.run_tool("score", {}).output
    assert out["unproducible"] == {} and out["model_labels"] == ["0", "1"]
    predict = assistant.run_tool("predict", {"id": 0})
    assert set(predict.output["probabilities"]) == {"0", "1"}
    assert not any("bare codes" in c for c in predict.caveats)  # named: no note
    with pytest.raises(InputError, match="'2', which is not a label"):
        _assistant(bpe_model, data, label_names="0=not offensive,2=offensive").context.task


def test_label_words_that_do_not_match_the_gold_labels_never_score_silently(bpe_model, tmp_path):
    """The issue's `--labels "not offensive,offensive"` on 0/1 data: accuracy 0 with a reason."""
    assistant = _assistant(bpe_model, _csv(tmp_path / "olid.csv", ("text", "label"), OLID),
                           labels="not offensive,offensive")
    result = assistant.run_tool("score", {})
    assert result.output["value"] == 0 and result.output["unproducible"] == {"0": 3, "1": 3}
    assert result.caveats[0].startswith("Warning: 6 of 6 rows have a gold label the model cannot predict")
    assert "--label-names" in result.caveats[0]
    predict = assistant.run_tool("predict", {"id": 0})
    assert any("gold label '1' is not one the model can predict" in c for c in predict.caveats)
    assert "cannot predict" in assistant.ask("what's the accuracy?").narration


def test_multi_word_labels_sharing_their_first_word(bpe_model, tmp_path):
    rows = [("the food was great", "very positive"), ("terrible service", "very negative"),
            ("good price", "positive"), ("bad movie", "negative"), ("it was great", "very positive")]
    assistant = _assistant(bpe_model, _csv(tmp_path / "multi.csv", ("text", "label"), rows))
    task = assistant.context.task
    assert task.labels == ["negative", "positive", "very negative", "very positive"]
    assert task.scoring == "sequence"  # "very ..." share their first token
    out = assistant.run_tool("score", {"metric": "f1"}).output
    assert out["rows"] == 5 and set(out["per_label"]) == set(task.labels)
    table = assistant.context.predictions()
    assert table.probs.shape == (5, 4)
    np.testing.assert_allclose(table.probs.sum(1), 1.0, rtol=1e-6)


def test_a_label_that_begins_another_ends_with_the_end_token(bpe_model, tmp_path):
    from tools.models import build_task, load_model

    handle = load_model(str(bpe_model), tmp_path, quiet=True)
    task = build_task(handle, "auto", ["1", "10", "12"])
    eos = handle.tokenizer.eos_token_id
    assert task.scoring == "sequence" and all(form[-1] == eos for forms in task.label_sequences for form in forms)
    probs, mass = task.predict_proba(["you are nice"])
    assert probs.shape == (1, 3) and 0 < mass[0] <= 1
    with pytest.raises(ModelLoadError, match="same label word"):
        build_task(handle, "auto", ["0", "1"], label_words=["offensive", "offensive"])


def test_four_dialog_acts_end_to_end(bpe_model, tmp_path):
    rows = [("what is the price", "question"), ("please open it", "directive"), ("i will do it", "commissive"),
            ("the movie was good", "inform"), ("when is it", "question"), ("close it please", "directive"),
            ("i will tell you", "commissive"), ("it is open", "inform")]
    data = _csv(tmp_path / "dialog.csv", ("dialog", "act"), rows)
    assistant = _assistant(bpe_model, data, text_column="dialog", label_column="act")
    assert assistant.context.task.labels == ["commissive", "directive", "inform", "question"]
    score = assistant.run_tool("score", {}).output
    assert score["rows"] == 8 and score["unproducible"] == {}
    confusion = assistant.run_tool("mistakes", {"mode": "confusion"}).output
    assert confusion["labels"] and len(confusion["labels"]) == 4
    assert set(assistant.run_tool("predict", {"text": "what is it"}).output["probabilities"]) == set(
        assistant.context.task.labels)


def test_integer_labels_sort_numerically_and_json_floats_read_as_integers(tmp_path):
    import json

    from tools.data import load_dataset

    path = tmp_path / "ints.jsonl"
    path.write_text("".join(json.dumps({"text": f"t{i}", "label": v}) + "\n" for i, v in enumerate([10, 2.0, 1, 2])))
    assert load_dataset(str(path)).labels == ["1", "2", "10"]


def test_label_names_parsing():
    from tools.settings import Settings, parse_label_names

    assert parse_label_names("0=not offensive, 1 = offensive") == (("0", "not offensive"), ("1", "offensive"))
    assert Settings.from_env(label_names={0: "no", 1: "yes"}).label_names == (("0", "no"), ("1", "yes"))
    with pytest.raises(InputError, match="LABEL=WORDS"):
        parse_label_names("0:not offensive")


def test_cli_takes_label_names():
    from ui.cli import _settings, build_parser

    ns = build_parser().parse_args(["tool", "score", "--label-names", "0=not offensive,1=offensive"])
    assert _settings(ns).label_names == (("0", "not offensive"), ("1", "offensive"))


def test_the_answer_prefix_opens_the_assistant_turn_only_in_a_chat_template(bpe_model, tmp_path):
    from tools.models import build_task, load_model

    handle = load_model(str(bpe_model), tmp_path, quiet=True)
    task = build_task(handle, "auto", ["negative", "positive"])
    assert task.prompt_with_span("good food")[0].endswith("\nSentiment (negative or positive):")  # plain: its own cue
    handle.tokenizer.chat_template = ("{% for m in messages %}<s>{{ m['content'] }}</s>{% endfor %}"
                                      "{% if add_generation_prompt %}<s>{% endif %}")
    prompt, (start, end) = task.prompt_with_span("good food")
    assert prompt.endswith("</s><s>Sentiment:") and prompt[start:end] == "good food"


def test_topic_labels_get_a_generic_instruction_not_a_sentiment_one(bpe_model, tmp_path):
    """A sentiment question over domain labels left the label words 0.001 of SmolLM2's answer
    (prompt v3): the wording follows what the labels are."""
    from tools.models import build_task, load_model

    handle = load_model(str(bpe_model), tmp_path, quiet=True)
    handle.tokenizer.chat_template = ("{% for m in messages %}<s>[{{ m['role'] }}] {{ m['content'] }}</s>{% endfor %}"
                                      "{% if add_generation_prompt %}<s>{% endif %}")
    topics = build_task(handle, "auto", ["film", "product", "restaurant", "service"])
    prompt, (start, end) = topics.prompt_with_span("the popcorn was stale")
    assert topics.wording == "generic" and "sentiment" not in prompt.lower()
    assert "[system] You are a text classifier. Reply with one word: film, product, restaurant or service." in prompt
    assert "Which label fits this text: film, product, restaurant or service?" in prompt
    assert prompt.endswith("<s>Label:") and prompt[start:end] == "the popcorn was stale"
    sentiment = build_task(handle, "auto", ["negative", "neutral", "positive"])
    prompt = sentiment.prompt_with_span("fine")[0]
    assert sentiment.wording == "sentiment" and "Is this review negative, neutral or positive?" in prompt
    assert "Reply with one word: negative, neutral or positive." in prompt and prompt.endswith("<s>Sentiment:")
    offensive = build_task(handle, "auto", ["0", "1"], label_words=["not offensive", "offensive"])
    prompt = offensive.prompt_with_span("x")[0]
    assert offensive.wording == "generic" and "Reply with one of these labels: not offensive or offensive." in prompt


def test_a_template_without_a_system_role_gets_the_instruction_in_the_user_turn(bpe_model, tmp_path):
    """Gemma 2's template raises on a system message; others drop it. Either way the instruction
    must reach the model."""
    from tools.models import build_task, load_model

    handle = load_model(str(bpe_model), tmp_path, quiet=True)
    task = build_task(handle, "auto", ["negative", "positive"])
    refuses = ("{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
               "{% for m in messages %}<u>{{ m['content'] }}</u>{% endfor %}"
               "{% if add_generation_prompt %}<a>{% endif %}")
    drops = ("{% for m in messages %}{% if m['role'] == 'user' %}<u>{{ m['content'] }}</u>{% endif %}{% endfor %}"
             "{% if add_generation_prompt %}<a>{% endif %}")
    for template in (refuses, drops):
        handle.tokenizer.chat_template = template
        prompt, (start, end) = task.prompt_with_span("good food")
        assert prompt.startswith("<u>You are a sentiment classifier. Reply with one word: negative or positive.\n\n"
                                 "Is this review negative or positive?"), prompt
        assert prompt.endswith("</u><a>Sentiment:") and prompt[start:end] == "good food"
