import type { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { aggregateSweep } from '../common/sweeps';
import { CommandIDs } from './commands';
import type { FusionConnection } from './connection';
import type { RunsPanel } from './panel';

/** The whole-sweep commands of the sweep rows: cancel, rerun the failed runs, delete. */
export function registerSweepCommands(
  app: JupyterFrontEnd,
  conn: FusionConnection,
  panel: RunsPanel,
  settings: { confirmDelete: boolean; purgeOnDelete: boolean }
): void {
  const { api, store } = conn;
  const sweepOf = (args: Record<string, unknown>): string | null =>
    typeof args.id === 'string' && args.id ? args.id : panel.selectedSweepId;
  const name = (id: string) => store.sweep(id)?.name || `sweep ${id}`;
  const fail = (title: string, err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    panel.notify(`${title}: ${message}`, true);
    void showErrorMessage(title, message);
  };
  const { commands } = app;

  commands.addCommand(CommandIDs.cancelSweep, {
    label: 'Cancel FUSION Sweep',
    caption: 'Cancel every active run of the sweep',
    isEnabled: args => {
      const id = sweepOf(args);
      const agg = id ? aggregateSweep(store.sweepRuns(id)) : null;
      return !!agg && agg.running + agg.pending > 0;
    },
    execute: async args => {
      const id = sweepOf(args);
      if (!id) {
        return;
      }
      try {
        const answer = await api.cancelSweep(id);
        answer.runs.forEach(run => store.upsert(run));
        panel.notify(`Cancelling the active runs of ${name(id)}.`);
      } catch (err) {
        fail('Cannot cancel the sweep', err);
      }
    }
  });

  commands.addCommand(CommandIDs.rerunFailedSweep, {
    label: 'Rerun Failed Runs of FUSION Sweep',
    caption: 'A new run for each failed point of the sweep, in the sweep',
    isEnabled: args => {
      const id = sweepOf(args);
      return !!id && aggregateSweep(store.sweepRuns(id)).failed > 0;
    },
    execute: async args => {
      const id = sweepOf(args);
      if (!id) {
        return;
      }
      try {
        const answer = await api.rerunFailedSweep(id);
        answer.runs.forEach(run => store.upsert(run));
        panel.notify(`Rerunning ${answer.created.length} failed run${answer.created.length === 1 ? '' : 's'} of ${name(id)}.`);
      } catch (err) {
        fail('Cannot rerun the failed runs', err);
      }
    }
  });

  commands.addCommand(CommandIDs.deleteSweep, {
    label: 'Delete FUSION Sweep',
    caption: 'Forget the sweep and all its runs (none may be active)',
    isEnabled: args => {
      const id = sweepOf(args);
      const agg = id ? aggregateSweep(store.sweepRuns(id)) : null;
      return !!agg && agg.running + agg.pending === 0;
    },
    execute: async args => {
      const id = sweepOf(args);
      if (!id) {
        return;
      }
      const purge = typeof args.purge === 'boolean' ? args.purge : settings.purgeOnDelete;
      if (settings.confirmDelete && args.confirm !== false) {
        const runs = store.sweepRuns(id).length;
        const answer = await showDialog({
          title: 'Delete sweep',
          body: `Delete ${name(id)} and its ${runs} run${runs === 1 ? '' : 's'}${purge ? ' with their files' : ' (their files are kept)'}?`,
          buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
        });
        if (!answer.button.accept) {
          return;
        }
      }
      const deleted = name(id);
      try {
        await api.deleteSweep(id, { purge });
        store.removeSweep(id);
        panel.notify(`Deleted ${deleted}.`);
      } catch (err) {
        fail('Cannot delete the sweep', err);
      }
    }
  });
}
