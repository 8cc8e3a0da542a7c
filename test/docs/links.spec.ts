import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeTempDir } from '../support/temp-dir.js';
import { anchorsIn, brokenLinks, headingSlug, linksIn, markdownPages } from './markdown-links.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/[\\/]$/, '');

describe("the documentation's links", () => {
  const pages = markdownPages(ROOT);

  it('should find the README, every docs page and the folders’ READMEs, and links in them', () => {
    const names = pages.map((page) => page.slice(ROOT.length + 1));
    expect(names).toContain('README.md');
    expect(names).toContain('docs/architecture.md');
    expect(names).toContain('src/runner/README.md');
    const readmeLinks = linksIn('README.md', readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(readmeLinks.filter(({ target }) => target.startsWith('docs/')).length).toBeGreaterThan(10);
  });

  it('should resolve every relative link and anchor to a file and heading of the repository', () => {
    expect(brokenLinks(ROOT, pages)).toEqual([]);
  });

  it('should link every docs page from the README', () => {
    const readme = linksIn('README.md', readFileSync(join(ROOT, 'README.md'), 'utf8')).map(({ target }) => target.split('#')[0]);
    const docs = readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md'));
    expect(docs.filter((name) => !readme.includes(`docs/${name}`))).toEqual([]);
  });
});

describe('brokenLinks', () => {
  const tempDir = describeTempDir('founderos-links-');

  /** A small repository: a README with the links under test, a docs page, and one file git would ignore. */
  function repo(readme: string): { root: string; pages: string[] } {
    const root = tempDir();
    mkdirSync(join(root, 'docs'), { recursive: true });
    writeFileSync(join(root, 'docs', 'page.md'), '# The page\n\n## Step one: `claim` it\n\n## Again\n\n## Again\n');
    writeFileSync(join(root, 'README.md'), readme);
    return { root, pages: [join(root, 'README.md'), join(root, 'docs', 'page.md')] };
  }

  it('should accept links to files, directories, headings and repeated headings', () => {
    const { root, pages } = repo(
      '# Title\n\n[page](docs/page.md) [step](docs/page.md#step-one-claim-it) [again](docs/page.md#again-1) ' +
        '[docs](docs) [top](#title) [site](https://example.com/missing) ![shot](./docs/page.md)\n',
    );
    expect(brokenLinks(root, pages)).toEqual([]);
  });

  it('should report a missing file, a missing heading, a path out of the repository and a broken escape, with file and line', () => {
    const { root, pages } = repo(
      '# Title\n\n[gone](docs/moved.md)\n[anchor](docs/page.md#step-two) [self](#nothing-here)\n[out](../elsewhere.md)\n' +
        '[escape](docs/%E0%A4%A.md) [anchor escape](#%ZZ)\n',
    );
    expect(brokenLinks(root, pages)).toEqual([
      'README.md:3: docs/moved.md: no such file in the repository',
      'README.md:4: docs/page.md#step-two: docs/page.md has no heading #step-two',
      'README.md:4: #nothing-here: README.md has no heading #nothing-here',
      'README.md:5: ../elsewhere.md: points out of the repository',
      'README.md:6: docs/%E0%A4%A.md: not a valid percent-encoded address',
      'README.md:6: #%ZZ: not a valid percent-encoded address',
    ]);
  });

  it('should report a link to a file that git ignores, which a fresh clone lacks', () => {
    const { root, pages } = repo('# Title\n\n![shot](docs/local.png)\n');
    writeFileSync(join(root, 'docs', 'local.png'), '');
    writeFileSync(join(root, '.gitignore'), 'docs/*.png\n');
    execFileSync('git', ['init', '--quiet'], { cwd: root });
    expect(brokenLinks(root, pages)).toEqual(['README.md:3: docs/local.png: git ignores it, so a fresh clone does not have it']);
  });

  it('should not take links shown as code for links', () => {
    const { root, pages } = repo('# Title\n\n`[a](missing.md)`\n\n```md\n[b](missing.md)\n```\n\n[c](missing.md)\n');
    expect(brokenLinks(root, pages)).toEqual(['README.md:9: missing.md: no such file in the repository']);
  });
});

describe('headingSlug and anchorsIn', () => {
  it.each([
    ['Nothing lost, nothing stuck', 'nothing-lost-nothing-stuck'],
    ['`GET /api/runner/jobs/next` — long-poll for work', 'get-apirunnerjobsnext--long-poll-for-work'],
    ['`claude_local` and [links](x.md)', 'claude_local-and-links'],
    ['Part 1 — the fixed protocol', 'part-1--the-fixed-protocol'],
  ])('%s → #%s', (heading, slug) => {
    expect(headingSlug(heading)).toBe(slug);
  });

  it('should not take a heading inside a code block for one', () => {
    expect([...anchorsIn('# One\n\n```\n# Two\n```\n')]).toEqual(['one']);
  });
});
