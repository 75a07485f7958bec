// RunProgress: one run, live (fusion_jupyter/widgets/run_progress.py).
import './lib/style.css';
import { defineWidget, probeRun } from './lib/mount';
import { RunProgressView } from './lib/runview';

export default defineWidget({
  create: (connection, model) => new RunProgressView(connection, String(model.get('run_id'))),
  probe: probeRun,
  rebuildOn: ['run_id']
});
