// A realistic agent transcript, as claude's stream-json prints it and the runner classifies it: thinking, text,
// a Bash tool call whose 200 lines of coloured test output end in a failure, a file read and an edit, the tests
// again (passing), and the result. `npm run screenshots` and the dashboard's browser tests play it over the
// runner protocol, so the pictures and the tests show what a person watching a real agent sees.

const GREEN = (s) => `\u001b[32m${s}\u001b[39m`;
const RED = (s) => `\u001b[31m${s}\u001b[39m`;
const DIM = (s) => `\u001b[2m${s}\u001b[22m`;
const BOLD = (s) => `\u001b[1m${s}\u001b[22m`;
const FILES = ['parser', 'lexer', 'printer', 'config', 'cache', 'cli'];

/** 200 lines of vitest output in colour; with `failing`, one test fails and the summary says so. */
export function testOutput(failing) {
  const lines = [` ${DIM('RUN')} v4.1.12 /work/app`, ''];
  for (let i = 0; lines.length < 192; i++) {
    const file = FILES[i % FILES.length];
    const failed = failing && i === 37;
    const mark = failed ? RED('×') : GREEN('✓');
    lines.push(` ${mark} test/${file}.spec.ts ${DIM('>')} ${file} case ${i + 1} ${DIM(`${(i * 7) % 23}ms`)}`);
  }
  lines.push('');
  if (failing)
    lines.push(
      `${RED(BOLD(' FAIL '))} test/parser.spec.ts > keeps the trailing newline`,
      `${RED('AssertionError')}: expected 'a\\nb' to be 'a\\nb\\n'`,
    );
  else lines.push(GREEN(' All tests passed.'), '');
  lines.push(
    ` ${DIM('Test Files')}  ${failing ? `${BOLD(RED('1 failed'))} | ` : ''}${BOLD(GREEN(failing ? '5 passed' : '6 passed'))} (6)`,
    `      ${DIM('Tests')}  ${failing ? `${BOLD(RED('1 failed'))} | ` : ''}${BOLD(GREEN(failing ? '189 passed' : '190 passed'))} (190)`,
    `   ${DIM('Duration')}  2.98s`,
  );
  return lines.join('\n');
}

const PARSER_SOURCE = Array.from({ length: 40 }, (_, i) =>
  i === 17
    ? '  return lines.join("\\n");'
    : i % 9 === 0
      ? `// ${FILES[i % FILES.length]}: part ${i}`
      : `  const step${i} = next(tokens, ${i});`,
).join('\n');

const assistant = (content) => ({ type: 'assistant', message: { role: 'assistant', content } });
const toolUse = (id, name, input) => ['claude_tool_use', assistant([{ type: 'tool_use', id, name, input }])];
const toolResult = (id, content, isError = false) => [
  'claude_tool_result',
  { type: 'user', message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content, is_error: isError }] } },
];

/**
 * The transcript's events as [kind, payload, msAfterTheStart]. `until` cuts it short (a job still running); the
 * last step then has no result yet.
 */
export function sampleTranscript({ session, until = Number.POSITIVE_INFINITY }) {
  const steps = [
    [0, ['claude_message', { type: 'system', subtype: 'init', cwd: '/work/app', model: 'claude-sonnet', session_id: session }]],
    [
      900,
      [
        'claude_message',
        assistant([
          {
            type: 'thinking',
            thinking: 'The bug report says the parser drops the trailing newline. Run the tests first to see what fails.',
          },
        ]),
      ],
    ],
    [1_400, ['claude_message', assistant([{ type: 'text', text: 'I will run the test suite first, then look at the parser.' }])]],
    [2_100, toolUse('toolu_01', 'Bash', { command: 'npm test', description: 'Run the tests' })],
    [5_100, toolResult('toolu_01', testOutput(true), true)],
    [6_000, ['claude_message', assistant([{ type: 'text', text: 'One test fails: `keeps the trailing newline`. Reading the parser.' }])]],
    [6_500, toolUse('toolu_02', 'Read', { file_path: '/work/app/src/parser.ts' })],
    [6_580, toolResult('toolu_02', PARSER_SOURCE)],
    [
      8_200,
      toolUse('toolu_03', 'Edit', {
        file_path: '/work/app/src/parser.ts',
        old_string: 'lines.join("\\n")',
        new_string: 'lines.join("\\n") + "\\n"',
      }),
    ],
    [8_260, toolResult('toolu_03', 'The file /work/app/src/parser.ts has been updated.')],
    [8_900, toolUse('toolu_04', 'Bash', { command: 'npm test', description: 'Run the tests again' })],
    [11_950, toolResult('toolu_04', testOutput(false))],
    [
      12_600,
      ['claude_message', assistant([{ type: 'text', text: 'Fixed: the parser keeps the trailing newline, and all 190 tests pass.' }])],
    ],
    [
      12_700,
      [
        'claude_result',
        {
          type: 'result',
          subtype: 'success',
          is_error: false,
          result: 'Fixed: the parser keeps the trailing newline, and all 190 tests pass.',
          total_cost_usd: 0.0912,
          session_id: session,
        },
      ],
    ],
  ];
  return steps.filter(([at]) => at <= until).map(([at, [kind, payload]]) => [kind, payload, at]);
}
