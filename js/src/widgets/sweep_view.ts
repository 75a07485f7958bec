// SweepView: a sweep's curves by grid parameter, live (fusion_jupyter/widgets/sweep_view.py).
import './parts/style.css';
import type { AnyModel } from './parts/anywidget';
import { defineWidget } from './parts/mount';
import type { FusionApi } from '../common/api';
import type { SweepCurves } from '../common/curves';
import { SweepView, type PushedCurves } from './parts/sweepview';
import { transportNote } from './parts/ui';

/** The curves the kernel pushes into ``_curves`` (relay: the page cannot ask a busy kernel). */
function pushedCurves(model: AnyModel): PushedCurves {
  return {
    get: () => {
      const value = model.get('_curves') as SweepCurves | null;
      return value && value.sweep_id ? value : null;
    },
    connect: callback => {
      model.on('change:_curves', callback);
      return () => model.off('change:_curves', callback);
    }
  };
}

export default defineWidget({
  create: (connection, model) => {
    const relayed = connection.kind === 'relay';
    const view = new SweepView(connection.api, connection.stream, String(model.get('sweep_id')), {
      by: (model.get('by') as string[] | null) ?? null,
      logY: !!model.get('log_y'),
      title: String(model.get('title') || ''),
      pushed: relayed ? pushedCurves(model) : undefined,
      onChange: ({ by, logY }) => {
        model.set('by', by);
        model.set('log_y', logY);
        model.save_changes();
      }
    });
    view.node.append(transportNote(connection.kind, connection.reason));
    return view;
  },
  probe: (api: FusionApi, model: AnyModel) => api.request('GET', `sweeps/${encodeURIComponent(String(model.get('sweep_id')))}`),
  rebuildOn: ['sweep_id']
});
