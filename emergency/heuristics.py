"""Greedy lists: a warm start for CP-SAT and the baselines the benchmark compares against.

- :func:`floor_choice`: every source at its floor (the plans alone).
- :func:`greedy_single`: EPA CoST style — rank measures by cost per kg of one pollutant and
  take them until that pollutant's target is met, then the next pollutant.
- :func:`greedy_multi`: rank measures by cost per unit of *remaining need*, all pollutants
  weighed together (each kg counted against its row's target).

A move sets one source to one measure on every day where that measure is allowed and cuts
no less of any pollutant than the current one; cuts only grow, so the greedy ends. Minimum
stops and supply couplings are then repaired by deepening; the checker says whether the
result is valid.
"""

from __future__ import annotations

import heapq

from emergency.instance import Choice, Instance

ROUNDS = 5
"""Greedy passes and repairs alternate at most this often (a repair may undo a cut)."""


def floor_choice(inst: Instance) -> Choice:
    return [list(src.floor) for src in inst.sources]


def _row_cost(inst: Instance, s: int, row: list[int]) -> float:
    src = inst.sources[s]
    return sum(src.options[m].cost_yuan_d for m in row) + inst.restarts_yuan(s, row)


class _Greedy:
    def __init__(self, inst: Instance, candidates: list[list[tuple[int, ...]]] | None) -> None:
        self.inst = inst
        self.candidates = candidates or [list(src.allowed) for src in inst.sources]
        self.choice = floor_choice(inst)
        self.rows = [inst.pooled_rows(d) for d in range(inst.n_days)]
        reach = [inst.rows_reachable(d) for d in range(inst.n_days)]
        self.target = [
            {name: min(inst.row_target(d, idx), reach[d][name]) for name, idx in self.rows[d]}
            for d in range(inst.n_days)
        ]
        self.need = [dict(t) for t in self.target]
        self.edges_of: dict[int, list] = {}
        for e in inst.edges:
            self.edges_of.setdefault(e.src[0], []).append(e)
            self.edges_of.setdefault(e.dst[0], []).append(e)
        for s in range(len(inst.sources)):
            for d in range(inst.n_days):
                self._apply_cut(s, d, self.choice[s][d], -1.0)

    def _cut(self, s: int, m: int, idx: tuple[int, ...]) -> float:
        c = self.inst.sources[s].options[m].cut_kg
        return sum(c[i] for i in idx)

    def _apply_cut(self, s: int, d: int, m: int, sign: float) -> None:
        for name, idx in self.rows[d]:
            self.need[d][name] += sign * self._cut(s, m, idx)

    def proposal(self, s: int, m: int) -> list[int] | None:
        """The row of source s after moving to m where allowed and no milder; None if idle."""
        src = self.inst.sources[s]
        new = list(self.choice[s])
        changed = False
        for d in range(self.inst.n_days):
            cur = new[d]
            if m == cur or m not in self.candidates[s][d]:
                continue
            new_cut, cur_cut = src.options[m].cut_kg, src.options[cur].cut_kg
            deeper = all(new_cut[i] >= cur_cut[i] for i in range(4)) and any(
                new_cut[i] > cur_cut[i] for i in range(4)
            )
            if deeper and self._couplings_ok(s, d, m):
                new[d] = m
                changed = True
        return new if changed else None

    def _couplings_ok(self, s: int, d: int, m: int) -> bool:
        """Moving (s, d) to m keeps every supply edge of s satisfied by the others' loads."""
        for e in self.edges_of.get(s, ()):
            (s1, u), (s2, w) = e.src, e.dst
            up = _load(self.inst, s1, m if s1 == s else self.choice[s1][d], u)
            down = _load(self.inst, s2, m if s2 == s else self.choice[s2][d], w)
            if down > 1 - e.share * (1 - up) + 1e-12:
                return False
        return True

    def benefit(self, s: int, new: list[int], focus: str | None) -> float:
        total = 0.0
        for d in range(self.inst.n_days):
            if new[d] == self.choice[s][d]:
                continue
            for name, idx in self.rows[d]:
                if focus is not None and name != focus:
                    continue
                need = self.need[d][name]
                if need <= 0:
                    continue
                gain = self._cut(s, new[d], idx) - self._cut(s, self.choice[s][d], idx)
                if gain > 0:
                    g = min(gain, need)
                    total += g if focus is not None else g / self.target[d][name]
        return total

    def score(self, s: int, m: int, focus: str | None) -> float | None:
        new = self.proposal(s, m)
        if new is None:
            return None
        ben = self.benefit(s, new, focus)
        if ben <= 0:
            return None
        dc = _row_cost(self.inst, s, new) - _row_cost(self.inst, s, self.choice[s])
        return max(dc, 0.0) / ben

    def accept(self, s: int, m: int) -> None:
        new = self.proposal(s, m)
        assert new is not None
        for d in range(self.inst.n_days):
            if new[d] != self.choice[s][d]:
                self._apply_cut(s, d, self.choice[s][d], +1.0)
                self._apply_cut(s, d, new[d], -1.0)
        self.choice[s] = new

    def unmet(self, focus: str | None) -> bool:
        return any(
            v > 1e-9 for row in self.need for name, v in row.items() if focus in (None, name)
        )

    def run(self, focus: str | None) -> None:
        heap: list[tuple[float, int, int]] = []
        for s, src in enumerate(self.inst.sources):
            for m in range(len(src.options)):
                sc = self.score(s, m, focus)
                if sc is not None:
                    heap.append((sc, s, m))
        heapq.heapify(heap)
        while heap and self.unmet(focus):
            _, s, m = heapq.heappop(heap)
            sc = self.score(s, m, focus)
            if sc is None:
                continue
            if heap and sc > heap[0][0] + 1e-12:
                heapq.heappush(heap, (sc, s, m))
                continue
            self.accept(s, m)

    def repair(self) -> None:
        """Extend stops to their minimum days, then deepen downstream lines of supply edges."""
        inst = self.inst
        for s, src in enumerate(inst.sources):
            for li, line in enumerate(src.lines):
                if line.min_stop_days <= 1:
                    continue
                prev = inst.stopped_before.get((s, li), 0) > 0
                for d in range(inst.n_days):
                    now = src.options[self.choice[s][d]].stops(li)
                    if now and not prev:
                        for t in range(d + 1, min(d + line.min_stop_days, inst.n_days)):
                            self._deepen(s, t, lambda m, o=src.options, li=li: o[m].stops(li))
                    prev = src.options[self.choice[s][d]].stops(li)
        for _ in range(len(inst.edges) + 1):
            changed = False
            for e in inst.edges:
                (s1, u), (s2, w) = e.src, e.dst
                for d in range(inst.n_days):
                    up = _load(inst, s1, self.choice[s1][d], u)
                    cap = 1 - e.share * (1 - up) + 1e-12
                    if _load(inst, s2, self.choice[s2][d], w) > cap:
                        changed |= self._deepen(
                            s2, d, lambda m, s2=s2, w=w, cap=cap: _load(inst, s2, m, w) <= cap
                        )
            if not changed:
                break

    def _deepen(self, s: int, d: int, ok) -> bool:
        """Move (s, d) to the cheapest allowed measure that satisfies ``ok``, preferring one
        that cuts no less of any pollutant."""
        src = self.inst.sources[s]
        cur = self.choice[s][d]
        if ok(cur):
            return False
        cur_cut = src.options[cur].cut_kg
        best = None
        for m in src.allowed[d]:
            if not ok(m):
                continue
            new_cut = src.options[m].cut_kg
            shallower = not all(new_cut[i] >= cur_cut[i] for i in range(4))
            key = (shallower, src.options[m].cost_yuan_d, m)
            best = key if best is None or key < best else best
        if best is None:
            return False
        self._apply_cut(s, d, cur, +1.0)
        self._apply_cut(s, d, best[2], -1.0)
        self.choice[s][d] = best[2]
        return True


def _load(inst: Instance, s: int, m: int, li: int) -> float:
    loads = inst.sources[s].options[m].loads
    return loads[li] if loads else 1.0


def greedy_multi(
    inst: Instance, *, candidates: list[list[tuple[int, ...]]] | None = None
) -> Choice:
    """All pollutants at once: cost per unit of remaining (target-normalised) need.

    ``candidates`` (per source and day) narrows the measures tried; by default the allowed
    ones.
    """
    greedy = _Greedy(inst, candidates)
    for _ in range(ROUNDS):
        greedy.run(None)
        greedy.repair()
        if not greedy.unmet(None):
            break
    return greedy.choice


def greedy_single(inst: Instance) -> Choice:
    """CoST style: cost per kg of one pollutant, pollutant after pollutant."""
    greedy = _Greedy(inst, None)
    names = [name for name, _ in inst.pooled_rows(0)] if inst.n_days else []
    for _ in range(ROUNDS):
        for name in names:
            greedy.run(name)
        greedy.repair()
        if not greedy.unmet(None):
            break
    return greedy.choice
