// Dashboard: every run, live; filters, actions, compare (fusion_jupyter/widgets/dashboard.py).
import './lib/style.css';
import { DashboardView } from './lib/dashboardview';
import { defineWidget, probeClient } from './lib/mount';

export default defineWidget({
  create: (connection, model) => new DashboardView(connection, model),
  probe: probeClient
});
