import { describe, expect, it } from 'vitest';
import { findAll, LogBuffer, LogSearch, lineLevel } from '../logbuffer';

const bytes = (s: string) => new TextEncoder().encode(s).length;

describe('LogBuffer', () => {
  it('appends live data, keeping the unfinished line apart', () => {
    const b = new LogBuffer();
    expect(b.append(0, 4, 'a\nb')).toBe(1);
    expect(b.lines).toEqual(['a']);
    expect(b.partial).toBe('b');
    expect(b.count).toBe(2);
    expect(b.line(1)).toBe('b');
    expect(b.append(4, 9, 'c\nd\n')).toBe(2);
    expect(b.lines).toEqual(['a', 'bc', 'd']);
    expect(b.partial).toBe('');
    expect(b.nextOffset).toBe(9);
  });

  it('ignores data that does not continue where it ends', () => {
    const b = new LogBuffer();
    b.append(0, 2, 'a\n');
    expect(b.append(0, 2, 'a\n')).toBe(0); // a repeat
    expect(b.append(5, 7, 'x\n')).toBe(0); // a gap
    expect(b.lines).toEqual(['a']);
  });

  it('prepends earlier pages, dropping the cut first line', () => {
    const text = 'line0\nline1\nline2\nline3\nline4\n';
    const b = new LogBuffer();
    const start = text.indexOf('line3');
    b.reset(start, text.length, text.slice(start));
    expect(b.lines).toEqual(['line3', 'line4']);
    // A page starting mid-line: "ne1\nline2\n" -> "line2" (line1 is read with the page before).
    const from = text.indexOf('ne1');
    expect(b.prepend(from, text.slice(from, start))).toBe(1);
    expect(b.lines).toEqual(['line2', 'line3', 'line4']);
    expect(b.startOffset).toBe(text.indexOf('line2'));
    expect(b.prepend(0, text.slice(0, b.startOffset))).toBe(2);
    expect(b.lines).toEqual(['line0', 'line1', 'line2', 'line3', 'line4']);
    expect(b.hasEarlier).toBe(false);
  });

  it('counts offsets in bytes for non-ASCII text', () => {
    const text = 'héllo\nwörld\nend\n';
    const b = new LogBuffer();
    const start = bytes('héllo\nwörld\n');
    b.reset(start, bytes(text), 'end\n');
    const from = bytes('hé');
    expect(b.prepend(from, 'llo\nwörld\n')).toBe(1);
    expect(b.startOffset).toBe(bytes('héllo\n'));
    expect(b.lines).toEqual(['wörld', 'end']);
  });

  it('a page within one long line adds nothing (the caller reads a bigger one)', () => {
    const b = new LogBuffer();
    b.reset(100, 110, 'tail line\n');
    expect(b.prepend(50, 'x'.repeat(50))).toBe(0);
    expect(b.startOffset).toBe(100);
  });

  it('holds a million lines prepended without overflowing the stack', () => {
    const b = new LogBuffer();
    const page = Array.from({ length: 200_000 }, (_, i) => `l${i}`).join('\n') + '\n';
    b.reset(bytes(page), bytes(page) + 4, 'end\n');
    expect(b.prepend(0, page)).toBe(200_000);
    expect(b.count).toBe(200_001);
  });
});

describe('LogSearch', () => {
  const sync = (work: () => void) => work();

  it('finds matching lines, moves next / previous and wraps', () => {
    const b = new LogBuffer();
    b.reset(0, 0, '');
    b.append(0, 40, 'alpha\nERROR one\nbeta\nerror two\ngamma\n');
    const s = new LogSearch(b, () => undefined, sync);
    s.set('error');
    expect(s.matches).toEqual([1, 3]);
    expect(s.step(1)).toBe(1);
    expect(s.step(1)).toBe(3);
    expect(s.step(1)).toBe(1);
    expect(s.step(-1)).toBe(3);
    expect(s.isMatch(3)).toBe(true);
    expect(s.isMatch(2)).toBe(false);
  });

  it('keeps up with appended and prepended lines', () => {
    const text = 'x1\nhit a\nx2\nhit b\n';
    const b = new LogBuffer();
    const start = text.indexOf('x2');
    b.reset(start, text.length, text.slice(start));
    const s = new LogSearch(b, () => undefined, sync);
    s.set('hit');
    expect(s.matches).toEqual([1]);
    s.step(1);
    const added = b.prepend(0, text.slice(0, start));
    s.prepended(added);
    expect(s.matches).toEqual([1, 3]);
    expect(s.matches[s.current]).toBe(3); // still on the same line
    b.append(b.nextOffset, b.nextOffset + 6, 'hit c\n');
    s.appended();
    expect(s.matches).toEqual([1, 3, 4]);
  });

  it('searches a million lines in slices', () => {
    const b = new LogBuffer();
    const n = 1_000_000;
    const data = Array.from({ length: n }, (_, i) => (i % 1000 === 0 ? `needle ${i}` : `hay ${i}`)).join('\n') + '\n';
    b.reset(0, bytes(data), data);
    const queue: Array<() => void> = [];
    const s = new LogSearch(b, () => undefined, work => queue.push(work), 4);
    s.set('NEEDLE');
    let slices = 0;
    while (queue.length) {
      queue.shift()!();
      slices += 1;
    }
    expect(s.matches.length).toBe(1000);
    expect(slices).toBeGreaterThan(1);
    expect(s.searching).toBe(false);
  });
});

describe('line helpers', () => {
  it('colours by level', () => {
    expect(lineLevel('2026 ERROR something')).toBe('error');
    expect(lineLevel('Traceback (most recent call last):')).toBe('error');
    expect(lineLevel('WARNING: low')).toBe('warning');
    expect(lineLevel('errors are fine')).toBe('');
  });

  it('finds every occurrence, case-insensitively', () => {
    expect(findAll('Abc abc ABC', 'abc')).toEqual([
      [0, 3],
      [4, 7],
      [8, 11]
    ]);
    expect(findAll('abc', '')).toEqual([]);
  });
});
