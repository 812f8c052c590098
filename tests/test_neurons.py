"""explain_neuron: document-level splits that never overlap, mining that matches a direct
computation and leaves no hooks, and planted units (digits, capitalised words, a topic word list,
negations) described well enough that held-out detection is >= 0.85 while a random description
stays <= 0.55."""
import random

import numpy as np
import pytest

from tools.internals.describe import CATEGORIES, Rule, rule_from_text, rule_sentence
from tools.internals.exemplars import document_parts
from tools.internals.explanations import explain_neuron_from

TOPIC = ["pizza", "pasta", "bread", "cheese", "soup", "salad"]
WORDS = ("the a service was good bad slow quick staff room table order price waiter meal night day very quite rather "
         "and but so it we they came went left asked waited paid").split()
PLANTED = {
    0: lambda t: any(c.isdigit() for c in t),
    1: lambda t: t[:1].isupper(),
    2: lambda t: t.lower() in TOPIC,
    3: lambda t: t.lower() in {"not", "never", "no", "nobody"},
}


def _corpus(n: int = 400, seed: int = 0) -> list[list[str]]:
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(6, 14))]
        for extra in (str(rng.randint(1, 99)), rng.choice(["Paris", "Anna", "Monday", "Berlin"]), rng.choice(TOPIC),
                      rng.choice(["not", "never", "no"])):
            if rng.random() < 0.3:
                words.insert(rng.randrange(len(words) + 1), extra)
        docs.append(words)
    return docs


def _planted(docs: list[list[str]], seed: int = 0):
    """Synthetic units: 8 (plus noise) on their pattern, small noise elsewhere; 6 units (4 planted, 2 noise)."""
    rng = np.random.default_rng(seed)
    acts = []
    for words in docs:
        a = rng.normal(0, 0.3, (len(words), 6))
        for unit, fires in PLANTED.items():
            a[:, unit] += [8.0 + rng.normal(0, 0.5) if fires(w) else 0.0 for w in words]
        acts.append(a)
    maxima = np.stack([a.max(0) for a in acts])
    minima = np.stack([a.min(0) for a in acts])
    return acts, maxima, minima


def test_document_parts_are_disjoint_stable_and_sized():
    ids = list(range(1000))
    parts = document_parts(ids)
    assert set(np.unique(parts)) == {0, 1, 2}
    shares = np.bincount(parts) / len(ids)
    assert abs(shares[0] - 0.5) < 0.05 and abs(shares[1] - 0.2) < 0.05
    assert (document_parts(ids[500:]) == parts[500:]).all()  # a document's part depends on its id alone
    groups = [set(np.flatnonzero(parts == i)) for i in range(3)]
    assert not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])


@pytest.mark.parametrize("unit", sorted(PLANTED))
def test_planted_units_are_described_and_detected_on_held_out_documents(unit):
    docs = _corpus()
    acts, maxima, minima = _planted(docs)
    parts = document_parts(list(range(len(docs))))
    seen: set[int] = set()

    def fetch(indices):
        seen.update(indices)
        return [(docs[i], acts[i]) for i in indices]

    out = explain_neuron_from(fetch, maxima, minima, parts, unit, n_neurons=6, seed=1)
    assert out["explainer"].startswith("deterministic")
    assert out["scores"]["detection"] >= 0.85, out["description"]
    random_baseline = next(b for b in out["baselines"] if b["baseline"] == "random description")
    assert random_baseline["detection"] <= 0.55, random_baseline
    assert out["scores"]["simulation"] > random_baseline["simulation"]
    low, high = out["scores"]["detection_ci95"]
    assert low <= out["scores"]["detection"] <= high
    test_docs = {e["doc"] for e in out["exemplars"]}
    assert all(parts[d] == 0 for d in test_docs)  # exemplars shown come from the explain part only


def test_description_names_the_pattern_and_the_simulator_reads_it_back():
    for name, (words, _) in CATEGORIES.items():
        assert rule_from_text(f"Fires most on {words}.").categories == (name,)
    rule = Rule(tokens=frozenset({"pizza", "soup"}))
    assert rule_from_text(f"Fires most on {rule_sentence(rule, [], 'top')}.") == rule
    assert rule_from_text("no clear pattern").empty


def test_an_llm_description_is_scored_the_same_way():
    docs = _corpus()
    acts, maxima, minima = _planted(docs)
    parts = document_parts(list(range(len(docs))))
    prompts = []

    def llm(system: str, user: str) -> str:
        prompts.append(user)
        return "Numbers and digits such as '12'." if "highest" in user else "Nothing in particular."

    from prompts import load_prompt

    prompt = load_prompt("explain_neuron")
    out = explain_neuron_from(lambda ix: [(docs[i], acts[i]) for i in ix], maxima, minima, parts, 0, n_neurons=6,
                              llm=(llm, prompt.render, "scripted"))
    assert out["explainer"] == "LLM (scripted)" and out["description"]["positive"].startswith("Numbers")
    assert out["rule"]["categories"] == ["digit"] and out["scores"]["detection"] >= 0.85
    assert "<start>" in prompts[0] and "\t10" in prompts[0]  # exemplars on the 0-10 scale


def _corpus_file(tmp_path, n: int = 90):
    path = tmp_path / "corpus.txt"
    rng = random.Random(3)
    words = "the food was good bad great movie service price battery not very it terrible a and".split()
    path.write_text("\n".join(" ".join(rng.choice(words) for _ in range(rng.randint(3, 9))) for _ in range(n))
                    + "\n\n")
    return path


def test_mining_matches_a_direct_computation_and_leaves_no_hooks(tiny_assistant):
    import torch

    from tools.internals.capture import captured_neurons, hook_count
    from tools.internals.exemplars import layer_activations, mine

    handle = tiny_assistant.workspace.model
    texts = ["the food was good", "bad", "the movie was not very good at all"]
    result = mine(handle.model, handle.tokenizer, texts, batch_size=2)  # padding inside a batch
    assert hook_count(handle.model) == 0
    for i, text in enumerate(texts):
        ids = handle.tokenizer(text, add_special_tokens=False)["input_ids"]
        with torch.no_grad(), captured_neurons(handle.model) as store:
            handle.model(input_ids=torch.tensor([ids]))
        direct = torch.stack([a[0] for a in store])  # [layers, tokens, neurons]
        np.testing.assert_allclose(result.maxima[i], direct.amax(1).numpy(), rtol=1e-2, atol=1e-3)
        np.testing.assert_allclose(result.minima[i], direct.amin(1).numpy(), rtol=1e-2, atol=1e-3)
        tokens, acts = layer_activations(handle.model, handle.tokenizer, [text], 1)[0]
        assert len(tokens) == len(ids) and np.allclose(acts, direct[1].numpy(), atol=1e-5)
    assert result.tokens == sum(len(handle.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)


def test_explain_neuron_tool_on_a_tiny_model(tiny_assistant, tmp_path):
    from tools.errors import InputError
    from tools.registry import run_tool

    ctx = tiny_assistant.context
    with pytest.raises(InputError, match="needs at least 5"):
        run_tool(ctx, "explain_neuron", {"layer": 0, "neuron": 1})  # 10 rows are too few to split
    corpus = _corpus_file(tmp_path)
    result = run_tool(ctx, "explain_neuron", {"layer": 1, "neuron": 3, "files": [str(corpus)]})
    out = result.output
    assert out["corpus"]["documents"] == 10 + 90 and sum(out["split_documents"].values()) == 100
    assert out["explainer"].startswith("deterministic") and any("deterministic" in c for c in result.caveats)
    assert {b["baseline"] for b in out["baselines"]} == {"another neuron's description", "token look-up table",
                                                         "random description"}
    assert -1 <= out["scores"]["simulation"] <= 1 and 0 <= out["scores"]["detection"] <= 1
    again = run_tool(ctx, "explain_neuron", {"layer": 1, "neuron": 3, "files": [str(corpus)]}).output
    assert again["scores"] == out["scores"]  # seeded: the same answer twice
    cached = list((tiny_assistant.settings.cache_dir / "activations").glob("*.npy"))
    assert len(cached) == 1  # mined once, then read back
    n_layers = tiny_assistant.workspace.model.n_layers
    with pytest.raises(InputError, match=f"Layer {n_layers} is out of range"):
        run_tool(ctx, "explain_neuron", {"layer": n_layers, "neuron": 0, "files": [str(corpus)]})
    with pytest.raises(InputError, match="Neuron 99999 is out of range"):
        run_tool(ctx, "explain_neuron", {"layer": 0, "neuron": 99999, "files": [str(corpus)]})
    with pytest.raises(InputError, match="Corpus file not found"):
        run_tool(ctx, "explain_neuron", {"layer": 0, "neuron": 0, "files": [str(tmp_path / "nope.txt")]})
    record = tiny_assistant.ask("what does neuron 3 in layer 1 do?")
    assert record.steps[0].status == "error" and "needs at least 5" in record.steps[0].error  # the chat says why


def test_top_neurons_shows_descriptions_once_known(tiny_assistant, tmp_path):
    from tools.registry import run_tool

    ctx = tiny_assistant.context
    first = run_tool(ctx, "top_neurons", {"text": "the food was good", "k": 3, "layer": 1}).output
    assert all(n["description"] is None for n in first["most_active"])
    neuron = first["most_active"][0]["neuron"]
    explained = run_tool(ctx, "explain_neuron",
                         {"layer": 1, "neuron": neuron, "files": [str(_corpus_file(tmp_path))]}).output
    again = run_tool(ctx, "top_neurons", {"text": "the food was good", "k": 3, "layer": 1}).output
    described = next(n for n in again["most_active"] if n["neuron"] == neuron)
    assert described["description"].startswith(explained["description"]["positive"])
    assert f"held-out detection {explained['scores']['detection']}" in described["description"]
