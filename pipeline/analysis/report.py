"""``report.md``: the analysis tables in words and numbers, with the figures linked."""

from __future__ import annotations

import math

import pandas as pd

from pipeline.analysis.measures import ALL, MEAN, VALUE_NAMES


def md_table(frame: pd.DataFrame, digits: int = 1) -> str:
    """A GitHub markdown table; floats rounded, NaN shown as 'n/a'."""
    if frame.empty:
        return "_(no data)_\n"

    def cell(value: object) -> str:
        if isinstance(value, float):
            return "n/a" if math.isnan(value) else f"{value:.{digits}f}"
        return str(value)

    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"


def _wide(frame: pd.DataFrame, index: list[str], column: str, value: str) -> pd.DataFrame:
    """Values as columns in the canonical order; NaN cells (no valid answers) stay, as 'n/a'."""
    wide = frame.set_index([*index, column])[value].unstack(column)  # only rows that exist
    wide = wide.reindex(columns=[c for c in [*VALUE_NAMES, ALL] if c in wide.columns])
    return wide.reset_index()


def render_report(tables: dict[str, pd.DataFrame], figures: list[str], title: str) -> str:
    """The whole report from the analysis tables."""
    counts, invalid = tables["answers"], tables["invalid"]
    shares, acc, sva = tables["default_shares"], tables["accuracy"], tables["selection_vs_adoption"]
    pvq, dve, corr, major = (tables["pvq_means"], tables["declared_vs_enacted"], tables["model_correlations"],
                             tables["majority"])
    parts = [f"# {title}\n",
             "Shares and accuracies are in percent of **valid** answers; invalid answers are excluded and "
             "counted below with their reason. `all` is the whole set; other rows split it by domain.\n",
             "## Answers\n", md_table(counts, 0),
             "## Invalid answers by reason\n",
             "PVQ-40 answers are invalid as a whole only when no scores can be read; single unscored items "
             "are counted at level `item`.\n", md_table(invalid, 0)]
    if not shares.empty:
        mean = shares[shares["variant"] == MEAN]
        parts += ["## Default selection: value shares (mean over prompt variants)\n",
                  md_table(_wide(mean, ["model", "domain", "valid"], "value", "share")),
                  "### Per prompt variant (whole set)\n",
                  md_table(_wide(shares[(shares["domain"] == ALL) & (shares["variant"] != MEAN)],
                                 ["model", "variant", "valid"], "value", "share"))]
    if not acc.empty:
        parts += ["## Value selection and value adoption: accuracy per target value\n",
                  md_table(_wide(acc, ["model", "mode", "domain"], "value", "accuracy"))]
    if not sva.empty:
        parts += ["## Selection vs adoption (Welch t-test on correctness)\n",
                  "`adoption_if_selected`: adoption accuracy on the (question, prompt) units answered "
                  "correctly in selection; `drop_if_selected` = 100 minus that.\n",
                  md_table(sva[sva["domain"] == ALL].drop(columns=["domain"]), 3),
                  "### By domain (all values)\n",
                  md_table(sva[(sva["domain"] != ALL) & (sva["value"] == ALL)], 3)]
    if not pvq.empty:
        parts += ["## PVQ-40 (declared values)\n",
                  "Raw: mean score (1-6) of the value's items over every valid answer. Centred: raw minus "
                  "the model's mean over all scored items.\n",
                  md_table(_wide(pvq, ["model"], "value", "raw_mean"), 2),
                  md_table(_wide(pvq, ["model"], "value", "centred_mean"), 2)]
    if not dve.empty:
        parts += ["## Declared vs enacted (Pearson r, centred PVQ vs centred default shares)\n",
                  md_table(dve, 3)]
    if not corr.empty:
        parts += ["## Across models (Pearson r between value profiles)\n"]
        for profile, part in corr.groupby("profile", sort=False):
            matrix = part.pivot_table(index="model_a", columns="model_b", values="r", dropna=False)
            table = matrix.reset_index().rename(columns={"model_a": "model"})
            parts += [f"### {profile}\n", md_table(table, 2)]
    if not major.empty:
        parts += ["## Majority-vote preference\n",
                  "Per question, the value chosen in more than half of a model's valid prompt variants; "
                  "`all models`: the value that is the majority pick of more than half of the models.\n",
                  md_table(_wide(major, ["model", "domain", "questions"], "value", "share"))]
    if figures:
        parts += ["## Figures\n", *[f"![{name}]({name})\n" for name in figures]]
    return "\n".join(parts)
