/**
 * The shapes of the FUSION REST API and WebSocket stream (``{base_url}fusion/api/``),
 * as the server sends them: names for the types generated from the contract
 * (fusion_jupyter/server/openapi.json and stream.schema.json; see
 * scripts/generate-types.mjs), so that a change on either side fails the type check.
 * Framework-free: shared by the JupyterLab panel and the anywidget front-ends.
 */

import type { components, operations } from './generated/openapi';
import type { components as streamComponents } from './generated/stream';
import { ACTIVE_STATUSES, STATUSES, type RunStatus } from './generated/statuses';

// Statuses, their order and progress are generated from openapi.json (the contract).
export { ACTIVE_STATUSES, STATUS_RANK, TERMINAL_STATUSES, type RunStatus } from './generated/statuses';
export const RUN_STATUSES: readonly RunStatus[] = STATUSES;

type schemas = components['schemas'];
type stream = streamComponents['schemas'];

/** Whether a run can still change (and so is worth a progress subscription). */
export function isActive(status: RunStatus | string): boolean {
  return ACTIVE_STATUSES.has(status as RunStatus);
}

/** A run's progress cache (in Run) or its folded progress (run_progress messages). */
export type RunProgress = schemas['Progress'];

/** The fields a compact listing row carries (``GET runs?view=compact``). */
type CompactColumn = schemas['CompactRunPage']['columns'][number];

/**
 * A run: every field of the contract's Run, or only the compact columns (and its
 * progress) when it came from a compact listing.
 */
export type Run = Pick<schemas['Run'], Extract<CompactColumn, keyof schemas['Run']> | 'progress'> &
  Partial<schemas['Run']>;

/** One line of progress.jsonl with the seq the server gave it (DESIGN §3). */
export type ProgressEvent = schemas['ProgressEvent'];

export type ProgressMessage = stream['ProgressMessage'];
export type LogMessage = stream['LogMessage'];
/** A run changed status; the last one of a deleted run has ``run.deleted``. */
export type StatusMessage = stream['StatusMessage'];
/** A run's progress as the engine folded it (percent, Erlang i of n, iteration, ETA). */
export type RunProgressMessage = stream['RunProgressMessage'];
export type LaggedMessage = stream['LaggedMessage'];
export type ErrorMessage = stream['ErrorMessage'];
export type StreamMessage = stream['ServerMessage'];

export type Channel = NonNullable<stream['SubscribeOperation']['channels']>[number];

export type TemplateSummary = schemas['TemplateList']['templates'][number];
export type TemplateDetail = schemas['Template'];
export type TemplateKey = TemplateDetail['sections'][string][string];

/** ``{section: {key: value}}``, the form a run keeps its overrides in. */
export type Overrides = schemas['Run']['overrides'];

export type Problem = schemas['Problem'];
export type ValidationResult = schemas['ValidationResult'];

/** The built-in simulator or the real FUSION. */
export type Simulator = schemas['Run']['simulator'];

/** What runs a config: the built-in simulator or the real FUSION (GET health/ready). */
export type SimulatorsReport = schemas['Ready']['simulators'];

/** POST runs: a template name, or else ``config``, a whole INI text (a researcher's own file). */
export type CreateRunRequest = schemas['RunCreate'];

type RunsQuery = NonNullable<operations['listRuns']['parameters']['query']>;

/** The filters of GET runs; a status or several. */
export type RunFilter = Pick<RunsQuery, 'tag' | 'name' | 'template' | 'sweep'> & {
  status?: RunStatus | RunStatus[];
};

/** A page of GET runs (its runs compact ones when asked for). */
export type RunPage = Omit<schemas['RunPage'], 'runs'> & { runs: Run[] };
export type ProgressPage = schemas['ProgressPage'];
export type LogChunk = schemas['LogChunk'];
export type Artifact = schemas['ArtifactList']['artifacts'][number];
export type ResultsTable = schemas['Results'];
export type ApiErrorBody = schemas['Error'];
