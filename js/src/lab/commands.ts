import { Dialog, showDialog } from '@jupyterlab/apputils';

/** Command ids (palette, context menu, panel buttons). */
export const CommandIDs = {
  openPanel: 'fusion:open-runs-panel',
  newRun: 'fusion:new-run',
  refresh: 'fusion:refresh-runs',
  cancel: 'fusion:cancel-run',
  delete: 'fusion:delete-run',
  rerun: 'fusion:rerun',
  openLog: 'fusion:open-log',
  openArtifacts: 'fusion:open-artifacts',
  insertCode: 'fusion:insert-code',
  openArtifact: 'fusion:open-artifact',
  // Tabs (registered by the tabs' plugin): args { id } for a run or a sweep, { ids } to compare.
  openRun: 'fusion:open-run',
  openSweep: 'fusion:open-sweep',
  compareRuns: 'fusion:compare-runs',
  // Whole-sweep actions (the panel's sweep rows): args { id } of the sweep.
  cancelSweep: 'fusion:cancel-sweep',
  rerunFailedSweep: 'fusion:rerun-failed-sweep',
  deleteSweep: 'fusion:delete-sweep'
} as const;

export const PALETTE_CATEGORY = 'FUSION';

/** How deleting is set up (the extension's settings). */
export interface DeleteSettings {
  confirmDelete: boolean;
  purgeOnDelete: boolean;
}

/**
 * Whether a delete command also removes files (``args.purge``, else the setting) once
 * the user agreed, unless the settings or ``args.confirm === false`` skip the question;
 * null when the user refused.
 */
export async function confirmDeletion(
  settings: DeleteSettings,
  args: Record<string, unknown>,
  title: string,
  body: (purge: boolean) => string
): Promise<{ purge: boolean } | null> {
  const purge = typeof args.purge === 'boolean' ? args.purge : settings.purgeOnDelete;
  if (settings.confirmDelete && args.confirm !== false) {
    const answer = await showDialog({
      title,
      body: body(purge),
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
    });
    if (!answer.button.accept) {
      return null;
    }
  }
  return { purge };
}
