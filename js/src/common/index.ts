/**
 * The front-end data layer shared by the JupyterLab runs panel (src/lab/) and the
 * anywidget front-ends (src/widgets/): REST client over an injectable fetch,
 * WebSocket stream client (batching, dedupe, reconnect + resume), run store.
 * Nothing here imports JupyterLab or Lumino.
 */
export * from './api';
export * from './emitter';
export * from './format';
export * from './progress';
export * from './store';
export * from './stream';
export * from './types';
