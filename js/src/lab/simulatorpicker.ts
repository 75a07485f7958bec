import type { Simulator, SimulatorsReport } from '../common/types';
import { h, setText } from './dom';

const LABELS: Record<Simulator, string> = { builtin: 'built-in simulator', fusion: 'FUSION' };

/**
 * Which simulator will run the config: the server's default first, FUSION offered
 * only when it is installed (otherwise shown disabled, with the setting to change).
 */
export class SimulatorPicker {
  readonly node: HTMLElement;
  readonly select: HTMLSelectElement;
  private readonly note: HTMLElement;
  private report: SimulatorsReport | null = null;

  constructor(onChange: () => void, classPrefix: string) {
    this.select = h('select', { class: `${classPrefix}-simulator`, attrs: { 'aria-label': 'Simulator' } });
    this.note = h('span', { class: `${classPrefix}-simulator-note` });
    this.node = h('span', { class: `${classPrefix}-simulator-picker` }, this.select, this.note);
    this.select.addEventListener('change', () => onChange());
    this.show(null);
  }

  /** Fill the choices from GET health/ready's ``simulators`` (null: unknown, built-in only). */
  show(report: SimulatorsReport | null): void {
    this.report = report;
    const fallback = report?.default ?? 'builtin';
    const names = Object.keys(LABELS) as Simulator[];
    this.select.replaceChildren(
      ...names.map(name => {
        const available = name === 'builtin' || !!report?.fusion.available;
        const suffix = name === fallback ? ' (default)' : available ? '' : ' (not installed)';
        const option = h('option', { text: `${LABELS[name]}${suffix}`, attrs: { value: name } });
        option.disabled = !available;
        return option;
      })
    );
    this.select.value = fallback;
    const fusion = report?.fusion;
    setText(this.note, fusion && !fusion.available ? `FUSION: ${fusion.problem ?? 'not installed'} (${fusion.setting})` : '');
  }

  /** The chosen simulator, or undefined to leave it to the server's default. */
  get value(): Simulator | undefined {
    return this.report && this.select.value !== this.report.default ? (this.select.value as Simulator) : undefined;
  }

  /** The simulator that will run the config, as a label for summaries. */
  get label(): string {
    return LABELS[this.select.value as Simulator] ?? this.select.value;
  }
}
