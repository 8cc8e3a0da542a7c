import type { AgentAdapter } from './adapter.js';
import { claudeAdapter } from './claude.js';
import { codexAdapter } from './codex.js';
import { cursorAdapter } from './cursor.js';
import { geminiAdapter } from './gemini.js';
import { opencodeAdapter } from './opencode.js';
import { piAdapter } from './pi.js';
import { processAdapter } from './process.js';

export type { AgentAdapter, AgentLaunch, LaunchContext, RunReport, StatePath, UsageLimit } from './adapter.js';
export { claudeAdapter } from './claude.js';
export { codexAdapter } from './codex.js';
export { cursorAdapter } from './cursor.js';
export { geminiAdapter } from './gemini.js';
export { opencodeAdapter } from './opencode.js';
export { piAdapter } from './pi.js';
export { processAdapter } from './process.js';

/** Adapter types the payload may name, and the adapter that serves each. Absent means claude. */
const adaptersByType: Record<string, AgentAdapter> = {
  claude_local: claudeAdapter,
  byo_runner: claudeAdapter,
  codex_local: codexAdapter,
  gemini_local: geminiAdapter,
  opencode_local: opencodeAdapter,
  cursor_local: cursorAdapter,
  pi_local: piAdapter,
  process: processAdapter,
};

export const supportedAdapterTypes = Object.keys(adaptersByType);

/** The agent CLIs, one entry each (the `process` adapter runs whatever the job names, so it has no binary). */
export const agentClis: readonly AgentAdapter[] = [...new Set(Object.values(adaptersByType))].filter(
  (adapter) => adapter !== processAdapter,
);

/** The adapter types an adapter serves (claude: claude_local and the legacy byo_runner; absent counts as claude_local). */
export function adapterTypesOf(adapter: AgentAdapter): string[] {
  return Object.keys(adaptersByType).filter((type) => adaptersByType[type] === adapter);
}

export function adapterFor(adapterType: string | undefined): AgentAdapter | undefined {
  return adaptersByType[adapterType ?? 'claude_local'];
}
