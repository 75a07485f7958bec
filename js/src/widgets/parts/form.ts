import type { Overrides, Problem, TemplateDetail, TemplateKey } from '../../common/types';
import { fillChoice, selectInPlaceOf } from '../../lab/choices';
import { h, setText } from './ui';

interface Field {
  section: string;
  key: string;
  spec: TemplateKey;
  input: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;
  error: HTMLElement;
  row: HTMLElement;
  details: HTMLDetailsElement;
}

export function fieldId(section: string, key: string): string {
  return `${section}.${key}`;
}

function isTrue(value: string): boolean {
  return /^(1|true|yes|on)$/i.test(value.trim());
}

/**
 * A form generated from a template's sections: one typed input per key (number for
 * int and float, a checkbox for bool, a text area for JSON, text otherwise), the
 * template's value as default, its comment as description, and an error line under
 * each field. ``overrides()`` gives only what differs from the template.
 */
export class TemplateForm {
  readonly node = h('div', { class: 'fj-form' });
  private readonly fields = new Map<string, Field>();
  private readonly onChange: () => void;

  constructor(readonly template: TemplateDetail, onChange: () => void) {
    this.onChange = onChange;
    let first = true;
    for (const [section, keys] of Object.entries(template.sections)) {
      const details = h('details', { class: 'fj-form-section', attrs: { 'data-section': section } }) as HTMLDetailsElement;
      details.open = first;
      first = false;
      const grid = h('div', { class: 'fj-form-grid' });
      details.append(h('summary', { text: `${section} (${Object.keys(keys).length})` }), grid);
      for (const [key, spec] of Object.entries(keys)) {
        grid.append(this.field(section, key, spec, details));
      }
      this.node.append(details);
    }
  }

  private field(section: string, key: string, spec: TemplateKey, details: HTMLDetailsElement): HTMLElement {
    const id = fieldId(section, key);
    let input: HTMLInputElement | HTMLTextAreaElement;
    if (spec.type === 'json' || spec.type === 'dict') {
      input = h('textarea', { class: 'fj-input fj-json', attrs: { rows: '2', spellcheck: 'false' } });
      input.value = spec.value;
    } else {
      input = h('input', { class: 'fj-input' });
      if (spec.type === 'bool') {
        input.type = 'checkbox';
        input.checked = isTrue(spec.value);
      } else {
        input.type = spec.type === 'int' || spec.type === 'float' ? 'number' : 'text';
        if (spec.type === 'int') {
          input.step = '1';
        } else if (spec.type === 'float') {
          input.step = 'any';
        }
        input.value = spec.value;
      }
    }
    input.name = id;
    input.dataset.field = id;
    input.setAttribute('aria-label', `${section} ${key}`);
    input.title = `default: ${spec.value}`;
    input.addEventListener(input.type === 'checkbox' ? 'change' : 'input', () => {
      this.markChanged(id);
      this.onChange();
    });
    const error = h('div', { class: 'fj-field-error', attrs: { role: 'alert' } });
    error.hidden = true;
    const row = h(
      'div',
      { class: 'fj-field', attrs: { 'data-field': id, 'data-type': spec.type } },
      h('label', { class: 'fj-field-key', text: key, title: `${section}.${key} (${spec.type}${spec.required ? ', required' : ''})` }),
      input,
      h('div', { class: 'fj-field-desc', text: spec.description || '' }),
      error
    );
    this.fields.set(id, { section, key, spec, input, error, row, details });
    return row;
  }

  private value(field: Field): string {
    const input = field.input;
    if (input instanceof HTMLInputElement && input.type === 'checkbox') {
      return input.checked ? 'True' : 'False';
    }
    return input.value;
  }

  private changed(field: Field): boolean {
    const value = this.value(field);
    if (field.spec.type === 'bool') {
      return isTrue(value) !== isTrue(field.spec.value);
    }
    return value !== field.spec.value;
  }

  private markChanged(id: string): void {
    const field = this.fields.get(id);
    if (field) {
      field.row.classList.toggle('fj-changed', this.changed(field));
    }
  }

  /** Dropdowns for the keys with a known set of values (``section.key`` -> values). */
  setChoices(choices: ReadonlyMap<string, readonly string[]>, simulatorLabel: string): void {
    for (const [id, field] of this.fields) {
      const values = choices.get(id);
      if (!values || field.input instanceof HTMLTextAreaElement || (field.input instanceof HTMLInputElement && field.input.type === 'checkbox')) {
        continue;
      }
      const current = field.input.value;
      if (!(field.input instanceof HTMLSelectElement)) {
        field.input = selectInPlaceOf(field.input, 'fj-input fj-choice');
        field.input.addEventListener('change', () => {
          this.markChanged(id);
          this.onChange();
        });
      }
      fillChoice(field.input, values, current, simulatorLabel);
    }
  }

  /** Set a field's value (as a user would). */
  set(section: string, key: string, value: string): void {
    const field = this.fields.get(fieldId(section, key));
    if (!field) {
      return;
    }
    if (field.input instanceof HTMLInputElement && field.input.type === 'checkbox') {
      field.input.checked = isTrue(value);
    } else {
      field.input.value = value;
    }
    this.markChanged(fieldId(section, key));
    this.onChange();
  }

  /** ``{section: {key: value}}`` of the fields that differ from the template. */
  overrides(): Overrides {
    const out: Overrides = {};
    for (const field of this.fields.values()) {
      if (this.changed(field)) {
        (out[field.section] ??= {})[field.key] = this.value(field);
      }
    }
    return out;
  }

  /** Show each problem under its field (opening its section); returns those without a field. */
  showProblems(errors: Problem[], warnings: Problem[] = []): Problem[] {
    const byField = new Map<string, string[]>();
    const kinds = new Map<string, 'error' | 'warning'>();
    const orphans: Problem[] = [];
    for (const [list, kind] of [[errors, 'error'], [warnings, 'warning']] as const) {
      for (const p of list) {
        const id = fieldId(p.section, p.key);
        if (!this.fields.has(id)) {
          if (kind === 'error') {
            orphans.push(p);
          }
          continue;
        }
        byField.set(id, [...(byField.get(id) ?? []), p.message]);
        if (kind === 'error' || !kinds.has(id)) {
          kinds.set(id, kind);
        }
      }
    }
    for (const [id, field] of this.fields) {
      const messages = byField.get(id);
      field.error.hidden = !messages;
      setText(field.error, messages ? messages.join('; ') : '');
      const kind = kinds.get(id);
      field.row.classList.toggle('fj-invalid', kind === 'error');
      field.row.classList.toggle('fj-warned', kind === 'warning');
      field.input.setAttribute('aria-invalid', String(kind === 'error'));
      if (kind === 'error') {
        field.details.open = true;
      }
    }
    return orphans;
  }
}
