// Dashboard: every run, live; filters, actions, compare (fusion_jupyter/widgets/dashboard.py).
import './parts/style.css';
import { DashboardView } from './parts/dashboardview';
import { defineWidget, probeClient } from './parts/mount';

export default defineWidget({
  create: (connection, model) => new DashboardView(connection, model),
  probe: probeClient
});
