import { displayName, formatDuration, parseTime, runElapsed } from '../../common/format';
import { isActive } from '../../common/types';
import { BlockingChart } from './chart';
import type { Connection } from './connection';
import { RunFeed, type RunRecord } from './runfeed';
import { Bar, button, errorText, h, Notice, setText, transportNote } from './ui';

/** Where a run executes: executor, process or Slurm job, node, why it waits. */
export function executorText(run: RunRecord): string {
  const parts = [run.executor || 'local'];
  if (run.job_id) {
    parts.push(`job ${run.job_id}`);
  } else if (run.pid) {
    parts.push(`pid ${run.pid}${run.host ? ` on ${run.host}` : ''}`);
  }
  if (run.node) {
    parts.push(`node ${run.node}`);
  }
  if (run.pending_reason && isActive(run.status)) {
    parts.push(`waiting: ${run.pending_reason}`);
  }
  return parts.join(' · ');
}

/**
 * RunProgress: one run, live. Overall bar and the current load's iteration bar,
 * status colour, elapsed time and ETA, the blocking curve as loads finish, a cancel
 * button, and the error when it failed.
 */
export class RunProgressView {
  readonly node: HTMLElement;
  private readonly feed: RunFeed;
  private readonly nameEl = h('span', { class: 'fj-run-name' });
  private readonly idEl = h('code', { class: 'fj-run-id' });
  private readonly statusEl = h('span', { class: 'fj-status' });
  private readonly execEl = h('div', { class: 'fj-run-exec' });
  private readonly overall = new Bar('overall progress', 'fj-bar-overall');
  private readonly pctEl = h('span', { class: 'fj-pct' });
  private readonly erlangBar = new Bar('iterations of the current load', 'fj-bar-small');
  private readonly erlangLabel = h('span', { class: 'fj-bar-label' });
  private readonly iterEl = h('span', { class: 'fj-pct' });
  private readonly timesEl = h('div', { class: 'fj-run-times' });
  private readonly errorEl = h('pre', { class: 'fj-run-error' });
  private readonly cancelButton = button('Cancel', 'cancel', 'Cancel this run', 'fj-danger');
  private readonly notice = new Notice();
  private readonly chart = new BlockingChart();
  private readonly stop: () => void;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(connection: Connection, runId: string, initial?: RunRecord | null) {
    this.feed = RunFeed.retain(connection, runId, initial);
    this.node = h(
      'div',
      { class: 'fj-widget fj-run', attrs: { 'data-run-id': runId } },
      h('div', { class: 'fj-run-head' }, this.nameEl, this.idEl, this.statusEl, h('span', { class: 'fj-spacer' }), this.cancelButton),
      this.execEl,
      h('div', { class: 'fj-bar-row' }, h('span', { class: 'fj-bar-label', text: 'Overall' }), this.overall.node, this.pctEl),
      h('div', { class: 'fj-bar-row fj-bar-row-erlang' }, this.erlangLabel, this.erlangBar.node, this.iterEl),
      this.timesEl,
      this.errorEl,
      this.notice.node,
      this.chart.node,
      transportNote(connection.kind, connection.reason)
    );
    setText(this.idEl, runId);
    this.notice.clear();
    this.cancelButton.addEventListener('click', () => void this.cancel());
    this.stop = this.feed.changed.connect(() => this.draw());
    this.timer = setInterval(() => this.drawTimes(), 1000);
    this.draw();
  }

  dispose(): void {
    clearInterval(this.timer);
    this.stop();
    this.feed.release();
    this.node.remove();
  }

  private async cancel(): Promise<void> {
    this.cancelButton.disabled = true;
    try {
      this.feed.setRun(await this.feed.connection.api.cancelRun(this.feed.runId));
      this.notice.clear();
    } catch (err) {
      this.notice.show(`cannot cancel: ${errorText(err)}`);
      this.cancelButton.disabled = false;
    }
  }

  private draw(): void {
    const { run, progress } = this.feed;
    if (this.feed.error) {
      this.notice.show(this.feed.error);
    }
    if (!run) {
      setText(this.statusEl, this.feed.error ? 'unknown' : 'loading…');
      return;
    }
    this.node.dataset.status = run.status;
    setText(this.nameEl, displayName(run) === run.id ? 'run' : displayName(run));
    setText(this.statusEl, run.cancel_requested && isActive(run.status) ? 'CANCELLING' : run.status);
    setText(this.execEl, executorText(run));
    const percent = this.feed.percent;
    this.overall.set(percent);
    setText(this.pctEl, `${Math.floor(percent)} %`);
    const iterations = progress.iteration_count ?? 0;
    const iteration = run.status === 'COMPLETED' ? iterations : progress.iteration ?? 0;
    this.erlangBar.set(iterations ? (100 * iteration) / iterations : 0);
    const erlangText =
      progress.erlang !== null
        ? `Erlang ${progress.erlang}${progress.erlang_count ? ` (${(progress.erlang_index ?? 0) + 1}/${progress.erlang_count})` : ''}`
        : 'Erlang –';
    setText(this.erlangLabel, erlangText);
    setText(this.iterEl, iterations ? `it ${iteration}/${iterations}` : '');
    const failed = run.status === 'FAILED' || (run.status === 'CANCELLED' && !!run.error);
    this.errorEl.hidden = !failed || !run.error;
    setText(this.errorEl, failed ? run.error ?? '' : '');
    this.cancelButton.disabled = !isActive(run.status) || !!run.cancel_requested;
    this.cancelButton.hidden = !isActive(run.status);
    const points = this.feed.curve.points();
    const pending = isActive(run.status) ? this.feed.curve.pending() : null;
    this.chart.node.hidden = !points.length && !pending && !isActive(run.status);
    this.chart.update([{ id: run.id, label: displayName(run), points, pending }]);
    this.drawTimes();
  }

  private drawTimes(): void {
    const run = this.feed.run;
    if (!run) {
      return;
    }
    const elapsed = runElapsed(run);
    const parts: string[] = [];
    if (elapsed === null) {
      const created = parseTime(run.created_at);
      parts.push(created ? `queued ${formatDuration((Date.now() - created) / 1000)}` : 'not started');
    } else {
      parts.push(`${isActive(run.status) ? 'elapsed' : 'took'} ${formatDuration(elapsed)}`);
    }
    const eta = this.feed.etaSeconds;
    if (eta !== null) {
      parts.push(`ETA ${formatDuration(eta)}`);
    }
    setText(this.timesEl, parts.join(' · '));
  }
}
