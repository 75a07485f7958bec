import type { FusionApi } from '../../common/api';
import type { AnyModel, WidgetModule } from './anywidget';
import type { KernelChannel } from './channel';
import { disposeModelContext, modelContext, type Connection } from './connection';
import { errorText, h } from './ui';

export interface View {
  readonly node: HTMLElement;
  dispose(): void;
}

export interface WidgetSpec {
  /** Build the view once the connection is known (``channel``: the kernel end, for commands). */
  create(connection: Connection, model: AnyModel, channel: KernelChannel): View;
  /** Check that a direct connection can serve this model (else the relay is used). */
  probe(api: FusionApi, model: AnyModel): Promise<unknown>;
  /** Traits whose change rebuilds the view (e.g. run_id). */
  rebuildOn?: string[];
}

/** A run's widget: the page's server must know the run to serve it directly. */
export const probeRun = (api: FusionApi, model: AnyModel): Promise<unknown> => api.getRun(String(model.get('run_id')));

/** A client's widget: any authenticated call will do. */
export const probeClient = (api: FusionApi): Promise<unknown> => api.listTemplates();

/**
 * The anywidget module of a widget: ``initialize`` decides the transport once per
 * model (so every view of it shares one connection), ``render`` builds a view.
 */
export function defineWidget(spec: WidgetSpec): WidgetModule {
  const contextOf = (model: AnyModel) => modelContext(model, api => spec.probe(api, model));
  return {
    initialize({ model }) {
      void contextOf(model)
        .connection()
        .catch(() => undefined);
      return () => disposeModelContext(model);
    },
    render({ model, el }) {
      el.classList.add('fj-root');
      let view: View | null = null;
      let closed = false;
      let generation = 0;
      const mount = async (): Promise<void> => {
        const mine = ++generation;
        view?.dispose();
        view = null;
        el.replaceChildren(h('div', { class: 'fj-widget fj-loading', text: 'connecting…' }));
        const context = contextOf(model);
        let connection: Connection;
        try {
          connection = await context.connection();
        } catch (err) {
          if (!closed && mine === generation) {
            el.replaceChildren(h('div', { class: 'fj-widget fj-notice', text: `cannot connect: ${errorText(err)}`, attrs: { 'data-kind': 'error' } }));
          }
          return;
        }
        if (closed || mine !== generation) {
          return;
        }
        view = spec.create(connection, model, context.channel);
        el.replaceChildren(view.node);
      };
      const rebuild = () => void mount();
      for (const name of spec.rebuildOn ?? []) {
        model.on(`change:${name}`, rebuild);
      }
      void mount();
      return () => {
        closed = true;
        for (const name of spec.rebuildOn ?? []) {
          model.off(`change:${name}`, rebuild);
        }
        view?.dispose();
        view = null;
      };
    }
  };
}
