import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { runCodeCells } from '../common/format';

/**
 * Put two code cells after the active cell of the current notebook (a new notebook
 * when none is open): one that gets the run through the Python API, one that shows
 * its results table. Returns the notebook panel.
 */
export async function insertRunCode(app: JupyterFrontEnd, tracker: INotebookTracker, runId: string): Promise<NotebookPanel> {
  let panel = tracker.currentWidget;
  if (!panel) {
    panel = (await app.commands.execute('notebook:create-new', { kernelName: 'python3' })) as NotebookPanel;
  }
  await panel.context.ready;
  const notebook = panel.content;
  const model = notebook.model;
  if (!model) {
    throw new Error('the notebook has no model');
  }
  const cells = runCodeCells(runId).map(source => ({ cell_type: 'code', source, metadata: {} }));
  const active = notebook.activeCell;
  // A lone empty cell (a new notebook) is replaced rather than left above the code.
  const replaceEmpty = model.cells.length === 1 && active !== null && active.model.sharedModel.getSource() === '';
  const index = replaceEmpty ? 0 : Math.max(0, notebook.activeCellIndex + 1);
  model.sharedModel.transact(() => {
    if (replaceEmpty) {
      model.sharedModel.deleteCell(0);
    }
    model.sharedModel.insertCells(index, cells);
  });
  notebook.activeCellIndex = index;
  notebook.mode = 'command';
  app.shell.activateById(panel.id);
  return panel;
}
