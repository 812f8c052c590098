"""Knowledge base: the cards' format and coverage, the MiniLM encoder against
sentence-transformers, the Chroma store's atomic build / reuse / rebuild, retrieval quality on the
held-out question set, and `explain_concept` end to end."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from tools.attribution.catalog import NAMES as METHODS
from tools.knowledge.cards import caveat, load_cards, packaged_cards, short_reference

DATA = Path(__file__).parent / "data"
CONCEPTS = ("gradient_attribution", "baselines", "perturbation_attribution", "shapley_values", "faithfulness",
            "plausibility", "counterfactual", "adversarial", "augment", "chain_of_thought", "probe", "control_tasks",
            "logit_lens", "tuned_lens", "neurons", "superposition", "sparse_autoencoders",
            "neuron_explanation_scoring", "influence_functions", "similar", "activation_patching", "accuracy",
            "precision_recall", "f1", "roc_auc")


@pytest.fixture(scope="module")
def built_home(tmp_path_factory) -> Path:
    """One store for the module (building embeds ~200 chunks); tests copy it when they change it."""
    from tools.knowledge.store import KnowledgeStore

    home = tmp_path_factory.mktemp("kb-home")
    store = KnowledgeStore(home)
    store.open()
    store.close()
    return home


@pytest.fixture(scope="module")
def retriever(built_home):
    from tools.knowledge.retrieval import Retriever
    from tools.knowledge.store import KnowledgeStore

    return Retriever(KnowledgeStore(built_home))


# -- cards -------------------------------------------------------------------------------------
def test_cards_cover_every_tool_method_and_concept():
    from tools.registry import all_tools

    cards = packaged_cards()
    assert len(cards) >= 40
    missing = [name for name in (*all_tools(), *METHODS, *CONCEPTS) if name not in cards]
    assert not missing, f"no card for {missing}"
    for card in cards.values():
        assert card.paragraphs and len(card.body.split()) >= 60, card.id
        for ref in card.references:  # authors, year, title, venue
            assert re.match(r".+ \(\d{4}\)\. .+[.?!] .+\.$", ref), f"{card.id}: {ref}"
        assert set(card.tools) <= set(all_tools()), card.id


def test_every_tool_caveat_points_at_a_card():
    from tools.registry import all_tools

    for tool in all_tools().values():
        if tool.knowledge_card:
            assert caveat(tool.knowledge_card), tool.name
    assert caveat("no_such_card") is None


def test_short_references():
    assert short_reference("Jain, S. & Wallace, B. C. (2019). Attention is not Explanation. NAACL.") == (
        "Jain & Wallace (2019), NAACL")
    assert short_reference("Serrano, S. & Smith, N. A. (2019). Is Attention Interpretable? ACL.") == (
        "Serrano & Smith (2019), ACL")
    assert short_reference("Lanham, T. et al. (2023). Measuring Faithfulness. arXiv:2307.13702.") == (
        "Lanham et al. (2023), arXiv:2307.13702")
    assert short_reference("Hanley, J. A. & McNeil, B. J. (1982). The meaning. Radiology 143(1).") == (
        "Hanley & McNeil (1982), Radiology")


def test_a_malformed_card_is_refused(tmp_path):
    from tools.knowledge.cards import CardError

    (tmp_path / "bad.md").write_text("---\ntitle: x\n---\nbody\n")
    with pytest.raises(CardError, match="missing aliases"):
        load_cards(tmp_path)


# -- encoder -----------------------------------------------------------------------------------
def test_minilm_encoder_matches_sentence_transformers():
    from sentence_transformers import SentenceTransformer

    from tools.embeddings import default_encoder

    texts = ["Can I trust attention weights?", "The soup was cold.", "integrated gradients " * 60, "x"]
    ours = default_encoder().encode(texts)
    reference = SentenceTransformer(str(default_encoder().folder), device="cpu", local_files_only=True).encode(texts)
    assert ours.shape == (4, 384)
    np.testing.assert_allclose(ours, reference, atol=1e-5)
    assert default_encoder().encode([]).shape == (0, 384)


# -- store ---------------------------------------------------------------------------------------
def test_store_is_reused_and_rebuilt_when_cards_change(built_home, tmp_path):
    from tools.knowledge.store import KnowledgeStore

    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    store = KnowledgeStore(home)
    marker = store.path / "whybox-store.json"
    before = marker.stat().st_mtime_ns
    store.open()
    assert marker.stat().st_mtime_ns == before  # reused, not rebuilt
    assert store.query("attention weights")[0].doc_id == "attention"
    store.close()

    fewer = {k: v for k, v in packaged_cards().items() if k in ("attention", "lime", "f1")}
    smaller = KnowledgeStore(home, cards=fewer)
    assert smaller.path != store.path
    assert smaller.query("harmonic mean of precision and recall")[0].doc_id == "f1"
    smaller.close()
    folders = sorted(p.name for p in (home / "knowledge").iterdir())
    assert folders == [smaller.path.name]  # the old store is gone, no staging folder is left


@pytest.mark.parametrize("damage", ["marker", "sqlite", "folder"])
def test_a_damaged_store_is_rebuilt(built_home, tmp_path, damage):
    from tools.knowledge.store import KnowledgeStore

    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    path = KnowledgeStore(home).path
    if damage == "marker":
        (path / "whybox-store.json").write_text("{not json")
    elif damage == "sqlite":
        (path / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    else:
        shutil.rmtree(path)
    store = KnowledgeStore(home)
    assert store.query("what is AOPC")[0].doc_id == "faithfulness"
    assert json.loads((path / "whybox-store.json").read_text())["hash"] == store.hash
    store.close()


def test_a_failed_build_leaves_nothing_half_written(tmp_path, monkeypatch):
    from tools.knowledge import store as store_module

    cards = {k: v for k, v in packaged_cards().items() if k in ("attention", "lime")}
    monkeypatch.setattr(store_module, "card_chunks", lambda card: (_ for _ in ()).throw(RuntimeError("disk full")))
    with pytest.raises(RuntimeError, match="disk full"):
        store_module.KnowledgeStore(tmp_path, cards=cards).open()
    leftovers = list((tmp_path / "knowledge").iterdir()) if (tmp_path / "knowledge").exists() else []
    assert leftovers == []


def test_session_documents_are_indexed_once(built_home, tmp_path):
    from tools.knowledge.store import KnowledgeStore

    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    store = KnowledgeStore(home)
    docs = {"dataset:abc": ("The loaded dataset: reviews", "218 restaurant and film reviews, positive or negative.")}
    store.index_session(docs)
    store.index_session(docs)
    hits = store.query("which reviews are in the loaded dataset", collection="session")
    assert [h.doc_id for h in hits] == ["dataset:abc"]
    assert store.session_document("dataset:abc")[0] == "The loaded dataset: reviews"
    store.close()


# -- retrieval -----------------------------------------------------------------------------------
def _recall_at_3(retriever, name):
    rows = [json.loads(line) for line in (DATA / f"retrieval_{name}.jsonl").read_text().splitlines()]
    hits = [any(h.card_id in row["expected"] for h in retriever.search(row["q"], k=3)) for row in rows]
    return len(rows), sum(hits) / len(rows)


def test_retrieval_meets_the_target_on_held_out_questions(retriever):
    n, recall = _recall_at_3(retriever, "eval")
    assert n >= 60
    assert recall >= 0.95


def test_typos_are_corrected_but_real_words_are_kept(retriever):
    assert retriever.correct("what does the atention heatmap show") == "what does the attention heatmap show"
    assert retriever.correct("who won the world cup") == "who won the world cup"
    assert retriever.search("integrated gradeints delta")[0].card_id == "integrated_gradients"


@pytest.mark.parametrize("question", ["weather in paris tomorrow", "recipe for pizza dough",
                                      "who won the football world cup"])
def test_off_topic_questions_find_nothing_relevant(retriever, question):
    assert not retriever.is_relevant(retriever.search(question, 1)[0])


# -- the tool and the conversation ---------------------------------------------------------------------
@pytest.fixture
def kb_assistant(tiny_assistant, built_home, isolated_home):
    shutil.copytree(built_home / "knowledge", isolated_home / "knowledge")
    return tiny_assistant


def test_explain_concept_answers_with_sources(kb_assistant):
    result = kb_assistant.run_tool("explain_concept", {"topic": "Can I trust attention weights as explanations?"})
    out = result.output
    assert out["found"] and out["card"] == "attention"
    assert any("Jain" in ref and "2019" in ref and "NAACL" in ref for ref in out["sources"])
    record = kb_assistant.ask("Can I trust attention weights as explanations?")
    assert record.steps[0].tool == "explain_concept"
    assert "Sources:" in record.narration and "Attention is not Explanation" in record.narration
    assert record.narration.startswith("**Attention as explanation**")


def test_explain_concept_says_when_it_does_not_know(kb_assistant):
    out = kb_assistant.run_tool("explain_concept", {"topic": "the weather in Paris"}).output
    assert not out["found"] and out["sources"] == [] and len(out["closest"]) == 3
    from tools.builtin.explain_concept import ExplainConcept

    assert "no card about" in ExplainConcept().narrate(ExplainConcept.typed_output(out), {})


def test_explain_concept_rejects_an_empty_topic(kb_assistant):
    from tools.errors import InputError

    with pytest.raises(InputError, match="topic is empty"):
        kb_assistant.run_tool("explain_concept", {"topic": "   "})


def test_other_tools_state_their_caveat_with_its_source(kb_assistant):
    score = kb_assistant.run_tool("score", {"metric": "f1"})
    card = [c for c in score.caveats if not c.startswith("Warning:")]  # loud label-set warnings come first
    assert card[0].endswith("(van Rijsbergen (1979), Butterworths)")
    attribution = kb_assistant.run_tool("attribute", {"text": "the food was good", "method": "lime"})
    assert "(Ribeiro et al. (2016), KDD)" in attribution.caveats[0]
