/**
 * The part of anywidget's front-end API these widgets use (anywidget >= 0.9), typed
 * here rather than through another npm dependency.
 */

export type Handler = (...args: any[]) => void;

/** A widget model: synced traits, custom messages to and from the kernel. */
export interface AnyModel {
  get(name: string): any;
  set(name: string, value: unknown): void;
  save_changes(): void;
  on(event: string, handler: Handler): void;
  off(event?: string | null, handler?: Handler | null): void;
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[] | ArrayBufferView[]): void;
}

export interface InitializeProps {
  model: AnyModel;
}

export interface RenderProps {
  model: AnyModel;
  el: HTMLElement;
}

export type Cleanup = () => void;

export interface WidgetModule {
  initialize?(props: InitializeProps): Cleanup | void | Promise<Cleanup | void>;
  render(props: RenderProps): Cleanup | void | Promise<Cleanup | void>;
}
