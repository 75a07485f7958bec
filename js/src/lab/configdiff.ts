import type { FusionApi } from '../common/api';
import { displayName } from '../common/format';
import { configDiff, parseIni, type ConfigSections } from '../common/ini';
import type { Run } from '../common/types';
import { h, setText } from './dom';

/** A config to compare: what it is called in the table and how to read it. */
export interface ConfigSource {
  label: string;
  load(): Promise<ConfigSections>;
}

/** A run's frozen config (its config.ini, read as any run file is). */
export function runConfig(api: FusionApi, run: Pick<Run, 'id' | 'name'>): ConfigSource {
  return {
    label: displayName(run),
    load: async () => parseIni(await (await api.artifact(run.id, 'config.ini')).text())
  };
}

/** A template's config. */
export function templateConfig(api: FusionApi, name: string): ConfigSource {
  return {
    label: `template ${name}`,
    load: async () => parseIni((await api.getTemplate(name)).text)
  };
}

/**
 * The keys whose values differ between two or more configs: one row per key, one
 * column per config (a key a config does not have is shown as absent).
 */
export class ConfigDiffView {
  readonly node: HTMLElement;
  private readonly status = h('div', { class: 'jp-FusionDiff-status' });
  private readonly table = h('table', { class: 'jp-FusionDiff-table jp-FusionArtifacts-table' });
  private generation = 0;

  constructor() {
    this.node = h('div', { class: 'jp-FusionDiff' }, this.status, this.table);
  }

  async show(sources: ConfigSource[]): Promise<void> {
    const mine = ++this.generation;
    setText(this.status, 'Loading the configs…');
    let configs: ConfigSections[];
    try {
      configs = await Promise.all(sources.map(s => s.load()));
    } catch (err) {
      if (mine === this.generation) {
        setText(this.status, `Cannot read a config: ${err instanceof Error ? err.message : String(err)}`);
        this.table.replaceChildren();
      }
      return;
    }
    if (mine !== this.generation) {
      return;
    }
    const rows = configDiff(configs);
    setText(this.status, rows.length ? (rows.length === 1 ? '1 setting differs' : `${rows.length} settings differ`) : 'The configs are identical.');
    const head = h('tr', {}, h('th', { text: 'Section' }), h('th', { text: 'Key' }), ...sources.map(s => h('th', { text: s.label })));
    const body = rows.map(row =>
      h(
        'tr',
        { attrs: { 'data-key': `${row.section}.${row.key}` } },
        h('td', { text: row.section }),
        h('td', { text: row.key }),
        ...row.values.map(v => h('td', { class: v === undefined ? 'jp-FusionDiff-absent' : '', text: v ?? '(absent)' }))
      )
    );
    this.table.replaceChildren(h('thead', {}, head), h('tbody', {}, ...body));
  }
}
