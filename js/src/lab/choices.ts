import type { SimulatorChoices } from '../common/api';
import { h } from './dom';

/** ``section.key`` -> the values simulator ``name`` runs (from ``GET simulators``). */
export function choicesFor(report: SimulatorChoices | null, name: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const choice of report?.choices[name] ?? []) {
    out.set(`${choice.section}.${choice.key}`, choice.values);
  }
  return out;
}

/**
 * Make ``select`` offer ``values`` with ``current`` chosen. A current value the
 * simulator does not run stays selectable, marked, so the form shows what the template
 * says and the validation says why it cannot run.
 */
export function fillChoice(select: HTMLSelectElement, values: readonly string[], current: string, simulatorLabel: string): void {
  const options = values.map(v => h('option', { text: v, attrs: { value: v } }));
  if (current && !values.includes(current)) {
    options.unshift(h('option', { text: `${current} (not run by the ${simulatorLabel})`, attrs: { value: current } }));
  }
  select.replaceChildren(...options);
  select.value = current || values[0] || '';
}

/** A select standing in for ``input``: same name, data and label, in its place. */
export function selectInPlaceOf(input: HTMLElement, className: string): HTMLSelectElement {
  const select = h('select', { class: className });
  select.id = input.id;
  select.name = (input as HTMLInputElement).name;
  Object.assign(select.dataset, input.dataset);
  for (const attr of ['aria-label', 'title']) {
    const value = input.getAttribute(attr);
    if (value !== null) {
      select.setAttribute(attr, value);
    }
  }
  input.replaceWith(select);
  return select;
}
