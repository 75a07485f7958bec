import type { ILayoutRestorer, JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import type { ArtifactsView } from './artifacts';
import { CommandIDs } from './commands';
import { CompareView, compareId } from './compare';
import type { FusionConnection } from './connection';
import { showTab } from './mainarea';
import { RunDetail } from './rundetail';
import { SweepTab } from './sweeptab';

/** What the tabs take from the runs plugin. */
export interface TabsOptions {
  restorer: ILayoutRestorer | null;
  /** A run's files view (the artifacts tab's, with its open and preview actions). */
  artifacts(runId: string): ArtifactsView;
  /** How many log lines a log view shows at first (a setting). */
  logTailLines(): number;
}

function idArg(args: Record<string, unknown>): string {
  return typeof args.id === 'string' ? args.id : '';
}

function idsArg(args: Record<string, unknown>): string[] {
  const ids = Array.isArray(args.ids) ? args.ids.filter((id): id is string => typeof id === 'string' && !!id) : [];
  return [...new Set(ids)];
}

/**
 * The run, sweep and compare tabs: ``fusion:open-run`` {id}, ``fusion:open-sweep``
 * {id}, ``fusion:compare-runs`` {ids} (2 or more). One tab per run, sweep or set of
 * runs (opening it again shows it); restored with the layout like the log tabs.
 */
export function registerTabs(app: JupyterFrontEnd, conn: FusionConnection, options: TabsOptions): void {
  const runs = new WidgetTracker<MainAreaWidget<RunDetail>>({ namespace: 'fusion-run' });
  const sweeps = new WidgetTracker<MainAreaWidget<SweepTab>>({ namespace: 'fusion-sweep' });
  const compares = new WidgetTracker<MainAreaWidget<CompareView>>({ namespace: 'fusion-compare' });
  if (options.restorer) {
    void options.restorer.restore(runs, { command: CommandIDs.openRun, args: w => ({ id: w.content.runId }), name: w => w.content.runId });
    void options.restorer.restore(sweeps, { command: CommandIDs.openSweep, args: w => ({ id: w.content.sweepId }), name: w => w.content.sweepId });
    void options.restorer.restore(compares, { command: CommandIDs.compareRuns, args: w => ({ ids: w.content.runIds }), name: w => w.content.id });
  }

  const { commands } = app;
  commands.addCommand(CommandIDs.openRun, {
    label: 'Open FUSION Run Details',
    caption: 'Summary, results, blocking curve, log, files and config of a run',
    isEnabled: args => !!idArg(args),
    execute: args => {
      const id = idArg(args);
      if (!id) {
        return;
      }
      return showTab(app, runs, `fusion-run-${id}`, () =>
        new RunDetail(conn, id, {
          artifacts: options.artifacts,
          logTailLines: options.logTailLines(),
          openSweep: sweepId => void commands.execute(CommandIDs.openSweep, { id: sweepId })
        })
      );
    }
  });
  commands.addCommand(CommandIDs.openSweep, {
    label: 'Open FUSION Sweep Curves',
    caption: 'Blocking against load, one curve per grid parameter value, live',
    isEnabled: args => !!idArg(args),
    execute: args => {
      const id = idArg(args);
      if (!id) {
        return;
      }
      return showTab(app, sweeps, `fusion-sweep-${id}`, () => new SweepTab(conn, id));
    }
  });
  commands.addCommand(CommandIDs.compareRuns, {
    label: 'Compare FUSION Runs',
    caption: 'Blocking curves overlaid and config differences of 2 or more runs',
    isEnabled: args => idsArg(args).length >= 2,
    execute: args => {
      const ids = idsArg(args);
      if (ids.length < 2) {
        return;
      }
      return showTab(app, compares, compareId(ids), () => new CompareView(conn, ids));
    }
  });

  // Right-click on a run row: its details.
  const contextId = `${CommandIDs.openRun}:context`;
  commands.addCommand(contextId, {
    label: 'Open Details',
    execute: () => {
      const node = app.contextMenuHitTest(n => n.classList?.contains('jp-FusionRun') ?? false);
      const id = node?.dataset.runId;
      return id ? commands.execute(CommandIDs.openRun, { id }) : undefined;
    }
  });
  app.contextMenu.addItem({ command: contextId, selector: '.jp-FusionRun', rank: -1 });
}
