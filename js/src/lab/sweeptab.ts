import { Widget } from '@lumino/widgets';
import { SweepView } from '../widgets/parts/sweepview';
import type { FusionConnection } from './connection';

/** A sweep's curves in a main-area tab: the notebook's SweepView, on the panel's connection. */
export class SweepTab extends Widget {
  readonly view: SweepView;

  constructor(conn: FusionConnection, readonly sweepId: string) {
    super();
    this.id = `fusion-sweep-${sweepId}`;
    this.addClass('jp-FusionSweepTab');
    this.addClass('fj-root');
    this.title.closable = true;
    this.title.label = `Sweep ${sweepId}`;
    this.view = new SweepView(conn.api, conn.stream, sweepId);
    this.node.append(this.view.node);
    void conn.api
      .getSweep(sweepId)
      .then(({ sweep }) => {
        const name = sweep.name || sweep.template || sweepId;
        this.title.label = `Sweep: ${name}`;
        this.title.caption = `FUSION sweep ${sweepId}: ${Object.keys(sweep.grid).join(', ')}`;
        this.view.setTitle(`Sweep ${name}`);
      })
      .catch(() => undefined);
  }

  dispose(): void {
    this.view.dispose();
    super.dispose();
  }
}
