"""Did-you-mean suggestions: the candidates close enough to be a typo of a word.

The scores are difflib's ratio, as before, but one costs 10 to 30 µs: too much for every
host of a large workspace, once per unresolved host. So:

- a list of candidates is prepared once (and memoized): sorted by reversed DNS labels, so
  that those sharing d trailing labels with the word are a range, and with their first
  characters as bits in 64-bit lanes;
- for each range, the length of the longest common subsequence with the word, which bounds
  the characters difflib matches, is computed for all its candidates at once: bit-parallel
  (Hyyrö's algorithm) on one large integer holding a lane per candidate;
- ratios are computed best bound first, only while a bound can still reach the cutoff and
  displace the last of the best `limit` found so far.
"""

from __future__ import annotations

import difflib
import heapq
import math
import sys
from array import array
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from operator import itemgetter

CUTOFF = 0.6

_LANE = 8  # bytes a candidate: 63 characters (most hosts, once shared labels are off) and a carry bit
_SEEN = 8 * _LANE - 1  # characters of a candidate its lane holds
_LANE_CODE = next(code for code in "ILQ" if array(code).itemsize == _LANE)
# When more candidates of a range reach the cutoff than this, those with bounds from the first
# level on are scored first, then from the next, and so on: the best found so far then rule out
# most of the others before they are even queued (hosts of a cluster all look a bit alike).
# Tuning only: the results do not depend on them.
_FEW = 64
_LEVELS = (0.92, 0.84, 0.76)
_CACHED_LANES = 256  # lanes of a range of at least so many candidates are kept with the list

# Shorter lists are prepared on every call: hashing them into the memo would cost about as much.
_MEMO_MIN = 64
_MEMO_SIZE = 8
_memo: dict[tuple[str, ...], _Prepared] = {}


def close_matches(word: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """Candidates close enough to be a likely typo of `word`, best first.

    Case is ignored (`V1` is a typo of `v1`), and trailing DNS labels both share
    (`.svc.cluster.local`, `.example.com`) are left out of the comparison: otherwise
    any two hosts of the cluster look alike (`inventory.warehouse.svc.cluster.local`
    would suggest `cart.shop.svc.cluster.local`).

    Scores are `difflib.SequenceMatcher(None, word, candidate).ratio()` of what is left
    of both, lowercased; at least 0.6 to count; ties go by candidate name.
    """
    return _Search(_prepared(candidates), word, limit).run()


def _prepared(candidates: Iterable[str]) -> _Prepared:
    # a check asks once per unresolved host, each time with the same workspace-wide list
    key = tuple(candidates)
    if len(key) < _MEMO_MIN:
        return _Prepared(key)
    found = _memo.pop(key, None)
    if found is None:
        found = _Prepared(key)
        if len(_memo) >= _MEMO_SIZE:
            del _memo[next(iter(_memo))]
    _memo[key] = found  # most recently used last
    return found


@dataclass(frozen=True)
class _Run:
    """Candidates start..stop-1 except skip..resume-1: those sharing `suffix` trailing characters (whole labels)."""

    start: int
    stop: int
    skip: int
    resume: int
    suffix: int


class _Prepared:
    """Distinct candidates, in the order of their reversed lowercase labels, and their lanes.

    In that order the candidates ending with the same labels are contiguous, so those
    sharing exactly d trailing labels with a word are found by bisection.
    """

    def __init__(self, candidates: Iterable[str]) -> None:
        rows = sorted((tuple(reversed(c.lower().split("."))), c) for c in {c for c in candidates if c})
        self.keys = [key for key, _ in rows]
        self.names = [name for _, name in rows]
        self.lowers = [name.lower() for name in self.names]
        # lengths as bytes, which a table per call turns into lanes (255: that long or longer)
        self.lengths = bytes(min(len(low), 255) for low in self.lowers)
        # for each character, the bytes of the lanes of all candidates: bit p of a lane is set
        # when the candidate's character p is that one
        positions: dict[str, array[int]] = {}
        for i, low in enumerate(self.lowers):
            for p, ch in enumerate(low[:_SEEN]):
                lane = positions.get(ch)
                if lane is None:
                    lane = positions[ch] = array(_LANE_CODE, bytes(_LANE * len(rows)))
                lane[i] |= 1 << p
        if sys.byteorder == "big":
            for lane in positions.values():
                lane.byteswap()
        self.positions = {ch: lane.tobytes() for ch, lane in positions.items()}
        self._lanes: dict[tuple[int, int], _Lanes] = {}

    def runs(self, low: str) -> Iterator[_Run]:
        """The candidates by how many trailing labels they share with `low`, as difflib will compare them.

        Depth d: those sharing exactly d labels, or more when either string has only d + 1
        (the comparison keeps at least one label of each).
        """
        wkey = tuple(reversed(low.split(".")))
        keys = self.keys
        lo, hi = 0, len(keys)
        suffix = 0
        for depth in range(len(wkey)):
            if lo >= hi:
                return
            if depth + 1 == len(wkey):
                yield _Run(lo, hi, hi, hi, suffix)
                return
            prefix = wkey[: depth + 1]
            head = itemgetter(slice(depth + 1))
            sub_lo = bisect_left(keys, prefix, lo, hi, key=head)
            sub_hi = bisect_right(keys, prefix, sub_lo, hi, key=head)
            # the candidates that are just the shared labels come first and stay at this depth
            deeper = bisect_right(keys, prefix, sub_lo, sub_hi)
            yield _Run(lo, hi, deeper, sub_hi, suffix)
            lo, hi = deeper, sub_hi
            suffix += len(wkey[depth]) + 1

    def lanes(self, start: int, stop: int) -> _Lanes:
        if stop - start < _CACHED_LANES:
            return _Lanes(self, start, stop)
        found = self._lanes.get((start, stop))
        if found is None:
            found = self._lanes[start, stop] = _Lanes(self, start, stop)
        return found


class _Lanes:
    """Candidates start..stop-1 as lanes, one 64-bit lane each in a large integer, lane 0 lowest."""

    def __init__(self, prepared: _Prepared, start: int, stop: int) -> None:
        self.prepared = prepared
        self.start = start
        self.stop = stop
        self.size = stop - start
        self.lengths = prepared.lengths[start:stop]
        self.length_values = sorted(set(self.lengths))
        self.low_byte = self.repeat(b"\xff" + bytes(_LANE - 1))
        self.ones = self.repeat(b"\1" + bytes(_LANE - 1))
        self.guard = self.repeat(b"\0\1" + bytes(_LANE - 2))
        self.popcount_masks = [self.repeat(bytes([b]) * _LANE) for b in (0x55, 0x33, 0x0F)]
        self._positions: dict[str, int] = {}
        self._masks: dict[int, int] = {}

    def repeat(self, lane: bytes) -> int:
        return int.from_bytes(lane * self.size, "little")

    def from_bytes(self, values: bytes, at: int = 0) -> int:
        """Lanes whose byte `at` is one of `values` (one a candidate), the others zero."""
        buffer = bytearray(_LANE * self.size)
        buffer[at::_LANE] = values
        return int.from_bytes(buffer, "little")

    def span(self, start: int, stop: int) -> int:
        """All bits of the lanes of candidates start..stop-1."""
        low, high = _LANE * 8 * (start - self.start), _LANE * 8 * (stop - self.start)
        return (1 << high) - (1 << low)

    def positions(self, ch: str) -> int:
        found = self._positions.get(ch)
        if found is None:
            data = self.prepared.positions.get(ch)
            found = 0 if data is None else int.from_bytes(data[_LANE * self.start : _LANE * self.stop], "little")
            self._positions[ch] = found
        return found

    def mask(self, suffix: int) -> int:
        """Each lane: ones over the characters compared, those of the candidate without `suffix`."""
        found = self._masks.get(suffix)
        if found is None:
            ones = {n: (1 << max(0, min(n - suffix, _SEEN))) - 1 for n in self.length_values}
            masks = array(_LANE_CODE, map(ones.__getitem__, self.lengths))
            if sys.byteorder == "big":
                masks.byteswap()
            found = self._masks[suffix] = int.from_bytes(masks.tobytes(), "little")
        return found

    def unmatched(self, mine: str, mask: int) -> int:
        """Lanes holding how many of their characters (in `mask`) are not in the LCS with `mine`, in their low byte."""
        v = mask
        for ch in mine:
            u = v & self.positions(ch)
            if u:
                v = ((v + u) | (v ^ u)) & mask  # v - u is v ^ u: u is a subset of v
        # the zeros of a lane count the LCS; count its ones (a popcount within each lane)
        m1, m2, m4 = self.popcount_masks
        v = v - ((v >> 1) & m1)
        v = (v & m2) + ((v >> 2) & m2)
        v = (v + (v >> 4)) & m4
        v = v + (v >> 8)
        v = v + (v >> 16)
        return (v + (v >> 32)) & self.low_byte


class _Search:
    """One call: run by run, bounds for all, ratios best bound first until nothing left can make the top."""

    def __init__(self, prepared: _Prepared, word: str, limit: int) -> None:
        self.prepared = prepared
        self.word = word
        self.low = word.lower()
        self.limit = limit
        # (-ratio, name): with a positive limit only the best `limit` so far, in order
        self.found: list[tuple[float, str]] = []
        # (-bound, name, candidate, suffix, whether the bound is exact): names break ties as in the result
        self.queue: list[tuple[float, str, int, int, bool]] = []
        self.positions: dict[int, dict[str, int]] = {}  # suffix → where each character is in the word without it

    def run(self) -> list[str]:
        # the deepest runs first: fewest candidates, and those most alike (same namespace)
        for run in reversed(list(self.prepared.runs(self.low))):
            self._search(run)
        self._score(-1.0)
        return [name for _, name in sorted(self.found)[: self.limit]]

    def _worst(self) -> tuple[float, str] | None:
        """The last of a full top: what a candidate must beat."""
        return self.found[-1] if 0 < self.limit <= len(self.found) else None

    def _search(self, run: _Run) -> None:
        if run.skip == run.start:  # the deeper ones are at an end of the range: leave them out of it
            run = _Run(run.resume, run.stop, run.stop, run.stop, run.suffix)
        elif run.resume == run.stop:
            run = _Run(run.start, run.skip, run.skip, run.skip, run.suffix)
        if run.start >= run.stop:
            return
        prepared = self.prepared
        lanes = prepared.lanes(run.start, run.stop)
        suffix = run.suffix
        mine = self.low[: len(self.low) - suffix]
        skipped = lanes.span(run.skip, run.resume)
        unmatched = lanes.unmatched(mine, lanes.mask(suffix) & ~skipped)
        unmatched_bytes = unmatched.to_bytes(_LANE * lanes.size, "little")[::_LANE]
        unmatched += lanes.ones  # at most 64: stays in the low byte
        guard = lanes.guard & ~skipped
        sizes = [(n, n - suffix, len(mine) + n - suffix) for n in lanes.length_values if n >= suffix]

        def passing(level: float) -> bytes:
            """A byte a candidate, 1 when its bound reaches `level`, the cutoff and the worst of a full top."""
            worst = self._worst()
            level = max(level, -worst[0]) if worst else level
            table = bytearray(256)
            for n, theirs, total in sizes:
                need = (3 * total + 9) // 10  # ratio >= 0.6, in integers
                if level > CUTOFF:
                    need = max(need, math.ceil(level * total / 2) - 1)  # one less: floats round
                if need <= len(mine):  # else 0, none passes: the LCS is no longer than `mine`
                    # a lane passes with fewer than `theirs - need + 1` unmatched; 255 (that long or longer): all
                    table[n] = 255 if n == 255 else max(0, min(254, theirs - need + 1))
            # (byte + 256) - (unmatched + 1) keeps its bit 8 when unmatched < byte; every lane has its
            # 256, so that none borrows from the next, then those skipped are dropped
            passed = ((lanes.from_bytes(lanes.lengths.translate(table)) | lanes.guard) - unmatched) & guard
            return passed.to_bytes(_LANE * lanes.size, "little")[1::_LANE]

        hits = passing(CUTOFF)
        levels: tuple[float, ...] = ()
        if self.limit > 0 and hits.count(1) > _FEW:
            levels = _LEVELS  # many: the best first, so that the worst of the top rises before the rest
        done = bytearray(lanes.size)
        queue, names, lowers = self.queue, prepared.names, prepared.lowers
        for number, level in enumerate((*levels, CUTOFF)):
            if number:
                worst = self._worst()
                if worst and -worst[0] >= levels[number - 1]:
                    return  # the rest have bounds under the previous level: none can displace the top
            if levels:
                hits = passing(level)
            worst = self._worst()
            i = hits.find(1)
            while i >= 0:
                if not done[i]:
                    done[i] = 1
                    index = lanes.start + i
                    theirs = len(lowers[index]) - suffix
                    total = len(mine) + theirs
                    # the characters a lane does not hold may all match
                    common = min(theirs - unmatched_bytes[i], len(mine))
                    item = (-(2.0 * common / total if total else 1.0), names[index])
                    if not worst or item < worst:  # else it cannot displace the worst of the top
                        exact = theirs <= _SEEN and lanes.lengths[i] < 255
                        heapq.heappush(queue, (*item, index, suffix, exact))
                i = hits.find(1, i + 1)
            self._score(level)

    def _score(self, floor: float) -> None:
        """Score the queued candidates whose bound is `floor` or more, best first."""
        queue, found, limit = self.queue, self.found, self.limit
        while queue and -queue[0][0] >= floor:
            negative, name, index, suffix, exact = heapq.heappop(queue)
            worst = self._worst()
            if worst and (negative, name) > worst:  # ratio <= bound: it cannot displace the worst
                if negative > worst[0]:
                    queue.clear()  # nor any after it
                    return
                continue
            if name == self.word:
                continue
            mine = self.low[: len(self.low) - suffix]
            theirs = self.prepared.lowers[index]
            theirs = theirs[: len(theirs) - suffix]
            total = len(mine) + len(theirs)
            if not exact:  # a lane held only the start of it: the whole LCS may bound it lower
                if suffix not in self.positions:
                    self.positions[suffix] = _positions(mine)
                common = _lcs(self.positions[suffix], len(mine), theirs)
                if 10 * common >= 3 * total:  # ratio >= 0.6, in integers
                    heapq.heappush(queue, (-2.0 * common / total, name, index, suffix, True))
                continue
            ratio = 2.0 * _matched(mine, theirs) / total if total else 1.0
            if ratio >= CUTOFF:
                if limit <= 0:
                    found.append((-ratio, name))
                else:
                    insort(found, (-ratio, name))
                    del found[limit:]


def _positions(a: str) -> dict[str, int]:
    """For each character of `a`, the bits of its positions."""
    positions: dict[str, int] = {}
    for i, ch in enumerate(a):
        positions[ch] = positions.get(ch, 0) | 1 << i
    return positions


def _lcs(positions: dict[str, int], length: int, b: str) -> int:
    """Length of the longest common subsequence of `b` and the string of `length` with `positions`.

    Bit-parallel (Hyyrö): the zeros of v count it.
    """
    full = (1 << length) - 1
    v = full
    for ch in b:
        u = v & positions.get(ch, 0)
        v = ((v + u) | (v ^ u)) & full
    return length - v.bit_count()


def _matched(a: str, b: str) -> int:
    """How many characters `difflib.SequenceMatcher(None, a, b)` matches: its ratio is 2 * that / (len(a) + len(b)).

    difflib's algorithm (the longest matching block, the earliest of equals, then the same on
    either side of it) without its handling of junk, twice as fast. There is no junk with no
    `isjunk` and `b` under 200 characters; from there autojunk drops frequent characters, and
    difflib itself answers.
    """
    if len(b) >= 200:
        return sum(block.size for block in difflib.SequenceMatcher(None, a, b).get_matching_blocks())
    where: dict[str, list[int]] = {}
    for j, ch in enumerate(b):
        where.setdefault(ch, []).append(j)
    matched = 0
    pending = [(0, len(a), 0, len(b))]
    while pending:
        alo, ahi, blo, bhi = pending.pop()
        besti, bestj, bestsize = alo, blo, 0
        runs: dict[int, int] = {}  # j → length of the matching run ending at a[i - 1], b[j]
        for i in range(alo, ahi):
            longer = {}
            for j in where.get(a[i], ()):
                if j < blo:
                    continue
                if j >= bhi:
                    break
                k = longer[j] = runs.get(j - 1, 0) + 1
                if k > bestsize:
                    besti, bestj, bestsize = i - k + 1, j - k + 1, k
            runs = longer
        if bestsize:
            matched += bestsize
            if alo < besti and blo < bestj:
                pending.append((alo, besti, blo, bestj))
            if besti + bestsize < ahi and bestj + bestsize < bhi:
                pending.append((besti + bestsize, ahi, bestj + bestsize, bhi))
    return matched


def likely_typo(word: str, candidate: str) -> bool:
    """Whether `candidate` is one typing mistake away from `word` (two for names longer than eight
    characters): a letter left out, added, changed, or two neighbours swapped. Stronger evidence
    than a close match, which also pairs names that merely look alike (`frontend`, `frontend-v2`).
    Trailing DNS labels both share are left out, as in `close_matches`."""
    left, right = word.lower().split("."), candidate.lower().split(".")
    while len(left) > 1 and len(right) > 1 and left[-1] == right[-1]:
        left.pop()
        right.pop()
    a, b = ".".join(left), ".".join(right)
    allowed = 1 if len(a) <= 8 else 2
    if a == b or abs(len(a) - len(b)) > allowed:
        return False
    return _edits(a, b, allowed) <= allowed


def _edits(a: str, b: str, bound: int) -> int:
    """The optimal-string-alignment distance of two short strings (stops early past `bound`)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > bound:
            return bound + 1
        previous2, previous = previous, current
    return previous[-1]
