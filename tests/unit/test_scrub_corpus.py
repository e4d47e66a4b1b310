"""The personal-detail scrub against a corpus of tricky positives and negatives.

Positives must lose the detail (and be counted under its kind); negatives must come out
byte-for-byte unchanged. Each line is a case a Reddit post or a generated action could hold.
"""

from __future__ import annotations

from collections import Counter

import phonenumbers
import pytest

from pipeline.scrub import post_url, scrub

POSITIVES = [
    # (text, the detail that must disappear, counted kind)
    ("call me 555 867 5309", "867 5309", "phone"),
    ("call me at (555) 867-5309 tonight", "867-5309", "phone"),
    ("my number is 867-5309, text first", "867-5309", "phone"),
    ("ph: 867 5309", "867 5309", "phone"),
    ("text 8675309 after work", "8675309", "phone"),
    ("reach me on 555.867.5309", "867.5309", "phone"),
    ("the hotline 1-800-555-0199 was useless", "555-0199", "phone"),
    ("US: +1 555 867 5309", "867 5309", "phone"),
    ("+1-212-555-0143 is my office", "555-0143", "phone"),
    ("my UK mobile +44 7700 900123", "900123", "phone"),
    ("Paris office: +33 1 42 68 53 00", "68 53 00", "phone"),
    ("Berlin +49 30 901820", "901820", "phone"),
    ("call 555-0199 after 6", "555-0199", "phone"),
    ("write to jane.doe+reddit@example.co.uk please", "jane.doe", "email"),
    ("mail: J_Smith-99@mail.example.org.", "J_Smith-99", "email"),
    ("ask u/throwaway_2021 about it", "throwaway_2021", "user_mention"),
    ("as /u/Some-User said", "Some-User", "user_mention"),
    ("see https://www.reddit.com/user/my_real_name/ for context", "my_real_name", "user_link"),
    ("old.reddit.com/u/another_name posted it", "another_name", "user_link"),
]

NEGATIVES = [
    "I worked there in 2019 2020 2021 and left in 2022.",
    "Between 2010 and 2015 2016 was the worst year.",
    "from 2019 to 2021, then 2019-2021 again",
    "I paid $1,500 in 2019 and $5000000 is the house price.",
    "Salaries: 65000 75000 90000 depending on level; $120,000/yr for seniors.",
    "born 1990-05-12, married on 05/12/2020, moved 12.05.2021",
    "the meeting is at 12:30 pm or 9am",
    "zip 94105 or 94105-1234",
    "running macOS 10.15.7 and Python 3.11.4 (v2.0.1)",
    "order #1234567 never arrived",
    "scores were 1 2 3 4 5 6 7 on the scale",
    "3,000 scenarios and 15,000 questions",
    "I am 25 and my wife 27; we have 2 kids",
    "room 1234, floor 12, building 7",
    "I owe 20k on a 4.5% loan over 10 years",
    "Is it u/ or r/ that I should post in?",
    "email me? no: my handle is jane at example dot com",
    "@everyone in the group chat laughed",
]


@pytest.mark.parametrize(("text", "detail", "kind"), POSITIVES)
def test_positive_detail_is_removed_and_counted(text: str, detail: str, kind: str) -> None:
    counts: Counter[str] = Counter()
    out = scrub(text, counts)
    assert detail not in out, out
    assert counts[kind] == 1, (out, counts)


@pytest.mark.parametrize("text", NEGATIVES)
def test_negative_text_is_untouched(text: str) -> None:
    counts: Counter[str] = Counter()
    assert scrub(text, counts) == text
    assert not counts


def test_default_region_decides_numbers_without_country_code() -> None:
    uk = "ring 07700 900123 tomorrow"
    assert scrub(uk) == uk  # not a US number
    assert scrub(uk, region="GB") == "ring [phone] tomorrow"


def test_several_details_in_one_text() -> None:
    counts: Counter[str] = Counter()
    out = scrub("u/bob_smith: call 867-5309 or bob@example.com (since 2019 2020)", counts)
    assert out == "[user]: call [phone] or [email] (since 2019 2020)"
    assert counts == Counter(user_mention=1, phone=1, email=1)


def test_post_url_has_no_title_slug() -> None:
    assert post_url("t3_abc123") == "https://www.reddit.com/comments/abc123/"
    assert post_url("abc123") == "https://www.reddit.com/comments/abc123/"


@pytest.mark.parametrize("text", ["call 5", "+1", "dial ٥ now", "room 7, floor", "no digits at all", "+٣"])
@pytest.mark.parametrize("region", ["US", "GB", "DE"])
def test_matcher_finds_nothing_below_two_digits(text: str, region: str) -> None:
    """The shortcut that skips libphonenumber for texts with fewer than two digits is safe:
    the matcher itself finds nothing there (any region, ASCII or other decimal digits)."""
    matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE)
    assert list(matcher) == []
    assert scrub(text, region=region) == text
