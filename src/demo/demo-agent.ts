#!/usr/bin/env node
/**
 * The demo agent: a stand-in for `claude --print --output-format stream-json --verbose` that needs no
 * account. It reads the prompt on stdin and prints what Claude Code prints in that mode: an init event
 * with a session id, assistant text, a tool use that it really runs (it lists the working directory),
 * the tool's result, and a final result with cost and usage.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';

const VERSION = '1.0.0 (FounderOS demo agent)';
const STEP_MS = Number(process.env.FOUNDEROS_DEMO_AGENT_STEP_MS ?? 250);

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--version')) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  const flagValue = (flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const sessionId = flagValue('--resume') ?? randomUUID();
  const model = flagValue('--model') ?? 'demo-model';
  const prompt = (await readStdin()).trim();
  const started = Date.now();
  const print = async (event: Record<string, unknown>) => {
    process.stdout.write(`${JSON.stringify({ ...event, session_id: sessionId })}\n`);
    await new Promise((resolve) => setTimeout(resolve, STEP_MS));
  };
  const assistant = (content: unknown[]) => ({ type: 'assistant', message: { role: 'assistant', model, content } });

  await print({ type: 'system', subtype: 'init', cwd: process.cwd(), tools: ['Bash', 'Read'], model, claude_code_version: VERSION });
  await print(assistant([{ type: 'text', text: `You asked: "${prompt.slice(0, 120)}". Let me look at the working directory first.` }]));
  const toolUseId = `toolu_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
  await print(assistant([{ type: 'tool_use', id: toolUseId, name: 'Bash', input: { command: 'ls', description: 'List files' } }]));
  const listing = readdirSync(process.cwd()).slice(0, 20).join('\n');
  await print({
    type: 'user',
    message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUseId, content: listing, is_error: false }] },
  });
  const answer =
    `Done: the working directory holds ${listing ? listing.split('\n').length : 0} entries. ` +
    'This was the demo agent; run with --agent claude for the real one.';
  await print(assistant([{ type: 'text', text: answer }]));
  await print({
    type: 'result',
    subtype: 'success',
    is_error: false,
    duration_ms: Date.now() - started,
    num_turns: 2,
    result: answer,
    total_cost_usd: 0.0042,
    usage: { input_tokens: 1234, cache_read_input_tokens: 0, output_tokens: 87 },
  });
}

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => (text += chunk));
    process.stdin.on('end', () => resolve(text));
    process.stdin.on('error', reject);
  });
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`demo agent failed: ${String(error)}\n`);
  process.exit(1);
});
