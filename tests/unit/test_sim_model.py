"""The built-in simulator's model held to FUSION: reference point, paths, draws, rules."""

from __future__ import annotations

import heapq
import json
import math
import random
from importlib import resources
from operator import attrgetter
from pathlib import Path

import numpy as np
import pytest

from fusion_jupyter.sim.congestion import CongestionAwareController
from fusion_jupyter.sim.controller import Controller
from fusion_jupyter.sim.grooming import GroomingController, average_usage
from fusion_jupyter.sim.gsnr import (
    _SCREEN_SAMPLE,
    _SCREEN_WINDOW,
    Channel,
    Gsnr,
    MultiBandGsnr,
    _Screen,
    decibels,
    limit_of,
    memo_keys,
)
from fusion_jupyter.sim.modulation import load_mod_table, parse_mod_table
from fusion_jupyter.sim.params import SimParams
from fusion_jupyter.sim.physical import PhysicalController
from fusion_jupyter.sim.routing import (
    SHIPPED_K,
    Route,
    RouteTable,
    computed_paths,
    path_table_text,
    shipped_paths,
)
from fusion_jupyter.sim.simulation import build_context, run_iteration, simulate
from fusion_jupyter.sim.spectrum import Spectrum, run_starts, slot_block
from fusion_jupyter.sim.stats import ErlangStats, Interval, update_interval
from fusion_jupyter.sim.topology import (
    SHIPPED_NETWORKS,
    TopologyError,
    fusion_data_root,
    load_topology,
    parse_topology,
    shipped_text,
)
from fusion_jupyter.sim.traffic import (
    Departures,
    QuotaError,
    Uniforms,
    bandwidth_quotas,
    legacy_generator,
    stream_events,
    uniform_block,
)
from tests.support.traffic_reference import generate_requests_exact

NSFNET_NODE_ORDER = ("0", "1", "2", "7", "3", "5", "4", "10", "6", "13", "9", "8", "12", "11")
QUOTAS_2000 = [200, 200, 1000, 400, 200]  # 25, 50, 100, 200, 400 Gb/s


@pytest.fixture(scope="module")
def reference_point():
    """sim-model.md §7: minimal.ini at 2000 Erlang, 2000 requests, 2 iterations, k = 3."""
    params = SimParams(erlangs=(2000.0,), num_requests=2000, max_iters=2, k_paths=3)
    ctx = build_context(params)
    (point,) = simulate(params, ctx=ctx)
    return ctx, point


# --- FUSION's reference point -------------------------------------------------------


def test_request_blocking_equals_fusion_per_iteration(reference_point):
    _, point = reference_point
    assert [it.blocked for it in point.iterations] == [161, 156]
    assert point.stats.blocking == [0.0805, 0.0780]


def test_bit_rate_blocking_with_fusions_quirk_and_corrected(reference_point):
    _, point = reference_point
    first = point.iterations[0]
    assert first.bit_rate_requested == 275_000  # 2000 requests x 137.5 Gb/s on average
    assert first.bit_rate_blocked == 51_500  # FUSION's figure, quirk included
    assert first.bit_rate_blocked_corrected == 25_800
    assert round(first.bit_rate_blocking, 5) == 0.18727
    assert round(first.bit_rate_blocking_corrected, 5) == 0.09382


def test_about_sixteen_percent_are_sliced(reference_point):
    _, point = reference_point
    assert [it.sliced for it in point.iterations] == [335, 311]
    assert 0.15 < point.sliced_share < 0.17


def test_two_iterations_do_not_reach_the_ci_and_network_ends_empty(reference_point):
    ctx, point = reference_point
    ci = point.stats.block_ci
    assert ci.mean == pytest.approx(0.07925)
    assert ci.ci_percent == pytest.approx(5.18927, abs=1e-5)  # above 5 %: no early stop
    assert not point.stopped_early
    assert ctx.controller.spectrum.used_slots() == 0


def test_every_erlang_point_reuses_the_same_seeds():
    params = SimParams(erlangs=(1500.0,), num_requests=2000, max_iters=1)
    ctx = build_context(params)
    again = run_iteration(ctx, 1500.0, 0)
    first = simulate(params, ctx=ctx)[0].iterations[0]
    assert (again.blocked, again.sliced) == (first.blocked, first.sliced)


# --- routing ------------------------------------------------------------------------


def test_k_shortest_paths_equal_fusions_for_all_182_pairs():
    text = (resources.files("fusion_jupyter.sim") / "data" / "nsfnet_k4_paths.json").read_text()
    expected = json.loads(text)["paths"]
    table = RouteTable(load_topology("NSFNet"), k=4, use_shipped=False)
    assert len(expected) == 182
    for pair, paths in expected.items():
        src, dst = pair.split("-")
        routes = table.routes(src, dst)
        assert [list(r.nodes) for r in routes] == [p["path"] for p in paths], pair
        assert [r.length_km for r in routes] == [p["km"] for p in paths], pair


def test_nsfnet_nodes_in_file_order_and_links_shared_by_both_directions():
    topology = load_topology("NSFNet")
    assert topology.nodes == NSFNET_NODE_ORDER
    assert len(topology.links) == 22
    assert topology.link_between("8", "12") is topology.link_between("12", "8")
    assert topology.link_between("12", "13").length_km == 100.0


# --- traffic ------------------------------------------------------------------------


def test_random_state_stream_is_the_legacy_global_stream():
    np.random.seed(2)
    global_draws = [np.random.uniform(0, 1) for _ in range(50)]
    assert np.random.RandomState(2).random_sample(50).tolist() == global_draws


@pytest.mark.parametrize("seed", [1, 2, 3, 60, 2**32 - 1])
def test_the_stdlib_generator_draws_numpys_legacy_stream(seed):
    draw = legacy_generator(seed).random
    ours = [draw() for _ in range(5000)]  # past MT19937's first twist (624 words)
    assert ours == np.random.RandomState(seed).random_sample(5000).tolist()


@pytest.mark.parametrize("seed", [1, 60, 2**32 - 1])
def test_a_block_of_uniforms_is_the_stream_of_single_draws(seed):
    one_by_one, at_once = legacy_generator(seed), legacy_generator(seed)
    for count in (1, 3, 700, 4096):  # across MT19937's twists (624 words)
        expected = [one_by_one.random() for _ in range(count)]
        block = uniform_block(at_once, count)
        assert all(type(value) is float for value in block)
        assert block == expected
    assert at_once.getstate() == one_by_one.getstate()


def _streamed(events):
    """The stream's events in the reference's encoding (i arrival, N + i release)."""
    events = list(events)
    count = len(events) // 2
    order = [e[0] if e[0] >= 0 else count + ~e[0] for e in events]
    arrivals = sorted((e for e in events if e[0] >= 0), key=lambda e: e[0])
    return order, arrivals


@pytest.mark.parametrize("seed", [1, 2, 7])
def test_streamed_events_equal_the_request_by_request_port(seed):
    exact = generate_requests_exact(seed, 14, QUOTAS_2000, 2000 / 0.2, 0.2)
    order, arrivals = _streamed(stream_events(seed, 14, QUOTAS_2000, 2000 / 0.2, 0.2))
    assert order == exact.order
    assert [e[1:4] for e in arrivals] == list(
        zip(exact.source, exact.destination, exact.bandwidth, strict=True)
    )
    assert [e[4:] for e in arrivals] == list(zip(exact.arrive, exact.depart, strict=True))


def test_requests_follow_the_quota_and_never_loop_on_one_node():
    requests = generate_requests_exact(1, 14, QUOTAS_2000, 1000 / 0.2, 0.2)
    assert np.bincount(requests.bandwidth).tolist() == QUOTAS_2000
    assert all(s != d for s, d in zip(requests.source, requests.destination, strict=True))
    assert requests.arrive == sorted(requests.arrive)
    assert sorted(requests.order) == list(range(4000))


class _ScriptedDraws(Uniforms):
    """A uniform stream with chosen values (U = 1 gives a zero inter-arrival time)."""

    def __init__(self, values):
        super().__init__(0)
        self.values = list(values)
        with np.errstate(divide="ignore"):
            self.logs = np.log(np.array(self.values)).tolist()


def test_equal_times_keep_both_requests_in_insertion_order():
    """FUSION keys events by (request_id, time) and sorts stably by time."""
    first = [0.5, 0.5, 0.0, 0.5, 0.0]  # arrival, holding, node 0 -> node 7, 25G
    same_time = [1.0, 0.3, 0.1, 0.6, 0.0]  # zero inter-arrival: the same arrival time
    third = [0.4, 0.4, 0.2, 0.9, 0.0]
    values = first + same_time + third
    requests = generate_requests_exact(1, 14, [3], 10.0, 0.2, draws=_ScriptedDraws(values))
    assert len(requests) == 3
    assert requests.arrive[1] == requests.arrive[0]
    assert requests.order[:2] == [0, 1]  # tie: the first inserted first
    order, _ = _streamed(stream_events(1, 14, [3], 10.0, 0.2, draws=_ScriptedDraws(values)))
    assert order == requests.order


def test_departures_leave_in_the_order_sorted_time_index_tuples_give():
    """The compiled heap against heapq of (time, index, event): ties, interleaved pops."""
    rng = random.Random(5)
    ours, reference = Departures(), []
    popped, expected = [], []
    for index in range(3_000):
        time = float(rng.randrange(40))  # few distinct times: many ties
        event = (~index, 0, 1, 0, 0.0, time)
        ours.push(time, index, event)
        heapq.heappush(reference, (time, index, event))
        while reference and rng.random() < 0.45:
            popped.append(ours.pop())
            expected.append(heapq.heappop(reference)[2])
        assert len(ours) == len(reference)
    while reference:
        popped.append(ours.pop())
        expected.append(heapq.heappop(reference)[2])
    assert popped == expected
    assert len(ours) == 0


def test_memory_is_held_for_requests_in_the_network_only():
    """Generation is lazy: the stream holds pending departures, not num_requests."""
    events = stream_events(1, 14, [20_000], 10.0, 0.2)  # about 2 in the network at once
    frame = events.gi_frame
    peak = 0
    for _ in events:
        if frame is not None and "pending" in frame.f_locals:
            peak = max(peak, len(frame.f_locals["pending"]))
    assert 0 < peak < 50


def test_quota_must_split_exactly():
    distribution = {"25": 0.1, "50": 0.1, "100": 0.5, "200": 0.2, "400": 0.1}
    assert bandwidth_quotas([25, 50, 100, 200, 400], distribution, 1000) == [
        100,
        100,
        500,
        200,
        100,
    ]
    with pytest.raises(QuotaError, match="does not split exactly"):
        bandwidth_quotas([25, 50, 100, 200, 400], distribution, 101)


# --- spectrum -----------------------------------------------------------------------


def test_run_starts_are_the_starts_of_width_set_bits():
    import random

    rng = random.Random(3)
    for _ in range(400):
        free = rng.getrandbits(rng.randint(1, 200)) | rng.getrandbits(rng.randint(1, 200))
        width = rng.randint(1, 40)
        expected = sum(
            1 << p
            for p in range(free.bit_length())
            if all(free >> (p + i) & 1 for i in range(width))
        )
        assert run_starts(free, width) == expected
    assert run_starts(0b1110111, 3) == 0b0010001  # slots 0-2 and 4-6


def test_first_fit_is_core_major_and_keeps_guard_inside_the_band():
    spectrum = Spectrum(num_links=2, cores=3, slots=320)
    assert spectrum.take([0, 1], 5) == 0
    assert spectrum.locate(spectrum.take([1], 3)) == (0, 5)  # after the first block
    spectrum.occupy([0], slot_block(0, 316))  # core 0 of link 0: slots 0..315 taken
    # 4 slots 316..319 are free on core 0, but a 5-wide block would pass slot 319.
    assert spectrum.locate(spectrum.first_fit([0], 4)) == (0, 316)
    assert spectrum.locate(spectrum.first_fit([0], 5)) == (1, 0)


def test_continuity_needs_the_same_slots_on_every_link():
    spectrum = Spectrum(num_links=2, cores=1, slots=20)
    spectrum.occupy([1], slot_block(0, 4))
    assert spectrum.first_fit([0], 3) == 0
    assert spectrum.first_fit([0, 1], 3) == 4
    spectrum.release([1], slot_block(0, 4))
    assert spectrum.first_fit([0, 1], 3) == 0
    assert spectrum.used_slots() == 0


def _grid(*taken_per_link: tuple[int, ...], allocation: str = "first_fit") -> Spectrum:
    """One core of 20 slots a link, with the given slots taken on each link."""
    spectrum = Spectrum(len(taken_per_link), cores=1, slots=20, allocation=allocation)
    for link, taken in enumerate(taken_per_link):
        for slot in taken:
            spectrum.occupy([link], slot_block(slot, 1))
    return spectrum


def test_last_fit_is_the_highest_fit_in_the_first_link_s_lowest_run_holding_one():
    # Link 0's free runs: 0-4 and 10-19. Link 1 takes 3-4: in the run 0-4, slots 0-2
    # are free on both, and FUSION scans the run downwards: slot 2, not 19.
    spectrum = _grid(tuple(range(5, 10)), (3, 4))
    assert spectrum.last_fit([0, 1], 1) == 2
    assert spectrum.first_fit([0, 1], 1) == 0
    # Link 1 takes all of 0-4: the first run holds no fit, the next run's highest wins.
    spectrum = _grid(tuple(range(5, 10)), tuple(range(5)))
    assert spectrum.last_fit([0, 1], 1) == 19
    # On one link, any width: the top of the lowest run long enough.
    spectrum = _grid(tuple(range(5, 10)))
    assert spectrum.last_fit([0], 3) == 2
    assert spectrum.last_fit([0], 6) == 14
    assert spectrum.last_fit([0], 11) is None


def test_best_fit_takes_the_shortest_run_of_any_link_that_holds_a_fit():
    # Link 0's runs: 0-9 (10 slots) and 12-14 (3); link 1's: 0-3 (4) and 8-19 (12).
    spectrum = _grid((10, 11, 15, 16, 17, 18, 19), (4, 5, 6, 7))
    assert spectrum.best_fit([0, 1], 2) == 12  # link 0's 3-slot run
    assert spectrum.first_fit([0, 1], 2) == 0
    # The 3-slot run is taken on link 1 too: it holds no fit and the next shortest
    # (link 1's 0-3) gives its first start.
    spectrum.occupy([1], slot_block(12, 3))
    assert spectrum.best_fit([0, 1], 2) == 0
    # Runs of equal length: the earlier link's first (FUSION's stable sort).
    spectrum = _grid((4, 5), (10, 11))
    assert spectrum.best_fit([0, 1], 2) == 0
    assert spectrum.best_fit([1, 0], 2) == 0
    spectrum = _grid((3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19), (1, 2))
    assert spectrum.best_fit([0, 1], 1) == 0  # link 0's runs 0-2 and 4-5; link 1's 0
    assert spectrum.best_fit([0, 1], 3) is None


def test_priority_first_takes_fusions_core_order_whatever_the_fibre_has():
    spectrum = Spectrum(num_links=1, cores=9, slots=4, allocation="priority_first")
    order = []
    while (position := spectrum.take([0], 4)) is not None:
        order.append(spectrum.locate(position)[0])
    # Cores 7 and 8 are never used; core 0 first, then 2 and 4 before 1.
    assert order == [0, 2, 4, 1, 3, 5, 6]
    assert not spectrum.searches([0], 1)  # nor searched: FUSION's search has no candidate
    c_and_l = Spectrum(1, cores=7, slots=4, band_slots=(4, 2), allocation="priority_first")
    c_and_l.occupy([0], slot_block(0, 4))  # core 0's C band full: its L band next
    assert c_and_l.locate(c_and_l.fit([0], 2)) == (1, 0)
    assert c_and_l.locate(c_and_l.fit([0], 3)) == (4, 0)  # 3 slots: core 2's C band


def test_bsc_searches_bands_then_cores():
    def segments(spectrum: Spectrum) -> list[int]:
        found = []
        while (position := spectrum.take([0], 4)) is not None:
            found.append(spectrum.locate(position)[0])
        return found

    # Segments: core 0's C and L bands are 0 and 1, core 1's 2 and 3.
    assert segments(Spectrum(1, cores=2, slots=4, band_slots=(4, 4))) == [0, 1, 2, 3]
    bsc = Spectrum(1, cores=2, slots=4, band_slots=(4, 4), bands_first=True)
    assert segments(bsc) == [0, 2, 1, 3]
    bsc_last = Spectrum(1, 2, 4, (4, 4), allocation="last_fit", bands_first=True)
    bsc_last.occupy([0], slot_block(2, 1))  # core 0's C band: runs 0-1 and 3
    assert bsc_last.fit([0], 1) == 1
    bsc_last.occupy([0], slot_block(0, 2) | slot_block(3, 1))  # core 0's C band full
    assert bsc_last.locate(bsc_last.fit([0], 1)) == (2, 3)  # core 1's C band, its top


def _fusions_search(
    spectrum: Spectrum, links: list[int], width: int, method: str, bands_first: bool
) -> tuple[int, int] | None:
    """FUSION's loops (``spectrum_assignment.py``, ``modules/spectrum/utils.py``) on lists.

    Free runs by segment in FUSION's order, scanned as FUSION scans them, each candidate
    checked slot by slot on every link; the bitset searches must agree with it.
    """

    def free(link: int, segment: int) -> list[int]:
        bits = spectrum.all_free & ~spectrum.masks[link]
        return [s for s in range(spectrum.slots) if bits >> (segment * spectrum.stride + s) & 1]

    def runs(slots: list[int]) -> list[list[int]]:
        found: list[list[int]] = []
        for slot in slots:
            if found and found[-1][-1] == slot - 1:
                found[-1].append(slot)
            else:
                found.append([slot])
        return found

    def everywhere(segment: int, low: int) -> bool:
        return all(set(range(low, low + width)) <= set(free(link, segment)) for link in links)

    bands = range(spectrum.bands)
    cores = [c for c in (0, 2, 4, 1, 3, 5, 6) if c < spectrum.cores]
    if method != "priority_first":
        cores = list(range(spectrum.cores))
    order = (
        [(c, b) for b in bands for c in cores]
        if bands_first
        else [(c, b) for c in cores for b in bands]
    )
    if method == "best_fit":
        candidates = [
            (core * spectrum.bands + band, run)
            for link in links
            for core in range(spectrum.cores)
            for band in bands
            for run in runs(free(link, core * spectrum.bands + band))
            if len(run) >= width
        ]
        for segment, run in sorted(candidates, key=lambda c: len(c[1])):
            for start in run:
                if start + width - 1 not in run:
                    break
                if everywhere(segment, start):
                    return segment, start
        return None
    for core, band in order:
        segment = core * spectrum.bands + band
        for run in runs(free(links[0], segment)):
            scan = run[::-1] if method == "last_fit" else run
            for start in scan:
                low = start - width + 1 if method == "last_fit" else start
                if low not in run or low + width - 1 not in run:
                    break
                if everywhere(segment, low):
                    return segment, low
    return None


@pytest.mark.parametrize("method", ["first_fit", "last_fit", "best_fit", "priority_first"])
@pytest.mark.parametrize("bands_first", [False, True])
def test_the_bitset_searches_are_fusions_loops_on_random_grids(method, bands_first):
    rng = np.random.default_rng(12)
    checked = found = 0
    for _ in range(150):
        cores = int(rng.integers(7, 10)) if method == "priority_first" else int(rng.integers(1, 4))
        band_slots = (int(rng.integers(4, 13)), int(rng.integers(2, 9)))[: int(rng.integers(1, 3))]
        spectrum = Spectrum(3, cores, max(band_slots), band_slots, method, bands_first)
        for link in range(3):
            for slot in range(spectrum.stride * cores * spectrum.bands):
                if rng.random() < rng.uniform(0.1, 0.6):
                    spectrum.masks[link] |= 1 << slot
            spectrum.masks[link] &= spectrum.all_free
        for links in ([0], [0, 1], [2, 0, 1]):
            for width in (1, 2, 3, 5):
                position = spectrum.fit(links, width)
                ours = None if position is None else spectrum.locate(position)
                assert ours == _fusions_search(spectrum, links, width, method, bands_first)
                checked += 1
                found += ours is not None
    assert checked == 1800 and 300 < found < 1500  # both outcomes, many times


def test_remembered_starts_follow_every_change_of_the_occupancy():
    """The fits' memo of a path's starts holds only until a lightpath is placed or
    released, or the links' masks are replaced: it always equals a fresh search."""
    rng = np.random.default_rng(21)
    spectrum = Spectrum(4, cores=2, slots=24)
    paths = [(0,), (0, 1), (2, 3, 1), [1, 2]]
    placed: list[tuple[tuple[int, ...], int]] = []
    changes = 0
    for _ in range(600):
        links = paths[int(rng.integers(len(paths)))]
        width = int(rng.integers(1, 7))
        assert spectrum.remembered_starts(links, width) == spectrum.starts(links, width)
        action = int(rng.integers(4))
        if action == 0 and (found := spectrum.place(links, width)) is not None:
            placed.append((tuple(links), found[1]))
        elif action == 1 and placed:
            spectrum.release(*placed.pop(int(rng.integers(len(placed)))))
        elif action == 2 and rng.random() < 0.05:
            spectrum.masks = [int(m) for m in rng.integers(0, 1 << 40, 4)]
            spectrum.masks = [m & spectrum.all_free for m in spectrum.masks]
            placed.clear()
        else:
            continue
        changes += 1
    assert changes > 200 and spectrum.used_slots() > 0


def test_a_run_of_slices_is_placed_as_one_first_fit_after_another_or_not_at_all():
    """place_run's one search gives the blocks that successive first fits take, and a
    run that does not fit leaves the grid as it was (what a rollback leaves)."""
    rng = np.random.default_rng(5)
    outcomes = {True: 0, False: 0}
    for _ in range(200):
        cores = int(rng.integers(1, 4))
        band_slots = (int(rng.integers(6, 25)), int(rng.integers(3, 9)))[: int(rng.integers(1, 3))]
        grid = Spectrum(3, cores, max(band_slots), band_slots)
        for link in range(3):
            for slot in range(grid.stride * cores * grid.bands):
                if rng.random() < rng.uniform(0.05, 0.5):
                    grid.masks[link] |= 1 << slot
            grid.masks[link] &= grid.all_free
        links = [[0], [1, 2], [2, 0, 1]][int(rng.integers(0, 3))]
        width, count = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        before = list(grid.masks)
        sequential = []
        for _ in range(count):
            placed = grid.place(links, width)
            if placed is None:
                break
            sequential.append(placed[0])
        expected_masks = list(grid.masks) if len(sequential) == count else before
        grid.masks = list(before)
        ran = grid.place_run(links, width, count)
        assert ran == (sequential if len(sequential) == count else None)
        assert grid.masks == expected_masks
        outcomes[ran is not None] += 1
    assert min(outcomes.values()) > 30  # both outcomes, many times


def test_best_fit_searches_every_link_first_and_last_fit_the_first():
    # No run of 4 on link 0; one on link 1 (taken elsewhere on link 0: no fit at all).
    taken_0 = (3, 7, 11, 15, 19)
    for allocation in ("first_fit", "last_fit"):
        spectrum = _grid(taken_0, (), allocation=allocation)
        assert spectrum.fit([0, 1], 4) is None
        assert not spectrum.searches([0, 1], 4) and spectrum.searches([1, 0], 4)
    best = _grid(taken_0, (), allocation="best_fit")
    assert best.fit([0, 1], 4) is None
    assert best.searches([0, 1], 4) and best.searches([1, 0], 4)
    # The answer is remembered only while the occupancy stays: each change asks again.
    spectrum = _grid(taken_0, (), allocation="first_fit")
    assert spectrum.searches([1, 0], 4)
    spectrum.occupy([1], slot_block(0, 20))
    assert not spectrum.searches([1, 0], 4)
    spectrum.release([1], slot_block(4, 4))
    assert spectrum.searches([1, 0], 4) and not spectrum.searches([0, 1], 4)
    with pytest.raises(ValueError, match="allocation must be one of"):
        Spectrum(1, 1, 8, allocation="priority_last")


# --- serving requests ---------------------------------------------------------------


def test_congestion_aware_routing_ranks_by_congestion_and_length():
    # Two paths A-D: the direct one (300 km) and A-B-C-D (3 x 120 km). Empty, the direct
    # one scores 0.7 x 300/360 against 0.7 and comes first; with its link full it scores
    # 0.3 + 0.7 x 300/360 and comes second. A path beyond every reach gets QPSK.
    topology = parse_topology("A D 300\nA B 120\nB C 120\nC D 120\n")
    spectrum = Spectrum(len(topology.links), 1, 16)
    controller = CongestionAwareController(
        spectrum, RouteTable(topology, 2), load_mod_table(), 4, guard_slots=1
    )
    direct = topology.link_index[("A", "D")]
    assert controller.options("A", "D", 100)[0].route.nodes == ("A", "D")
    spectrum.occupy([direct], slot_block(0, 16))
    first, second = controller.options("A", "D", 100)
    assert first.route.nodes == ("A", "B", "C", "D") and first.index == 0
    assert second.route.path_weight == 0.3 * 1.0 + 0.7 * (300 / 360)
    assert first.route.path_weight == 0.7
    far = parse_topology("A B 9000\n")
    table = load_mod_table()
    controller = CongestionAwareController(
        Spectrum(1, 1, 16), RouteTable(far, 1), table, 4, guard_slots=1
    )
    (option,) = controller.options("A", "B", 100)
    assert option.unsliced is not None and option.unsliced.name == "QPSK"
    assert option.unsliced.max_length_km < 9000


def _controller(topology_text, slots, cores=1, k=2, max_segments=4):
    topology = parse_topology(topology_text)
    spectrum = Spectrum(len(topology.links), cores, slots)
    table = load_mod_table()
    return Controller(spectrum, RouteTable(topology, k), table, max_segments, guard_slots=1)


def test_slicing_after_a_failed_segment_is_the_bit_rate_quirk():
    controller = _controller("A B 100\nB A 100\n", slots=16)
    for taken in (3, 7, 11, 15):  # leaves four free runs of 3 slots
        controller.spectrum.occupy([0], slot_block(taken, 1))
    # 400G: 64-QAM needs 6 + 1 slots (no run that long); 2 x 200G needs runs of 4
    # (fails); 4 x 100G needs runs of 3, exactly the four gaps.
    allocation = controller.serve("A", "B", 400)
    assert allocation is not None
    assert allocation.sliced and allocation.segment_failed
    assert [lp.bandwidth for lp in allocation.lightpaths] == [100] * 4
    assert controller.spectrum.masks[0] == (1 << 16) - 1
    controller.release(allocation.option, allocation.lightpaths)
    assert controller.spectrum.used_slots() == 4


def test_unsliced_on_a_later_path_wins_over_slicing_on_the_first():
    controller = _controller("A B 100\nA C 100\nC B 100\n", slots=10)
    controller.spectrum.occupy([0], slot_block(0, 6))  # A-B has 4 free slots
    allocation = controller.serve("A", "B", 400)  # needs 7 unsliced
    assert allocation is not None
    assert not allocation.sliced
    assert allocation.option.route.nodes == ("A", "C", "B")


def test_slicing_stops_at_max_segments_and_never_slices_25g():
    controller = _controller("A B 100\n", slots=8, max_segments=2)
    controller.spectrum.occupy([0], slot_block(0, 4))  # 4 free: 2 x 200G (4+4) cannot fit
    assert controller.serve("A", "B", 400) is None  # 4 x 100G exceeds max_segments
    controller.spectrum.occupy([0], slot_block(4, 4))
    assert controller.serve("A", "B", 25) is None


def test_paths_no_format_reaches_are_skipped():
    controller = _controller("A B 6000\n", slots=320)
    assert controller.options("A", "B", 100)[0].unsliced is None  # QPSK reaches 5540 km
    allocation = controller.serve("A", "B", 100)  # 2 x 50G over QPSK (11080 km)
    assert allocation is not None and allocation.sliced
    assert {lp.fmt.name for lp in allocation.lightpaths} == {"QPSK"}


# --- statistics ---------------------------------------------------------------------


def test_confidence_interval_rules():
    interval = Interval()
    update_interval(interval, [0.1])
    assert (interval.variance, interval.ci_rate, interval.ci_percent) == (0.0, 0.0, 0.0)
    update_interval(interval, [0.1, 0.3])
    assert interval.ci_rate == pytest.approx(1.645 * (0.1414213562 / 1.4142135624))
    assert interval.ci_percent == pytest.approx(2 * interval.ci_rate / 0.2 * 100)
    zero = Interval()
    update_interval(zero, [0.0])
    update_interval(zero, [0.0, 0.0])
    assert (zero.mean, zero.ci_rate, zero.ci_percent) == (0.0, 0.0, 0.0)


def test_identical_non_zero_iterations_stop_at_once_unless_training():
    stats = ErlangStats(is_training=False)
    assert not stats.add(0.05, 0.1, 0.08)
    assert stats.add(0.05, 0.1, 0.08)
    training = ErlangStats(is_training=True)
    for _ in range(3):
        assert not training.add(0.05, 0.1, 0.08)
    assert training.block_ci.mean is None and training.bit_rate_ci.ci_rate is None


def test_early_stop_ends_an_erlang_point():
    params = SimParams(erlangs=(4000.0,), num_requests=2000, max_iters=6)
    (point,) = simulate(params)
    assert point.stopped_early
    assert point.stats.iterations == 2
    assert point.stats.block_ci.ci_percent == pytest.approx(4.99747, abs=1e-5)


# --- FUSION's networks and the shipped path tables ---------------------------------


@pytest.mark.parametrize("network", sorted(SHIPPED_NETWORKS))
def test_shipped_path_tables_are_what_networkx_computes(network):
    topology = load_topology(network)
    shipped = shipped_paths(topology, SHIPPED_K)
    assert shipped is not None and len(shipped) == len(topology.nodes) * (len(topology.nodes) - 1)
    pairs = sorted(shipped)
    # Every pair of the small networks, an even sample of the large ones (networkx is slow).
    for pair in pairs[:: max(1, len(pairs) // 400)]:
        src, dst = pair.split(" ")
        assert shipped[pair] == computed_paths(topology, src, dst, SHIPPED_K), pair


@pytest.mark.parametrize("network", ["NSFNet", "metro_net", "toy_network"])
def test_a_shipped_path_table_file_is_what_path_table_text_writes(network):
    """The whole file, header and every pair, for the networks networkx does quickly."""
    shipped = resources.files("fusion_jupyter.sim") / "data" / "paths" / f"{network}.tsv"
    assert path_table_text(load_topology(network)) == shipped.read_text(encoding="utf-8")


@pytest.mark.parametrize("network", sorted(SHIPPED_NETWORKS))
def test_every_shipped_path_table_records_its_shipped_topologys_digest(network):
    """The run-time check compares the topology's text with the shipped file's; this holds
    the tables to those files."""
    import hashlib

    table = resources.files("fusion_jupyter.sim") / "data" / "paths" / f"{network}.tsv"
    if not table.is_file():
        pytest.fail(f"no shipped path table for {network}")
    header = dict(
        line[2:].split(" ", 1)
        for line in table.read_text(encoding="utf-8").splitlines()
        if line.startswith("# ")
    )
    text = shipped_text(network)
    assert header["sha256"] == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert header["sha256"] == load_topology(network).digest


def test_a_changed_topology_does_not_use_the_shipped_table(tmp_path):
    text = Path(fusion_data_root(), "data", "raw", "nsf_network.txt").read_text()
    longer = text.replace("0\t1\t1000", "0\t1\t3000").replace("1\t0\t1000", "1\t0\t3000")
    changed = parse_topology(longer, name="NSFNet")
    assert shipped_paths(changed, 3) is None
    assert shipped_paths(load_topology("NSFNet"), SHIPPED_K + 1) is None
    table = RouteTable(changed, k=3)
    assert table.routes("0", "1")[0].nodes != ("0", "1")  # the 3000 km link is no longer best


def test_core_nodes_are_request_endpoints_where_fusion_uses_them():
    spain = load_topology("Spainbackbone30", only_core_node=False)
    assert spain.request_nodes == spain.endpoints and len(spain.endpoints) == 14
    assert set(spain.endpoints) < set(spain.nodes)
    assert load_topology("Spainbackbone30").request_nodes == spain.nodes
    with pytest.raises(TopologyError, match="No core nodes found"):
        load_topology("NSFNet", only_core_node=False)


@pytest.mark.parametrize("seed", range(20))
def test_weighted_summary_is_statistics_on_the_expanded_sample(seed):
    import random
    import statistics

    from fusion_jupyter.sim.summary import Summary

    rng = random.Random(seed)
    pairs = [
        (round(rng.uniform(0, 5000), rng.choice([0, 1, 2])), rng.randint(1, 40)) for _ in range(6)
    ]
    values = [v for v, n in pairs for _ in range(n)]
    summary = Summary.of(pairs)
    assert summary.mean == statistics.mean(values)
    assert summary.std == statistics.stdev(values)
    assert (summary.min, summary.max, summary.count) == (min(values), max(values), len(values))


def test_an_iterations_hops_lengths_and_ranks_are_statistics_on_what_was_routed():
    """Counted per path option (and per lightpath kind) when the iteration ends, the
    figures are those of the expanded samples: one value per request or lightpath."""
    import random
    import statistics

    from fusion_jupyter.sim.controller import Allocation, Lightpath, PathOption
    from fusion_jupyter.sim.link_usage import LinkUsage
    from fusion_jupyter.sim.modulation import ModFormat
    from fusion_jupyter.sim.tally import IterationTally

    rng = random.Random(3)
    qpsk, sixteen = ModFormat("QPSK", 2000.0, 4), ModFormat("16-QAM", 500.0, 2)
    tally = IterationTally([100, 400], k_paths=3, cores=2, usage=LinkUsage([]))
    routes = [
        Route(("a",), tuple(range(hops)), round(rng.uniform(100, 3000), 3))
        for hops in (1, 2, 2, 3, 4)
    ]
    options = [
        PathOption(rank % 3, route, None, ()) for rank, route in enumerate(routes) for _ in "ab"
    ]
    hops, lengths, ranks = [], [], [0, 0, 0]
    by_format: dict[str, list[float]] = {"QPSK": [], "16-QAM": []}
    for _ in range(300):
        option, bandwidth = rng.choice(options), rng.choice([100, 400])
        placed = tuple(
            Lightpath(rng.randrange(2), 0b11, bandwidth, rng.choice([qpsk, sixteen]))
            for _ in range(rng.randint(1, 2))
        )
        tally.routed_request(bandwidth, Allocation(option, placed, False, False))
        hops.append(float(option.route.hops))
        lengths.append(round(option.route.length_km, 2))
        ranks[option.index] += 1
        for lightpath in placed:
            by_format[lightpath.fmt.name].append(option.route.length_km)

    formats = ["QPSK", "16-QAM"]
    result = tally.result(0, 300, load_topology("NSFNet"), {100: formats, 400: formats})

    def figures(values):
        return (statistics.mean(values), statistics.stdev(values), min(values), max(values))

    for summary, values in ((result.hops, hops), (result.lengths, lengths)):
        assert (summary.mean, summary.std, summary.min, summary.max) == figures(values)
        assert summary.count == 300
    assert result.path_index == ranks
    for name, values in by_format.items():
        expected = dict(
            zip(("mean", "std", "min", "max"), (round(v, 2) for v in figures(values)), strict=True)
        )
        assert result.mods_used[name]["length"]["overall"] == expected
        assert result.mods_used[name]["c"] == len(values)


def test_remembered_rounding_is_pythons_round_and_stays_bounded():
    import math
    import random

    from fusion_jupyter.sim import summary

    rng = random.Random(5)
    values = [0.0, -0.0, 0.005, -0.005, 2.675, 1e300, math.inf]
    values += [rng.uniform(-5000, 5000) for _ in range(2000)]
    values += [round(rng.uniform(0, 50), 3) for _ in range(2000)]
    for value in values + values:  # the second time from the memo
        rounded = summary.round_2(value)
        assert rounded == round(value, 2)
        assert math.copysign(1, rounded) == math.copysign(1, round(value, 2))
    assert math.isnan(summary.round_2(math.nan))
    for i in range(summary.ROUNDED_LIMIT + 10):
        summary.round_2(i + 0.5)
    assert len(summary._rounded) <= summary.ROUNDED_LIMIT


@pytest.mark.parametrize("seed", range(20))
def test_a_running_summary_is_statistics_on_the_sample_however_it_was_split(seed):
    """Values added one by one, in parts merged later, give statistics' very floats."""
    import random
    import statistics

    from fusion_jupyter.sim.summary import RunningSummary

    rng = random.Random(seed)
    draws = (
        lambda: rng.uniform(-1e3, 1e3),
        lambda: round(rng.uniform(0, 50), 2),
        lambda: rng.random() * 1e-9,
        lambda: float(rng.randint(0, 9)),
    )
    values = [rng.choice(draws)() for _ in range(rng.randint(2, 60))]
    cut = rng.randint(0, len(values))
    first, second = RunningSummary(), RunningSummary()
    for value in values[:cut]:
        first.add(value)
    for value in values[cut:]:
        second.add(value)
    merged = RunningSummary.merged([first, second])
    summary = merged.summary()
    assert summary.mean == statistics.mean(values)
    assert summary.std == statistics.stdev(values)
    assert (summary.min, summary.max, summary.count) == (min(values), max(values), len(values))
    # The blocking statistics' figures (sim.stats), without the statistics module.
    assert merged.mean() == RunningSummary.of(values).mean() == statistics.mean(values)
    assert merged.variance() == RunningSummary.of(values).variance() == statistics.variance(values)


@pytest.mark.parametrize("seed", range(12))
def test_long_samples_summed_in_machine_words_are_still_statistics_own(seed):
    """Hundreds of values on one scale (the machine-word sums, folded every 32), with
    values off the scale, too large for a word, counted many times or merged between."""
    import random
    import statistics

    from fusion_jupyter.sim.summary import RunningSummary

    rng = random.Random(seed)
    draws = (
        lambda: rng.uniform(-30, 30),  # GSNR-like: the scale the first one sets
        lambda: rng.uniform(10, 20),
        lambda: rng.uniform(0, 1e-6),  # a finer scale: the exact path, then words again
        lambda: rng.uniform(1e15, 1e16),  # too large for a word on a fine scale
        lambda: float(rng.randint(-2, 2)),
    )
    weights = (60, 30, 2, 2, 6)
    values: list[float] = []
    merged, part = RunningSummary(), RunningSummary()
    for _ in range(rng.randint(300, 900)):
        value = rng.choices(draws, weights)[0]()
        times = 1 if rng.random() < 0.97 else rng.randint(2, 5)
        part.add(value, times)
        values += [value] * times
        if rng.random() < 0.01:
            merged.merge(part)
            part = RunningSummary()
    merged.merge(part)
    summary = merged.summary()
    assert summary.mean == statistics.mean(values)
    assert summary.std == statistics.stdev(values)
    assert (summary.min, summary.max, summary.count) == (min(values), max(values), len(values))
    assert merged.variance() == statistics.variance(values)


def test_values_on_the_scale_go_to_the_machine_word_sums():
    """The first value sets the scale; those after it on that scale wait in words."""
    from fusion_jupyter.sim.summary import RunningSummary

    running = RunningSummary()
    for value in (20.25, 21.0, 17.5, -3.75, 20.5):
        running.add(value)
    assert (running._shift, running._pending, running._total) == (2, 4, 81)
    assert running.mean() == 75.5 / 5 and running._pending == 0


def test_the_square_root_of_a_fraction_is_correctly_rounded():
    """The float nearest the real root, checked against 80-digit decimal arithmetic."""
    import decimal
    import random

    from fusion_jupyter.sim.summary import sqrt_of_fraction

    rng = random.Random(5)
    context = decimal.Context(prec=80)
    for _ in range(20_000):
        numerator = rng.getrandbits(rng.randint(1, 300))
        denominator = rng.getrandbits(rng.randint(1, 300)) or 1
        exact = context.sqrt(context.divide(numerator, denominator))
        assert sqrt_of_fraction(numerator, denominator) == float(exact)
    assert sqrt_of_fraction(0, 7) == 0.0
    assert sqrt_of_fraction(9, 4) == 1.5


def test_per_request_path_weights_are_summarised_exactly_under_one_entry_per_path():
    """cong_aware and xt_aware weigh a path anew per request: memory must not grow with it.

    The counters keep one option per (rank, links), while the weights and GSNRs still
    come out as FUSION's statistics over every lightpath.
    """
    import random
    import statistics

    from fusion_jupyter.sim.controller import Allocation, Lightpath, PathOption
    from fusion_jupyter.sim.link_usage import LinkUsage
    from fusion_jupyter.sim.modulation import ModFormat
    from fusion_jupyter.sim.tally import IterationTally

    rng = random.Random(7)
    fmt = ModFormat("QPSK", 2000.0, 4)
    tally = IterationTally([100], k_paths=3, cores=1, physical=True, usage=LinkUsage([]))
    weights, snrs = [], []
    for request in range(400):
        weights.append(rng.uniform(0, 1))
        snrs.append(rng.uniform(10, 20))
        route = Route(("a", "b"), (0,), 800.0, (800.0,), weights[-1])
        option = PathOption(request % 2, route, None, ())
        lightpath = Lightpath(0, 0b1111, 100, fmt, snrs[-1])
        tally.routed_request(100, Allocation(option, (lightpath,), False, False))
        tally.released(option, 150.0)
    assert len(tally.routed_by_option) == 2
    assert [len(per_option) for per_option in tally.lightpaths.values()] == [2]

    result = tally.result(0, 400, load_topology("NSFNet"), {100: ["QPSK"]})

    def rounded(values):
        return {
            "mean": round(statistics.mean(values), 2),
            "std": round(statistics.stdev(values), 2),
            "min": round(min(values), 2),
            "max": round(max(values), 2),
        }

    qpsk = result.mods_used["QPSK"]
    assert qpsk["length"]["overall"] == qpsk["length"]["c"] == rounded(weights)
    assert qpsk["snr"]["overall"] == rounded(snrs)
    assert qpsk["hop"]["overall"] == {"mean": 1.0, "std": 0.0, "min": 1.0, "max": 1.0}
    two_places = [round(w, 2) for w in weights]
    assert result.weights["100"]["QPSK"] == {
        "mean": statistics.mean(two_places),
        "std": statistics.stdev(two_places),
        "min": min(two_places),
        "max": max(two_places),
    }
    assert result.snr == {k: v for k, v in rounded(snrs).items() if k != "std"}
    assert result.path_index == [200, 200, 0]
    # The last request leaves after the last counted arrival: not in FUSION's figure.
    assert result.link_usage[next(iter(result.link_usage))]["throughput"] == 399 * 150.0


# --- the physical layer (snr_type = gsnr, dynamic_lps) ----------------------------


class _FixedGsnr:
    """A GSNR that is the same wherever the lightpath goes, to isolate the search."""

    def __init__(self, db):
        self.db = db

    def path_db(self, lengths, channels, start, slots, band="c", link_states=None, needed_db=None):
        return self.db


def _physical(topology_text, slots, gsnr_db, table, k=1, partial=False):
    topology = parse_topology(topology_text)
    spectrum = Spectrum(len(topology.links), 1, slots)
    return PhysicalController(
        spectrum,
        RouteTable(topology, k),
        parse_mod_table(table),
        _FixedGsnr(gsnr_db),
        k_paths=k,
        max_segments=8,
        can_partially_serve=partial,
    )


def _formats(*slots):
    names = ("64-QAM", "32-QAM", "16-QAM")
    return {
        name: {"max_length": 100 + i, "slots_needed": n}
        for i, (name, n) in enumerate(zip(names, slots, strict=True))
    }


def test_a_format_whose_search_tries_nothing_keeps_fusions_previous_position():
    """FUSION's quirk: 64-QAM fits 3 slots but fails its SNR; 32-QAM and 16-QAM find no
    run long enough on the first link, so FUSION's state still holds 64-QAM's slots and
    16-QAM is set up on those 3 slots."""
    table = {"100": _formats(3, 4, 5), "200": _formats(6, 8, 10)}
    controller = _physical("A B 100\n", slots=8, gsnr_db=15.0, table=table)  # 13.24 <= 15 < 16.16
    controller.spectrum.occupy([0], slot_block(3, 1))  # free runs: 0-2 and 4-7
    controller.spectrum.occupy([0], slot_block(7, 1))  # free runs: 0-2 and 4-6
    allocation = controller.serve("A", "B", 200)  # unsliced needs 6+ slots: sliced as 2 x 100G
    assert allocation is not None and allocation.sliced
    assert [(lp.fmt.name, lp.block) for lp in allocation.lightpaths] == [
        ("16-QAM", slot_block(0, 3)),
        ("16-QAM", slot_block(4, 3)),
    ]
    assert [lp.snr_db for lp in allocation.lightpaths] == [15.0, 15.0]
    controller.release(allocation.option, allocation.lightpaths)
    assert controller.spectrum.used_slots() == 2


def test_failed_candidates_end_fusions_previous_position():
    """64-QAM fits but fails its SNR; 32-QAM's candidate on the first link fails on the
    second, which sets FUSION's state to "not free"; 16-QAM then has no candidate and,
    unlike in the quirk above, nothing is set up."""
    table = {"100": _formats(2, 4, 5), "200": _formats(6, 8, 10)}
    controller = _physical("A B 100\nB C 100\n", slots=6, gsnr_db=15.0, table=table)
    controller.spectrum.occupy([0], slot_block(4, 2))  # A-B: slots 0-3 free
    controller.spectrum.occupy([1], slot_block(3, 1))  # B-C: 0-2 and 4-5 free
    assert controller.serve("A", "C", 200) is None
    assert controller.spectrum.used_slots() == 3


def test_partial_service_only_on_fusions_last_path_index():
    table = {"100": _formats(3, 4, 5), "200": _formats(6, 8, 10)}
    for k, served in ((1, True), (2, False)):
        controller = _physical("A B 100\n", slots=4, gsnr_db=25.0, table=table, k=k, partial=True)
        allocation = controller.serve("A", "B", 200)  # room for one 100G lightpath only
        # With k = 2 FUSION's last path index is 1: the only path (index 0) is not it.
        assert (allocation is not None) is served
        if served:
            assert allocation.unserved == 100 and len(allocation.lightpaths) == 1
        else:
            assert controller.spectrum.used_slots() == 0


def test_grooming_uses_spare_capacity_and_tears_down_only_empty_lightpaths():
    table = {"300": _formats(1, 1, 1), "800": _formats(1, 1, 1)}
    topology = parse_topology("A B 100\n")
    controller = GroomingController(
        Spectrum(len(topology.links), 1, 4),
        RouteTable(topology, 1),
        parse_mod_table(table),
        _FixedGsnr(17.0),  # 32-QAM (16.16 dB) is the best format: 700 Gb/s per lightpath
        k_paths=1,
        max_segments=8,
        can_partially_serve=True,
    )
    # 800G: no format both meets the SNR and carries 800 on one slot, so it is sliced
    # into 700 + 100 on a second 700G lightpath, which keeps 600 spare for grooming.
    first = controller.arrive(0, "A", "B", 800, now=0.0)
    assert first is not None and not first.groomed
    assert [(lp.capacity, lp.remaining) for lp in first.new] == [(700.0, 0.0), (700.0, 600.0)]
    second = controller.arrive(1, "B", "A", 300, now=1.0)  # same end nodes: groomed
    assert second is not None and second.fully_groomed and not second.counted
    assert second.groomed == [first.new[1]]
    released = controller.depart(0, first, now=2.0)
    assert [(r.capacity, r.utilization) for r in released] == [(700, 100.0)]
    assert controller.spectrum.used_slots() == 1
    # The shared lightpath: 100/700 in use, then 400/700 from t=1, 300/700 from t=2.
    assert controller.depart(1, second, now=3.0)[0].utilization == average_usage(
        {0.0: 100 / 700 * 100, 1.0: (1 - 300 / 700) * 100, 2.0: (1 - 400 / 700) * 100}, 3.0
    )
    assert controller.spectrum.used_slots() == 0
    assert average_usage({0.0: 50.0, 1.0: 100.0}, 3.0) == round((50 + 200) / 3, 2)


def test_the_xt_link_cost_adds_fusions_shares_in_fusions_order():
    """The vectorised XT-aware link cost equals FUSION's slot-by-slot loop, float for float."""
    import random

    from fusion_jupyter.sim.xt import FULLY_CONGESTED_LINK_COST, link_cost, link_cost_reference

    stride, slots = 321, 320
    every_slot = sum(((1 << slots) - 1) << (core * stride) for core in range(7))
    rng = random.Random(7)
    for _ in range(60):
        load = rng.random()
        taken = signal = 0
        for bit in range(7 * stride):
            if bit % stride < slots and rng.random() < load:
                taken |= 1 << bit
                if rng.random() < 0.8:  # the rest are guard slots: taken, no signal
                    signal |= 1 << bit
        free = every_slot & ~taken
        assert link_cost(free, signal, stride, slots) == link_cost_reference(
            free, signal, stride, slots
        )
    assert link_cost(0, every_slot, stride, slots) == FULLY_CONGESTED_LINK_COST
    assert link_cost(every_slot, 0, stride, slots) == 0.0


# --- SNR recheck (snr_recheck = True) ----------------------------------------------


class _CrowdGsnr(Gsnr):
    """Candidates get ``candidate_db``; a placed lightpath has ``placed_db`` less 10 dB
    per other lightpath on its busiest link (at 25 dB, a second lightpath on a link
    fails 64-QAM's 19.01 dB)."""

    def __init__(self, candidate_db=25.0, placed_db=25.0):
        super().__init__(12.5, 0.001, {})
        self.candidate_db = candidate_db
        self.placed_db = placed_db
        # Not linear in the neighbours' phi, so the recheck must not bound it.
        self.signed_phis = True

    def path_db(self, lengths, channels, start, slots, band="c", link_states=None, needed_db=None):
        return self.candidate_db

    def placed_path_inverse(self, lengths, channels, start, slots, link_states):
        db = self.placed_db - 10 * max(len(on_link) - 1 for on_link in channels)
        return 10 ** (-db / 10)


def _far_formats(**slots_per_bandwidth):
    """Formats that reach everywhere: 64-QAM, 32-QAM, 16-QAM with the given slots."""
    names = ("64-QAM", "32-QAM", "16-QAM")
    return {
        bandwidth: {name: {"max_length": 10_000 + i, "slots_needed": n} for i, (name, n) in
                    enumerate(zip(names, slots, strict=True))}
        for bandwidth, slots in slots_per_bandwidth.items()
    }  # fmt: skip


def _rechecking(topology_text, slots, table, k, recheck=True):
    topology = parse_topology(topology_text)
    return PhysicalController(
        Spectrum(len(topology.links), 1, slots),
        RouteTable(topology, k),
        parse_mod_table(table),
        _CrowdGsnr(),
        k_paths=k,
        max_segments=8,
        can_partially_serve=False,
        snr_recheck=recheck,
    )


def test_a_failed_recheck_gives_up_the_path_not_the_format():
    """The second A-B lightpath would push the first below 64-QAM's threshold: FUSION
    rolls it back and tries the next path (A-C-B), not the next format on A-B."""
    table = _far_formats(**{"100": (1, 1, 1), "200": (2, 2, 2)})
    for recheck, path_index in ((False, 0), (True, 1)):
        controller = _rechecking("A B 100\nA C 100\nC B 100\n", 4, table, 2, recheck)
        first = controller.serve("A", "B", 100)
        assert first is not None and first.option.index == 0
        second = controller.serve("A", "B", 100)
        assert second is not None and second.option.index == path_index
        assert [lp.fmt.name for lp in second.lightpaths] == ["64-QAM"]
        for allocation in (first, second):
            controller.release(allocation.option, allocation.lightpaths)
        assert controller.spectrum.used_slots() == 0


def test_a_failed_recheck_while_slicing_restarts_the_tier_without_that_format():
    """200G fits only as 2 x 100G. Each second slice fails the recheck of the first
    (the request's own lightpaths are rechecked too), so FUSION rolls both back and
    starts the tier again without the failed format: 64-QAM, then 32-QAM fail (15 dB
    against 19.01 and 16.16), 16-QAM (13.24) holds."""
    table = _far_formats(**{"100": (1, 1, 1), "200": (8, 8, 8)})
    controller = _rechecking("A B 100\n", 4, table, 1)
    allocation = controller.serve("A", "B", 200)
    assert allocation is not None and allocation.sliced
    assert [lp.fmt.name for lp in allocation.lightpaths] == ["16-QAM", "16-QAM"]
    assert [lp.block for lp in allocation.lightpaths] == [slot_block(0, 1), slot_block(1, 1)]
    assert controller.spectrum.used_slots() == 2
    controller.release(allocation.option, allocation.lightpaths)
    assert controller.spectrum.used_slots() == 0


def test_recheck_bounds_hold_the_exact_figure_and_go_once_a_phi_is_negative():
    """Real C-band GSNR: after each request every bound kept is at least the lightpath's
    exact inverse GSNR; once the model has met a negative phi (the bounds' argument needs
    none), the next lightpath set up drops them all."""
    table = _far_formats(**{"100": (1, 1, 1)})
    topology = parse_topology("A B 300\nB C 300\n")
    gsnr = Gsnr(12.5, 0.001, {"64-QAM": 0.619, "32-QAM": 0.65, "16-QAM": 0.68})
    controller = PhysicalController(
        Spectrum(len(topology.links), 1, 16),
        RouteTable(topology, 1),
        parse_mod_table(table),
        gsnr,
        k_paths=1,
        max_segments=1,
        can_partially_serve=False,
        snr_recheck=True,
    )
    recheck = controller.recheck
    assert recheck is not None
    pairs = [("A", "B"), ("B", "C"), ("A", "C")] * 3
    placed = []
    for src, dst in pairs:
        allocation = controller.serve(src, dst, 100)
        assert allocation is not None
        placed.append(allocation)
        lightpaths = [p for on_link in recheck._on_link for p in on_link.values()]
        bounded = [p for p in lightpaths if recheck.bound(p) is not None]
        assert all(recheck.c_band_inverse(p) <= recheck.bound(p) for p in bounded)
    assert bounded  # bounds are kept
    gsnr.signed_phis = True
    assert controller.serve("A", "B", 100) is not None
    assert all(recheck.bound(p) is None for p in lightpaths)


def test_a_channel_is_a_value_whatever_lightpath_it_was_made_for():
    """The GSNR's memos are keyed by channels: equal fields are one key, and a channel
    is not a tuple (it no longer is one)."""
    one, same = Channel(4, 3, "16-QAM"), Channel(4, 3, "16-QAM")
    assert one == same and hash(one) == hash(same) and {one: 1}[same] == 1
    assert (one != same) is False  # __ne__ too
    for other in (Channel(5, 3, "16-QAM"), Channel(4, 2, "16-QAM"), Channel(4, 3, "QPSK")):
        assert one != other and other not in {one: 1}
    assert one != (4, 3, "16-QAM")
    assert repr(one) == "Channel(start=4, slots=3, fmt='16-QAM')"


def test_a_placed_lightpaths_c_band_gsnr_is_its_gsnr_as_a_candidate():
    """FUSION's recheck meets the lightpath at its first slot and counts it once, as the
    channel under test: in the C band the figure is the one it had when set up."""
    gsnr = Gsnr(12.5, 0.001, {"64-QAM": 0.619, "16-QAM": 0.68, "QPSK": 1.0})
    others = [[Channel(0, 3, "QPSK"), Channel(9, 2, "64-QAM")], [Channel(20, 4, "16-QAM")]]
    own = Channel(4, 3, "16-QAM")
    with_own = [sorted([*link, own], key=attrgetter("start")) for link in others]
    lengths = (250.0, 420.0)
    candidate = gsnr.path_db(lengths, others, own.start, own.slots)
    placed = decibels(
        gsnr.placed_path_inverse(lengths, with_own, own.start, own.slots, [("a",), ("b",)])
    )
    assert placed == candidate
    # A neighbour added since then lowers it.
    with_more = [
        sorted([*link, Channel(8, 1, "QPSK")], key=attrgetter("start")) for link in with_own
    ]
    assert decibels(gsnr.placed_path_inverse(lengths, with_more, 4, 3, [("c",), ("d",)])) < (
        candidate
    )


FUSION_PHI = {
    "BPSK": 1,
    "QPSK": 1,
    "8-QAM": 0.66667,
    "16-QAM": 0.68,
    "32-QAM": 0.69,
    "64-QAM": 0.6190476190476191,
}


def _random_links(rng, candidate_start, candidate_slots, links, slots=320):
    """Per link, lightpaths sorted by start that leave the candidate's slots free."""
    out = []
    for _ in range(links):
        taken = set(range(candidate_start, candidate_start + candidate_slots))
        on_link = []
        for _ in range(int(rng.integers(0, 60))):
            start, width = int(rng.integers(0, slots - 8)), int(rng.integers(1, 9))
            wanted = set(range(start, start + width))
            if not wanted & taken:
                taken |= wanted
                on_link.append(Channel(start, width, str(rng.choice(list(FUSION_PHI)))))
        out.append(sorted(on_link, key=attrgetter("start")))
    return out


def test_every_c_band_phi_is_positive_where_the_bound_says_so():
    """With FUSION's fibre, slot width and formats the bound holds, and every neighbour's
    phi met over random spectra is positive; with a phi ten times FUSION's the bound
    does not hold, and negative phis are met."""
    rng = np.random.default_rng(17)
    for phi, proven in ((FUSION_PHI, True), (dict.fromkeys(FUSION_PHI, 10.0), False)):
        gsnr = Gsnr(12.5, 0.001, phi)
        assert gsnr.positive_terms is proven
        for _ in range(200):
            start, slots = int(rng.integers(0, 300)), int(rng.integers(1, 9))
            links = _random_links(rng, start, slots, 3)
            with np.errstate(invalid="ignore"):  # such phis can make a link's sum negative
                gsnr.path_db([300.0] * 3, links, start, slots)
        assert gsnr.signed_phis is not proven
    assert not Gsnr(6.25, 0.001, FUSION_PHI).positive_terms  # R D too small to prove it


def test_a_c_band_path_stops_early_only_where_it_surely_fails():
    """Given the threshold, a candidate's GSNR is FUSION's figure, or -inf where the
    links summed so far, or the candidate's own terms alone, already put it below the
    threshold (the rest uncomputed)."""
    rng = np.random.default_rng(19)
    early, full = Gsnr(12.5, 0.001, FUSION_PHI), Gsnr(12.5, 0.001, FUSION_PHI)
    stopped = alone = 0
    for trial in range(400):
        start, slots = int(rng.integers(0, 300)), int(rng.integers(1, 9))
        count = int(rng.integers(1, 8))
        links = _random_links(rng, start, slots, count)
        lengths = [float(x) for x in rng.uniform(50.0, 2000.0, count)]
        needed = float(rng.choice([3.71, 6.72, 10.84, 13.24, 16.16, 19.01]))
        states = [(trial, i) for i in range(count)]
        figure = full.path_db(lengths, links, start, slots, "c", states)
        got = early.path_db(lengths, links, start, slots, "c", states, needed)
        if got == -math.inf:
            stopped += 1
            assert figure < needed
        else:
            assert got == figure
        candidate = early._candidate(start, slots, "c")
        if Gsnr._alone_exceeds(lengths, candidate, limit_of(needed)):
            alone += 1
            assert got == -math.inf
    assert stopped > 20
    assert 10 < alone < stopped


def _random_c_plus_l(rng, band, start, slots, links, band_slots=480):
    """Per link, each band's lightpaths (C, then L), sorted, leaving the candidate free."""
    out = []
    for _ in range(links):
        on_link = []
        for channel_band in ("c", "l"):
            if channel_band == band:
                (on_band,) = _random_links(rng, start, slots, 1, band_slots)
            else:
                (on_band,) = _random_links(rng, band_slots, 0, 1, band_slots)
            on_link.append((channel_band, on_band))
        out.append(tuple(on_link))
    return out


def _c_plus_l(phi=FUSION_PHI, slot_ghz=12.5, band_slots=480):
    bands = {"c": band_slots, "l": band_slots}
    return MultiBandGsnr(slot_ghz, 0.001, phi, band_slots=bands)


def test_every_c_plus_l_link_is_at_least_its_spm_and_ase_where_the_bound_says_so():
    """Where every XPM term is proven non-negative, a link's NLI term is at least its SPM
    term over random C+L spectra; with a phi whose (n - 5 phi / 6) is negative for one
    span, the bound does not hold and such links are met."""
    rng = np.random.default_rng(23)
    assert not _c_plus_l(band_slots=600).nonnegative_xpm  # the L band reaches the C band's
    assert not MultiBandGsnr(12.5, 0.001, FUSION_PHI).nonnegative_xpm  # where is the spectrum?
    for phi, proven in ((FUSION_PHI, True), (dict.fromkeys(FUSION_PHI, 1.5), False)):
        model = _c_plus_l(phi)
        assert model.nonnegative_xpm is proven
        below = 0
        for _ in range(150):
            band = str(rng.choice(["c", "l"]))
            start, slots = int(rng.integers(0, 470)), int(rng.integers(1, 9))
            (on_link,) = _random_c_plus_l(rng, band, start, slots, 1)
            length = float(rng.choice([100.0, 250.0, 1200.0]))
            cut, candidate = model._cut(band, start, slots), (band, start, slots)
            floor = model._link_floor(length, on_link, cut)
            nli, _ = model._link_terms(on_link, cut, candidate, False, floor)
            below += nli < floor[0]
        assert (below == 0) is proven


def test_a_c_plus_l_links_bound_without_its_scan_is_at_most_its_floor():
    """The SPM and ASE terms bounded without scanning the link's lightpaths
    (``_link_bound``) are at most the link's floor over random C+L spectra: the same SPM
    term, and an ASE term a little below FUSION's."""
    rng = np.random.default_rng(31)
    model = _c_plus_l()
    ratios = []
    for _ in range(300):
        band = str(rng.choice(["c", "l"]))
        start, slots = int(rng.integers(0, 470)), int(rng.integers(1, 9))
        (on_link,) = _random_c_plus_l(rng, band, start, slots, 1)
        length = float(rng.choice([100.0, 250.0, 1200.0]))
        cut = model._cut(band, start, slots)
        floor = model._link_floor(length, on_link, cut)
        spm, ase = model._link_bound(length, on_link, cut)
        assert spm == floor[0]
        assert ase <= floor[1]
        ratios.append(ase / floor[1])
    assert min(ratios) > 0.99 and max(ratios) < 1  # 0.9948 to 0.99995


@pytest.mark.parametrize("bound_pays", [True, False])
def test_a_c_plus_l_path_stops_early_only_where_it_surely_fails(bound_pays):
    """Given the threshold, a C+L candidate's GSNR is FUSION's figure, or -inf where its
    links' SPM and ASE terms alone put it below the threshold (their XPM uncomputed),
    or a bound of them without their lightpaths' scan does; the same whether that bound
    is tried (it pays here) or, as where it has not been paying, mostly skipped."""
    rng = np.random.default_rng(29)
    early, full = _c_plus_l(), _c_plus_l()
    if not bound_pays:
        for _ in range(_SCREEN_WINDOW):
            early._bound_screen.record(False)
    stopped = 0
    for trial in range(300):
        band = str(rng.choice(["c", "l"]))
        start, slots = int(rng.integers(0, 470)), int(rng.integers(1, 9))
        count = int(rng.integers(1, 6))
        links = _random_c_plus_l(rng, band, start, slots, count)
        lengths = [float(x) for x in rng.uniform(50.0, 2000.0, count)]
        needed = float(rng.choice([3.71, 6.72, 10.84, 13.24, 16.16, 19.01]))
        states = [(trial, i) for i in range(count)]
        figure = full.path_db(lengths, links, start, slots, band, states)
        got = early.path_db(lengths, links, start, slots, band, states, needed)
        if got == -math.inf:
            stopped += 1
            assert figure < needed
        else:
            assert got == figure
    assert stopped > 60  # 138 of the 300
    skipped = early._bound_screen.skipped
    assert skipped == 0 if bound_pays else skipped > 250


def test_a_screen_tries_its_test_while_it_pays_and_samples_it_while_it_does_not():
    """Tried at first; once it settles under a quarter of its recent tries, tried on one
    candidate in _SCREEN_SAMPLE; tried on every one again soon after it pays again."""
    screen = _Screen()
    calls = [screen.worth_trying() for _ in range(_SCREEN_SAMPLE)]
    assert all(calls)
    for _ in range(_SCREEN_SAMPLE):
        screen.record(False)
    tries = 0
    for _ in range(32 * _SCREEN_SAMPLE):
        if screen.worth_trying():
            tries += 1
            screen.record(False)
    assert tries == 32
    # Settling one try in two from now on, it pays again and is tried on every one.
    settles = False
    for _ in range(64 * _SCREEN_SAMPLE):
        if screen.worth_trying():
            settles = not settles
            screen.record(settles)
    assert all(screen.worth_trying() for _ in range(100))


def test_memo_keys_name_each_state_band_slots_and_placement_once():
    """Packed integers where the state is a stamp and the slots fit; every combination
    gets its own key, and other states keep a tuple that no integer equals."""
    combos = [
        (state, band, start, slots, placed)
        for state in (0, 1, 2, 3, (1 << 40) + 7)
        for band in ("c", "l", "s")
        for start in (0, 1, 319, 65535)
        for slots in (1, 2, 8, 65535)
        for placed in (False, True)
    ]
    keys = [memo_keys([s], b, st, sl, p)[0] for s, b, st, sl, p in combos]
    assert all(type(key) is int for key in keys)
    assert len(set(keys)) == len(combos)
    others = memo_keys(["a", -1, True, (3, 4), 5], "c", 4, 2, False)
    assert others[:4] == [
        ("a", "c", 4, 2, False),
        (-1, "c", 4, 2, False),
        (True, "c", 4, 2, False),
        ((3, 4), "c", 4, 2, False),
    ]
    assert type(others[4]) is int and others[4] not in others[:4]
    assert memo_keys([5], "c", 1 << 16, 2, False) == [(5, "c", 1 << 16, 2, False)]
    assert memo_keys([5], "x", 4, 2, True) == [(5, "x", 4, 2, True)]


def test_the_gsnrs_reciprocal_is_numpys_scalar_power_not_a_division():
    """FUSION takes ``np.float64(x) ** -1``; the C-band GSNR takes ``x ** -1.0``: both are
    the C library's pow, which rounds differently from ``1 / x`` on some inputs."""
    rng = np.random.default_rng(7)
    values = (rng.uniform(1.0, 10.0, 20_000) * 10.0 ** rng.integers(-12, 12, 20_000)).tolist()
    assert all(x**-1.0 == float(np.float64(x) ** -1) for x in values)
    assert any(x**-1.0 != 1 / x for x in values)
    # The model writes it math.pow (compiled, ** goes through Python objects): the same call.
    assert all(math.pow(x, -1.0) == x**-1.0 for x in values)


def test_fusions_square_is_the_c_librarys_pow_also_through_math_pow():
    """FUSION squares with ``** 2``; the C+L GSNR's hot loop writes ``math.pow(x, 2.0)``
    (compiled, ``**`` goes through Python objects): the same C call, negative bases too."""
    rng = np.random.default_rng(5)
    values = rng.uniform(-10.0, 10.0, 20_000) * 10.0 ** rng.integers(-12, 12, 20_000)
    assert all(math.pow(x, 2.0) == x**2 == float(np.float64(x) ** 2) for x in values.tolist())


@pytest.mark.parametrize("function", [np.arcsinh, np.arctan])
def test_numpys_function_of_an_array_is_its_scalar_function_lane_by_lane(function):
    """The C-band GSNR takes a batch's arcsinh, the C+L one a batch's arctangents, in one
    call where FUSION calls them per value."""
    rng = np.random.default_rng(11)
    for size in (1, 2, 3, 7, 8, 9, 15, 16, 17, 63, 1000, 4099):
        values = rng.standard_normal(size) * 10.0 ** rng.integers(-6, 6, size)
        assert function(values).tolist() == [float(function(v)) for v in values]


def test_a_batch_of_neighbours_phi_is_fusions_scalar_phi_of_each():
    """FUSION's phi of a neighbour, in its numpy-scalar arithmetic, for channels all over
    the band: the batch gives the same floats (the candidate's own channel its own phi)."""
    import random

    phi = {"BPSK": 1.0, "QPSK": 1.0, "8-QAM": 0.8, "16-QAM": 0.68, "32-QAM": 0.65}
    model = Gsnr(12.5, 1e-3, phi)
    fiber = model.fiber
    rng = random.Random(3)
    for _ in range(50):
        start, slots = rng.randrange(0, 300), rng.randrange(1, 9)
        candidate = model._candidate(start, slots, "c")
        channels = sorted(
            {
                Channel(rng.randrange(0, 310), rng.randrange(1, 9), rng.choice(list(phi)))
                for _ in range(30)
            }
            | {Channel(start, slots, "QPSK")},
            key=attrgetter("start", "slots", "fmt"),
        )
        expected = []
        for channel in channels:
            channel_bw = channel.slots * 12.5
            channel_freq = fiber.frequency_start_c + (channel.start * 12.5 + channel_bw / 2) * 1e9
            if channel_freq == candidate.center_freq:
                expected.append(candidate.own_phi)
                continue
            diff = np.float64(channel_freq - candidate.center_freq)
            reach = (
                np.pi**2
                * abs(fiber.dispersion)
                * (1 / (2 * fiber.attenuation))
                * candidate.bandwidth
            )
            bw_hz = channel_bw * 1e9
            term3 = phi[channel.fmt] * (bw_hz / abs(diff)) * (5 / 3) * (model._l_eff / 100_000)
            value = np.arcsinh(reach * (diff + bw_hz * 0.5)) - np.arcsinh(
                reach * (diff - bw_hz * 0.5)
            )
            expected.append(float(value - term3))
        assert model._neighbours(channels, candidate) == expected


def test_the_recheck_evaluates_the_lightpaths_of_adjacent_cores_in_fusions_layouts():
    """A 16-QAM (600G) neighbour fails a 700G request's unsliced recheck whatever its
    GSNR (see the next test). With one slot a core the neighbour sits on core 0 and the
    700G lightpath on core 1, adjacent in FUSION's 4-core layout: with
    recheck_adjacent_cores the neighbour is rechecked and the request goes to slicing; on
    core 3 (adjacent to 1 and 2 only) or without the setting it stays unsliced."""
    table = {
        "300": {"16-QAM": {"max_length": 10_000, "slots_needed": 1}},
        "700": {"64-QAM": {"max_length": 10_001, "slots_needed": 1}},
    }
    topology = parse_topology("A B 100\nB C 100\n")
    for adjacent, other_cores, unserved in (
        (True, 0, 0),  # 700G on core 1: the neighbour on core 0 is rechecked and fails
        (False, 0, None),
        (True, 3, None),  # cores 0-2 taken on B-C: 700G on core 3, not adjacent to 0
    ):
        controller = GroomingController(
            Spectrum(len(topology.links), 4, 1),
            RouteTable(topology, 1),
            parse_mod_table(table),
            _CrowdGsnr(candidate_db=30.0, placed_db=30.0),
            k_paths=1,
            max_segments=8,
            can_partially_serve=True,
            snr_recheck=True,
            recheck_adjacent_cores=adjacent,
        )
        neighbour = controller.arrive(0, "A", "B", 300, now=0.0)
        assert neighbour is not None and neighbour.new[0].core == 0
        for request in range(other_cores):  # B-C only: no link shared with A-B
            assert controller.arrive(10 + request, "B", "C", 700, now=0.5) is not None
        served = controller.arrive(1, "A", "C", 700, now=1.0)
        assert served is not None and served.unserved == unserved


def test_fixed_grid_recheck_asks_for_the_requests_capacity():
    """FUSION's fixed-grid check_gsnr judges a rechecked lightpath with the request's
    bandwidth: unsliced, a 16-QAM (600G) neighbour fails a 700G request's recheck
    whatever its GSNR, so the request goes to slicing (one 800G lightpath there)."""
    table = {
        "300": {"16-QAM": {"max_length": 10_000, "slots_needed": 1}},
        "700": {
            "64-QAM": {"max_length": 10_001, "slots_needed": 1},
            "32-QAM": {"max_length": 10_002, "slots_needed": 1},
        },
    }
    topology = parse_topology("A B 100\nB C 100\n")
    for recheck, unserved in ((False, None), (True, 0)):
        controller = GroomingController(
            Spectrum(len(topology.links), 1, 4),
            RouteTable(topology, 1),
            parse_mod_table(table),
            _CrowdGsnr(candidate_db=30.0, placed_db=30.0),  # 20 dB with a neighbour
            k_paths=1,
            max_segments=8,
            can_partially_serve=True,
            snr_recheck=recheck,
        )
        neighbour = controller.arrive(0, "A", "B", 300, now=0.0)
        assert neighbour is not None and [lp.fmt.name for lp in neighbour.new] == ["16-QAM"]
        served = controller.arrive(1, "A", "C", 700, now=1.0)
        assert served is not None and [lp.fmt.name for lp in served.new] == ["64-QAM"]
        assert served.unserved == unserved  # None: unsliced; 0: served by slicing


@pytest.mark.parametrize("fold_at", [4096, 1])
def test_link_usage_is_fusions_copy_at_the_last_counted_arrival(fold_at, monkeypatch):
    """FUSION counts every lightpath set up (rolled-back ones too) and a request's traffic
    when it leaves, and writes the counters as they were at the last counted arrival;
    a link no request left over keeps the int 0, and without a counted arrival the
    figure is empty. Folding the log early changes nothing."""
    from fusion_jupyter.sim import link_usage
    from fusion_jupyter.sim.link_usage import LinkUsage

    monkeypatch.setattr(link_usage, "FOLD_AT", fold_at)
    topology = load_topology("NSFNet")
    allocations: list[tuple[tuple[int, ...], int]] = []
    usage = LinkUsage(allocations)
    assert usage.result(topology) == {}
    allocations.append(((0, 1), 1))
    usage.counted()
    usage.released((0, 1), 2.5)
    usage.released((1,), 0.25)
    allocations.append(((1, 2), 2))  # a blocked request's slices, set up and rolled back
    usage.counted()
    allocations.append(((2,), 1))  # after the last counted arrival: not in the figures
    usage.released((2,), 1.0)
    result = usage.result(topology)
    first, second, third = topology.links[:3]
    assert result[f"{first.u}-{first.v}"] == {
        "usage_count": 1,
        "throughput": 2.5,
        "link_num": first.link_num,
    }
    assert result[f"{second.v}-{second.u}"]["usage_count"] == 3
    assert result[f"{second.v}-{second.u}"]["throughput"] == 2.75
    assert result[f"{third.u}-{third.v}"]["usage_count"] == 2
    assert json.dumps(result[f"{third.u}-{third.v}"]["throughput"]) == "0"
    assert len(result) == 2 * len(topology.links)


def test_a_spectrum_logs_every_lightpath_set_up_also_those_of_a_tier_that_did_not_fit():
    spectrum = Spectrum(2, 1, 12)
    assert spectrum.place((0, 1), 3) is not None  # slots 0-2
    assert spectrum.place_run((0,), 2, 2) is not None  # 3-6
    assert spectrum.place_run((0,), 2, 3) is None  # 7-10 fit, a third block does not
    assert spectrum.place_run((0,), 6, 2) is None  # none fits: nothing set up
    spectrum.occupy((1,), slot_block(6, 1))
    assert spectrum.allocations == [((0, 1), 1), ((0,), 2), ((0,), 2), ((1,), 1)]
    spectrum.clear()
    assert spectrum.allocations == []
