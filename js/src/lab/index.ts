import {
  ILayoutRestorer,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, Notification, showErrorMessage, WidgetTracker } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ArtifactPreview, ArtifactsView, previewId } from './artifacts';
import { CommandIDs, confirmDeletion, PALETTE_CATEGORY } from './commands';
import { createConnection, type FusionConnection } from './connection';
import { runsIcon } from './icons';
import { LogView } from './logview';
import { NewRunForm } from './newrun';
import { insertRunCode } from './notebook';
import { RunsPanel } from './panel';
import { addToMain, showTab } from './mainarea';
import { registerSweepCommands } from './sweepcommands';
import { registerTabs } from './tabs';
import { displayName } from '../common/format';
import { isActive, type Artifact } from '../common/types';

const PLUGIN_ID = 'fusion-jupyter:plugin';

export interface PanelSettings {
  maxFinishedRuns: number;
  confirmDelete: boolean;
  purgeOnDelete: boolean;
  logTailLines: number;
}

const DEFAULTS: PanelSettings = { maxFinishedRuns: 1000, confirmDelete: true, purgeOnDelete: false, logTailLines: 5000 };

/** The runs panel, its main-area tabs and commands. */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'FUSION runs: a live sidebar panel, logs, artifacts, a new-run form and notebook code.',
  autoStart: true,
  optional: [ILayoutRestorer, ICommandPalette, ISettingRegistry, INotebookTracker, IDocumentManager],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    notebooks: INotebookTracker | null,
    docManager: IDocumentManager | null
  ) => {
    const settings: PanelSettings = { ...DEFAULTS };
    const conn: FusionConnection = createConnection(app.serviceManager.serverSettings, { maxFinished: settings.maxFinishedRuns });
    const { api, store, stream } = conn;
    const panel = new RunsPanel(conn, app.commands, settings.maxFinishedRuns);
    app.shell.add(panel, 'left', { rank: 850 });
    restorer?.add(panel, 'fusion-runs-panel');

    // Connect now: status for every run flows at once; the listing follows.
    stream.connect();
    performance.mark('fusion:load-start');
    const firstLoad = store
      .load()
      .then(() => performance.mark('fusion:loaded'))
      .catch(err => console.warn('fusion: cannot list runs', err));
    window.addEventListener('online', () => stream.reconnectNow());

    const logs = new WidgetTracker<MainAreaWidget<LogView>>({ namespace: 'fusion-log' });
    const artifactTabs = new WidgetTracker<MainAreaWidget<ArtifactsView>>({ namespace: 'fusion-artifacts' });
    const forms = new WidgetTracker<MainAreaWidget<NewRunForm>>({ namespace: 'fusion-new-run' });
    if (restorer) {
      void restorer.restore(logs, { command: CommandIDs.openLog, args: w => ({ id: w.content.runId }), name: w => w.content.runId });
      void restorer.restore(artifactTabs, {
        command: CommandIDs.openArtifacts,
        args: w => ({ id: w.content.runId }),
        name: w => w.content.runId
      });
      void restorer.restore(forms, { command: CommandIDs.newRun, name: () => 'new-run' });
    }

    const runIdOf = (args: Record<string, unknown>): string | null => {
      const id = typeof args.id === 'string' && args.id ? args.id : panel.selectedId;
      return id ?? null;
    };
    const label = (id: string) => {
      const run = store.get(id);
      return run ? `“${displayName(run)}”` : id;
    };
    const fail = (title: string) => (err: unknown) => {
      void showErrorMessage(title, err instanceof Error ? err.message : String(err));
    };
    /** The label of a run command: ``named`` and the run's name when it has a run. */
    const runLabel = (named: string, unnamed = named) => (args: Record<string, unknown>) =>
      args.id || panel.selectedId ? `${named} ${label(runIdOf(args) ?? '')}` : unnamed;
    /** A run command's action on the run of ``args.id`` (else the selected one). */
    const onRun = (failure: string, act: (id: string, args: Record<string, unknown>) => Promise<void>) =>
      async (args: Record<string, unknown>) => {
        const id = runIdOf(args);
        if (!id) {
          return;
        }
        try {
          await act(id, args);
        } catch (err) {
          fail(failure)(err);
        }
      };

    const { commands } = app;
    commands.addCommand(CommandIDs.openPanel, {
      label: 'Open FUSION Runs Panel',
      caption: 'Show every FUSION run, live',
      icon: runsIcon,
      execute: () => app.shell.activateById(panel.id)
    });
    commands.addCommand(CommandIDs.refresh, {
      label: 'Reload FUSION Runs',
      execute: () => store.load().catch(() => undefined)
    });
    commands.addCommand(CommandIDs.newRun, {
      label: 'New FUSION Run…',
      caption: 'Start a FUSION simulation run from a template',
      icon: runsIcon,
      execute: () => {
        return showTab(app, forms, 'fusion-new-run', () => {
          return new NewRunForm(
            conn,
            run => {
              panel.select(run.id);
              app.shell.activateById(panel.id);
            },
            sweepId => {
              panel.toggleSweep(sweepId, true);
              app.shell.activateById(panel.id);
            }
          );
        });
      }
    });
    commands.addCommand(CommandIDs.cancel, {
      label: runLabel('Cancel FUSION Run'),
      caption: 'Stop the run (its process group is terminated)',
      isEnabled: args => {
        const id = runIdOf(args);
        const run = id ? store.get(id) : undefined;
        return !!run && isActive(run.status);
      },
      execute: onRun('Cannot cancel the run', async id => {
        store.upsert(await api.cancelRun(id));
      })
    });
    commands.addCommand(CommandIDs.delete, {
      label: runLabel('Delete FUSION Run'),
      caption: 'Forget a finished run (and remove its files if the setting says so)',
      isEnabled: args => {
        const id = runIdOf(args);
        const run = id ? store.get(id) : undefined;
        return !!run && !isActive(run.status);
      },
      execute: onRun('Cannot delete the run', async (id, args) => {
        const agreed = await confirmDeletion(settings, args, 'Delete run', purge =>
          `Delete run ${label(id)}${purge ? ' and its files' : ' (its files are kept)'}?`
        );
        if (agreed) {
          await api.deleteRun(id, agreed);
          store.remove(id);
        }
      })
    });
    commands.addCommand(CommandIDs.rerun, {
      label: runLabel('Rerun FUSION Run'),
      caption: 'A new run with the same frozen configuration',
      isEnabled: args => !!runIdOf(args),
      execute: onRun('Cannot rerun', async id => {
        const run = await api.rerunRun(id);
        store.upsert(run);
        panel.select(run.id);
      })
    });
    commands.addCommand(CommandIDs.openLog, {
      label: runLabel('Open Log of FUSION Run', 'Open FUSION Run Log'),
      isEnabled: args => !!runIdOf(args),
      execute: args => {
        const id = runIdOf(args);
        if (!id) {
          return;
        }
        return showTab(app, logs, `fusion-log-${id}`, () => new LogView(conn, id, settings.logTailLines));
      }
    });
    const openPreview = (runId: string, artifact: Artifact) => {
      const id = previewId(runId, artifact.path);
      if (['main', 'right'].some(area => Array.from(app.shell.widgets(area as 'main')).some(w => w.id === id))) {
        app.shell.activateById(id);
        return;
      }
      const content = new ArtifactPreview(conn, runId, artifact);
      const widget = new MainAreaWidget({ content });
      widget.id = content.id;
      content.id = `${content.id}-body`;
      widget.title.label = content.title.label;
      widget.title.caption = content.title.caption;
      addToMain(app, widget);
    };
    commands.addCommand(CommandIDs.openArtifacts, {
      label: runLabel('Open Artifacts of FUSION Run', 'Open FUSION Run Artifacts'),
      isEnabled: args => !!runIdOf(args),
      execute: args => {
        const id = runIdOf(args);
        if (!id) {
          return;
        }
        const tabId = `fusion-artifacts-${id}`;
        void artifactTabs.find(w => w.id === tabId)?.content.reload(); // an open tab shows what is new
        return showTab(app, artifactTabs, tabId, () => new ArtifactsView(conn, id, docManager, openPreview));
      }
    });
    registerTabs(app, conn, {
      restorer,
      artifacts: id => new ArtifactsView(conn, id, docManager, openPreview),
      logTailLines: () => settings.logTailLines
    });
    commands.addCommand(CommandIDs.insertCode, {
      label: args => (args.id || panel.selectedId ? `Insert Code for FUSION Run ${label(runIdOf(args) ?? '')}` : 'Insert FUSION Run Code'),
      caption: 'Cells that load the run and its results table with the Python API',
      isEnabled: args => !!runIdOf(args) && !!notebooks,
      execute: async args => {
        const id = runIdOf(args);
        if (!id || !notebooks) {
          return;
        }
        try {
          const notebook = await insertRunCode(app, notebooks, id);
          // Feedback where the notebook may be another tab or off screen; Notebook 7
          // shows no notifications, so the panel says it too.
          const done = `Inserted code for run ${label(id)} into ${notebook.title.label}`;
          Notification.success(done, { autoClose: 4000 });
          panel.notify(done);
        } catch (err) {
          fail('Cannot insert code')(err);
        }
      }
    });
    registerSweepCommands(app, conn, panel, settings);

    if (palette) {
      for (const command of [
        CommandIDs.openPanel,
        CommandIDs.newRun,
        CommandIDs.refresh,
        CommandIDs.cancel,
        CommandIDs.delete,
        CommandIDs.rerun,
        CommandIDs.openLog,
        CommandIDs.openArtifacts,
        CommandIDs.insertCode,
        CommandIDs.cancelSweep,
        CommandIDs.rerunFailedSweep,
        CommandIDs.deleteSweep
      ]) {
        palette.addItem({ command, category: PALETTE_CATEGORY });
      }
    }

    // Right-click on a run row: the same actions for that run.
    const rowArgs = () => {
      const node = app.contextMenuHitTest(n => n.classList?.contains('jp-FusionRun') ?? false);
      return { id: node?.dataset.runId ?? '' };
    };
    const contextCommands = [CommandIDs.openLog, CommandIDs.openArtifacts, CommandIDs.insertCode, CommandIDs.rerun, CommandIDs.cancel, CommandIDs.delete];
    contextCommands.forEach((command, i) => {
      const ctxId = `${command}:context`;
      commands.addCommand(ctxId, {
        label: () => String(commands.label(command, rowArgs())).replace(/ FUSION Run.*$/, '').replace(/ of$| for$/, ''),
        isEnabled: () => commands.isEnabled(command, rowArgs()),
        execute: () => commands.execute(command, rowArgs())
      });
      app.contextMenu.addItem({ command: ctxId, selector: '.jp-FusionRun', rank: i });
    });

    if (settingRegistry) {
      void Promise.all([settingRegistry.load(PLUGIN_ID), app.restored])
        .then(([loaded]) => {
          const apply = () => {
            settings.maxFinishedRuns = loaded.get('maxFinishedRuns').composite as number;
            settings.confirmDelete = loaded.get('confirmDelete').composite as boolean;
            settings.purgeOnDelete = loaded.get('purgeOnDelete').composite as boolean;
            settings.logTailLines = loaded.get('logTailLines').composite as number;
            void firstLoad.then(() => panel.setMaxFinished(settings.maxFinishedRuns));
          };
          apply();
          loaded.changed.connect(apply);
        })
        .catch(err => console.warn('fusion: cannot load settings', err));
    }
  }
};

export default plugin;
