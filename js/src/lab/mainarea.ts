import type { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget, type WidgetTracker } from '@jupyterlab/apputils';
import type { Widget } from '@lumino/widgets';
import { runsIcon } from './icons';

/**
 * Show a widget in the main area, or where the shell has room for it: Notebook 7's
 * shell keeps one main-area widget a page (the notebook, or the file browser) and
 * silently drops any other, so there it opens in the right side panel.
 */
export function addToMain(app: JupyterFrontEnd, widget: Widget): void {
  app.shell.add(widget, 'main');
  if (!widget.isAttached) {
    app.shell.add(widget, 'right', { rank: 900 });
  }
  app.shell.activateById(widget.id);
}

/**
 * The open tab of ``tracker`` with ``id``, shown; else a new tab of ``make()`` (its
 * content's id ``<id>-body``, its title the content's, kept in step), tracked so
 * that it is restored with the layout.
 */
export function showTab<T extends Widget>(
  app: JupyterFrontEnd,
  tracker: WidgetTracker<MainAreaWidget<T>>,
  id: string,
  make: () => T
): MainAreaWidget<T> {
  const open = tracker.find(w => w.id === id);
  if (open) {
    app.shell.activateById(open.id);
    return open;
  }
  const content = make();
  const widget = new MainAreaWidget({ content });
  widget.id = id;
  content.id = `${id}-body`;
  widget.title.icon = runsIcon;
  const copyTitle = () => {
    widget.title.label = content.title.label;
    widget.title.caption = content.title.caption;
  };
  content.title.changed.connect(copyTitle);
  copyTitle();
  void tracker.add(widget);
  addToMain(app, widget);
  return widget;
}
