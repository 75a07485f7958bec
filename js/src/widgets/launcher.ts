// Launcher: template form with inline validation; submit shows the run (fusion_jupyter/widgets/launcher.py).
import './parts/style.css';
import { LauncherView } from './parts/launcherview';
import { defineWidget, probeClient } from './parts/mount';

export default defineWidget({
  create: (connection, model) => new LauncherView(connection, model),
  probe: probeClient
});
