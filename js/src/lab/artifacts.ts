import { PageConfig } from '@jupyterlab/coreutils';
import type { IDocumentManager } from '@jupyterlab/docmanager';
import { refreshIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import { FusionApiError } from '../common/api';
import { displayName, formatBytes, parseTime } from '../common/format';
import type { Artifact, Run } from '../common/types';
import type { FusionConnection } from './connection';
import { h, iconButton, saveBlob, setText, textButton } from './dom';
import { compareNatural } from '../common/natural';

const PREVIEW_BYTES = 512 * 1024;

/** Where a run file is inside the Jupyter server's root, if it is (to open it in JupyterLab). */
export function contentsPath(run: Run | undefined, path: string, serverRoot = PageConfig.getOption('serverRoot')): string | null {
  const dir = run?.run_dir;
  if (!dir || !serverRoot || serverRoot.startsWith('~')) {
    return null;
  }
  const root = serverRoot.replace(/\/+$/, '');
  const full = `${dir.replace(/\/+$/, '')}/${path}`;
  if (!full.startsWith(root + '/')) {
    return null;
  }
  return full.slice(root.length + 1);
}

/**
 * A run's files in a main-area tab: path, size, modified time; download any file;
 * open it in JupyterLab (its own editor/viewer) when the run directory is inside the
 * server's root, else in a read-only preview fetched through the API.
 */
export class ArtifactsView extends Widget {
  private artifacts: Artifact[] = [];
  private sortKey: keyof Artifact = 'path';
  private sortAsc = true;
  private readonly tbody: HTMLElement;
  private readonly statusEl: HTMLElement;
  private lastStatus = '';
  private disconnectStore: () => void;

  constructor(
    private readonly conn: FusionConnection,
    readonly runId: string,
    private readonly docManager: IDocumentManager | null,
    private readonly openPreview: (runId: string, artifact: Artifact) => void
  ) {
    super();
    this.id = `fusion-artifacts-${runId}`;
    this.addClass('jp-FusionArtifacts');
    this.title.closable = true;
    const run = conn.store.get(runId);
    this.title.label = `Artifacts: ${run ? displayName(run) : runId}`;
    this.title.caption = `Files of FUSION run ${runId}`;
    this.statusEl = h('span', { class: 'jp-FusionArtifacts-status' });
    const head = h('tr', {});
    for (const [key, label] of [['path', 'Path'], ['size', 'Size'], ['modified', 'Modified'], ['kind', 'Kind']] as const) {
      head.append(h('th', { text: label, attrs: { 'data-sort': key, role: 'columnheader', tabindex: '0' } }));
    }
    head.append(h('th', { text: '' }));
    this.tbody = h('tbody', {});
    const table = h('table', { class: 'jp-FusionArtifacts-table' }, h('thead', {}, head), this.tbody);
    this.node.append(
      h('div', { class: 'jp-FusionArtifacts-toolbar' }, h('strong', { text: this.title.label }), h('span', { class: 'jp-FusionRuns-spacer' }), this.statusEl, iconButton(refreshIcon, 'Reload the file list', 'reload')),
      h('div', { class: 'jp-FusionArtifacts-scroll' }, table)
    );
    this.node.addEventListener('click', this.onClick);
    // A run that ends has written its outputs: list again (event-driven, no polling).
    this.lastStatus = run?.status ?? '';
    this.disconnectStore = conn.store.changed.connect(change => {
      const now = conn.store.get(runId)?.status ?? '';
      if (change.ids.has(runId) && now !== this.lastStatus) {
        this.lastStatus = now;
        void this.reload();
      }
    });
    void this.reload();
  }

  dispose(): void {
    this.disconnectStore();
    super.dispose();
  }

  async reload(): Promise<void> {
    setText(this.statusEl, 'Loading…');
    try {
      this.artifacts = await this.conn.api.artifacts(this.runId);
      setText(this.statusEl, `${this.artifacts.length} files`);
      this.renderRows();
    } catch (err) {
      setText(this.statusEl, err instanceof Error ? err.message : String(err));
    }
  }

  private renderRows(): void {
    const key = this.sortKey;
    const dir = this.sortAsc ? 1 : -1;
    const sorted = [...this.artifacts].sort((a, b) => dir * compareNatural(a[key] as string | number, b[key] as string | number));
    const rows = sorted.map(a =>
      h(
        'tr',
        { attrs: { 'data-path': a.path } },
        h('td', { class: 'jp-FusionArtifacts-path', text: a.path }),
        h('td', { text: formatBytes(a.size) }),
        h('td', { text: formatModified(a.modified) }),
        h('td', { text: a.kind }),
        h('td', { class: 'jp-FusionArtifacts-actions' }, textButton('Open', 'open'), textButton('Download', 'download'))
      )
    );
    if (!rows.length) {
      rows.push(h('tr', {}, h('td', { text: 'No files yet.', attrs: { colspan: '5' } })));
    }
    this.tbody.replaceChildren(...rows);
  }

  private onClick = (event: MouseEvent): void => {
    const target = event.target as HTMLElement;
    const th = target.closest<HTMLElement>('th[data-sort]');
    if (th) {
      const key = th.dataset.sort as keyof Artifact;
      this.sortAsc = this.sortKey === key ? !this.sortAsc : true;
      this.sortKey = key;
      this.renderRows();
      return;
    }
    const action = target.closest<HTMLElement>('[data-action]')?.dataset.action;
    const path = target.closest<HTMLElement>('tr[data-path]')?.dataset.path;
    if (action === 'reload') {
      void this.reload();
    } else if (action && path) {
      const artifact = this.artifacts.find(a => a.path === path);
      if (artifact) {
        void (action === 'open' ? this.open(artifact) : this.download(artifact));
      }
    }
  };

  async open(artifact: Artifact): Promise<void> {
    // A listing row does not carry the run's directory: read the run when needed.
    let run = this.conn.store.get(this.runId);
    if (!run?.run_dir) {
      run = await this.conn.api.getRun(this.runId).catch(() => run);
    }
    const inRoot = contentsPath(run, artifact.path);
    if (inRoot && this.docManager) {
      const widget = this.docManager.openOrReveal(inRoot);
      if (widget) {
        return;
      }
    }
    this.openPreview(this.runId, artifact);
  }

  async download(artifact: Artifact): Promise<void> {
    try {
      const response = await this.conn.api.artifact(this.runId, artifact.path, { download: true });
      saveBlob(await response.blob(), artifact.path.split('/').pop() || 'artifact');
    } catch (err) {
      setText(this.statusEl, err instanceof FusionApiError ? err.message : String(err));
    }
  }
}

export function previewId(runId: string, path: string): string {
  return `fusion-artifact-${runId}-${path.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** A read-only view of one run file fetched through the API (text, JSON, CSV, image). */
export class ArtifactPreview extends Widget {
  private objectUrl: string | null = null;

  constructor(private readonly conn: FusionConnection, readonly runId: string, readonly artifact: Artifact) {
    super();
    this.id = previewId(runId, artifact.path);
    this.addClass('jp-FusionPreview');
    this.title.label = artifact.path.split('/').pop() || artifact.path;
    this.title.caption = `${artifact.path} (run ${runId})`;
    this.title.closable = true;
    void this.load();
  }

  dispose(): void {
    if (this.objectUrl) {
      URL.revokeObjectURL(this.objectUrl);
    }
    super.dispose();
  }

  private async load(): Promise<void> {
    const { path, size } = this.artifact;
    const lower = path.toLowerCase();
    try {
      if (/\.(png|jpe?g|gif|svg|webp)$/.test(lower)) {
        const response = await this.conn.api.artifact(this.runId, path);
        this.objectUrl = URL.createObjectURL(await response.blob());
        this.node.append(h('img', { attrs: { src: this.objectUrl, alt: path } }));
        return;
      }
      const partial = size > PREVIEW_BYTES;
      const response = await this.conn.api.artifact(this.runId, path, partial ? { range: [0, PREVIEW_BYTES - 1] } : {});
      let text = await response.text();
      if (partial) {
        this.node.append(h('div', { class: 'jp-FusionPreview-note', text: `First ${formatBytes(PREVIEW_BYTES)} of ${formatBytes(size)}` }));
      }
      if (lower.endsWith('.csv') || lower.endsWith('.tsv')) {
        this.node.append(csvTable(text, lower.endsWith('.tsv') ? '\t' : ','));
        return;
      }
      if (lower.endsWith('.json') && !partial) {
        try {
          text = JSON.stringify(JSON.parse(text), null, 2);
        } catch {
          /* show as is */
        }
      }
      this.node.append(h('pre', { class: 'jp-FusionPreview-text', text }));
    } catch (err) {
      this.node.append(h('div', { class: 'jp-FusionPreview-error', text: err instanceof Error ? err.message : String(err) }));
    }
  }
}

function csvTable(text: string, sep: string): HTMLElement {
  const lines = text.split(/\r?\n/).filter(l => l.length).slice(0, 501);
  const rows = lines.map(l => l.split(sep));
  const table = h('table', { class: 'jp-FusionArtifacts-table' });
  rows.forEach((cells, i) => {
    const tr = h('tr', {});
    cells.forEach(c => tr.append(h(i === 0 ? 'th' : 'td', { text: c })));
    table.append(tr);
  });
  return table;
}

function formatModified(value: string | number): string {
  const t = typeof value === 'number' ? (value > 1e12 ? value : value * 1000) : parseTime(value);
  return t === null ? String(value) : new Date(t).toLocaleString();
}
