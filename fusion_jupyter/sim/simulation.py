"""The event loop: FUSION's Erlang points, iterations and requests, without any I/O.

Per Erlang point, iteration ``i`` (0-based) draws its requests from seed ``i + 1``
(common random numbers across loads), starts from an empty network, processes all
2N arrival and release events in time order, and ends empty. After each iteration the
blocking statistics are updated and FUSION's CI rule may end the point early.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from fusion_jupyter.sim.controller import Allocation, Controller
from fusion_jupyter.sim.failures import FusionFailure
from fusion_jupyter.sim.link_usage import LinkUsage
from fusion_jupyter.sim.modulation import ModTable, load_mod_table, resolve_mod_path
from fusion_jupyter.sim.observer import ErlangPoint, Observer
from fusion_jupyter.sim.params import SimParams
from fusion_jupyter.sim.routing import RouteTable
from fusion_jupyter.sim.spectrum import Spectrum
from fusion_jupyter.sim.stats import ErlangStats
from fusion_jupyter.sim.tally import IterationResult, IterationTally
from fusion_jupyter.sim.topology import Topology, load_topology
from fusion_jupyter.sim.traffic import Event, bandwidth_quotas, stream_events

TYPE_CHECKING = False
if TYPE_CHECKING:
    from fusion_jupyter.sim.grooming import GroomedRequest, GroomingController
    from fusion_jupyter.sim.physical import PhysicalController


class SimContext:
    """What stays fixed for a whole run: network, tables, paths and the spectrum grid.

    A plain class: nothing compares or prints one, and every dataclass costs its
    exec'd methods at every run's start.
    """

    def __init__(
        self,
        params: SimParams,
        topology: Topology,
        mod_table: ModTable,
        bandwidths: list[int],
        quotas: list[int],
        controller: Controller | PhysicalController,
        groomer: GroomingController | None = None,
    ) -> None:
        self.params = params
        self.topology = topology
        self.mod_table = mod_table
        #: Bandwidths in the table's order, which is the order FUSION draws them by index.
        self.bandwidths = bandwidths
        self.quotas = quotas
        self.controller = controller
        #: The controller again when it grooms (its lightpaths outlive requests and are
        #: shared), typed for the grooming event loop; None when it does not.
        self.groomer = groomer

    @property
    def mod_names(self) -> dict[int, list[str]]:
        """Format names per bandwidth, for the per-format statistics."""
        return {bw: [fmt.name for fmt in fmts] for bw, fmts in self.mod_table.items()}


def build_context(
    params: SimParams, topology: Topology | None = None, mod_table: ModTable | None = None
) -> SimContext:
    """Load the network and tables a run needs (raises on bad topology or quotas)."""
    topology = topology or load_topology(
        params.network,
        params.topology_file,
        only_core_node=params.only_core_node,
        fusion_root=params.fusion_root,
    )
    mod_table = mod_table or load_mod_table(
        params.mod_assumption, resolve_mod_path(params.mod_assumption_path, params.fusion_root)
    )
    bandwidths = list(mod_table)
    quotas = bandwidth_quotas(bandwidths, params.request_distribution, params.num_requests)
    spectrum = Spectrum(
        len(topology.links),
        params.cores_per_link,
        params.c_band,
        params.band_slots,
        params.allocation_method,
        bands_first=params.spectrum_priority == "BSC",
    )
    routes = RouteTable(topology, params.routing_k)
    controller = _controller(params, spectrum, routes, mod_table)
    groomer = None if isinstance(controller, Controller) else _groomer(controller)
    return SimContext(params, topology, mod_table, bandwidths, quotas, controller, groomer)


def _controller(
    params: SimParams, spectrum: Spectrum, routes: RouteTable, mod_table: ModTable
) -> Controller | PhysicalController:
    """The controller the config needs.

    The physical layer's modules are imported only by a config that uses them: a run
    without them starts a few milliseconds sooner, which a small run notices.
    """
    if params.xt_aware:
        from fusion_jupyter.sim.xt_aware import XtAwareController

        return XtAwareController(
            spectrum,
            routes,
            mod_table,
            max_segments=params.max_segments,
            guard_slots=params.guard_slots,
            xt_type=params.xt_type,
            beta=params.beta,
            requested_xt=params.requested_xt,
            xt_routing=params.route_method == "xt_aware",
        )
    if params.external:
        from fusion_jupyter.sim.external_snr import ExternalController

        return ExternalController(
            spectrum,
            routes,
            mod_table,
            network=params.network,
            fusion_root=params.fusion_root,
            band_slots=dict(zip(params.bands, params.band_slots, strict=True)),
            k_paths=params.k_paths,
            max_segments=params.max_segments,
            can_partially_serve=params.can_partially_serve,
        )
    if params.physical:
        from fusion_jupyter.sim.grooming import GroomingController
        from fusion_jupyter.sim.gsnr import Gsnr, MultiBandGsnr
        from fusion_jupyter.sim.physical import PhysicalController

        gsnr = (MultiBandGsnr if params.l_band else Gsnr)(
            params.bw_per_slot,
            params.input_power,
            params.phi,
            band_slots=dict(zip(params.bands, params.band_slots, strict=True)),
        )
        return (GroomingController if params.grooming else PhysicalController)(
            spectrum,
            routes,
            mod_table,
            gsnr,
            bands=params.bands,
            k_paths=params.k_paths,
            max_segments=params.max_segments,
            can_partially_serve=params.can_partially_serve,
            snr_recheck=params.snr_recheck,
            recheck_adjacent_cores=params.recheck_adjacent_cores,
        )
    controller = Controller
    if params.route_method == "cong_aware":
        from fusion_jupyter.sim.congestion import CongestionAwareController

        controller = CongestionAwareController
    return controller(
        spectrum,
        routes,
        mod_table,
        max_segments=params.max_segments,
        guard_slots=params.guard_slots,
        pre_calc_mod_selection=params.pre_calc_mod_selection,
    )


def _groomer(controller: PhysicalController) -> GroomingController | None:
    from fusion_jupyter.sim.grooming import GroomingController

    return controller if isinstance(controller, GroomingController) else None


def run_iteration(ctx: SimContext, erlang: float, iteration: int) -> IterationResult:
    """Simulate one iteration of one Erlang point from an empty network."""
    started = time.perf_counter()
    params = ctx.params
    events = stream_events(
        seed=iteration + 1,
        num_nodes=len(ctx.topology.request_nodes),
        quotas=ctx.quotas,
        arrival_rate=params.arrival_rate(erlang),
        holding_time=params.holding_time,
    )
    controller = ctx.controller
    controller.clear()
    tally = IterationTally(
        ctx.bandwidths,
        params.k_paths,
        params.cores_per_link,
        bands=params.bands,
        physical=params.physical or params.external or params.xt_aware,
        xt=params.xt_aware,
        measured_utilization=params.grooming or params.external,
        partial_distribution=params.request_distribution if params.can_partially_serve else None,
        usage=LinkUsage(controller.spectrum.allocations),
    )
    if ctx.groomer is not None:
        _process_groomed_events(ctx, ctx.groomer, events, tally)
    else:
        _process_events(ctx, events, tally)
    result = tally.result(iteration, sum(ctx.quotas), ctx.topology, ctx.mod_names)
    result.wall_seconds = time.perf_counter() - started
    return result


def _process_events(ctx: SimContext, events: Iterator[Event], tally: IterationTally) -> None:
    """Serve arrivals and free releases in FUSION's order (the hot loop).

    Only routed requests in the network are held, so memory does not grow with
    ``num_requests``.
    """
    nodes = ctx.topology.request_nodes
    bandwidths = ctx.bandwidths
    controller = ctx.controller
    live: dict[int, Allocation] = {}
    # Methods are called on their objects, not through local aliases: compiled, a
    # call on a native object is a direct C call, a bound method a Python one.
    for index, src, dst, bw, arrive, depart in events:
        if index >= 0:
            bandwidth = bandwidths[bw]
            allocation = controller.serve(nodes[src], nodes[dst], bandwidth)
            if allocation is None:
                tally.blocked_request(bandwidth)
            else:
                live[index] = allocation
                tally.routed_request(bandwidth, allocation)
            continue
        allocation = live.pop(~index, None)
        if allocation is not None:
            controller.release(allocation.option, allocation.lightpaths)
            tally.released(allocation.option, bandwidths[bw] * (depart - arrive))


def _process_groomed_events(
    ctx: SimContext, controller: GroomingController, events: Iterator[Event], tally: IterationTally
) -> None:
    """The event loop with grooming: lightpaths outlive requests and are shared."""
    nodes = ctx.topology.request_nodes
    bandwidths = ctx.bandwidths
    live: dict[int, GroomedRequest] = {}
    for index, src, dst, bw, arrive, depart in events:
        if index >= 0:
            bandwidth = bandwidths[bw]
            served = controller.arrive(index, nodes[src], nodes[dst], bandwidth, arrive)
            if served is None:
                tally.blocked_request(bandwidth)
                continue
            live[index] = served
            if served.counted:
                tally.routed_request(bandwidth, served.allocation())
            else:
                tally.served_by_grooming(bandwidth, int(served.unserved or 0))
            continue
        request = ~index
        served = live.pop(request, None)
        if served is not None:
            for record in controller.depart(request, served, depart):
                tally.lightpath_released(record)
            tally.released(served.option, bandwidths[bw] * (depart - arrive))


def run_erlang(ctx: SimContext, index: int, erlang: float, observer: Observer) -> ErlangPoint:
    """All iterations of one Erlang point, stopping early where FUSION would."""
    started = time.perf_counter()
    params = ctx.params
    point = ErlangPoint(index, erlang, ErlangStats(is_training=params.is_training))
    observer.erlang_started(point)
    for iteration in range(params.max_iters):
        try:
            result = run_iteration(ctx, erlang, iteration)
        except FusionFailure as failure:
            raise failure.at(f"{erlang:g} Erlang, iteration {iteration + 1}") from None
        point.iterations.append(result)
        point.stopped_early = point.stats.add(
            result.blocking, result.bit_rate_blocking, result.bit_rate_blocking_corrected
        )
        point.wall_seconds = time.perf_counter() - started
        observer.iteration_done(point, result)
        if point.stopped_early:
            break
    observer.erlang_done(point)
    return point


def simulate(
    params: SimParams, observer: Observer | None = None, ctx: SimContext | None = None
) -> Sequence[ErlangPoint]:
    """Run every Erlang point of ``params`` in order and return their results."""
    observer = observer or Observer()
    started = time.perf_counter()
    ctx = ctx or build_context(params)
    observer.run_started(params)
    points = [run_erlang(ctx, i, erlang, observer) for i, erlang in enumerate(params.erlangs)]
    observer.run_done(points, time.perf_counter() - started)
    return points
