// LogViewer: a run's log, live and searchable (fusion_jupyter/widgets/log_viewer.py).
import './lib/style.css';
import { LogView } from './lib/logview';
import { defineWidget, probeRun } from './lib/mount';

export default defineWidget({
  create: (connection, model) =>
    new LogView(connection, String(model.get('run_id')), { tailLines: Number(model.get('tail_lines') ?? 1000) }),
  probe: probeRun,
  rebuildOn: ['run_id']
});
