import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Step } from './manager.js';

/** Runs a service manager's command (systemctl, launchctl); injectable so that tests run nothing. */
export type RunServiceCommand = (argv: readonly [command: string, ...args: string[]]) => Promise<{ code: number; output: string }>;

// ---- Carrying out the steps, or printing them ----

export function printSteps(steps: readonly Step[], say: (text: string) => void): boolean {
  for (const step of steps) {
    switch (step.kind) {
      case 'write':
        say(`would write ${step.path} (mode ${modeText(step.mode)}):\n${step.content.replace(/^/gm, '    ').trimEnd()}`);
        break;
      case 'remove':
        say(`would remove ${step.path}`);
        break;
      case 'run':
        say(`would run: ${step.argv.join(' ')}`);
        break;
      case 'print':
        say(`  ${step.line}`);
        break;
      case 'show':
        say(`would show ${step.label}: ${step.path}`);
        break;
      case 'note':
        say(`note: ${step.text}`);
        break;
    }
  }
  return true;
}

export async function performSteps(steps: readonly Step[], run: RunServiceCommand, say: (text: string) => void): Promise<boolean> {
  for (const step of steps) {
    switch (step.kind) {
      case 'write':
        writePrivately(step.path, step.content, step.mode);
        say(`wrote ${step.path} (mode ${modeText(step.mode)})`);
        break;
      case 'remove':
        if (existsSync(step.path)) {
          rmSync(step.path);
          say(`removed ${step.path}`);
        }
        break;
      case 'run': {
        const { code, output } = await run(step.argv);
        say(`ran: ${step.argv.join(' ')} (exit ${code})${output.trim() ? `\n${output.trimEnd().replace(/^/gm, '    ')}` : ''}`);
        if (code !== 0 && !step.mayFail) {
          say(
            `failed: ${step.argv.join(' ')} exited ${code}; the files are in place, so fix the cause above and run that command yourself`,
          );
          return false;
        }
        break;
      }
      case 'print':
        say(`  ${step.line}`);
        break;
      case 'show':
        say(`${step.label}: ${describeFile(step.path)}`);
        break;
      case 'note':
        say(`note: ${step.text}`);
        break;
    }
  }
  return true;
}

/**
 * Writes through a new temporary file created with `mode`, then renames it into place: an existing file
 * that was readable by others never holds the token, not even for a moment.
 */
function writePrivately(path: string, content: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, content, { mode, flag: 'wx' });
  chmodSync(temporary, mode); // the umask may have narrowed it; make it exactly what was planned
  renameSync(temporary, path);
}

function describeFile(path: string): string {
  if (!existsSync(path)) return `${path} (not installed)`;
  return `${path} (mode ${modeText(statSync(path).mode & 0o777)})`;
}

function modeText(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

export const execServiceCommand: RunServiceCommand = ([command, ...args]) =>
  new Promise((resolve) => {
    execFile(command, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 127) : 0;
      resolve({ code, output: `${stdout}${stderr}${error && typeof error.code !== 'number' ? `${error.message}\n` : ''}` });
    });
  });
