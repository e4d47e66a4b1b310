"""The dataset card (README.md) of a release: Hub YAML metadata plus prose drawn from the data."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import yaml

from schemas.config import ProjectConfig
from schemas.records import LETTERS
from schemas.release import ReleaseDiff
from schemas.values import ALL_VALUES

TABLE_FILES = {"questions": "data/questions.parquet", "scenarios": "data/scenarios.parquet",
               "candidates": "data/candidates.parquet", "validation": "data/validation.parquet"}
FIGURES = {"value_distribution": "figures/value_distribution.png",
           "confusion_matrix": "figures/confusion_matrix.png"}
DIFF_LIST_LIMIT = 50


@dataclass
class CardInputs:
    """Everything the card describes."""

    config: ProjectConfig
    questions: int
    scenarios: int
    candidates: int
    positions: Counter[tuple[str, str]]  # options by (value, letter)
    per_subreddit: Counter[tuple[str, str]]  # scenarios by (domain, subreddit)
    models: dict[str, str]
    prompts: dict[str, str]
    warnings: dict[str, int]
    scrubbed: dict[str, int]
    cost_usd: float
    origin: str = "workspace"
    notes: str = ""
    correction_policy: str = ""
    validation_rows: int = 0
    validation_summary: dict[str, Any] = field(default_factory=dict)
    diff: ReleaseDiff | None = None
    invariant_breaks: dict[str, int] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)


def size_category(n: int) -> str:
    """The Hub's size bucket for a row count."""
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if n < limit:
            return label
    return "100K<n<1M"


def card_metadata(inputs: CardInputs) -> dict[str, object]:
    """YAML header: valid for huggingface_hub's DatasetCardData; ``configs`` drive load_dataset.

    An empty ``validation`` table is shipped (fixed schema) but not listed as a config:
    ``datasets`` cannot load a split with no rows, and a config that fails to load is worse
    than one that is absent until expert judgements exist.
    """
    pub = inputs.config.publish
    return {
        "license": pub.license,
        "language": ["en"],
        "pretty_name": pub.pretty_name,
        "task_categories": ["multiple-choice", "text-classification"],
        "size_categories": [size_category(inputs.questions)],
        "annotations_creators": ["machine-generated", "expert-generated"]
        if inputs.validation_rows else ["machine-generated"],
        "source_datasets": ["original"],
        "tags": ["values", "schwartz", "value-action-gap", "reddit"],
        "configs": [
            {"config_name": name, "data_files": [{"split": "train", "path": path}]}
            for name, path in TABLE_FILES.items()
            if name != "validation" or inputs.validation_rows
        ],
    }


def _table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _recipe(inputs: CardInputs) -> str:
    """How the data was made: valact's stages, or the import of the authors' files."""
    cfg = inputs.config
    if inputs.origin == "valact-original":
        return (
            "These questions are the original VALACT-15K question lists, imported unchanged with\n"
            "`valact import valact-original` from the authors' public files. Each action keeps the\n"
            "model that wrote it (`generator`) and its intended value. The original sampler did not\n"
            "enforce one action per model per value; see *Invariant breaks* below."
        )
    subreddits = sum(len(s) for s in cfg.domains.values())
    return f"""1. Posts from {subreddits} subreddits in {len(cfg.domains)} domains,
   dated {cfg.collect.start_date} to {cfg.collect.end_date}.
2. Rule prefilter (deleted/removed, NSFW, under {cfg.screen.min_words} words, non-English,
   not first person, duplicates), then a Yes/No LLM screen by {", ".join(cfg.screen.screeners)}
   with {cfg.screen.tiebreaker or "no"} tie-breaker; up to {cfg.screen.quota_per_domain} scenarios per domain.
3. Each of the generators {", ".join(cfg.generate.generators)} wrote one action (at most
   {cfg.generate.max_sentences} sentences) per value per scenario: 20 candidates per scenario.
4. Five questions of four value-distinct options per scenario: every candidate used once, each
   value appears in two questions, once per generator (seed {cfg.assemble.seed})."""


def _cell(value: object) -> str:
    """A summary value as table text: floats to 3 places, lists joined, missing as n/a."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    return str(value)


def _validation_section(inputs: CardInputs) -> str:
    if not inputs.validation_rows:
        return ("No expert validation is attached to this version: `data/validation.parquet` is empty "
                "(so it is not yet a `configs` entry) and value labels are the generators' intent.")
    summary_rows: list[list[object]] = [
        [key, _cell(value)] for key, value in sorted(inputs.validation_summary.items())
        if not isinstance(value, dict)
    ]
    return (f"{inputs.validation_rows} expert judgements of action-value labels "
            "(table `validation`).\n\n" + _table(["measure", "value"], summary_rows or [["(none)", ""]]))


def diff_markdown(diff: ReleaseDiff) -> str:
    """The changes since the previous version, as markdown (used in the card and CHANGELOG)."""
    if diff.old_version is None:
        return "First release: no previous version to compare with."
    lines = [f"Compared with {diff.old_version}, by stable id:", ""]
    rows: list[list[object]] = [
        [name, len(t.added), len(t.removed), len(t.changed)] for name, t in sorted(diff.tables.items())
    ]
    lines.append(_table(["table", "added", "removed", "changed"], rows))
    for name, t in sorted(diff.tables.items()):
        items = [f"- added `{i}`" for i in t.added] + [f"- removed `{i}`" for i in t.removed]
        items += [f"- changed `{i}`: {', '.join(fields)}" for i, fields in sorted(t.changed.items())]
        if not items:
            continue
        lines += ["", f"**{name}**", ""]
        lines += items[:DIFF_LIST_LIMIT]
        if len(items) > DIFF_LIST_LIMIT:
            lines.append(f"- ... and {len(items) - DIFF_LIST_LIMIT} more (see CHANGELOG.md)")
    return "\n".join(lines)


def render_card(inputs: CardInputs) -> str:
    """The full README.md text."""
    cfg = inputs.config
    meta = yaml.safe_dump(card_metadata(inputs), sort_keys=False, allow_unicode=True)
    position = inputs.positions
    value_rows: list[list[object]] = [
        [v.value, *(position[(v.value, letter)] for letter in LETTERS)] for v in ALL_VALUES
    ]
    per_sub = inputs.per_subreddit
    sub_rows: list[list[object]] = [[d, s, n] for (d, s), n in sorted(per_sub.items())]
    model_rows: list[list[object]] = [[a, m] for a, m in sorted(inputs.models.items())]
    prompt_rows: list[list[object]] = [[n, h] for n, h in sorted(inputs.prompts.items())]
    warn_rows: list[list[object]] = [[k, v] for k, v in sorted(inputs.warnings.items())] or [["(none)", 0]]
    break_rows: list[list[object]] = [[k, v] for k, v in sorted(inputs.invariant_breaks.items())]
    scrub_rows: list[list[object]] = [[k, v] for k, v in sorted(inputs.scrubbed.items())] or [["(none)", 0]]
    demo_note = (
        "\n**This is the offline demo build.** Its actions come from SmolLM2-135M-Instruct, a tiny "
        "local model: they show that the pipeline works end to end, not what GPT-4o and Qwen-2.5 "
        "would write. Do not use it as a benchmark.\n"
        if cfg.profile == "demo" and inputs.origin == "workspace" else ""
    )
    text_note = (
        "Post bodies are included, scrubbed of e-mail addresses, phone numbers, `u/` mentions and "
        "user-page links."
        if cfg.publish.text_policy == "full"
        else "Post bodies are masked (Reddit's terms and posters' privacy): `text` is empty. Refill "
        "them from the post URLs through the Reddit API with `valact rehydrate`."
    )
    figures = "\n\n".join(f"![{name}]({path})" for name, path in FIGURES.items() if path in inputs.figures)
    notes = f"\n{inputs.notes.strip()}\n" if inputs.notes.strip() else ""
    breaks = (
        "\n## Invariant breaks\n\nAssembly rules this data does not satisfy, and how often "
        "(`valact release verify` checks these counts):\n\n"
        + _table(["rule", "count"], break_rows) + "\n"
        if break_rows else ""
    )
    changes = diff_markdown(inputs.diff) if inputs.diff is not None else "Not compared with another version."
    return f"""---
{meta}---

# {cfg.publish.pretty_name}

Version {cfg.publish.version}, built by valact with profile `{cfg.profile}`.
{demo_note}{notes}
Each question puts a real advice-seeking Reddit post next to four actions, each written to
express one of Schwartz's ten basic values. {inputs.scenarios} scenarios,
{inputs.questions} questions, {inputs.candidates} candidate actions.

## How it was built

{_recipe(inputs)}

## Text policy: `{cfg.publish.text_policy}`

{text_note} Titles and actions are scrubbed the same way under every policy, and `url` is
rebuilt from the post id (`https://www.reddit.com/comments/<id>/`) so no title slug carries
what the scrub removed. Replacements made:

{_table(["kind", "replacements"], scrub_rows)}

## Models and prompts

{_table(["alias", "served model"], model_rows)}

{_table(["prompt", "version hash"], prompt_rows)}

Model cost of this build: ${inputs.cost_usd:.4f}.

## Value by answer position

{_table(["value", *LETTERS], value_rows)}

{figures}

## Scenarios per domain and subreddit

{_table(["domain", "subreddit", "scenarios"], sub_rows)}

## Validation

{_validation_section(inputs)}

## Quality warnings

Action checks configured as warnings and how often they fired:

{_table(["rule", "actions"], warn_rows)}
{breaks}
## Changes

{changes}

## Tables

- `questions`: one row per question; `options` lists letter, value, generator and action.
- `scenarios`: post id, URL, title, date, subreddit, domain, and text per the text policy.
- `candidates`: all actions with generator, served model and prompt version.
- `validation`: expert judgements (intended value, expert's value, correct, annotator, design).

`manifest.json` lists the sha256 of every file; `valact release verify` checks them.

## Corrections

{inputs.correction_policy or "Errors are fixed in a new version; published versions are never changed."}

## Limitations

Value labels are the generators' intent, not expert judgement, unless the validation table says
otherwise. Reddit posters are not a representative sample of people, and five subreddit domains
do not cover every kind of decision.

## Citation

The benchmark design follows VALACT-15K: Huang et al., "Knowing But Not Doing: Convergent
Morality and Divergent Action in LLMs", arXiv:2601.07972.
"""
