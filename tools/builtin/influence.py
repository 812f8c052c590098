"""influence: the dataset rows whose (hypothetical) training step most helps or hurts the
prediction, by TracIn on the last MLP layer (tools/internals/influence.py), next to the
embedding-similarity alternative. The default model was not trained on the loaded data, so this
reads as "which rows would push the model towards / away from this prediction"."""
from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from pydantic import Field

from tools.base import InstanceParams, Output, Tool
from tools.common import RowView, classifier_setup, cosine, dataset_states, resolve_instance, row_view
from tools.errors import InputError
from tools.narration import row_line, subject
from tools.planning import PlanQuery, Trigger, alternatives

if TYPE_CHECKING:
    from tools.context import ToolContext


class InfluenceParams(InstanceParams):
    k: int | None = Field(default=None, ge=1, le=50)


class InfluentialRow(RowView):
    influence: float  # TracIn score: > 0 a training step on the row supports the prediction


class EmbeddingNeighbour(RowView):
    similarity: float  # cosine similarity of the last hidden state


class InfluenceOutput(Output):
    text: str
    id: int | None = None
    gold_label: str | None = None
    prediction: str
    method: str
    proponents: list[InfluentialRow]
    opponents: list[InfluentialRow]
    training_rows: int
    by_embedding: list[EmbeddingNeighbour]
    overlap_with_embedding: list[int]  # ids among the proponents/opponents and the embedding neighbours


class Influence(Tool):
    name = "influence"
    description = ("Training rows that most influenced the prediction (TracIn on the last MLP layer), proponents "
                   "and opponents.")
    Params = InfluenceParams
    Output = InfluenceOutput
    shorthand = {"infl": "influence", "infl.": "influence"}
    triggers = (
        Trigger(alternatives(
            r"(?:influen\w*|dominant|prominent|important) (?:\w+ )?(?:training|train)",
            r"influen\w* (?:important )?data (?:instance|point)",
            r"(?:dominant|prominent) (?:\w+ )?data",
            r"where did it learn",
            r"which training",
            r"training (?:rows|examples|points|instances|data|reviews) (?:that|which) (?:most|influenc|mattered|matter"
            r"|counted|shaped|contributed)",
            r"\binfluence[ds]?\b",
            r"\b(?:examples?|rows?|points?|instances?|data) from (?:the )?training\b",
            r"\btop \d+ training (?:rows|examples|points|instances|reviews)\b",
            r"\binfluential (?:rows|reviews|examples|points|instances|data|ones)\b",
            r"\btraining (?:rows|examples|points|instances|data|reviews) (?:behind|responsible for|that explain)",
        ), priority=90),
    )
    intent_examples = (
        "which training examples influenced review 4?",
        "top 3 influential training rows for item 9",
        "where did the model learn its prediction for review 2?",
        "the most significant training data instance for review 20",
    )
    needs_model = True
    cacheable = True
    knowledge_card = "influence"
    examples = ("which training reviews influenced the prediction for review 7?",
                "where did it learn to call 'cold food' negative?")

    concept_topic = r"influence"

    @classmethod
    def plan_args(cls, query: PlanQuery, args: dict[str, Any]) -> dict[str, Any]:
        """'the most similar review', 'the most influential training point': k=1."""
        if not query.follow_up and query.k() is None and (one := query.singular_k()) is not None:
            args["k"] = one
        return args

    def run(self, ctx: ToolContext, params: InfluenceParams) -> InfluenceOutput:
        from tools.internals.influence import gradient_factors, tracin_scores
        from tools.internals.probing import cached_states, pooled_states

        text, origin = resolve_instance(ctx, params)
        setup = classifier_setup(ctx, text, self.name)
        task = setup.task
        dataset = ctx.dataset
        if not dataset.has_labels:
            raise InputError("influence needs gold labels: the dataset has none to train on.")
        rows = [r for r in dataset.rows if r.label is not None]
        handle = ctx.model
        signature = f"tracin-last-mlp|{handle.content_hash}|{task.signature}|{dataset.content_hash()}"
        key = hashlib.sha256(signature.encode()).hexdigest()[:24]
        factors = cached_states(ctx.settings.cache_dir, key, lambda: gradient_factors(
            handle, task, [r.text for r in rows], [r.label for r in rows], ctx.workspace.quiet))
        predicted = setup.labels[setup.current]
        test = gradient_factors(handle, task, [text], [predicted])[0]
        scores = tracin_scores(test, factors, handle.hidden_size)
        keep = [i for i, r in enumerate(rows) if r.id != params.id]  # a row does not explain itself
        k = params.k or 5
        by_score = sorted(keep, key=lambda i: (-scores[i], rows[i].id))

        def view(i: int, value: float) -> InfluentialRow:
            view = row_view(ctx, rows[i], with_prediction=True)
            return InfluentialRow(**{**view, "influence": float(f"{value:.4g}")})

        states = dataset_states(ctx)[:, -1]
        index = {r.id: i for i, r in enumerate(dataset.rows)}
        query = pooled_states(handle, task, [text])[0, -1]
        similarity = cosine(states, query)
        by_embedding = sorted(keep, key=lambda i: (-similarity[index[rows[i].id]], rows[i].id))[:k]
        proponents = [view(i, scores[i]) for i in by_score[:k]]
        opponents = [view(i, scores[i]) for i in reversed(by_score[-k:])]
        embedding_view = [EmbeddingNeighbour(**{**row_view(ctx, rows[i], with_prediction=True),
                                                "similarity": round(float(similarity[index[rows[i].id]]), 4)})
                          for i in by_embedding]
        return InfluenceOutput(
            text=text, **origin, prediction=predicted, method="TracIn, one checkpoint, last MLP output projection",
            proponents=proponents, opponents=opponents, training_rows=len(keep), by_embedding=embedding_view,
            overlap_with_embedding=sorted({p.id for p in proponents + opponents} & {r.id for r in embedding_view}),
        )

    def narrate(self, output: InfluenceOutput, args: dict[str, Any]) -> str:
        o = output
        proponents = "\n".join(f"{row_line(r)} influence {r.influence}" for r in o.proponents)
        opponents = "\n".join(f"{row_line(r)} influence {r.influence}" for r in o.opponents)
        neighbours = "\n".join(f"{row_line(r)} similarity {r.similarity}" for r in o.by_embedding)
        return (f"Rows whose training step would most support the prediction {o.prediction} for {subject(o)} "
                f"({o.method}, {o.training_rows} rows):\n{proponents}\n"
                f"Rows that would most push against it:\n{opponents}\n"
                f"For comparison, nearest rows by the model's last hidden state:\n{neighbours}")

    def caveats(self, ctx, params, output):
        return ["The model was not trained on these rows: scores say how a training step on each row would move "
                "this prediction (one checkpoint, last layer only), not where the model actually learned it."]
