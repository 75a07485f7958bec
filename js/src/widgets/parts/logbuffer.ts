/**
 * The lines of a log held by a viewer: a contiguous byte range of the file,
 * [startOffset, nextOffset), always starting at a line start. Live data is appended
 * at the end (its last, unfinished line kept apart); earlier pages are prepended.
 * Framework-free and DOM-free (unit-tested under node).
 */

const encoder = new TextEncoder();

function byteLength(text: string): number {
  // Fast path: ASCII text is one byte per character.
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(text) ? text.length : encoder.encode(text).length;
}

export class LogBuffer {
  /** Complete lines (no newline). */
  lines: string[] = [];
  /** Text after the last newline: the line still being written. */
  partial = '';
  startOffset = 0;
  nextOffset = 0;

  /** Lines to show: the complete ones, and the unfinished one if any. */
  get count(): number {
    return this.lines.length + (this.partial ? 1 : 0);
  }

  line(index: number): string {
    return index < this.lines.length ? this.lines[index] : this.partial;
  }

  /** Whether earlier bytes exist that are not loaded. */
  get hasEarlier(): boolean {
    return this.startOffset > 0;
  }

  /** Start over from a chunk that begins at a line start (a tail, or offset 0). */
  reset(offset: number, nextOffset: number, data: string): void {
    this.lines = [];
    this.partial = '';
    this.startOffset = offset;
    this.nextOffset = offset;
    this.append(offset, nextOffset, data);
  }

  /**
   * Live bytes [offset, nextOffset); returns how many complete lines were added.
   * Data that does not continue where the buffer ends is ignored (the stream client
   * already drops repeats; a gap would be a bug upstream).
   */
  append(offset: number, nextOffset: number, data: string): number {
    if (offset !== this.nextOffset || nextOffset <= this.nextOffset) {
      return 0;
    }
    this.nextOffset = nextOffset;
    if (!data) {
      return 0;
    }
    const before = this.lines.length;
    let start = 0;
    let newline = data.indexOf('\n');
    if (newline >= 0) {
      this.lines.push(this.partial + data.slice(0, newline));
      this.partial = '';
      start = newline + 1;
      while ((newline = data.indexOf('\n', start)) >= 0) {
        this.lines.push(data.slice(start, newline));
        start = newline + 1;
      }
    }
    this.partial += data.slice(start);
    return this.lines.length - before;
  }

  /**
   * An earlier page: bytes [offset, startOffset). Its first line is cut off unless the
   * page starts the file, so it is dropped and read again with the page before.
   * Returns how many lines were added at the top.
   */
  prepend(offset: number, data: string): number {
    if (offset >= this.startOffset) {
      return 0;
    }
    let text = data;
    let start = offset;
    if (offset > 0) {
      const newline = text.indexOf('\n');
      if (newline < 0) {
        return 0; // one line longer than the page: the caller reads a bigger page
      }
      start = offset + byteLength(text.slice(0, newline + 1));
      text = text.slice(newline + 1);
    }
    // The page ends where the buffer starts, at a line start: after a newline.
    const added = text && start < this.startOffset ? text.replace(/\n$/, '').split('\n') : [];
    this.startOffset = start;
    if (added.length) {
      // concat, not unshift(...added): spreading 100,000 arguments overflows the stack.
      this.lines = added.concat(this.lines);
    }
    return added.length;
  }
}

/** A log level of a line, for colouring: 'error', 'warning' or ''. */
export function lineLevel(line: string): 'error' | 'warning' | '' {
  if (/\b(ERROR|CRITICAL|FATAL)\b|Traceback \(most recent call last\)/.test(line)) {
    return 'error';
  }
  if (/\bWARN(ING)?\b/.test(line)) {
    return 'warning';
  }
  return '';
}

/** [start, end) of each case-insensitive occurrence of ``query`` in ``line``. */
export function findAll(line: string, query: string): Array<[number, number]> {
  if (!query) {
    return [];
  }
  const hay = line.toLowerCase();
  const needle = query.toLowerCase();
  const out: Array<[number, number]> = [];
  let at = hay.indexOf(needle);
  while (at >= 0) {
    out.push([at, at + needle.length]);
    at = hay.indexOf(needle, at + needle.length);
  }
  return out;
}

/** Append ``text`` to ``el``, each occurrence of ``query`` in a <mark> (of ``markClass``). */
export function appendMarked(el: HTMLElement, text: string, query: string, markClass = ''): void {
  let at = 0;
  for (const [start, end] of findAll(text, query)) {
    if (start > at) {
      el.append(text.slice(at, start));
    }
    const mark = document.createElement('mark');
    if (markClass) {
      mark.className = markClass;
    }
    mark.textContent = text.slice(start, end);
    el.append(mark);
    at = end;
  }
  if (at < text.length) {
    el.append(text.slice(at));
  }
}

/** A time slice for background work that must not make a long task. */
export type Slicer = (work: () => void) => void;

export const idleSlicer: Slicer = work => {
  setTimeout(work, 0);
};

/**
 * Lines of a LogBuffer that contain a query (case-insensitive), found in slices of
 * at most ``budgetMs`` so that searching a million lines never blocks the page, and
 * kept up to date as lines are appended or prepended. ``current`` is the match the
 * viewer shows (next / previous move it).
 */
export class LogSearch {
  query = '';
  /** Indices of matching lines, ascending. */
  matches: number[] = [];
  current = -1;
  /** Lines [0, headTodo) at the top and [tailFrom, complete) at the end are not searched yet. */
  private headTodo = 0;
  private tailFrom = 0;
  private scheduled = false;
  private generation = 0;

  constructor(
    private readonly buffer: LogBuffer,
    private readonly onChange: () => void,
    private readonly slicer: Slicer = idleSlicer,
    private readonly budgetMs = 8
  ) {}

  get searching(): boolean {
    return !!this.query && (this.headTodo > 0 || this.tailFrom < this.buffer.lines.length);
  }

  set(query: string): void {
    this.query = query;
    this.matches = [];
    this.current = -1;
    this.headTodo = 0;
    this.tailFrom = 0;
    this.generation += 1;
    this.schedule();
    this.onChange();
  }

  /** ``count`` lines were added at the top: shift what we know, search them later. */
  prepended(count: number): void {
    if (!count) {
      return;
    }
    for (let i = 0; i < this.matches.length; i++) {
      this.matches[i] += count;
    }
    this.headTodo += count;
    this.tailFrom += count;
    this.schedule();
  }

  /** New complete lines at the end. */
  appended(): void {
    this.schedule();
  }

  /** Move to the next (+1) or previous (-1) match; returns its line or -1. */
  step(direction: 1 | -1, fromLine = -1): number {
    if (!this.matches.length) {
      return -1;
    }
    if (this.current < 0 && fromLine >= 0) {
      const after = this.matches.findIndex(line => line >= fromLine);
      this.current = direction > 0 ? (after < 0 ? 0 : after) : (after <= 0 ? this.matches.length - 1 : after - 1);
    } else {
      this.current = (this.current + direction + this.matches.length) % this.matches.length;
    }
    return this.matches[this.current];
  }

  isMatch(line: number): boolean {
    // Binary search: the viewer asks for each visible line.
    let lo = 0;
    let hi = this.matches.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.matches[mid];
      if (v === line) {
        return true;
      }
      if (v < line) {
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return false;
  }

  private schedule(): void {
    if (this.scheduled || !this.query) {
      return;
    }
    this.scheduled = true;
    const generation = this.generation;
    this.slicer(() => {
      this.scheduled = false;
      if (generation === this.generation) {
        this.work();
      }
    });
  }

  private work(): void {
    const lines = this.buffer.lines;
    const needle = this.query.toLowerCase();
    const end = performance.now() + this.budgetMs;
    let changed = false;
    // The unsearched top [0, headTodo) is searched bottom-up, so that what is left
    // stays at the top and a further prepend simply extends it.
    const found: number[] = [];
    while (this.headTodo > 0 && performance.now() <= end) {
      const stop = Math.max(0, this.headTodo - 2048);
      for (let i = this.headTodo - 1; i >= stop; i--) {
        if (lines[i].toLowerCase().includes(needle)) {
          found.push(i);
        }
      }
      this.headTodo = stop;
    }
    if (found.length) {
      found.reverse();
      this.matches = found.concat(this.matches);
      if (this.current >= 0) {
        this.current += found.length;
      }
      changed = true;
    }
    while (this.tailFrom < lines.length && performance.now() <= end) {
      const stop = Math.min(lines.length, this.tailFrom + 2048);
      for (let i = this.tailFrom; i < stop; i++) {
        if (lines[i].toLowerCase().includes(needle)) {
          this.matches.push(i);
          changed = true;
        }
      }
      this.tailFrom = stop;
    }
    if (changed || !this.searching) {
      this.onChange();
    }
    if (this.searching) {
      this.schedule();
    }
  }
}
