"""Rule prefilter: each kind of junk is dropped with its own reason; good posts pass."""

from __future__ import annotations

from pipeline.stages.prefilter import prefilter
from schemas.config import ScreenConfig
from schemas.records import Post

CFG = ScreenConfig(screeners=["a"], min_words=40)
GOOD_TEXT = (
    "My manager offered me a promotion that means moving to another city next spring, but my partner "
    "just started a job she loves here and my parents are getting older. I could take it, turn it down, "
    "or ask to work remotely for a year. What would you do in my place and why?"
)


def post(pid: str, text: str = GOOD_TEXT, created: int = 1_600_000_000, **extra: object) -> Post:
    fields: dict[str, object] = {"id": pid, "subreddit": "careerguidance", "created_utc": created,
                                 "title": "Promotion or stay?", "selftext": text, "source": "test",
                                 "retrieved_at": 1}
    fields.update(extra)
    return Post.model_validate(fields)


def test_each_junk_kind_gets_its_reason() -> None:
    posts = [
        post("good"),
        post("del", "[deleted]", deleted=True),
        post("rem", "[removed]", removed=True),
        post("nsfw", over_18=True, title="other"),
        post("short", "Should I quit my job? I hate it."),
        post("fact", "How does a Roth conversion get taxed when the account holds both pre-tax and "
             "post-tax money? The pro-rata rule applies across all traditional balances and the "
             "taxable share is computed on December 31 balances, which surprises many people who "
             "expected only the converted dollars to count for the calculation of the tax due."),
        post("foreign", "Hola a todos, necesito consejo sobre mi trabajo porque mi jefe quiere "
             "trasladarme a otra ciudad y mi pareja acaba de empezar un empleo nuevo aqui, ademas "
             "mis padres son mayores y no se que hacer con esta situacion tan complicada para mi "
             "familia entera en este momento de la vida"),
        post("dup", created=1_600_000_500),
    ]
    drops = prefilter(posts, CFG)
    assert "good" not in drops
    assert {pid: reason for pid, (reason, _) in drops.items()} == {
        "del": "deleted", "rem": "removed", "nsfw": "nsfw", "short": "too_short",
        "fact": "not_first_person", "foreign": "not_english", "dup": "duplicate",
    }
    assert "good" in drops["dup"][1]


def test_duplicate_keeps_the_earliest_post() -> None:
    drops = prefilter([post("later", created=2_000), post("earlier", created=1_000)], CFG)
    assert list(drops) == ["later"]


def test_first_person_rule_can_be_switched_off() -> None:
    impersonal = ("Anyone deciding between two offers should weigh pay, growth, commute and team. "
                  * 4)
    cfg = CFG.model_copy(update={"require_first_person": False})
    assert prefilter([post("x", impersonal)], cfg) == {}
    assert prefilter([post("x", impersonal)], CFG)["x"][0] == "not_first_person"
