from collections import Counter
from pathlib import Path

from annotation.sampling import allocate, draw_sample, population, required_sample_size
from schemas.config import AnnotationConfig
from tests.support.annotation_data import build_store


def test_default_size_gives_two_point_interval() -> None:
    assert required_sample_size() == 2401
    assert required_sample_size(expected=0.9) == 865  # 1.96^2 * 0.09 / 0.0004


def test_allocation_floor_then_proportional() -> None:
    sizes = {("a", "d", "g"): 100, ("b", "d", "g"): 10, ("c", "d", "g"): 1}
    take = allocate(sizes, 20, min_per_stratum=1)
    assert sum(take.values()) == 20
    assert all(v >= 1 for v in take.values())
    assert take[("a", "d", "g")] > take[("b", "d", "g")]
    assert allocate(sizes, 500) == sizes


def test_sample_is_stratified_deterministic_and_nested(tmp_path: Path) -> None:
    store = build_store(tmp_path, scenarios=6)
    units = population(store)
    assert len(units) == 6 * 20
    cfg = AnnotationConfig(sample_size=50, overlap_share=0.2)
    first = draw_sample(units, cfg)
    assert [s.unit.candidate_id for s in first] == [s.unit.candidate_id for s in draw_sample(units, cfg)]
    assert len(first) == 50
    strata = {u.stratum for u in units}
    assert len(strata) == 10 * 2 * 2
    assert {s.unit.stratum for s in first} == strata  # every value x domain x generator seen
    assert Counter(s.annotators for s in first) == {1: 40, 2: 10}
    bigger = {s.unit.candidate_id for s in draw_sample(units, cfg.model_copy(update={"sample_size": 80}))}
    assert {s.unit.candidate_id for s in first} <= bigger
    everything = draw_sample(units, AnnotationConfig())  # default 2401 > population: all of it
    assert len(everything) == len(units)
