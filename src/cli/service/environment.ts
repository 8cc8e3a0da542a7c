/** The environment a service manager gives `start`: the resolved settings as their variables, and this shell's PATH. */
import { delimiter } from 'node:path';
import { AGENT_BIN_SETTINGS, RUNNER_SETTINGS, type RunnerConfig } from '../start/declarations.js';

/** The environment variables that make `start` run with `config`: what a service file bakes in. */
export function configEnvironment(config: RunnerConfig): Record<string, string> {
  const settings = RUNNER_SETTINGS;
  const variables: Record<string, string> = {
    // A token read from a file stays in that file: the service reads it at each start, so replacing the file rotates it.
    ...(config.tokenFile !== undefined ? { [settings.tokenFile.env]: config.tokenFile } : { [settings.token.env]: config.token }),
    [settings.serverUrl.env]: config.serverUrl,
    [settings.timeoutSec.env]: String(config.timeoutSec),
    // Absolute, so that the service spools where `doctor` checked, whatever XDG_STATE_HOME the service manager sets.
    [settings.spoolDir.env]: config.spoolDir,
    [settings.concurrency.env]: String(config.concurrency),
    ...(config.metricsPort !== undefined && { [settings.metricsPort.env]: String(config.metricsPort) }),
    [settings.logLevel.env]: config.logLevel,
    [settings.logFormat.env]: config.logFormat,
    [settings.sandbox.env]: config.sandbox,
    [settings.workDir.env]: config.workDir,
    ...(config.allowDirs.length > 0 && { [settings.allowDirs.env]: config.allowDirs.join(delimiter) }),
    ...(config.expose.length > 0 && { [settings.expose.env]: config.expose.join(delimiter) }),
  };
  for (const [name, setting] of Object.entries(AGENT_BIN_SETTINGS)) {
    const bin = config.agentBins[name];
    if (bin !== undefined && bin !== setting.fallback && setting.env !== undefined) variables[setting.env] = bin;
  }
  if (config.allowProcessJobs) variables[settings.allowProcessJobs.env] = '1';
  return variables;
}

/**
 * The settings of `start`, plus this shell's PATH: a service manager starts with a minimal PATH, where the
 * agent CLIs (often in ~/.local/bin or an nvm folder) and the tools agents call (git, node) are missing.
 */
export function serviceEnvironment(config: RunnerConfig, env: NodeJS.ProcessEnv): Record<string, string> {
  return { ...configEnvironment(config), ...(env.PATH ? { PATH: env.PATH } : {}) };
}
