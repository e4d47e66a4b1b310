"""The dataset card (README.md) of a release: Hub YAML metadata plus prose drawn from the data."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import yaml

from schemas.config import ProjectConfig
from schemas.records import LETTERS, ActionCandidate, Question, Scenario
from schemas.values import ALL_VALUES

TABLE_FILES = {"questions": "data/questions.parquet", "scenarios": "data/scenarios.parquet",
               "candidates": "data/candidates.parquet"}


@dataclass
class CardInputs:
    """Everything the card describes."""

    config: ProjectConfig
    questions: list[Question]
    scenarios: list[Scenario]
    candidates: list[ActionCandidate]
    models: dict[str, str]
    prompts: dict[str, str]
    warnings: dict[str, int]
    scrubbed: dict[str, int]
    cost_usd: float


def size_category(n: int) -> str:
    """The Hub's size bucket for a row count."""
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if n < limit:
            return label
    return "100K<n<1M"


def card_metadata(inputs: CardInputs) -> dict[str, object]:
    """YAML header: valid for huggingface_hub's DatasetCardData; ``configs`` drive load_dataset."""
    pub = inputs.config.publish
    return {
        "license": pub.license,
        "language": ["en"],
        "pretty_name": pub.pretty_name,
        "task_categories": ["multiple-choice", "text-classification"],
        "size_categories": [size_category(len(inputs.questions))],
        "annotations_creators": ["machine-generated"],
        "source_datasets": ["original"],
        "tags": ["values", "schwartz", "value-action-gap", "reddit"],
        "configs": [
            {"config_name": name, "data_files": [{"split": "train", "path": path}]}
            for name, path in TABLE_FILES.items()
        ],
    }


def _table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_card(inputs: CardInputs) -> str:
    """The full README.md text."""
    cfg = inputs.config
    meta = yaml.safe_dump(card_metadata(inputs), sort_keys=False, allow_unicode=True)
    position = Counter((o.value.value, o.letter) for q in inputs.questions for o in q.options)
    value_rows: list[list[object]] = [
        [v.value, *(position[(v.value, letter)] for letter in LETTERS)] for v in ALL_VALUES
    ]
    per_sub = Counter((s.domain, s.subreddit) for s in inputs.scenarios)
    sub_rows: list[list[object]] = [[d, s, n] for (d, s), n in sorted(per_sub.items())]
    model_rows: list[list[object]] = [[a, m] for a, m in sorted(inputs.models.items())]
    prompt_rows: list[list[object]] = [[n, h] for n, h in sorted(inputs.prompts.items())]
    warn_rows: list[list[object]] = [[k, v] for k, v in sorted(inputs.warnings.items())] or [["(none)", 0]]
    demo_note = (
        "\n**This is the offline demo build.** Its actions come from SmolLM2-135M-Instruct, a tiny "
        "local model: they show that the pipeline works end to end, not what GPT-4o and Qwen-2.5 "
        "would write. Do not use it as a benchmark.\n"
        if cfg.profile == "demo" else ""
    )
    text_note = (
        "Post bodies are included, scrubbed of e-mail addresses, phone numbers, `u/` mentions and "
        f"user-page links (replacements: {dict(inputs.scrubbed) or 'none'})."
        if cfg.publish.text_policy == "full"
        else "Post bodies are masked (Reddit's terms and posters' privacy); refill them from the "
        "post URLs with `valact rehydrate`."
    )
    return f"""---
{meta}---

# {cfg.publish.pretty_name}

Version {cfg.publish.version}, built by valact with profile `{cfg.profile}`.
{demo_note}
Each question puts a real advice-seeking Reddit post next to four actions, each written to
express one of Schwartz's ten basic values. {len(inputs.scenarios)} scenarios,
{len(inputs.questions)} questions, {len(inputs.candidates)} candidate actions.

## How it was built

1. Posts from {sum(len(s) for s in cfg.domains.values())} subreddits in {len(cfg.domains)} domains,
   dated {cfg.collect.start_date} to {cfg.collect.end_date}.
2. Rule prefilter (deleted/removed, NSFW, under {cfg.screen.min_words} words, non-English,
   not first person, duplicates), then a Yes/No LLM screen by {", ".join(cfg.screen.screeners)}
   with {cfg.screen.tiebreaker or "no"} tie-breaker; up to {cfg.screen.quota_per_domain} scenarios per domain.
3. Each of the generators {", ".join(cfg.generate.generators)} wrote one action (at most
   {cfg.generate.max_sentences} sentences) per value per scenario: 20 candidates per scenario.
4. Five questions of four value-distinct options per scenario: every candidate used once, each
   value appears in two questions, once per generator (seed {cfg.assemble.seed}).

{text_note}

## Models and prompts

{_table(["alias", "served model"], model_rows)}

{_table(["prompt", "version hash"], prompt_rows)}

Model cost of this build: ${inputs.cost_usd:.4f}.

## Value by answer position

{_table(["value", *LETTERS], value_rows)}

## Scenarios per domain and subreddit

{_table(["domain", "subreddit", "scenarios"], sub_rows)}

## Quality warnings

Action checks configured as warnings and how often they fired:

{_table(["rule", "actions"], warn_rows)}

## Tables

- `questions`: one row per question; `options` lists letter, value, generator and action.
- `scenarios`: post id, URL, title, date, subreddit, domain, and text per the text policy.
- `candidates`: all generated actions with served model and prompt version.

## Limitations

Value labels are the generators' intent, not expert judgement, unless a validation table is
present. Reddit posters are not a representative sample of people.

## Citation

The benchmark design follows VALACT-15K: Huang et al., "Knowing But Not Doing: Convergent
Morality and Divergent Action in LLMs", arXiv:2601.07972.
"""
