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
  openArtifact: 'fusion:open-artifact'
} as const;

export const PALETTE_CATEGORY = 'FUSION';
