// LogViewer: a run's log, live and searchable (fusion_jupyter/widgets/log_viewer.py).
import './parts/style.css';
import { LogView } from './parts/logview';
import { defineWidget, probeRun } from './parts/mount';

export default defineWidget({
  create: (connection, model) =>
    new LogView(connection, String(model.get('run_id')), { tailLines: Number(model.get('tail_lines') ?? 1000), initial: model.get('_run') }),
  probe: probeRun,
  rebuildOn: ['run_id']
});
