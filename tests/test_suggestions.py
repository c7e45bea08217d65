"""Did-you-mean suggestions: the fast `close_matches` answers exactly as the plain difflib loop it replaced."""

from __future__ import annotations

import difflib
import random
from collections.abc import Iterable

from hypothesis import given, settings
from hypothesis import strategies as st

from istio_lsp.checks import suggest
from istio_lsp.checks.base import close_matches


def reference(word: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """The implementation before the fast one, kept as the oracle."""
    scored = []
    for candidate in sorted({c for c in candidates if c and c != word}):
        mine, theirs = _differing_labels(word.lower(), candidate.lower())
        ratio = difflib.SequenceMatcher(None, mine, theirs).ratio()
        if ratio >= 0.6:
            scored.append((-ratio, candidate))
    return [candidate for _, candidate in sorted(scored)[:limit]]


def _differing_labels(a: str, b: str) -> tuple[str, str]:
    left, right = a.split("."), b.split(".")
    while len(left) > 1 and len(right) > 1 and left[-1] == right[-1]:
        left.pop()
        right.pop()
    return ".".join(left), ".".join(right)


# few letters, so that random names share characters, labels and suffixes, and tie; `İ` lowercases to two characters
LABEL = st.one_of(st.text(alphabet="abc", max_size=4), st.text(alphabet="abcAB12-İ", max_size=6))
SUFFIXES = ["", "local", "cluster.local", "svc.cluster.local", "ns.svc.cluster.local", "example.com", "COM"]


@st.composite
def hosts(draw: st.DrawFn) -> str:
    labels = draw(st.lists(LABEL, min_size=1, max_size=3))
    suffix = draw(st.sampled_from(SUFFIXES))
    return ".".join(labels + ([suffix] if suffix else []))


@st.composite
def variants(draw: st.DrawFn, word: str) -> str:
    """`word` with a typo: one character changed, dropped, doubled or in the other case."""
    if not word:
        return word
    i = draw(st.integers(0, len(word) - 1))
    edit = draw(st.sampled_from(["swap", "drop", "double", "case", "same"]))
    if edit == "swap":
        return word[:i] + draw(st.sampled_from("abz.")) + word[i + 1 :]
    if edit == "drop":
        return word[:i] + word[i + 1 :]
    if edit == "double":
        return word[:i] + word[i] + word[i:]
    if edit == "case":
        return word.swapcase()
    return word


@st.composite
def problems(draw: st.DrawFn, min_size: int = 0, max_size: int = 25) -> tuple[str, list[str], int]:
    candidates = draw(st.lists(hosts(), min_size=min_size, max_size=max_size))
    word = draw(st.one_of(hosts(), st.sampled_from(candidates) if candidates else hosts()))
    candidates += draw(st.lists(variants(word), max_size=4))  # typos, the word itself, case changes
    candidates += draw(st.lists(st.sampled_from(candidates), max_size=3)) if candidates else []  # duplicates
    candidates += draw(st.lists(st.just(""), max_size=1))
    limit = draw(st.integers(-2, 6))
    return word, draw(st.permutations(candidates)), limit


@settings(max_examples=800, deadline=None)
@given(problems())
def test_same_suggestions_as_the_plain_loop(problem: tuple[str, list[str], int]) -> None:
    word, candidates, limit = problem
    assert close_matches(word, candidates, limit) == reference(word, candidates, limit)


@settings(max_examples=60, deadline=None)
@given(problems(min_size=suggest._MEMO_MIN, max_size=120), st.lists(hosts(), min_size=1, max_size=4))
def test_same_suggestions_from_the_memo(problem: tuple[str, list[str], int], words: list[str]) -> None:
    # long lists are prepared once and reused: every word asked of them gets the same answers
    word, candidates, limit = problem
    for w in [word, *words, word]:
        assert close_matches(w, candidates, limit) == reference(w, candidates, limit)


@settings(max_examples=100, deadline=None)
@given(
    st.text(alphabet="ab.", min_size=150, max_size=260),
    st.lists(st.text(alphabet="ab.", min_size=150, max_size=260), max_size=4),
)
def test_long_strings_where_difflib_ignores_popular_characters(word: str, candidates: list[str]) -> None:
    # from 200 characters on, difflib's autojunk leaves frequent characters out: the bounds must still hold
    candidates += [word[:-1], word + "a", word.replace("a", "b", 3)]
    assert close_matches(word, candidates, 5) == reference(word, candidates, 5)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from([1, 3, 10, 0]))
def test_same_suggestions_among_hundreds_of_look_alike_hosts(seed: int, limit: int) -> None:
    # enough candidates for the lanes kept with the list and for the best-bounds-first levels;
    # names long and short, so that some do not fit a lane
    rng = random.Random(seed)

    def name() -> str:
        return "".join(rng.choice("abc-") for _ in range(rng.choice([2, 5, 9, 20, 40])))

    namespaces = [name() for _ in range(3)]
    hosts = [f"{name()}.{rng.choice(namespaces)}.svc.cluster.local" for _ in range(rng.randint(300, 700))]
    hosts += [rng.choice(hosts).upper(), name(), f"{name()}.example.com"]
    for word in [
        rng.choice(hosts),
        f"{name()}.{namespaces[0]}.svc.cluster.local",
        name(),
        f"{name()}.svc.cluster.locl",
    ]:
        assert close_matches(word, hosts, limit) == reference(word, hosts, limit), word


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="abc.-", max_size=40), st.text(alphabet="abc.-", max_size=40))
def test_matching_characters_as_difflib_counts_them(a: str, b: str) -> None:
    matcher = difflib.SequenceMatcher(None, a, b)
    assert suggest._matched(a, b) == sum(block.size for block in matcher.get_matching_blocks())


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="abcdefgh.-", max_size=260), st.text(alphabet="abcdefgh.-", min_size=190, max_size=260))
def test_matching_characters_with_difflib_autojunk(a: str, b: str) -> None:
    # from 200 characters of `b` on, difflib leaves its frequent characters out of the longest matches
    matcher = difflib.SequenceMatcher(None, a, b)
    assert suggest._matched(a, b) == sum(block.size for block in matcher.get_matching_blocks())


def test_edges() -> None:
    hosts = [
        "a" * 31 + ".svc",  # fills a lane
        "a" * 32 + ".svc",  # one more than a lane holds
        "a" * 300,  # longer than the lengths kept (255)
        "a" * 299 + "b",
        ".",
        "..",
        "İ.svc",  # lowercases to two characters
        "i.svc",
    ]
    words = ["a" * 31 + ".svc", "a" * 33, "a" * 280, "", ".", "i̇.svc", "İ", "x.svc"]
    for word in words:
        for limit in (1, 3, 0, -1):
            assert close_matches(word, hosts, limit) == reference(word, hosts, limit), (word, limit)
    # those sharing one more label sort between the others: the run of those sharing two has a hole
    hosts = ["aaa.ns.svc.cluster.local", "asvc.cluster.local", ".vc.cluster.local"]
    assert close_matches(".svc.cluster.local", hosts) == [".vc.cluster.local", "asvc.cluster.local"]


def test_ties_and_the_order_of_the_strings() -> None:
    # ratio("aba", "bca") is 1/3 but ratio("bca", "aba") 2/3: the word stays first
    assert close_matches("aba", ["bca"]) == reference("aba", ["bca"]) == []
    # both 2/3: the name decides, although "babaa" has the better bound and is scored first
    assert close_matches("baaa", ["babaa", "ba"], 1) == reference("baaa", ["babaa", "ba"], 1) == ["ba"]


def test_any_iterable_of_candidates() -> None:
    hosts = ["reviews.bookinfo.svc.cluster.local", "ratings.bookinfo.svc.cluster.local"]
    word = "reveiws.bookinfo.svc.cluster.local"
    expected = ["reviews.bookinfo.svc.cluster.local"]
    assert close_matches(word, iter(hosts)) == close_matches(word, set(hosts)) == close_matches(word, hosts) == expected


def test_many_hosts_of_one_cluster() -> None:
    hosts = [f"svc-{n}.ns-{n % 37}.svc.cluster.local" for n in range(0, 3000, 7)]
    words = [
        "inventory.warehouse.svc.cluster.local",
        "svcc-203.ns-18.svc.cluster.local",
        "svc-230.ns-18.svc.cluster.local",
        "svc-203.ns-18.svc.cluster.locla",
        "svc-203",
        "SVC-203.NS-18.SVC.CLUSTER.LOCAL",
    ]
    for word in words:
        for limit in (1, 3, 10):
            assert close_matches(word, hosts, limit) == reference(word, hosts, limit), (word, limit)
