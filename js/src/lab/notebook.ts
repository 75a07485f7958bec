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
  // A notebook created just now is still laying out its first cell: editing its cells
  // before it is revealed made JupyterLab's idle-time renderer read a cell that was gone
  // ("Cannot read properties of null (reading 'id')").
  await panel.revealed;
  const notebook = panel.content;
  const model = notebook.model;
  if (!model) {
    throw new Error('the notebook has no model');
  }
  const [first, ...rest] = runCodeCells(runId).map(source => ({ cell_type: 'code', source, metadata: {} }));
  const active = notebook.activeCell;
  // A lone empty cell (a new notebook) takes the first cell's code rather than staying
  // above it; no cell is deleted under the renderer.
  const reuseEmpty = model.cells.length === 1 && active !== null && active.model.type === 'code' && active.model.sharedModel.getSource() === '';
  const index = reuseEmpty ? 0 : Math.max(0, notebook.activeCellIndex + 1);
  model.sharedModel.transact(() => {
    if (reuseEmpty && active) {
      active.model.sharedModel.setSource(first.source);
      model.sharedModel.insertCells(1, rest);
    } else {
      model.sharedModel.insertCells(index, [first, ...rest]);
    }
  });
  notebook.activeCellIndex = index;
  notebook.mode = 'command';
  app.shell.activateById(panel.id);
  return panel;
}
