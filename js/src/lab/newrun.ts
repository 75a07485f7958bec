import { Widget } from '@lumino/widgets';
import { FusionApiError, type SimulatorChoices } from '../common/api';
import type { Overrides, Problem, Run, TemplateDetail, TemplateKey, TemplateSummary } from '../common/types';
import type { FusionConnection } from './connection';
import { errorText } from '../widgets/parts/ui';
import { h, setText } from './dom';
import { IniSource, OWN_INI } from './inisource';
import { choicesFor, fillChoice, selectInPlaceOf } from './choices';
import { GridBuilder } from './gridbuilder';
import { SimulatorPicker } from './simulatorpicker';

const VALIDATE_DELAY_MS = 250;


interface FieldView {
  section: string;
  key: string;
  spec: TemplateKey;
  input: HTMLInputElement | HTMLSelectElement;
  error: HTMLElement;
  row: HTMLElement;
}

/** A value typed by the field's declared type, or an error message. */
export function checkValue(type: string, raw: string): string | null {
  const v = raw.trim();
  if (type === 'int') {
    return /^[+-]?\d+$/.test(v) ? null : 'must be an integer';
  }
  if (type === 'float') {
    return v !== '' && Number.isFinite(Number(v)) ? null : 'must be a number';
  }
  if (type === 'bool') {
    return /^(true|false)$/i.test(v) ? null : 'must be True or False';
  }
  return null;
}

/**
 * "New run": pick a template, change any of its keys (typed inputs generated from
 * the template's sections, defaults shown, help from its comments), name and tags;
 * each change is validated by the server (configs/validate) and the errors shown
 * next to their field before Submit is allowed; Submit POSTs runs.
 */
export class NewRunForm extends Widget {
  private templates: TemplateSummary[] = [];
  private detail: TemplateDetail | null = null;
  private fields: FieldView[] = [];
  private validateTimer: number | null = null;
  private validation = 0;
  private valid = false;
  private submitting = false;
  private choices: SimulatorChoices | null = null;

  private readonly templateSelect: HTMLSelectElement;
  private readonly descriptionEl: HTMLElement;
  private readonly nameInput: HTMLInputElement;
  private readonly tagsInput: HTMLInputElement;
  private readonly sectionsEl: HTMLElement;
  private readonly messageEl: HTMLElement;
  private readonly submitButton: HTMLButtonElement;
  private readonly formEl: HTMLFormElement;
  private readonly ini: IniSource;
  private readonly simulator: SimulatorPicker;
  readonly grid: GridBuilder;

  constructor(
    private readonly conn: FusionConnection,
    private readonly onCreated: (run: Run) => void,
    private readonly onSweep: (sweepId: string, runs: Run[]) => void = () => undefined
  ) {
    super();
    this.id = 'fusion-new-run';
    this.addClass('jp-FusionNewRun');
    this.title.label = 'New FUSION run';
    this.title.closable = true;

    this.templateSelect = h('select', { class: 'jp-mod-styled jp-FusionNewRun-template', attrs: { name: 'template', 'aria-label': 'Template' } });
    this.descriptionEl = h('p', { class: 'jp-FusionNewRun-description' });
    this.nameInput = h('input', { class: 'jp-mod-styled', attrs: { name: 'name', type: 'text', placeholder: 'optional', 'aria-label': 'Run name' } });
    this.tagsInput = h('input', { class: 'jp-mod-styled', attrs: { name: 'tags', type: 'text', placeholder: 'comma-separated, optional', 'aria-label': 'Tags' } });
    this.sectionsEl = h('div', { class: 'jp-FusionNewRun-sections' });
    this.ini = new IniSource(() => this.onIniInput(), 'jp-FusionNewRun');
    this.simulator = new SimulatorPicker(() => {
      this.applyChoices();
      this.scheduleValidate(0);
    }, 'jp-FusionNewRun');
    this.grid = new GridBuilder(() => this.updateSubmit(), 'jp-FusionNewRun');
    this.messageEl = h('div', { class: 'jp-FusionNewRun-message', attrs: { role: 'status' } });
    this.submitButton = h('button', {
      class: 'jp-mod-styled jp-mod-accept jp-FusionNewRun-submit',
      text: 'Start run',
      attrs: { type: 'submit', disabled: '' }
    });
    this.formEl = h(
      'form',
      { class: 'jp-FusionNewRun-form', attrs: { novalidate: '' } },
      h('h2', { text: 'New FUSION run' }),
      h('label', { class: 'jp-FusionNewRun-field' }, h('span', { text: 'Template' }), this.templateSelect),
      this.descriptionEl,
      h('label', { class: 'jp-FusionNewRun-field' }, h('span', { text: 'Simulator' }), this.simulator.node),
      h('label', { class: 'jp-FusionNewRun-field' }, h('span', { text: 'Name' }), this.nameInput),
      h('label', { class: 'jp-FusionNewRun-field' }, h('span', { text: 'Tags' }), this.tagsInput),
      h('p', { class: 'jp-FusionNewRun-hint', text: 'Settings: change what you need; unchanged keys keep the template’s value.' }),
      this.sectionsEl,
      this.grid.node,
      h('div', { class: 'jp-FusionNewRun-footer' }, this.messageEl, this.submitButton)
    );
    this.node.append(this.formEl);
    this.templateSelect.addEventListener('change', () => void this.selectTemplate(this.templateSelect.value));
    this.formEl.addEventListener('input', e => {
      const own = [this.templateSelect, this.nameInput, this.tagsInput, this.ini.textarea, this.simulator.select];
      if (!own.includes(e.target as never) && !this.grid.node.contains(e.target as Node)) {
        this.onFieldInput(e.target as HTMLElement);
      }
    });
    this.formEl.addEventListener('change', e => {
      const mine = e.target === this.templateSelect || e.target === this.simulator.select || this.grid.node.contains(e.target as Node);
      if ((e.target as HTMLElement).tagName === 'SELECT' && !mine) {
        this.onFieldInput(e.target as HTMLElement);
      }
    });
    this.formEl.addEventListener('submit', e => {
      e.preventDefault();
      void this.submit();
    });
    void this.init();
  }

  get isValid(): boolean {
    return this.valid;
  }

  /** Whether the form runs a pasted or uploaded INI file rather than a template. */
  get ownIni(): boolean {
    return this.templateSelect.value === OWN_INI;
  }

  private async init(): Promise<void> {
    setText(this.messageEl, 'Loading templates…');
    void this.conn.api.simulators().then(report => {
      this.simulator.show(report);
      this.applyChoices();
      this.scheduleValidate(0);
    });
    void this.conn.api
      .simulatorChoices()
      .then(choices => {
        this.choices = choices;
        this.applyChoices();
      })
      .catch(() => undefined); // no dropdowns: the fields stay free text
    try {
      this.templates = await this.conn.api.listTemplates();
    } catch (err) {
      this.showMessage(errorText(err), true);
      return;
    }
    this.templateSelect.replaceChildren(
      ...this.templates.map(t => h('option', { text: t.name, attrs: { value: t.name } })),
      h('option', { text: 'Your own INI file…', attrs: { value: OWN_INI } })
    );
    const first = this.templates.find(t => t.name === 'minimal') ?? this.templates[0];
    if (first) {
      this.templateSelect.value = first.name;
      await this.selectTemplate(first.name);
    } else {
      this.showMessage('No templates on the server.', true);
    }
  }

  private async selectTemplate(name: string): Promise<void> {
    this.valid = false;
    this.updateSubmit();
    if (name === OWN_INI) {
      this.detail = null;
      this.fields = [];
      setText(this.descriptionEl, 'Paste or upload a FUSION INI file: it is checked as FUSION reads it, and runs as it is.');
      this.sectionsEl.replaceChildren(this.ini.node);
      this.grid.setKeys([]);
      this.showMessage('');
      this.scheduleValidate(0);
      return;
    }
    setText(this.messageEl, 'Loading template…');
    try {
      this.detail = await this.conn.api.getTemplate(name);
    } catch (err) {
      this.showMessage(errorText(err), true);
      return;
    }
    setText(this.descriptionEl, this.detail.description);
    this.buildFields(this.detail);
    this.applyChoices();
    this.grid.setKeys(this.fields.map(f => ({ id: `${f.section}.${f.key}`, type: f.spec.type })));
    void this.grid.load(this.conn.api, name);
    this.showMessage('');
    this.scheduleValidate(0);
  }

  private buildFields(detail: TemplateDetail): void {
    this.fields = [];
    const sections: HTMLElement[] = [];
    for (const [section, keys] of Object.entries(detail.sections)) {
      const rows: HTMLElement[] = [];
      for (const [key, spec] of Object.entries(keys)) {
        const id = `fusion-field-${section}-${key}`;
        let input: HTMLInputElement | HTMLSelectElement;
        if (spec.type === 'bool') {
          input = h('select', { class: 'jp-mod-styled' }, h('option', { text: 'True', attrs: { value: 'True' } }), h('option', { text: 'False', attrs: { value: 'False' } }));
          input.value = /^true$/i.test(spec.value) ? 'True' : 'False';
        } else {
          input = h('input', { class: 'jp-mod-styled', attrs: { type: 'text', spellcheck: 'false', inputmode: spec.type === 'int' || spec.type === 'float' ? 'decimal' : 'text' } });
          input.value = spec.value;
        }
        input.id = id;
        input.name = `${section}.${key}`;
        input.dataset.section = section;
        input.dataset.key = key;
        input.dataset.default = input.value;
        const error = h('div', { class: 'jp-FusionNewRun-error', attrs: { 'aria-live': 'polite' } });
        const row = h(
          'div',
          { class: 'jp-FusionNewRun-key', attrs: { 'data-key': `${section}.${key}` } },
          h('label', { text: key, attrs: { for: id }, title: `${section}.${key} (${spec.type}${spec.required ? ', required' : ''})` }),
          input,
          h('div', { class: 'jp-FusionNewRun-help', text: spec.description ? `${spec.description} (default: ${spec.value})` : `default: ${spec.value}` }),
          error
        );
        rows.push(row);
        this.fields.push({ section, key, spec, input, error, row });
      }
      const details = h('details', { class: 'jp-FusionNewRun-section', attrs: { 'data-section': section } }, h('summary', { text: section }), ...rows);
      if (section === 'general_settings') {
        details.open = true;
      }
      sections.push(details);
    }
    this.sectionsEl.replaceChildren(...sections);
  }

  /** Dropdowns for the keys whose values the chosen simulator names (route, allocation, network). */
  private applyChoices(): void {
    const choices = choicesFor(this.choices, this.simulator.select.value);
    for (const field of this.fields) {
      const values = choices.get(`${field.section}.${field.key}`);
      if (!values) {
        continue;
      }
      if (!(field.input instanceof HTMLSelectElement)) {
        field.input = selectInPlaceOf(field.input, 'jp-mod-styled jp-FusionNewRun-choice');
      }
      fillChoice(field.input, values, field.input.value || field.input.dataset.default || '', this.simulator.label);
    }
  }

  /** The keys whose value differs from the template's. */
  overrides(): Overrides {
    const out: Overrides = {};
    for (const f of this.fields) {
      if (f.input.value !== f.input.dataset.default) {
        (out[f.section] ??= {})[f.key] = f.input.value.trim();
      }
    }
    return out;
  }

  private onIniInput(): void {
    this.valid = false;
    this.updateSubmit();
    this.scheduleValidate(VALIDATE_DELAY_MS);
  }

  private onFieldInput(target: HTMLElement): void {
    const field = this.fields.find(f => f.input === target);
    if (field) {
      const local = checkValue(field.spec.type, field.input.value);
      this.setFieldError(field, local);
      field.row.classList.toggle('jp-mod-changed', field.input.value !== field.input.dataset.default);
    }
    this.valid = false;
    this.updateSubmit();
    this.scheduleValidate(VALIDATE_DELAY_MS);
  }

  private scheduleValidate(delay: number): void {
    if (this.validateTimer !== null) {
      window.clearTimeout(this.validateTimer);
    }
    this.validateTimer = window.setTimeout(() => {
      this.validateTimer = null;
      void this.validate();
    }, delay);
  }

  /** Ask the server; show its errors next to their fields. Resolves to validity. */
  async validate(): Promise<boolean> {
    const detail = this.detail;
    const ownIni = this.ownIni;
    if (!detail && !ownIni) {
      return false;
    }
    if (ownIni && !this.ini.text.trim()) {
      this.valid = false;
      this.showMessage('Paste or upload an INI file.');
      this.updateSubmit();
      return false;
    }
    const token = ++this.validation;
    const localErrors = this.fields.filter(f => checkValue(f.spec.type, f.input.value) !== null);
    let problems: Problem[] = [];
    let warnings: string[] = [];
    let valid = false;
    try {
      const result = detail
        ? await this.conn.api.validate(detail.name, this.overrides(), this.simulator.value)
        : await this.conn.api.validateConfig(this.ini.text, {}, this.simulator.value);
      if (token !== this.validation) {
        return this.valid;
      }
      problems = result.errors ?? [];
      warnings = (result.warnings ?? []).map(w => (typeof w === 'string' ? w : `${w.section}.${w.key}: ${w.message}`));
      valid = result.valid && localErrors.length === 0;
    } catch (err) {
      if (token !== this.validation) {
        return this.valid;
      }
      if (err instanceof FusionApiError && err.status === 400) {
        problems = problemsOf(err);
      } else {
        this.showMessage(errorText(err), true);
        return false;
      }
    }
    const unplaced: string[] = [];
    const fromServer = new Map<FieldView, string[]>();
    for (const p of problems) {
      const field = this.fields.find(f => f.section === p.section && f.key === p.key);
      if (field) {
        fromServer.set(field, [...(fromServer.get(field) ?? []), p.message]);
      } else {
        unplaced.push(p.section ? `${p.section}${p.key ? '.' + p.key : ''}: ${p.message}` : p.message);
      }
    }
    for (const f of this.fields) {
      // The server's message says what the local check says, and more: show it alone.
      const server = fromServer.get(f);
      this.setFieldError(f, server ? server.join('; ') : checkValue(f.spec.type, f.input.value));
    }
    this.valid = valid;
    if (unplaced.length) {
      this.showMessage(unplaced.join('\n'), true);
    } else if (warnings.length) {
      this.showMessage(`Warnings: ${warnings.join('; ')}`);
    } else {
      const ok = `Configuration is valid; the ${this.simulator.label} will run it.`;
      this.showMessage(valid ? ok : problems.length || localErrors.length ? 'Fix the fields marked in red.' : '');
    }
    this.updateSubmit();
    return valid;
  }

  private setFieldError(field: FieldView, message: string | null): void {
    const text = message ?? '';
    setText(field.error, text);
    field.row.classList.toggle('jp-mod-invalid', !!text);
    field.input.setAttribute('aria-invalid', text ? 'true' : 'false');
    if (text) {
      // Make sure a problem is visible even in a collapsed section.
      const details = field.row.closest('details');
      if (details) {
        details.open = true;
      }
    }
  }

  async submit(): Promise<Run | null> {
    if (this.submitting || (!this.detail && !this.ownIni)) {
      return null;
    }
    if (!(await this.validate())) {
      return null;
    }
    this.submitting = true;
    this.updateSubmit();
    this.showMessage('Starting…');
    try {
      const tags = this.tagsInput.value
        .split(',')
        .map(t => t.trim())
        .filter(Boolean);
      const source = this.detail ? { template: this.detail.name, overrides: this.overrides() } : { config: this.ini.text };
      const body = {
        ...source,
        simulator: this.simulator.value,
        name: this.nameInput.value.trim() || undefined,
        tags: tags.length ? tags : undefined
      };
      if (this.grid.active) {
        // Checked again at the last moment: nothing over the limit is ever sent.
        const grid = this.grid.state();
        if (grid.errors.length || grid.overLimit) {
          this.showMessage(grid.overLimit ?? grid.errors.join('; '), true);
          return null;
        }
        const made = await this.conn.api.createSweep({ ...body, grid: grid.grid });
        made.runs.forEach(r => this.conn.store.upsert(r));
        this.showMessage(`Started sweep ${made.sweep.id} (${made.runs.length} runs).`);
        this.onSweep(made.sweep.id, made.runs);
        return made.runs[0] ?? null;
      }
      const run = await this.conn.api.createRun(body);
      this.conn.store.upsert(run);
      this.showMessage(`Started run ${run.id}.`);
      this.onCreated(run);
      return run;
    } catch (err) {
      if (err instanceof FusionApiError && err.status === 400) {
        for (const p of problemsOf(err)) {
          const field = this.fields.find(f => f.section === p.section && f.key === p.key);
          if (field) {
            this.setFieldError(field, p.message);
          }
        }
      }
      this.showMessage(errorText(err), true);
      return null;
    } finally {
      this.submitting = false;
      this.updateSubmit();
    }
  }

  private updateSubmit(): void {
    if (!this.submitButton) {
      return; // still being built
    }
    const sweep = this.grid.active;
    this.submitButton.disabled = !this.valid || this.submitting || !this.grid.ok;
    const runs = this.grid.state().runs;
    setText(this.submitButton, sweep ? `Start sweep (${runs} run${runs === 1 ? '' : 's'})` : 'Start run');
  }

  private showMessage(text: string, error = false): void {
    setText(this.messageEl, text);
    this.messageEl.classList.toggle('jp-mod-error', error);
  }
}

function problemsOf(err: FusionApiError): Problem[] {
  const details = err.details as { problems?: Problem[]; errors?: Problem[] } | Problem[] | undefined;
  if (Array.isArray(details)) {
    return details;
  }
  return details?.problems ?? details?.errors ?? [];
}
