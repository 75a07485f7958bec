// RunProgress: one run, live (fusion_jupyter/widgets/run_progress.py).
import './parts/style.css';
import { defineWidget, probeRun } from './parts/mount';
import { RunProgressView } from './parts/runview';

export default defineWidget({
  create: (connection, model) => new RunProgressView(connection, String(model.get('run_id')), model.get('_run')),
  probe: probeRun,
  rebuildOn: ['run_id']
});
