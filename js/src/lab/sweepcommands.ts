import type { JupyterFrontEnd } from '@jupyterlab/application';
import { showErrorMessage } from '@jupyterlab/apputils';
import { aggregateSweep } from '../common/sweeps';
import { CommandIDs, confirmDeletion, type DeleteSettings } from './commands';
import type { FusionConnection } from './connection';
import type { RunsPanel } from './panel';

/** The whole-sweep commands of the sweep rows: cancel, rerun the failed runs, delete. */
export function registerSweepCommands(
  app: JupyterFrontEnd,
  conn: FusionConnection,
  panel: RunsPanel,
  settings: DeleteSettings
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
  /** A command on the sweep of ``args.id`` (else the selected one), enabled while ``when``
   * holds for its runs' counts. */
  const addSweepCommand = (
    command: string,
    options: {
      label: string;
      caption: string;
      when: (agg: ReturnType<typeof aggregateSweep>) => boolean;
      failure: string;
      act: (id: string, args: Record<string, unknown>) => Promise<void>;
    }
  ) =>
    commands.addCommand(command, {
      label: options.label,
      caption: options.caption,
      isEnabled: args => {
        const id = sweepOf(args);
        return !!id && options.when(aggregateSweep(store.sweepRuns(id)));
      },
      execute: async args => {
        const id = sweepOf(args);
        if (!id) {
          return;
        }
        try {
          await options.act(id, args);
        } catch (err) {
          fail(options.failure, err);
        }
      }
    });

  addSweepCommand(CommandIDs.cancelSweep, {
    label: 'Cancel FUSION Sweep',
    caption: 'Cancel every active run of the sweep',
    when: agg => agg.running + agg.pending > 0,
    failure: 'Cannot cancel the sweep',
    act: async id => {
      const answer = await api.cancelSweep(id);
      answer.runs.forEach(run => store.upsert(run));
      panel.notify(`Cancelling the active runs of ${name(id)}.`);
    }
  });

  addSweepCommand(CommandIDs.rerunFailedSweep, {
    label: 'Rerun Failed Runs of FUSION Sweep',
    caption: 'A new run for each failed point of the sweep, in the sweep',
    when: agg => agg.failed > 0,
    failure: 'Cannot rerun the failed runs',
    act: async id => {
      const answer = await api.rerunFailedSweep(id);
      answer.runs.forEach(run => store.upsert(run));
      panel.notify(`Rerunning ${answer.created.length} failed run${answer.created.length === 1 ? '' : 's'} of ${name(id)}.`);
    }
  });

  addSweepCommand(CommandIDs.deleteSweep, {
    label: 'Delete FUSION Sweep',
    caption: 'Forget the sweep and all its runs (none may be active)',
    when: agg => agg.running + agg.pending === 0,
    failure: 'Cannot delete the sweep',
    act: async (id, args) => {
      const runs = store.sweepRuns(id).length;
      const agreed = await confirmDeletion(settings, args, 'Delete sweep', purge =>
        `Delete ${name(id)} and its ${runs} run${runs === 1 ? '' : 's'}${purge ? ' with their files' : ' (their files are kept)'}?`
      );
      if (agreed) {
        const deleted = name(id);
        await api.deleteSweep(id, agreed);
        store.removeSweep(id);
        panel.notify(`Deleted ${deleted}.`);
      }
    }
  });
}
