/**
 * The shapes of the FUSION REST API and WebSocket stream (``{base_url}fusion/api/``),
 * as the server sends them. Framework-free: shared by the JupyterLab panel and the
 * anywidget front-ends.
 */

import type { components } from './generated/openapi';
import type { components as streamComponents } from './generated/stream';
import { ACTIVE_STATUSES, STATUSES, type RunStatus } from './generated/statuses';

// Statuses, their order and progress are generated from openapi.json (the contract).
export { ACTIVE_STATUSES, STATUS_RANK, TERMINAL_STATUSES, type RunStatus } from './generated/statuses';
export const RUN_STATUSES: readonly RunStatus[] = STATUSES;

// The stream messages of stream.schema.json.
type stream = streamComponents['schemas'];

/** Whether a run can still change (and so is worth a progress subscription). */
export function isActive(status: RunStatus | string): boolean {
  return ACTIVE_STATUSES.has(status as RunStatus);
}

/** A run's progress cache (in Run) or its folded progress (run_progress messages). */
export type RunProgress = components['schemas']['Progress'];

export interface Run {
  id: string;
  name: string;
  template: string;
  status: RunStatus;
  executor: string;
  tags: string[];
  sweep_id: string | null;
  rerun_of?: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  exit_code: number | null;
  error: string | null;
  cancel_requested?: boolean;
  pid?: number | null;
  host?: string | null;
  job_id?: string | null;
  run_dir?: string | null;
  progress: RunProgress;
  overrides?: Record<string, Record<string, unknown>>;
  /** Set on the last status message of a deleted run. */
  deleted?: boolean;
}

/** One line of progress.jsonl with the seq the server gave it (DESIGN §3). */
export interface ProgressEvent {
  type: string;
  seq: number;
  ts?: string;
  [key: string]: unknown;
}

export interface ProgressMessage {
  type: 'progress';
  run_id: string;
  seq: number;
  event: ProgressEvent;
}

export type LogMessage = stream['LogMessage'];

export interface StatusMessage {
  type: 'status';
  run_id: string;
  run: Run;
}

/** A run's progress as the engine folded it (percent, Erlang i of n, iteration, ETA). */
export type RunProgressMessage = stream['RunProgressMessage'];
export type LaggedMessage = stream['LaggedMessage'];

export interface ErrorMessage {
  type: 'error';
  run_id?: string;
  error?: ApiErrorBody['error'];
  message?: string;
}

export type StreamMessage =
  | ProgressMessage
  | LogMessage
  | StatusMessage
  | RunProgressMessage
  | LaggedMessage
  | ErrorMessage;

export type Channel = 'progress' | 'logs';

export interface TemplateSummary {
  name: string;
  description: string;
}

export interface TemplateKey {
  value: string;
  type: string;
  description: string;
  required: boolean;
}

export interface TemplateDetail extends TemplateSummary {
  text: string;
  sections: Record<string, Record<string, TemplateKey>>;
}

/** ``{section: {key: value}}`` */
export type Overrides = Record<string, Record<string, unknown>>;

export interface Problem {
  section: string;
  key: string;
  message: string;
}

export interface ValidationResult {
  valid: boolean;
  errors: Problem[];
  warnings: (Problem | string)[];
}

/** What runs a config: the built-in simulator or the real FUSION (GET health/ready). */
export interface SimulatorsReport {
  default: string;
  available: string[];
  fusion: { available: boolean; command: string; root: string | null; problem: string | null; setting: string };
}

export interface CreateRunRequest {
  /** A template name, or else ``config``: a whole INI text (a researcher's own file). */
  template?: string;
  config?: string;
  simulator?: string;
  overrides?: Overrides;
  name?: string;
  tags?: string[];
  executor?: string;
}

export interface RunFilter {
  status?: RunStatus | RunStatus[];
  tag?: string;
  name?: string;
  template?: string;
  sweep?: string;
}

export interface RunPage {
  runs: Run[];
  next_cursor: string | null;
}

export interface ProgressPage {
  events: ProgressEvent[];
  last_seq: number;
}

export interface LogChunk {
  offset: number;
  next_offset: number;
  size: number;
  data: string;
}

export interface Artifact {
  path: string;
  size: number;
  modified: string | number;
  kind: string;
}

export interface ResultsTable {
  columns: string[];
  rows: Record<string, unknown>[];
}

export interface ApiErrorBody {
  error: { code: string; message: string; details?: unknown };
}
