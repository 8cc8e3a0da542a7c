/**
 * The dependency direction of src/ (docs/architecture.md, "The layout"): protocol and operators at the bottom, streams
 * and agents above, the runner above them, cli and bin on top; the reference control plane beside the runner,
 * on protocol alone. `npm run lint` fails on an import that points the wrong way.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'resolvable',
      comment: 'An import the cruiser cannot resolve would pass every rule below unseen; tsc would refuse it too.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'operators-import-nothing',
      comment: 'src/operators is a public, pure API: it imports rxjs, node built-ins and itself, nothing of the project.',
      severity: 'error',
      from: { path: '^src/operators/' },
      to: { path: '^src/', pathNot: '^src/operators/' },
    },
    {
      name: 'operators-only-rxjs',
      comment: 'Of the packages, src/operators uses rxjs alone: a user of `@founderos/runner/operators` gets nothing else.',
      severity: 'error',
      from: { path: '^src/operators/' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'], pathNot: '^node_modules/rxjs/' },
    },
    {
      name: 'protocol-imports-nothing-above',
      comment: 'src/protocol is the wire, shared by runner and control plane: it imports valibot and itself only.',
      severity: 'error',
      from: { path: '^src/protocol/' },
      to: { path: '^src/', pathNot: '^src/protocol/' },
    },
    {
      name: 'protocol-only-valibot',
      comment: 'Of the packages, src/protocol uses valibot alone.',
      severity: 'error',
      from: { path: '^src/protocol/' },
      to: {
        dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'],
        pathNot: '^node_modules/valibot/',
      },
    },
    {
      name: 'control-plane-not-on-runner',
      comment:
        'The reference control plane stands beside the runner: it shares the protocol (and operators), never the runner, its streams, agents or cli.',
      severity: 'error',
      from: { path: '^src/control-plane/' },
      to: { path: '^src/(runner|cli|streams|agents|bin|demo)/' },
    },
    {
      name: 'runner-not-on-cli',
      comment: 'src/runner is the daemon; the commands that start it sit above it.',
      severity: 'error',
      from: { path: '^src/runner/' },
      to: { path: '^src/(cli|bin)/' },
    },
    {
      name: 'cli-only-from-bin',
      comment: 'Commands are the top layer: only the CLI entry (src/bin) and the commands themselves import them.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(bin|cli)/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'streams-agents-not-on-runner',
      comment: 'The edges (streams) and the agent adapters sit below the runner and the commands.',
      severity: 'error',
      from: { path: '^src/(streams|agents)/' },
      to: { path: '^src/(runner|cli|bin|control-plane)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
