"""logit_lens: what each layer would predict next (issue 7). The computation lives in
tools/internals/lens.py; this tool resolves the instance and the prompt, narrates and draws."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from tools.base import InstanceParams, Output, Tool
from tools.common import resolve_instance
from tools.figures import layer_names, pyplot, save
from tools.narration import subject
from tools.planning import PlanQuery, Trigger, alternatives

if TYPE_CHECKING:
    from tools.context import ToolContext


class LogitLensParams(InstanceParams):
    position: int | None = Field(default=None, description="token position (0-based; negative counts from the end); "
                                                            "default: the last")
    top: int | None = Field(default=None, ge=1, le=20, description="top tokens per layer")
    framing: Literal["raw", "task"] | None = Field(
        default=None, description="raw: the text as written (its plain continuation; the default for `text`); "
                                  "task: inside the task's prompt (the label position; the default for `id`)")
    raw: bool | None = Field(default=None, description="deprecated: framing='raw'")

    def resolved_framing(self) -> str:
        """The contract's defaults (tools.md): a free text reads as written, a dataset row inside the task."""
        if self.framing is not None:
            return self.framing
        if self.raw is not None:
            return "raw" if self.raw else "task"
        return "raw" if self.text is not None else "task"


class LensToken(Output):
    token: str
    id: int
    p: float


class LensLayer(Output):
    layer: int  # -1: the embeddings, i: the output of block i
    name: str
    top: list[LensToken]
    answer_p: float
    answer_rank: int
    kl_to_final: float
    watched: dict[str, float] | None = None  # probability of each label's words (classifier prompts)


class LogitLensOutput(Output):
    text: str
    id: int | None = None
    gold_label: str | None = None
    prompt: str
    position: int
    position_token: str
    n_tokens: int
    answer: str
    answer_id: int
    first_layer_top1: int | None
    final_matches_model: bool
    layers: list[LensLayer]


class LogitLens(Tool):
    name = "logit_lens"
    version = "3"  # 3: results shape-checked against the model (issue 22: 61-layer lenses of a 30-block
    # model were cached by version 2 under concurrent calls); 2: a free text reads as written (tools.md)
    description = ("What each layer would predict next (logit lens), with the final answer's probability and KL "
                   "per layer.")
    Params = LogitLensParams
    Output = LogitLensOutput
    needs_hooks = ("blocks", "final_norm", "unembedding")  # tools/models/architecture.py HOOKS: else refused
    figure_name = "logit-lens"
    figure_caption = "Logit lens: probability of the final answer and KL to the final distribution per layer."
    triggers = (
        Trigger(alternatives(
            r"logit[ -]?lens",
            # TransformerLens words: "decode resid_post at every layer through W_U"
            r"\bw_u\b|\bunembed\w*\b.*\b(?:every|each|all) layers?\b|\b(?:every|each|all) layers?\b.*\bunembed",
            r"\bdecode\w*\b.*\b(?:resid\w*|residual stream|hidden states?)\b",
            r"each layer (?:would )?predict",
            r"layer by layer",
            r"what (?:does|would) (?:each|every) layer",
            r"(?:each|every) layer'?s? (?:prediction|guess)",
            r"\bbuilds? up (?:over|across|through) (?:the )?layers\b",
            r"\bthe lens\b",
            r"\b(?:at )?(?:which|what) layer (?:does|do|did|is|will) (?:the model|it) (?:\w+ ){0,2}?"
            r"(?:know|decide|figure|settle|make up|commit|lock|arrive|reach|land|sure|certain|confident|done)",
            r"\b(?:settles?|settled|commits?|locks?) (?:on|in|into|to) (?:its|an|the|a) (?:answer|prediction|verdict"
            r"|label|decision)\b",
            r"\bmakes? up its mind\b",
        ), priority=40),
    )
    intent_examples = (
        "logit lens on review 3",
        "what does each layer predict next for item 5?",
        "show the layer by layer predictions for 'The sky is'",
        "what would the intermediate layers guess for review 7?",
        "decode each layer's hidden state for review 2",
    )
    precise = True
    needs_model = True
    cacheable = True
    knowledge_card = "logit_lens"
    examples = ("what does each layer predict for 'The capital of France is'?", "logit lens on review 3")

    concept_topic = r"logit lens"

    @classmethod
    def plan_args(cls, query: PlanQuery, args: dict[str, Any]) -> dict[str, Any]:
        """'... as written' / 'the raw text' reads the text itself; 'inside the classification prompt'
        reads it as the classifier sees it. Neither: the tool's default for id / text."""
        if query.search(r"\b(?:inside|within|in|through) the (?:task|classification|classifier)(?:'s)? prompt\b"
                        r"|\bas the classifier sees it\b|\btask (?:framing|mode)\b"):
            args["framing"] = "task"
        elif query.search(r"\bas written\b|\b(?:the )?raw text\b|\bplain text\b|\bwithout the (?:task )?prompt\b"
                          r"|\braw (?:framing|mode)\b"):
            args["framing"] = "raw"
        return args

    @classmethod
    def shape_problem(cls, ctx: ToolContext, output: dict[str, Any]) -> str | None:
        """Why this result cannot be the model's lens, or None: one row per block plus the
        embeddings, numbered -1, 0, 1, ...; the position inside the input; the first top-1 layer one
        of the rows. Run before a result is cached and when one is read back (issue 22)."""
        from tools.registry import model_blocks

        layers = [row["layer"] for row in output.get("layers", [])]
        n_blocks = model_blocks(ctx)
        if n_blocks and len(layers) != n_blocks + 1:
            return f"{len(layers)} layer rows for a model of {n_blocks} blocks"
        if layers != list(range(-1, len(layers) - 1)):
            return "layer rows are not numbered -1, 0, 1, ..."
        if not 0 <= output.get("position", -1) < output.get("n_tokens", 0):
            return f"position {output.get('position')} outside {output.get('n_tokens')} tokens"
        first = output.get("first_layer_top1")
        if first is not None and first not in layers:
            return f"first top-1 layer {first} is not one of the rows"
        return None

    def run(self, ctx: ToolContext, params: LogitLensParams) -> LogitLensOutput:
        from tools.internals.lens import logit_lens
        from tools.models.architecture import require_hooks

        require_hooks(ctx.model, self.name, self.needs_hooks)
        text, origin = resolve_instance(ctx, params)
        handle, task = ctx.model, ctx.task
        raw = params.resolved_framing() == "raw"
        if raw or not hasattr(task, "encode"):
            ids = handle.tokenizer(text)["input_ids"]
            prompt = "plain text"
        else:
            ids = list(task.encode(text).input_ids)
            prompt = f"the {task.name} prompt"
        watch = None
        if not raw and hasattr(task, "label_token_ids"):
            watch = {label: list(t) for label, t in zip(task.labels, task.label_token_ids)}
        result = logit_lens(handle, ids, params.position, params.top or 5, watch)
        return LogitLensOutput.model_validate({"text": text, **origin, "prompt": prompt, **result})

    def narrate(self, output: LogitLensOutput, args: dict) -> str:
        o = output
        layers = o.layers
        head = (f"On {subject(o)} ({o.prompt}, position {o.position} {o.position_token!r}) the model's next token is "
                f"{o.answer!r} (p {layers[-1].answer_p:.3f}).")
        first = o.first_layer_top1
        when = (f" It first becomes the top token at layer {first} (0-based, of {len(layers) - 1} blocks)."
                if first is not None else " No layer ranks it first.")
        picks = sorted({0, len(layers) // 4, len(layers) // 2, 3 * len(layers) // 4, len(layers) - 1})
        steps = "; ".join(f"layer {layers[i].layer}: {layers[i].top[0].token!r} (answer p {layers[i].answer_p:.3f}, "
                          f"KL {layers[i].kl_to_final:.2f})" for i in picks)
        return head + when + "\nLayer by layer: " + steps + "."

    def figure(self, output: LogitLensOutput, path: Path) -> Path:
        """Probability of the final answer token and KL to the final distribution, per layer."""
        plt = pyplot()
        layers = output.layers
        x = list(range(len(layers)))
        fig, ax = plt.subplots(figsize=(9, 3.4))
        ax.plot(x, [row.answer_p for row in layers], marker="o", color="#2166ac", label=f"p({output.answer!r})")
        ax.set_ylabel("probability of the answer", color="#2166ac")
        ax.set_ylim(0, 1.02)
        kl = ax.twinx()
        kl.plot(x, [row.kl_to_final for row in layers], marker=".", color="#b2182b", alpha=0.7, label="KL to final")
        kl.set_ylabel("KL to final (nats)", color="#b2182b")
        step = max(1, len(x) // 16)
        ax.set_xticks(x[::step], layer_names(layers)[::step])
        ax.set_xlabel("layer (emb = embeddings)")
        ax.set_title(f"Logit lens at {output.position_token!r}: the answer {output.answer!r} through the layers",
                     fontsize=10, loc="left")
        return save(fig, path)
