import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** A link in a Markdown file: where it is, and what it points at as written. */
export interface MarkdownLink {
  file: string;
  line: number;
  target: string;
}

/**
 * The page's text with code blocks and code spans blanked out (same length, newlines kept), so that a link or a
 * heading shown as code is not taken for one and line numbers stay true.
 */
export function withoutCode(markdown: string): string {
  const blank = (text: string) => text.replace(/[^\n]/g, ' ');
  let fence: string | undefined;
  const outside = markdown.split('\n').map((line) => {
    if (fence === undefined) {
      fence = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
      return fence === undefined ? line : blank(line);
    }
    // A fence closes with a run of the same character, at least as long, and nothing else on the line.
    const closing = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(line)?.[1];
    if (closing !== undefined && closing[0] === fence[0] && closing.length >= fence.length) fence = undefined;
    return blank(line);
  });
  // A code span opens and closes with runs of backticks of the same length.
  return outside.join('\n').replace(/(?<!`)(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g, blank);
}

/** Every inline link, image, reference definition and HTML href/src of a page, outside code. */
export function linksIn(file: string, markdown: string): MarkdownLink[] {
  const text = withoutCode(markdown);
  const links: MarkdownLink[] = [];
  const patterns = [
    // [text](target "title") and ![alt](target)
    /\[(?:[^[\]]|\[[^[\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+"[^"]*")?\s*\)/g,
    // [label]: target
    /^ {0,3}\[[^\]]+\]:\s*(\S+)/gm,
    /<(?:a|img)\b[^>]*?\b(?:href|src)="([^"]*)"/g,
  ];
  for (const pattern of patterns) {
    for (const { index, 1: target = '' } of text.matchAll(pattern)) {
      links.push({ file, line: text.slice(0, index).split('\n').length, target: target.replace(/^<|>$/g, '') });
    }
  }
  return links;
}

/** GitHub's anchor for a heading's text: lower case, punctuation and symbols dropped, spaces as hyphens. */
export function headingSlug(heading: string): string {
  const rendered = heading
    .replace(/<[^>]*>/g, '')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*]/g, '');
  return rendered
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors a page offers: one per heading (repeats get -1, -2, … as on GitHub), and every HTML id or name. */
export function anchorsIn(markdown: string): Set<string> {
  const text = withoutCode(markdown);
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of text.matchAll(/^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/gm)) {
    // The heading's code spans were blanked above: take its text from the page as written.
    const start = match.index;
    const written = markdown
      .slice(start, start + match[0].length)
      .replace(/^ {0,3}#{1,6}[ \t]+/, '')
      .replace(/[ \t]+#+[ \t]*$/, '');
    const slug = headingSlug(written);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  for (const { 1: id = '' } of text.matchAll(/<[a-z]+\b[^>]*?\b(?:id|name)="([^"]+)"/g)) anchors.add(id);
  return anchors;
}

/** The Markdown pages whose links are checked: the README, every page under docs/, and every README.md under src/ and test/. */
export function markdownPages(root: string): string[] {
  const pages = [join(root, 'README.md')];
  const walk = (dir: string, keep: (name: string) => boolean) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path, keep);
      else if (keep(entry.name)) pages.push(path);
    }
  };
  walk(join(root, 'docs'), (name) => name.endsWith('.md'));
  walk(join(root, 'src'), (name) => name === 'README.md');
  walk(join(root, 'test'), (name) => name === 'README.md');
  return pages.sort();
}

/** Paths that git ignores (build output, local screenshots): they exist here but not in a fresh clone. */
function ignoredByGit(root: string, paths: readonly string[]): Set<string> {
  if (!paths.length) return new Set();
  try {
    const out = execFileSync('git', ['check-ignore', '--stdin'], {
      cwd: root,
      input: paths.join('\n'),
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    return new Set(out.split('\n').filter(Boolean));
  } catch {
    // Exit code 1: none of them is ignored; 128 or no git at all (not a clone): nothing to say either.
    return new Set();
  }
}

/**
 * What is wrong with the relative links of `pages`, one line each (`file:line: target: why`): a target that is not a
 * file or directory of the repository (or that git ignores), a path out of the repository, or an anchor that is no
 * heading of its page. Links with a scheme (https:, mailto:) are not followed.
 */
export function brokenLinks(root: string, pages: readonly string[]): string[] {
  const problems: string[] = [];
  const anchorCache = new Map<string, Set<string>>();
  const anchorsOf = (path: string) => {
    let anchors = anchorCache.get(path);
    if (!anchors) anchorCache.set(path, (anchors = anchorsIn(readFileSync(path, 'utf8'))));
    return anchors;
  };
  const local: { where: string; target: string; path: string }[] = [];
  for (const page of pages) {
    for (const link of linksIn(page, readFileSync(page, 'utf8'))) {
      const where = `${relative(root, link.file)}:${link.line}`;
      if (/^[a-z][a-z0-9+.-]*:/i.test(link.target) || link.target.startsWith('//')) continue;
      const hash = link.target.indexOf('#');
      const pathPart = hash === -1 ? link.target : link.target.slice(0, hash);
      const anchor = hash === -1 ? undefined : decoded(link.target.slice(hash + 1));
      const pathText = decoded(pathPart);
      if (pathText === undefined || (hash !== -1 && anchor === undefined)) {
        problems.push(`${where}: ${link.target}: not a valid percent-encoded address`);
        continue;
      }
      const path = pathText === '' ? page : pathText.startsWith('/') ? join(root, pathText) : resolve(dirname(page), pathText);
      if (path !== root && !path.startsWith(root + sep)) {
        problems.push(`${where}: ${link.target}: points out of the repository`);
        continue;
      }
      if (!existsSync(path)) {
        problems.push(`${where}: ${link.target}: no such file in the repository`);
        continue;
      }
      local.push({ where, target: link.target, path });
      if (anchor === undefined) continue;
      if (!path.endsWith('.md') || statSync(path).isDirectory()) {
        problems.push(`${where}: ${link.target}: an anchor into a file that is not a Markdown page`);
      } else if (!anchorsOf(path).has(anchor)) {
        problems.push(`${where}: ${link.target}: ${relative(root, path)} has no heading #${anchor}`);
      }
    }
  }
  const ignored = ignoredByGit(
    root,
    local.map(({ path }) => relative(root, path)),
  );
  for (const { where, target, path } of local) {
    if (ignored.has(relative(root, path))) problems.push(`${where}: ${target}: git ignores it, so a fresh clone does not have it`);
  }
  return problems;
}

/** A link's path or anchor as the file system and the headings spell it; undefined when its %-escapes are broken. */
function decoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
