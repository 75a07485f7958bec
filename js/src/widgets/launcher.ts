// Launcher: template form with inline validation; submit shows the run (fusion_jupyter/widgets/launcher.py).
import './lib/style.css';
import { LauncherView } from './lib/launcherview';
import { defineWidget, probeClient } from './lib/mount';

export default defineWidget({
  create: (connection, model) => new LauncherView(connection, model),
  probe: probeClient
});
