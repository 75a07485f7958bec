"""Spectrum occupancy as bitsets, and FUSION's first fit over cores then slots.

Each link is one Python int holding all its cores side by side: core ``c`` slot ``s``
is bit ``c * (slots + 1) + s``, set while the slot is taken (by a lightpath or its
guard slot). The bit between two cores is never free, so no run of free slots can
cross from one core into the next. FUSION shares one grid between the two directions
of a link, so one bitset per undirected link is the same model.

First fit on a path ORs the bitsets of its links (continuity: the same slots on the
same core everywhere), inverts them, and keeps the bits that start ``width`` free
slots (contiguity) with a few shift-and steps. The lowest surviving bit is FUSION's
choice, because bit order is core-major: core 0's slots upwards, then core 1's, ...
Bits past the band are never free, so a lightpath and its guard slot stay inside it.

FUSION's last fit and best fit (``fusion/core/spectrum_assignment.py``) pick another of
those surviving bits (:meth:`Spectrum.last_fit`, :meth:`Spectrum.best_fit`), and its
priority-first fit and ``spectrum_priority = BSC`` search the segments in another order
(:attr:`Spectrum.order`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

#: FUSION's allocation methods this grid implements (``allocation_method``).
ALLOCATIONS = ("first_fit", "last_fit", "best_fit", "priority_first")
#: FUSION's core order for priority_first (``_get_cores_and_bands_lists``): fixed, so
#: with fewer cores FUSION indexes past them, and with more it never uses the others.
PRIORITY_CORES = (0, 2, 4, 1, 3, 5, 6)


def run_starts(free: int, width: int) -> int:
    """The bits of ``free`` that start ``width`` set bits.

    After ``free &= free >> step``, bit ``p`` survives only if bits ``p .. p+step`` were
    all set; doubling the covered length each time takes about log2(width) steps. The
    steps are worked out here rather than looked up: a cached lookup was a Python call,
    a sixth of the cost on a C-band path.
    """
    covered = 1
    while covered < width and free:
        step = min(covered, width - covered)
        free &= free >> step
        covered += step
    return free


class Spectrum:
    """Slot occupancy of every link and core of a network.

    With several bands (``band_slots``, e.g. C and L), each core holds one segment per
    band, core-major: core 0's bands in order, then core 1's... That is FUSION's search
    order for first fit (cores, then bands, then slots). Segments are ``stride`` bits
    apart; bits past a shorter band's end are never free. FUSION searches the segments in
    another order for priority-first fit (its core list) and with ``spectrum_priority =
    BSC`` (``bands_first``: bands, then cores); :attr:`order` is then that order.
    """

    def __init__(
        self,
        num_links: int,
        cores: int,
        slots: int,
        band_slots: tuple[int, ...] = (),
        allocation: str = "first_fit",
        bands_first: bool = False,
    ) -> None:
        widths = band_slots or (slots,)
        self.cores = cores
        self.bands = len(widths)
        self.slots = max(widths)
        #: Bits per segment: the widest band plus one separator bit that is never free.
        self.stride = self.slots + 1
        #: Every slot of every core and band free.
        self.all_free = sum(
            ((1 << width) - 1) << ((core * self.bands + band) * self.stride)
            for core in range(cores)
            for band, width in enumerate(widths)
        )
        self._masks = [0] * num_links
        #: :meth:`remembered_starts`' memos for the current occupancy (emptied whenever
        #: it changes): each path's free slots, and its starts per width.
        self._free: dict[tuple[int, ...], int] = {}
        self._starts: dict[tuple[tuple[int, ...], int], int] = {}
        #: :meth:`searches`' answers for the current occupancy, by width and first link.
        self._searches: dict[int, bool] = {}
        #: (links, lightpaths) set up, in order, until the statistics take them: FUSION
        #: counts every lightpath it allocates on a link, also one it then rolls back
        #: (:class:`~fusion_jupyter.sim.link_usage.LinkUsage` drains it).
        self.allocations: list[tuple[Sequence[int], int]] = []
        if allocation not in ALLOCATIONS:
            raise ValueError(f"allocation must be one of {ALLOCATIONS}, not {allocation!r}")
        #: FUSION's allocation method, and its search: ``fit(links, width)``.
        self.allocation = allocation
        cores_searched = PRIORITY_CORES if allocation == "priority_first" else range(cores)
        order = search_order([c for c in cores_searched if c < cores], self.bands, bands_first)
        segment = (1 << self.stride) - 1
        #: Each segment's bits, in FUSION's search order; None when that is the bit order.
        self.order = None
        if order != list(range(cores * self.bands)):
            self.order = tuple(segment << (s * self.stride) for s in order)
        #: The bits FUSION's first, last and priority-first fit search.
        self.searched = self.all_free & sum(segment << (s * self.stride) for s in order)
        #: Whether the search is first fit in bit order (:meth:`place`'s fast path).
        self.plain = allocation in ("first_fit", "priority_first") and self.order is None
        self.fit: Callable[[Sequence[int], int], int | None] = {
            "first_fit": self.first_fit,
            "last_fit": self.last_fit,
            "best_fit": self.best_fit,
            "priority_first": self.first_fit,
        }[allocation]

    @property
    def masks(self) -> list[int]:
        """Each link's taken bits. Change them through the methods, or assign a whole new
        list: :meth:`remembered_starts` remembers what it found until they change."""
        return self._masks

    @masks.setter
    def masks(self, masks: list[int]) -> None:
        self._masks = masks
        self._changed()

    def clear(self) -> None:
        """Empty every link, as at the start of an iteration."""
        self.masks = [0] * len(self._masks)
        self.allocations.clear()

    def _changed(self) -> None:
        """The occupancy changed: what :meth:`remembered_starts` found no longer holds."""
        self._free.clear()
        self._starts.clear()
        self._searches.clear()

    def first_fit(self, links: Sequence[int], width: int) -> int | None:
        """Bit position of the first ``width`` slots free on every link, or None.

        The position encodes the core and start slot (see :meth:`locate`); first is in
        bit order, or in the segments' :attr:`order` when FUSION searches another way.
        """
        starts = self.remembered_starts(links, width)
        if self.order is not None:
            starts = self._first_segment(starts)
        if not starts:
            return None
        return (starts & -starts).bit_length() - 1

    def _first_segment(self, starts: int) -> int:
        """The bits of ``starts`` in the first segment, in search order, that has any."""
        assert self.order is not None
        for segment in self.order:
            if starts & segment:
                return starts & segment
        return 0

    def free_slots(self, links: Sequence[int]) -> int:
        """The bits free on every link of ``links``."""
        masks = self._masks
        taken = 0
        for link in links:
            taken |= masks[link]
        return self.all_free ^ taken

    def starts(self, links: Sequence[int], width: int) -> int:
        """The bits that start ``width`` slots free on every link of ``links``."""
        return run_starts(self.free_slots(links), width)

    def remembered_starts(self, links: Sequence[int], width: int) -> int:
        """:meth:`starts`, remembered until the occupancy changes.

        The fits use it: with the physical layer, a request searches the same path again
        for each format and each slicing tier (93 % of the searches of a spain_C_flexi
        run found the path's free slots unchanged, 48 % the very same starts). The plain
        first fit of :meth:`place` searches a path once a request, and does not.
        """
        path = tuple(links)  # a route's links are a tuple already: no copy
        key = (path, width)
        starts = self._starts.get(key)
        if starts is None:
            free = self._free.get(path)
            if free is None:
                free = self._free[path] = self.free_slots(path)
            starts = self._starts[key] = run_starts(free, width)
        return starts

    def last_fit(self, links: Sequence[int], width: int) -> int | None:
        """FUSION's last fit: the highest fit in the lowest free run of the first link.

        FUSION lists the first link's free runs upwards (cores, then bands, then slots)
        and scans each run downwards; the first ``width`` slots free on every link win.
        So the run is the first one holding any fit, and the fit its highest.

        FUSION itself gets this far only for one-slot lightpaths or one-link paths: with
        more slots on a longer path it slices its spectrum backwards and raises
        "Spectrum set cannot be empty." (the configs are refused before that).
        """
        starts = self.remembered_starts(links, width)
        if self.order is not None:
            starts = self._first_segment(starts)
        if not starts:
            return None
        lowest = (starts & -starts).bit_length() - 1
        run = (self.all_free & ~self._masks[links[0]]) >> lowest
        run_length = (~run & (run + 1)).bit_length() - 1
        in_run = starts & ((1 << (lowest + run_length - width + 1)) - 1)
        return in_run.bit_length() - 1

    def best_fit(self, links: Sequence[int], width: int) -> int | None:
        """FUSION's best fit: the first fit in the shortest free run that holds one.

        FUSION lists every free run of at least ``width`` slots on each link of the
        path (links in path order, then cores, bands and slots), sorts them by length
        (stably: ties keep that order) and takes the first start, upwards, whose slots
        are free on every link.
        """
        starts = self.remembered_starts(links, width)
        if not starts:
            return None
        best: int | None = None
        best_length = 0
        all_free, masks = self.all_free, self._masks
        for link in links:
            free = all_free & ~masks[link]
            while free:
                low = (free & -free).bit_length() - 1
                run = free >> low
                length = (~run & (run + 1)).bit_length() - 1
                free &= ~(((1 << length) - 1) << low)
                if length < width or (best is not None and length >= best_length):
                    continue
                fits = starts & (((1 << (length - width + 1)) - 1) << low)
                if fits:
                    best, best_length = (fits & -fits).bit_length() - 1, length
        return best

    def searches(self, links: Sequence[int], width: int) -> bool:
        """Whether FUSION's search evaluates any candidate for ``width`` slots.

        First, last and priority-first fit look only at the first link's free runs (in
        the segments they search), best fit at every link's. A search without candidates
        leaves FUSION's spectrum state as it was (see :mod:`~fusion_jupyter.sim.physical`).

        Remembered until the occupancy changes, as :meth:`remembered_starts` is: a
        slicing request asks again for each format and tier (71 % of the questions of a
        spain_C_flexi run had been answered since the last change, at 4.6 k instructions
        an answer).
        """
        masks = self._masks
        if self.allocation == "best_fit":
            return any(run_starts(self.all_free & ~masks[link], width) for link in links)
        key = width * len(masks) + links[0]
        found = self._searches.get(key)
        if found is None:
            found = self._searches[key] = run_starts(self.searched & ~masks[links[0]], width) != 0
        return found

    def take(self, links: Sequence[int], width: int) -> int | None:
        """Fit, and occupy what it found; the bit position, or None if blocked."""
        placed = self.place(links, width)
        return None if placed is None else placed[0]

    def place(self, links: Sequence[int], width: int) -> tuple[int, int] | None:
        """Fit and occupy: (bit position, occupied block), or None if blocked."""
        if self.plain:  # first fit in bit order, inlined: this is the hot path
            starts = self.starts(links, width)
            if not starts:
                return None
            position = (starts & -starts).bit_length() - 1
        else:
            found = self.fit(links, width)
            if found is None:
                return None
            position = found
        block = ((1 << width) - 1) << position  # slot_block, inlined: this is the hot path
        masks = self._masks
        for link in links:
            masks[link] |= block
        self._changed()
        self.allocations.append((links, 1))
        return position, block

    def place_run(self, links: Sequence[int], width: int, count: int) -> list[int] | None:
        """Place ``count`` blocks of ``width`` slots as ``count`` calls of :meth:`place`
        would, or none of them: their bit positions, or None.

        Only for first fit in bit order (:attr:`plain`). A block taken at the lowest
        start ``p`` rules out exactly the starts below ``p + width`` (none is below
        ``p``), so one search of the links gives every block: the slices of a request
        cost one search, and a tier that does not fit leaves nothing to roll back (the
        blocks FUSION would have set up and rolled back are logged in :attr:`allocations`).
        """
        starts = self.starts(links, width)
        unit = (1 << width) - 1
        positions: list[int] = []
        taken = 0
        for _ in range(count):
            if not starts:
                if positions:
                    self.allocations.append((links, len(positions)))
                return None
            lowest = starts & -starts
            position = lowest.bit_length() - 1
            positions.append(position)
            taken |= unit << position
            starts &= -(lowest << width)
        self.occupy(links, taken, count)
        return positions

    def locate(self, position: int) -> tuple[int, int]:
        """(segment, start slot) of a bit position; the segment is the core with one band."""
        return divmod(position, self.stride)

    def occupy(self, links: Sequence[int], block: int, lightpaths: int = 1) -> None:
        """Set up ``lightpaths`` lightpaths: mark the bits of ``block`` taken on every link."""
        masks = self._masks
        for link in links:
            masks[link] |= block
        self._changed()
        self.allocations.append((links, lightpaths))

    def release(self, links: Sequence[int], block: int) -> None:
        """Free the bits of ``block`` on every link."""
        masks = self._masks
        for link in links:
            masks[link] &= ~block
        self._changed()

    def used_slots(self) -> int:
        """Total taken slots over all links and cores (a check that releases balance)."""
        return sum(mask.bit_count() for mask in self._masks)


def search_order(cores: Sequence[int], bands: int, bands_first: bool) -> list[int]:
    """FUSION's order of the segments (``core * bands + band``) for these cores."""
    if bands_first:
        return [core * bands + band for band in range(bands) for core in cores]
    return [core * bands + band for core in cores for band in range(bands)]


def slot_block(position: int, width: int) -> int:
    """The bitset of ``width`` bits starting at ``position``."""
    return ((1 << width) - 1) << position
