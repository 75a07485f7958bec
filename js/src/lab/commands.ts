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
