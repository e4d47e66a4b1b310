"""The paper's measures over answer frames: value shares, accuracy, selection vs adoption,
PVQ-40 means, declared vs enacted correlation, across-model agreement. Everything per domain
too ("all" is the whole set).

Invalid answers never count as a choice: shares and accuracies are in percent of *valid*
answers, and how many were invalid (and why) is reported next to them.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from itertools import combinations

import pandas as pd
from scipy import stats

from schemas.values import ALL_VALUES

VALUE_NAMES = [v.value for v in ALL_VALUES]
ALL = "all"
MEAN = "mean"


def domain_scopes(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """("all", every row) then (domain, its rows) for each domain present."""
    scopes = [(ALL, frame)]
    if "domain" in frame:
        scopes += [(str(d), part) for d, part in frame.groupby("domain", sort=True)]
    return scopes


def _valid(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["invalid"].isna()]


def default_shares(choices: pd.DataFrame) -> pd.DataFrame:
    """Share of each value among valid default-selection answers, per variant and averaged."""
    rows = []
    default = choices[choices["mode"] == "default"]
    for model, by_model in default.groupby("model", sort=True):
        for domain, scope in domain_scopes(by_model):
            per_variant: dict[str, dict[str, float]] = {}
            for variant, part in scope.groupby("variant", sort=True):
                valid = _valid(part)
                if valid.empty:
                    continue
                counts = Counter(valid["chosen"])
                shares = {v: 100.0 * counts[v] / len(valid) for v in VALUE_NAMES}
                per_variant[str(variant)] = shares
                rows += [{"model": model, "domain": domain, "variant": str(variant), "value": v,
                          "share": s, "valid": len(valid), "answers": len(part)} for v, s in shares.items()]
            if per_variant:
                valid_total = len(_valid(scope))
                for v in VALUE_NAMES:
                    mean = sum(s[v] for s in per_variant.values()) / len(per_variant)
                    rows.append({"model": model, "domain": domain, "variant": MEAN, "value": v, "share": mean,
                                 "valid": valid_total, "answers": len(scope)})
    return pd.DataFrame(rows, columns=["model", "domain", "variant", "value", "share", "valid", "answers"])


def enacted_profile(shares: pd.DataFrame, model: str, domain: str = ALL) -> pd.Series | None:
    """Centred default-selection shares (share minus the mean share) in value order, or None."""
    part = shares[(shares["model"] == model) & (shares["domain"] == domain) & (shares["variant"] == MEAN)]
    if part.empty:
        return None
    series = part.set_index("value")["share"].reindex(VALUE_NAMES)
    return series - series.mean()


def accuracy(choices: pd.DataFrame) -> pd.DataFrame:
    """Selection and adoption accuracy per target value (and over all values), in % of valid answers."""
    rows = []
    for (model, mode), part in choices[choices["mode"].isin(["selection", "adoption"])].groupby(
            ["model", "mode"], sort=True):
        for domain, scope in domain_scopes(part):
            valid = _valid(scope)
            for value in [*VALUE_NAMES, ALL]:
                chosen = valid if value == ALL else valid[valid["target"] == value]
                total = scope if value == ALL else scope[scope["target"] == value]
                correct = int((chosen["chosen"] == chosen["target"]).sum())
                rows.append({"model": model, "mode": mode, "domain": domain, "value": value,
                             "accuracy": 100.0 * correct / len(chosen) if len(chosen) else math.nan,
                             "correct": correct, "valid": len(chosen), "answers": len(total)})
    return pd.DataFrame(rows, columns=["model", "mode", "domain", "value", "accuracy", "correct", "valid",
                                       "answers"])


def _welch(a: pd.Series, b: pd.Series) -> tuple[float, float]:
    if len(a) < 2 or len(b) < 2:
        return math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero variance gives nan, reported as such
        result = stats.ttest_ind(a.astype(float), b.astype(float), equal_var=False)
    return float(result.statistic), float(result.pvalue)


def selection_vs_adoption(choices: pd.DataFrame) -> pd.DataFrame:
    """Welch t-test of correctness, selection vs adoption, per value; and the adoption drop on
    the (question, variant) units the model got right in selection."""
    rows = []
    modes = choices[choices["mode"].isin(["selection", "adoption"])]
    for model, by_model in modes.groupby("model", sort=True):
        if set(by_model["mode"]) != {"selection", "adoption"}:
            continue
        for domain, scope in domain_scopes(by_model):
            valid = _valid(scope).assign(correct=lambda f: f["chosen"] == f["target"])
            sel, ado = valid[valid["mode"] == "selection"], valid[valid["mode"] == "adoption"]
            paired = sel[sel["correct"]].merge(ado, on=["question_id", "variant"], suffixes=("_sel", "_ado"))
            for value in [*VALUE_NAMES, ALL]:
                def pick(frame: pd.DataFrame, column: str = "target", v: str = value) -> pd.DataFrame:
                    return frame if v == ALL else frame[frame[column] == v]
                s, a, p = pick(sel)["correct"], pick(ado)["correct"], pick(paired, "target_sel")
                t, pvalue = _welch(s, a)
                kept = 100.0 * p["correct_ado"].mean() if len(p) else math.nan
                rows.append({
                    "model": model, "domain": domain, "value": value,
                    "selection": 100.0 * s.mean() if len(s) else math.nan,
                    "adoption": 100.0 * a.mean() if len(a) else math.nan,
                    "n_selection": len(s), "n_adoption": len(a), "t": t, "p": pvalue,
                    "adoption_if_selected": kept, "n_selected": len(p),
                    "drop_if_selected": 100.0 - kept if len(p) else math.nan,
                })
    return pd.DataFrame(rows, columns=["model", "domain", "value", "selection", "adoption", "n_selection",
                                       "n_adoption", "t", "p", "adoption_if_selected", "n_selected",
                                       "drop_if_selected"])


def pvq_means(pvq: pd.DataFrame) -> pd.DataFrame:
    """Raw mean score per value, and centred (minus the model's mean over every scored item)."""
    rows = []
    for model, part in pvq.groupby("model", sort=True):
        overall = float(part["score"].mean())
        for value in VALUE_NAMES:
            scores = part[part["value"] == value]["score"]
            raw = float(scores.mean()) if len(scores) else math.nan
            rows.append({"model": model, "value": value, "raw_mean": raw, "centred_mean": raw - overall,
                         "scores": len(scores), "model_mean": overall})
    return pd.DataFrame(rows, columns=["model", "value", "raw_mean", "centred_mean", "scores", "model_mean"])


def declared_profile(means: pd.DataFrame, model: str) -> pd.Series | None:
    """Centred PVQ means in value order, or None when the model has no PVQ answers."""
    part = means[means["model"] == model]
    return None if part.empty else part.set_index("value")["centred_mean"].reindex(VALUE_NAMES)


def _pearson(x: pd.Series, y: pd.Series) -> tuple[float, float]:
    pair = pd.concat([x, y], axis=1).dropna()
    if len(pair) < 3 or pair.iloc[:, 0].nunique() < 2 or pair.iloc[:, 1].nunique() < 2:
        return math.nan, math.nan
    result = stats.pearsonr(pair.iloc[:, 0], pair.iloc[:, 1])
    return float(result.statistic), float(result.pvalue)


def declared_vs_enacted(shares: pd.DataFrame, means: pd.DataFrame) -> pd.DataFrame:
    """Pearson r between each model's centred PVQ vector and its centred default shares, per domain."""
    rows = []
    for model in sorted(set(shares["model"]) & set(means["model"])):
        declared = declared_profile(means, model)
        for domain in sorted(set(shares[shares["model"] == model]["domain"]), key=lambda d: (d != ALL, d)):
            enacted = enacted_profile(shares, model, domain)
            if declared is None or enacted is None:
                continue
            r, p = _pearson(declared, enacted)
            rows.append({"model": model, "domain": domain, "r": r, "p": p})
    return pd.DataFrame(rows, columns=["model", "domain", "r", "p"])


def model_correlations(shares: pd.DataFrame, means: pd.DataFrame) -> pd.DataFrame:
    """Pearson r between every two models' enacted profiles (and declared profiles), whole set."""
    rows = []
    profiles = {
        "enacted": {m: enacted_profile(shares, m) for m in sorted(set(shares["model"]))},
        "declared": {m: declared_profile(means, m) for m in sorted(set(means["model"]))},
    }
    for kind, by_model in profiles.items():
        present = {m: p for m, p in by_model.items() if p is not None}
        for m in present:
            rows.append({"profile": kind, "model_a": m, "model_b": m, "r": 1.0})
        for a, b in combinations(sorted(present), 2):
            r, _ = _pearson(present[a], present[b])
            rows += [{"profile": kind, "model_a": a, "model_b": b, "r": r},
                     {"profile": kind, "model_a": b, "model_b": a, "r": r}]
    return pd.DataFrame(rows, columns=["profile", "model_a", "model_b", "r"])


def _majority(votes: list[str], voters: int | None = None) -> str | None:
    """The value chosen by more than half of the voters (default: of the votes cast), if any."""
    if not votes:
        return None
    value, count = Counter(votes).most_common(1)[0]
    return value if count * 2 > (voters if voters is not None else len(votes)) else None


def majority_preference(choices: pd.DataFrame) -> pd.DataFrame:
    """Per question, the value a model picks in more than half of its valid prompt variants; then,
    per question, the value more than half of all models pick that way ("all models"). Shares are
    in % of the questions that have such a majority."""
    default = _valid(choices[choices["mode"] == "default"])
    picks: dict[str, dict[str, tuple[str, str]]] = {}  # model -> question -> (domain, value)
    for (model, question), part in default.groupby(["model", "question_id"], sort=True):
        value = _majority(list(part["chosen"]))
        if value is not None:
            picks.setdefault(str(model), {})[str(question)] = (str(part["domain"].iloc[0]), value)
    consensus: dict[str, tuple[str, str]] = {}
    questions = sorted({q for by_q in picks.values() for q in by_q})
    for question in questions:
        votes = [by_q[question] for by_q in picks.values() if question in by_q]
        value = _majority([v for _, v in votes], voters=len(picks)) if len(picks) > 1 else None
        if value is not None:
            consensus[question] = (votes[0][0], value)
    rows = []
    for who, by_q in [*sorted(picks.items()), ("all models", consensus)]:
        domains = [ALL, *sorted({d for d, _ in by_q.values()})]
        for domain in domains:
            chosen = [v for d, v in by_q.values() if domain in (ALL, d)]
            counts = Counter(chosen)
            for value in VALUE_NAMES:
                if chosen:
                    rows.append({"model": who, "domain": domain, "value": value,
                                 "share": 100.0 * counts[value] / len(chosen), "questions": len(chosen)})
    return pd.DataFrame(rows, columns=["model", "domain", "value", "share", "questions"])
