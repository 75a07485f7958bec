// ArtifactTable: a run's files, preview, load into pandas (fusion_jupyter/widgets/artifact_table.py).
import './lib/style.css';
import { ArtifactView } from './lib/artifactview';
import { defineWidget, probeRun } from './lib/mount';

export default defineWidget({
  create: (connection, model, channel) => new ArtifactView(connection, channel, String(model.get('run_id'))),
  probe: probeRun,
  rebuildOn: ['run_id']
});
