/**
 * @founderos/runner as a library: the daemon and its parts, the reference control plane, the agent
 * adapters and the wire types. The pure operators are also published on their own as
 * `@founderos/runner/operators`.
 */
export * from './operators/index.js';
export * from './protocol/types.js';
export { adapterFor, agentClis, supportedAdapterTypes, type AgentAdapter, type AgentLaunch, type RunReport } from './agents/index.js';
export { createRunnerApi, ApiError, TokenRejectedError, MalformedAnswerError, RedirectRefusedError, ANSWER_LIMITS, type RunnerApi } from './streams/http.js';
export { spawnProcess, type ProcessOutput, type ProcessSpec } from './streams/process.js';
export { runDaemon, ForcedExitError, type DaemonDeps } from './runner/daemon.js';
export { runJob, type JobResult, type JobRunnerDeps } from './runner/run-job.js';
export { startControlPlane, AdminClient, type ControlPlane, type ControlPlaneOptions, type AdminApi } from './control-plane/index.js';
