import { FusionApiError, type SimulatorChoices } from '../../common/api';
import type { Problem, TemplateSummary, ValidationResult } from '../../common/types';
import type { AnyModel } from './anywidget';
import type { Connection } from './connection';
import { IniSource, OWN_INI } from '../../lab/inisource';
import { choicesFor } from '../../lab/choices';
import { GridBuilder } from '../../lab/gridbuilder';
import { SimulatorPicker } from '../../lab/simulatorpicker';
import { TemplateForm } from './form';
import { RunProgressView } from './runview';
import { button, errorText, h, Notice, setText, transportNote } from './ui';

function problemsOf(list: ValidationResult['warnings'] | Problem[] | undefined): Problem[] {
  return (list ?? []).filter((p): p is Problem => typeof p === 'object' && p !== null && 'key' in p);
}

export function parseTags(text: string): string[] {
  return [...new Set(text.split(',').map(t => t.trim()).filter(Boolean))];
}

/**
 * Launcher: pick a template, edit its keys in a generated form with inline validation
 * (the server's or the kernel's configs/validate, as you type), name and tag the run,
 * submit; the new run's RunProgress appears in place.
 */
export class LauncherView {
  readonly node: HTMLElement;
  private form: TemplateForm | null = null;
  private progress: RunProgressView | null = null;
  private validation = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly picker = h('select', { class: 'fj-input', attrs: { 'aria-label': 'Template' } });
  private readonly description = h('div', { class: 'fj-muted fj-launch-desc' });
  private readonly formBox = h('div', { class: 'fj-launch-form' });
  private readonly nameInput = h('input', { class: 'fj-input', attrs: { type: 'text', placeholder: 'name (optional)', 'aria-label': 'Run name' } });
  private readonly tagsInput = h('input', { class: 'fj-input', attrs: { type: 'text', placeholder: 'tags, comma separated', 'aria-label': 'Tags' } });
  private readonly submit = button('Submit', 'submit', 'Create the run', 'fj-primary');
  private readonly summary = h('span', { class: 'fj-launch-summary' });
  private readonly notice = new Notice();
  private readonly result = h('div', { class: 'fj-launch-result' });
  private templates: TemplateSummary[] = [];
  private readonly ini = new IniSource(() => this.onIni(), 'fj-launch');
  private readonly simulator = new SimulatorPicker(() => this.onSimulator(), 'fj-launch');
  private readonly grid = new GridBuilder(() => this.onGrid(), 'fj-launch');
  private choices: SimulatorChoices | null = null;
  private lastValid = false;

  constructor(private readonly connection: Connection, private readonly model: AnyModel) {
    this.node = h(
      'div',
      { class: 'fj-widget fj-launch' },
      h('div', { class: 'fj-toolbar' }, h('span', { class: 'fj-log-title', text: 'New FUSION run' }), h('span', { class: 'fj-spacer' }), h('label', { text: 'Template ' }, this.picker), h('label', { text: ' Simulator ' }, this.simulator.node)),
      this.description,
      this.formBox,
      this.grid.node,
      h('div', { class: 'fj-launch-foot' }, this.nameInput, this.tagsInput, this.submit, this.summary),
      this.notice.node,
      this.result,
      transportNote(connection.kind, connection.reason)
    );
    this.notice.clear();
    this.nameInput.value = String(model.get('name') ?? '');
    this.tagsInput.value = ((model.get('tags') ?? []) as string[]).join(', ');
    this.picker.addEventListener('change', () => void this.choose(this.picker.value));
    this.submit.addEventListener('click', () => void this.send());
    const last = String(model.get('run_id') || '');
    if (last) {
      this.showRun(last); // a reopened notebook shows the last run submitted here again
    }
    void this.start();
  }

  private showRun(runId: string): void {
    this.progress?.dispose();
    this.progress = new RunProgressView(this.connection, runId);
    this.result.replaceChildren(this.progress.node);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.progress?.dispose();
    this.node.remove();
  }

  private onIni(): void {
    this.model.set('config', this.ini.text);
    this.model.save_changes();
    this.scheduleValidation();
  }

  private onSimulator(): void {
    this.model.set('simulator', this.simulator.value ?? '');
    this.model.save_changes();
    this.applyChoices();
    this.scheduleValidation(0);
  }

  /** Dropdowns for the keys whose values the chosen simulator names. */
  private applyChoices(): void {
    this.form?.setChoices(choicesFor(this.choices, this.simulator.select.value), this.simulator.label);
  }

  private onGrid(): void {
    const grid = this.grid.state();
    this.model.set('grid', grid.grid);
    this.model.save_changes();
    this.updateSubmit();
  }

  private updateSubmit(): void {
    this.submit.disabled = !this.lastValid || !this.grid.ok;
    const runs = this.grid.state().runs;
    setText(this.submit, this.grid.active ? `Submit sweep (${runs} run${runs === 1 ? '' : 's'})` : 'Submit');
  }

  private async start(): Promise<void> {
    void this.connection.api.simulators().then(report => {
      this.simulator.show(report);
      const wanted = String(this.model.get('simulator') || '');
      if (wanted && [...this.simulator.select.options].some(o => o.value === wanted && !o.disabled)) {
        this.simulator.select.value = wanted;
      }
      this.applyChoices();
    });
    void this.connection.api
      .simulatorChoices()
      .then(choices => {
        this.choices = choices;
        this.applyChoices();
      })
      .catch(() => undefined); // no dropdowns: the fields stay free text
    try {
      this.templates = await this.connection.api.listTemplates();
    } catch (err) {
      this.notice.show(`cannot list templates: ${errorText(err)}`);
      return;
    }
    this.picker.replaceChildren(
      ...this.templates.map(t => h('option', { text: t.name, attrs: { value: t.name } })),
      h('option', { text: 'Your own INI file…', attrs: { value: OWN_INI } })
    );
    const wanted = String(this.model.get('template') || '');
    const ownIni = !!String(this.model.get('config') || '');
    const name = ownIni ? OWN_INI : this.templates.some(t => t.name === wanted) ? wanted : this.templates[0]?.name;
    if (name) {
      this.picker.value = name;
      await this.choose(name);
    }
  }

  private async choose(name: string): Promise<void> {
    if (name === OWN_INI) {
      this.form = null;
      this.ini.text = String(this.model.get('config') || '');
      setText(this.description, 'Paste or upload a FUSION INI file: it is checked as FUSION reads it, and runs as it is.');
      this.formBox.replaceChildren(this.ini.node);
      this.grid.setKeys([]);
      this.scheduleValidation(0);
      return;
    }
    if (this.model.get('config')) {
      this.model.set('config', '');
      this.model.save_changes();
    }
    this.formBox.replaceChildren(h('div', { class: 'fj-muted', text: 'loading the template…' }));
    try {
      const detail = await this.connection.api.getTemplate(name);
      this.form = new TemplateForm(detail, () => this.scheduleValidation());
      setText(this.description, detail.description);
      this.formBox.replaceChildren(this.form.node);
      if (this.model.get('template') !== name) {
        this.model.set('template', name);
        this.model.save_changes();
      }
      for (const [section, keys] of Object.entries((this.model.get('overrides') ?? {}) as Record<string, Record<string, unknown>>)) {
        for (const [key, value] of Object.entries(keys)) {
          this.form.set(section, key, String(value));
        }
      }
      this.applyChoices();
      // Axes given from Python (Launcher(grid=...)) are shown once, as values.
      const preset = this.grid.active ? {} : ((this.model.get('grid') ?? {}) as Record<string, unknown[]>);
      this.grid.setKeys(Object.entries(detail.sections).flatMap(([section, keys]) => Object.entries(keys).map(([key, spec]) => ({ id: `${section}.${key}`, type: spec.type }))));
      for (const [key, values] of Object.entries(preset)) {
        this.grid.addAxis(key, values.map(String).join(', '));
      }
      void this.grid.load(this.connection.api, name);
      this.notice.clear();
      this.scheduleValidation(0);
    } catch (err) {
      this.formBox.replaceChildren();
      this.notice.show(`cannot read template ${name}: ${errorText(err)}`);
    }
  }

  private scheduleValidation(delay = 300): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.validate(), delay);
  }

  /** Ask configs/validate and show each problem under its field; true when valid. */
  async validate(): Promise<boolean> {
    const form = this.form;
    const ownIni = this.picker.value === OWN_INI;
    if (!form && !ownIni) {
      return false;
    }
    if (ownIni && !this.ini.text.trim()) {
      this.showProblems([{ section: 'config', key: '', message: 'paste or upload an INI file' }]);
      return false;
    }
    const mine = ++this.validation;
    let result: ValidationResult;
    try {
      result = form
        ? await this.connection.api.validate(form.template.name, form.overrides(), this.simulator.value)
        : await this.connection.api.validateConfig(this.ini.text, {}, this.simulator.value);
    } catch (err) {
      if (mine === this.validation) {
        this.notice.show(`cannot validate: ${errorText(err)}`);
      }
      return false;
    }
    if (mine !== this.validation) {
      return false;
    }
    this.showProblems(problemsOf(result.errors), problemsOf(result.warnings));
    return result.valid;
  }

  private showProblems(errors: Problem[], warnings: Problem[] = []): void {
    const orphans = this.form?.showProblems(errors, warnings) ?? errors;
    setText(this.summary, errors.length ? `${errors.length} problem${errors.length > 1 ? 's' : ''} to fix` : `valid: the ${this.simulator.label} runs it`);
    this.summary.dataset.valid = String(!errors.length);
    this.lastValid = errors.length === 0;
    this.updateSubmit();
    if (orphans.length) {
      this.notice.show(orphans.map(p => `${p.section}${p.key ? '.' + p.key : ''}: ${p.message}`).join('; '));
    } else {
      this.notice.clear();
    }
    this.model.set('errors', errors.map(p => ({ section: p.section, key: p.key, message: p.message })));
    this.model.save_changes();
  }

  private async send(): Promise<void> {
    const form = this.form;
    if (!form && this.picker.value !== OWN_INI) {
      return;
    }
    clearTimeout(this.timer);
    this.submit.disabled = true;
    try {
      if (!(await this.validate())) {
        return;
      }
      const source = form ? { template: form.template.name, overrides: form.overrides() } : { config: this.ini.text };
      const body = {
        ...source,
        simulator: this.simulator.value,
        name: this.nameInput.value.trim() || undefined,
        tags: parseTags(this.tagsInput.value)
      };
      if (this.grid.active) {
        const grid = this.grid.state();
        if (grid.errors.length || grid.overLimit) {
          this.notice.show(grid.overLimit ?? grid.errors.join('; '));
          return; // nothing over the limit is ever sent
        }
        const made = await this.connection.api.createSweep({ ...body, grid: grid.grid });
        this.model.set('sweep_id', made.sweep.id);
        this.model.save_changes();
        if (made.runs[0]) {
          this.model.set('run_id', made.runs[0].id);
          this.model.save_changes();
          this.showRun(made.runs[0].id);
        }
        this.notice.show(`created sweep ${made.sweep.id}: ${made.runs.length} runs`, 'ok');
        return;
      }
      const run = await this.connection.api.createRun(body);
      this.model.set('run_id', run.id);
      this.model.save_changes();
      this.showRun(run.id);
      this.notice.show(`created run ${run.id}`, 'ok');
    } catch (err) {
      if (err instanceof FusionApiError && err.status === 400) {
        this.showProblems(problemsOf(err.details as Problem[]));
        if (!problemsOf(err.details as Problem[]).length) {
          this.notice.show(err.message);
        }
      } else {
        this.notice.show(`cannot create the run: ${errorText(err)}`);
      }
    } finally {
      this.updateSubmit();
    }
  }
}
