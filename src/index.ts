/**
 * @founderos/runner as a library: the daemon and its parts, the agent adapters and the wire types. The pure
 * operators are also published on their own as `@founderos/runner/operators`; the reference control plane only
 * as `@founderos/runner/control-plane`, so that the runner's entry does not load a server and its database.
 */
export * from './operators/index.js';
export * from './protocol/types.js';
export { adapterFor, agentClis, supportedAdapterTypes, type AgentAdapter, type AgentLaunch, type RunReport } from './agents/index.js';
export { meaningOf, retryAfterMs, type AnswerMeaning } from './protocol/answers.js';
export { ApiError, TokenRejectedError, MalformedAnswerError, RedirectRefusedError, AnswerTimeoutError } from './streams/http/errors.js';
export { createRunnerApi, type RunnerApi, type RunnerApiOptions } from './streams/http/runner-api.js';
export { ServerHealth } from './streams/http/server-health.js';
export { ANSWER_LIMITS } from './streams/http/transport.js';
export { spawnProcess, type ProcessOutput, type ProcessSpec } from './streams/process.js';
export { runDaemon, ForcedExitError, type DaemonDeps } from './runner/daemon.js';
export { runJob, type JobResult, type JobRunnerDeps } from './runner/run-job.js';
