import { formatBytes, parseTime } from '../../common/format';
import type { Artifact } from '../../common/types';
import type { KernelChannel } from './channel';
import type { Connection } from './connection';
import { RunFeed, type RunRecord } from './runfeed';
import { button, errorText, h, Notice, saveBlob, setText, transportNote } from './ui';
import { compareNatural } from '../../common/natural';

/** What pandas can load (fusion_jupyter.engine.artifacts.load). */
export function loadable(path: string): boolean {
  return /\.(csv|parquet|json|jsonl)$/i.test(path);
}

/** A Python identifier from a file name: ``output/300.0_erlang.json`` -> ``erlang_300_0``. */
export function variableName(path: string): string {
  const stem = (path.split('/').pop() ?? 'df').replace(/\.[^.]+$/, '');
  let name = stem.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '').toLowerCase();
  const m = name.match(/^(\d[\d_]*)_(.+)$/);
  if (m) {
    name = `${m[2]}_${m[1]}`.replace(/_+$/, '');
  }
  if (!name || /^\d/.test(name)) {
    name = `df_${name}`;
  }
  return name;
}

export type SortKey = 'path' | 'kind' | 'size' | 'modified';

function modifiedMs(a: Artifact): number {
  return typeof a.modified === 'number' ? a.modified * 1000 : parseTime(a.modified) ?? 0;
}

export function sortArtifacts(items: Artifact[], key: SortKey, ascending: boolean): Artifact[] {
  const value = (a: Artifact): string | number => (key === 'size' ? a.size : key === 'modified' ? modifiedMs(a) : a[key]);
  const sign = ascending ? 1 : -1;
  return [...items].sort((a, b) => {
    const x = value(a);
    const y = value(b);
    return (compareNatural(x, y) || compareNatural(a.path, b.path)) * sign;
  });
}

interface Preview {
  columns: string[];
  rows: Record<string, unknown>[];
  total_rows: number;
}

interface Loaded {
  name: string;
  rows: number;
  columns: number;
  code: string;
}

const COLUMNS: Array<[SortKey, string]> = [
  ['path', 'Path'],
  ['kind', 'Kind'],
  ['size', 'Size'],
  ['modified', 'Modified']
];

/**
 * ArtifactTable: a run's files (path, kind, size, modified; sortable), a preview of
 * the first rows of a table file, "load into pandas" (the kernel puts the DataFrame
 * in the notebook's namespace and shows the code that does the same), download.
 */
export class ArtifactView {
  readonly node: HTMLElement;
  private items: Artifact[] = [];
  private sortKey: SortKey = 'path';
  private ascending = true;
  private selected: string | null = null;
  private readonly feed: RunFeed;
  private readonly head = h('tr');
  private readonly body = h('tbody');
  private readonly detail = h('div', { class: 'fj-art-detail' });
  private readonly notice = new Notice();
  private readonly summary = h('span', { class: 'fj-art-summary' });
  private lastStatus = '';
  private lastSeq = -2;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly stop: () => void;

  constructor(
    private readonly connection: Connection,
    private readonly channel: KernelChannel,
    readonly runId: string,
    initial?: RunRecord | null
  ) {
    this.feed = RunFeed.retain(connection, runId, initial);
    const refresh = button('Refresh', 'refresh', 'List the files again');
    refresh.addEventListener('click', () => void this.load());
    this.node = h(
      'div',
      { class: 'fj-widget fj-art', attrs: { 'data-run-id': runId } },
      h('div', { class: 'fj-toolbar' }, h('span', { class: 'fj-log-title', text: `Files of run ${runId}` }), this.summary, h('span', { class: 'fj-spacer' }), refresh),
      h('div', { class: 'fj-table-wrap' }, h('table', { class: 'fj-table fj-art-table' }, h('thead', {}, this.head), this.body)),
      this.notice.node,
      this.detail,
      transportNote(connection.kind, connection.reason)
    );
    this.notice.clear();
    this.drawHead();
    this.stop = this.feed.changed.connect(() => this.onRunChange());
    void this.load();
  }

  dispose(): void {
    clearTimeout(this.refreshTimer);
    this.stop();
    this.feed.release();
    this.node.remove();
  }

  /** Files change while the run writes them: list again when it moves on (at most every 2 s). */
  private onRunChange(): void {
    const run = this.feed.run;
    if (!run) {
      return;
    }
    const seq = this.feed.progress.seq;
    if (run.status === this.lastStatus && seq === this.lastSeq) {
      return;
    }
    const statusChanged = run.status !== this.lastStatus && this.lastStatus !== '';
    this.lastStatus = run.status;
    this.lastSeq = seq;
    if (this.refreshTimer === undefined) {
      this.refreshTimer = setTimeout(() => {
        this.refreshTimer = undefined;
        void this.load();
      }, statusChanged ? 100 : 2000);
    }
  }

  async load(): Promise<void> {
    try {
      this.items = await this.connection.api.artifacts(this.runId);
      this.notice.clear();
    } catch (err) {
      this.notice.show(`cannot list the files: ${errorText(err)}`);
    }
    this.drawBody();
  }

  private drawHead(): void {
    this.head.replaceChildren(
      ...COLUMNS.map(([key, label]) => {
        const th = h('th', { attrs: { 'data-sort': key, scope: 'col' } }, h('button', { class: 'fj-sort', text: label, attrs: { type: 'button' } }));
        th.setAttribute('aria-sort', key === this.sortKey ? (this.ascending ? 'ascending' : 'descending') : 'none');
        th.addEventListener('click', () => {
          this.ascending = key === this.sortKey ? !this.ascending : key !== 'size' && key !== 'modified';
          this.sortKey = key;
          this.drawHead();
          this.drawBody();
        });
        return th;
      }),
      h('th', { text: '' })
    );
  }

  private drawBody(): void {
    const total = this.items.reduce((sum, a) => sum + a.size, 0);
    setText(this.summary, `${this.items.length} files, ${formatBytes(total)}`);
    const rows = sortArtifacts(this.items, this.sortKey, this.ascending).map(a => this.row(a));
    this.body.replaceChildren(...rows);
    if (!rows.length) {
      this.body.append(h('tr', {}, h('td', { class: 'fj-muted', text: 'no files yet', attrs: { colspan: '5' } })));
    }
  }

  private row(a: Artifact): HTMLElement {
    const actions = h('td', { class: 'fj-actions' });
    if (loadable(a.path)) {
      const preview = button('Preview', 'preview', 'Show the first rows');
      preview.addEventListener('click', () => void this.showPreview(a));
      actions.append(preview);
    }
    const download = button('Download', 'download', `Download ${a.path}`);
    download.addEventListener('click', () => void this.download(a));
    actions.append(download);
    const modified = modifiedMs(a);
    const tr = h(
      'tr',
      { attrs: { 'data-path': a.path } },
      h('td', { class: 'fj-art-path', text: a.path, title: a.path }),
      h('td', { text: a.kind }),
      h('td', { class: 'fj-num', text: formatBytes(a.size), title: `${a.size.toLocaleString()} bytes` }),
      h('td', { text: modified ? new Date(modified).toLocaleString() : '' }),
      actions
    );
    if (a.path === this.selected) {
      tr.classList.add('fj-selected');
    }
    return tr;
  }

  private async showPreview(a: Artifact): Promise<void> {
    this.selected = a.path;
    this.drawBody();
    const name = h('input', { class: 'fj-input fj-art-name', attrs: { 'aria-label': 'Python variable name', spellcheck: 'false' } });
    name.value = variableName(a.path);
    const load = button('Load into pandas', 'load', 'Put this file into the kernel as a pandas DataFrame', 'fj-primary');
    const result = h('div', { class: 'fj-art-loaded' });
    const table = h('div', { class: 'fj-table-wrap fj-art-preview', text: 'reading…' });
    this.detail.replaceChildren(
      h('div', { class: 'fj-art-detail-head' }, h('strong', { text: a.path }), h('span', { class: 'fj-spacer' }), h('label', { text: 'as ' }, name), load),
      result,
      table
    );
    load.addEventListener('click', () => void this.loadIntoPandas(a, name.value.trim(), load, result));
    name.addEventListener('keydown', ev => {
      if (ev.key === 'Enter') {
        void this.loadIntoPandas(a, name.value.trim(), load, result);
      }
    });
    try {
      const preview = await this.channel.call<Preview>('preview', { path: a.path, rows: 20 });
      table.replaceChildren(previewTable(preview));
    } catch (err) {
      table.replaceChildren(h('span', { class: 'fj-error-text', text: `cannot preview: ${errorText(err)}` }));
    }
  }

  private async loadIntoPandas(a: Artifact, name: string, buttonEl: HTMLButtonElement, out: HTMLElement): Promise<void> {
    buttonEl.disabled = true;
    out.replaceChildren(h('span', { class: 'fj-muted', text: 'loading in the kernel…' }));
    try {
      const loaded = await this.channel.call<Loaded>('load', { path: a.path, name });
      out.replaceChildren(
        h('div', { class: 'fj-ok-text', text: `✓ ${loaded.name}: a DataFrame of ${loaded.rows} rows × ${loaded.columns} columns is in the kernel. The same in code:` }),
        h('pre', { class: 'fj-code', text: loaded.code })
      );
      out.dataset.loaded = loaded.name;
    } catch (err) {
      out.replaceChildren(h('span', { class: 'fj-error-text', text: errorText(err) }));
    } finally {
      buttonEl.disabled = false;
    }
  }

  private async download(a: Artifact): Promise<void> {
    try {
      const response = await this.connection.api.artifact(this.runId, a.path, { download: true });
      saveBlob(await response.blob(), a.path.split('/').pop() ?? 'artifact');
    } catch (err) {
      this.notice.show(`cannot download ${a.path}: ${errorText(err)}`);
    }
  }
}

function cell(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) ? String(value) : value.toPrecision(6).replace(/\.?0+(e|$)/, '$1');
  }
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function previewTable(p: Preview): HTMLElement {
  const table = h(
    'table',
    { class: 'fj-table fj-preview' },
    h('thead', {}, h('tr', {}, ...p.columns.map(c => h('th', { text: c })))),
    h('tbody', {}, ...p.rows.map(row => h('tr', {}, ...p.columns.map(c => h('td', { text: cell(row[c]) })))))
  );
  const more = p.total_rows > p.rows.length ? `first ${p.rows.length} of ${p.total_rows} rows` : `${p.total_rows} rows`;
  return h('div', {}, h('div', { class: 'fj-muted', text: more }), table);
}
