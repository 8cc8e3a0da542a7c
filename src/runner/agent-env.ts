/** Variables the agent must never see: the runner's own secrets, and where the token is kept. */
const RUNNER_SECRETS = ['FOUNDEROS_RUNNER_TOKEN', 'FOUNDEROS_RUNNER_TOKEN_FILE', 'FOUNDEROS_ADMIN_KEY'];
/** Set when the runner was started from inside a Claude Code session; a child claude then refuses to start. */
const CLAUDE_NESTING_GUARDS = ['CLAUDECODE', 'CLAUDE_CODE_ENTRYPOINT', 'CLAUDE_CODE_SESSION', 'CLAUDE_CODE_PARENT_SESSION'];

/**
 * The agent's environment: the runner's, without the runner's secrets (under any variable name: a
 * value equal to the token is dropped too) and without the variables that stop a nested claude, plus
 * FOUNDEROS_JOB_ID so that the job's processes can be recognised.
 */
export function agentEnvironment(base: NodeJS.ProcessEnv, token: string, jobId: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(base)) {
    if (value === undefined || (token && value.includes(token))) continue;
    if (RUNNER_SECRETS.includes(name) || CLAUDE_NESTING_GUARDS.includes(name)) continue;
    env[name] = value;
  }
  env.FOUNDEROS_JOB_ID = jobId;
  return env;
}
