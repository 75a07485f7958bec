// ArtifactTable: a run's files, preview, load into pandas (fusion_jupyter/widgets/artifact_table.py).
import './parts/style.css';
import { ArtifactView } from './parts/artifactview';
import { defineWidget, probeRun } from './parts/mount';

export default defineWidget({
  create: (connection, model, channel) => new ArtifactView(connection, channel, String(model.get('run_id')), model.get('_run')),
  probe: probeRun,
  rebuildOn: ['run_id']
});
