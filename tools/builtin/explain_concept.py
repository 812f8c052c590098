"""explain_concept: answers about methods, metrics and whybox's operations from the knowledge
cards, with their sources; says so when no card is relevant instead of guessing."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from tools.base import Output, Params, Tool
from tools.common import data_summary, model_summary
from tools.narration import quote

if TYPE_CHECKING:
    from tools.context import ToolContext

SESSION_THRESHOLD = 0.5  # a session document must be this close to answer instead of a card


class ExplainConceptParams(Params):
    topic: str = Field(max_length=2000, description="the concept, method or operation to explain")
    k: int | None = Field(default=None, ge=1, le=5, description="how many related cards to list")

    @field_validator("topic")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("the topic is empty; ask e.g. 'what is integrated gradients?'")
        return value


class CardRef(Output):
    card: str
    title: str


class CardScore(Output):
    card: str
    score: float  # the hybrid retrieval score
    dense: float
    lexical: float


class ExplainConceptOutput(Output):
    found: bool  # False: no card is relevant; `closest` lists the nearest ones
    topic: str
    card: str | None  # the answering card, or the session document (dataset:..., model:...)
    answer: list[str]  # paragraphs
    caveat: str | None  # the card's main caveat
    sources: list[str]  # references of the card
    related: list[CardRef]
    tools: list[str]  # tools the card is about
    scores: list[CardScore]  # retrieval scores of the candidates
    title: str | None = None  # only when found
    kind: str | None = None  # the card's kind or "session"; only when found
    closest: list[CardRef] | None = None  # only when not found


def session_documents(ctx: ToolContext) -> dict[str, tuple[str, str]]:
    """The loaded dataset's (and, once loaded, the model's) own description, keyed by content hash."""
    docs = {}
    d = data_summary(ctx)
    labels = ", ".join(f"{k} ({v})" for k, v in d["labels"].items()) or "none"
    domains = ", ".join(f"{k} ({v})" for k, v in d["domains"].items())
    docs[f"dataset:{ctx.workspace.dataset.content_hash()[:16]}"] = (
        f"The loaded dataset: {d['name']}",
        f"The dataset {d['name']} from {d['source']} has {d['rows']} rows with columns {', '.join(d['columns'])}. "
        f"Gold labels: {labels}. Texts have {d['words']['min']} to {d['words']['max']} words "
        f"(median {d['words']['median']})."
        + (f" Domains: {domains}." if domains else ""),
    )
    if ctx.workspace.model_loaded:
        m = model_summary(ctx)
        readme = ctx.model.folder / "README.md"
        card = readme.read_text(encoding="utf-8", errors="replace")[:1500] if readme.is_file() else ""
        docs[f"model:{m['content_hash'][:16]}"] = (
            f"The loaded model: {m['name']}",
            f"The model {m['name']} is a {m['architecture']} ({m['kind']}) with {m['parameters']:,} parameters, "
            f"{m['layers']} layers and hidden size {m['hidden_size']}, used as {m['task']} with labels "
            f"{', '.join(m['labels']) or 'none'}. {card}",
        )
    return docs


class ExplainConcept(Tool):
    name = "explain_concept"
    asked_about = "ideas"  # for the capabilities list (tools/base.py)
    description = ("Explain an XAI / ML concept or one of the assistant's operations, grounded in the knowledge base "
                   "with citations.")
    Params = ExplainConceptParams
    Output = ExplainConceptOutput
    intent_examples = (
        "what is a saliency map?",
        "explain how occlusion works",
        "what is attention in transformers?",
        "why would two attribution methods disagree?",
        "what is superposition in neural networks?",
        "what does the tuned lens do?",
        "what is a control task for probes?",
        "what is mdl probing?",
        "what's an activation patching experiment?",
        "how does the grounding check work?",
        "what does it mean when a neuron is polysemantic?",
        "can I trust attention weights as explanations?",
        "what is a baseline in integrated gradients?",
        "explain sufficiency and comprehensiveness",
        "what is kernel shap and how does it relate to shapley values?",
        "tell me about counterfactual explanations",
        "explain adversarial examples",
        "feature attribution in NLP?",
        "what is the learn operation?",
        "what does rationalization mean in NLP?",
        "how can I use the label edit operation?",
        "what is model calibration?",
    )
    examples = ("Can I trust attention weights as explanations?", "what does comprehensiveness measure?")

    planner_role = "concept"  # questions about a concept, answered from the knowledge cards

    def run(self, ctx: ToolContext, params: ExplainConceptParams) -> ExplainConceptOutput:
        retriever = ctx.knowledge
        retriever.store.index_session(session_documents(ctx))
        hits = retriever.search(params.topic, k=max(4, (params.k or 2) + 1))
        scores = [CardScore(card=h.card_id, score=round(h.score, 3), dense=round(h.dense, 3),
                            lexical=round(h.lexical, 3)) for h in hits]
        session = retriever.search_session(params.topic, k=1)
        if session and session[0].score >= max(SESSION_THRESHOLD, hits[0].score if hits else 0.0):
            title, body = retriever.store.session_document(session[0].card_id)
            return ExplainConceptOutput(found=True, topic=params.topic, card=session[0].card_id, title=title,
                                        kind="session", answer=[body], caveat=None, sources=[], related=[], tools=[],
                                        scores=scores)
        relevant = [h for h in hits if retriever.is_relevant(h)]
        if not relevant:
            return ExplainConceptOutput(found=False, topic=params.topic, card=None, answer=[], sources=[], caveat=None,
                                        closest=[CardRef(card=h.card_id, title=h.title) for h in hits[:3]],
                                        related=[], tools=[], scores=scores)
        card = retriever.cards[relevant[0].card_id]
        related = [CardRef(card=h.card_id, title=h.title) for h in relevant[1:1 + (params.k or 2)]]
        return ExplainConceptOutput(found=True, topic=params.topic, card=card.id, title=card.title, kind=card.kind,
                                    answer=list(card.paragraphs), caveat=card.caveat, sources=list(card.references),
                                    related=related, tools=list(card.tools), scores=scores)

    def narrate(self, output: ExplainConceptOutput, args: dict[str, Any]) -> str:
        o = output
        if not o.found:
            closest = ", ".join(c.title for c in o.closest or [])
            return (f"My knowledge base has no card about {quote(o.topic)}, so I will not guess. "
                    f"The closest cards are: {closest}. Ask about one of them, or rephrase.")
        parts = [f"**{o.title}**", *o.answer]
        if o.caveat:
            parts.append(f"Main caveat: {o.caveat}")
        if o.sources:
            parts.append("Sources:\n" + "\n".join(f"{i}. {ref}" for i, ref in enumerate(o.sources, 1)))
        if o.related:
            parts.append("Related: " + ", ".join(r.title for r in o.related) + ".")
        return "\n\n".join(parts)
