/**
 * Runner tokens in the database: issued, rotated, listed and revoked by the admin API, and judged on every runner
 * request. Only a token's sha256 and its 8-character preview are stored (see ../tokens.ts for the secrets themselves).
 */
import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../db.js';
import { generateRunnerToken, hashesEqual, isRunnerTokenFormat, type PresentedSecret, sha256Hex, tokenPreview } from '../tokens.js';
import type { CreatedToken, ListTokensFilter, RotatedToken, RotateTokenInput, TokenInfo } from '../types.js';
import { iso, returnedRow, toTokenInfo, type TokenRow } from './rows.js';
import { AuthCache } from './auth-cache.js';
import { TouchThrottle } from './touch-throttle.js';

/** The runner a valid token identifies. */
export interface RunnerIdentity {
  tokenId: string;
  companyId: string;
  preview: string;
  /** When the token expires (ISO-8601): a poll still waiting then is answered `runner_token_expired`. */
  expiresAt: string;
  /** The same instant on this process's clock (ms since the epoch), measured against the database's clock. */
  validUntil: number;
}

/** What a presented token is worth: a runner, or why not (revoked and unknown tokens look alike). */
export type Authentication =
  | { kind: 'ok'; runner: RunnerIdentity }
  | { kind: 'invalid' }
  | { kind: 'expired'; expiredAt: string; preview: string };

export interface TokenStoreOptions {
  /** How long a new token is valid when its creator does not say. */
  tokenTtlSec: number;
}

/** `last_used_at` is informational: refresh it at most this often per token, not on every request. */
const TOKEN_TOUCH_INTERVAL_MS = 5000;
/** Touches are written together, one statement for all the tokens used meanwhile, this long after the first. */
const TOUCH_FLUSH_MS = 250;
/** How many good tokens a server remembers, and for how long at most (see AuthCache). */
const AUTH_CACHE_ENTRIES = 100_000;
const AUTH_CACHE_MAX_AGE_MS = 60_000;

/** A token row with the time to its expiry measured by the database's clock, which every server sharing it agrees on. */
type JudgedTokenRow = TokenRow & { expires_in_ms: number };
const JUDGED_TOKEN = `*, (extract(epoch FROM expires_at - now()) * 1000)::float8 AS expires_in_ms`;

const INVALID: Authentication = { kind: 'invalid' };

/** What a rotation did: the new token (and the old one's end), or why there is none. */
export type RotateOutcome = { kind: 'rotated'; rotated: RotatedToken } | { kind: 'revoked'; token: TokenInfo } | { kind: 'not_found' };

export class TokenStore {
  private readonly touches = new TouchThrottle(TOKEN_TOUCH_INTERVAL_MS);
  /** Token id → the runner version its last request named (null: none), written with `last_used_at`. */
  private readonly pendingTouches = new Map<string, string | null>();
  private touchTimer: NodeJS.Timeout | undefined;
  private readonly cache = new AuthCache(AUTH_CACHE_ENTRIES, AUTH_CACHE_MAX_AGE_MS);
  /** Whether token changes reach this server as notifications; without them nothing is remembered. */
  private notified = true;
  /** Moves on at every token change seen, so that a lookup that raced with one is not remembered. */
  private changes = 0;

  constructor(
    private readonly db: Db,
    private readonly options: TokenStoreOptions,
  ) {}

  createToken(companyId: string, name: string, ttlSec?: number): Promise<CreatedToken> {
    return insertToken(this.db, companyId, name, ttlSec ?? this.options.tokenTtlSec);
  }

  /**
   * A new token for the same company and name, in one transaction with the end of the old one: revoked now, or
   * (with `graceSec`) expiring within that grace, so runners can be moved over without a gap. A revoked token is
   * not rotated (an expired one is: that is how its runners get a new one).
   */
  async rotateToken(tokenId: string, options: Omit<RotateTokenInput, 'tokenId'>): Promise<RotateOutcome> {
    const rotated = await this.db.transaction(async (tx): Promise<RotateOutcome> => {
      const { rows } = await tx.query<TokenRow>(`SELECT * FROM tokens WHERE id = $1 FOR UPDATE`, [tokenId]);
      const old = rows[0];
      if (!old) return { kind: 'not_found' };
      // Revoked is final: a new token in its place would let whatever it was revoked for back in.
      if (old.revoked_at !== null) return { kind: 'revoked', token: toTokenInfo(old) };
      const created = await insertToken(tx, old.company_id, old.name, options.ttlSec ?? this.options.tokenTtlSec);
      const end =
        options.graceSec === undefined
          ? `revoked_at = now()`
          : `expires_at = LEAST(expires_at, now() + ($2::integer * interval '1 second'))`;
      const params = options.graceSec === undefined ? [tokenId] : [tokenId, options.graceSec];
      const { rows: ended } = await tx.query<TokenRow>(`UPDATE tokens SET ${end} WHERE id = $1 RETURNING *`, params);
      return { kind: 'rotated', rotated: { ...created, previous: toTokenInfo(returnedRow(ended, 'the UPDATE of a locked token')) } };
    });
    this.forget(tokenId);
    return rotated;
  }

  async listTokens(filter: ListTokensFilter): Promise<TokenInfo[]> {
    await this.flushTouches();
    const { rows } = await this.db.query<TokenRow>(
      `SELECT * FROM tokens
        WHERE ($1::text IS NULL OR company_id = $1) AND ($2::boolean OR revoked_at IS NULL)
        ORDER BY created_at DESC, id`,
      [filter.companyId ?? null, filter.includeRevoked ?? false],
    );
    return rows.map(toTokenInfo);
  }

  async revokeToken(tokenId: string): Promise<TokenInfo | undefined> {
    // COALESCE keeps the first revocation time: revoking twice is harmless and changes nothing.
    const { rows } = await this.db.query<TokenRow>(`UPDATE tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING *`, [
      tokenId,
    ]);
    this.forget(tokenId);
    return rows[0] && toTokenInfo(rows[0]);
  }

  /**
   * The runner behind a presented token; 'invalid' alike for a malformed, unknown or revoked one (callers must not
   * say which), 'expired' for a token past its expiry (the runner tells its user to rotate it). A token found good
   * is remembered (see AuthCache), so that the runner's next requests need no lookup.
   */
  async authenticate({ secret, hash }: PresentedSecret, userAgent?: string): Promise<Authentication> {
    if (!isRunnerTokenFormat(secret)) return INVALID;
    const cached = this.notified ? this.cache.get(hash, Date.now()) : undefined;
    if (cached) {
      this.touch(cached.tokenId, userAgent);
      return { kind: 'ok', runner: cached };
    }
    const changes = this.changes;
    const { rows } = await this.db.prepared<JudgedTokenRow>(`SELECT ${JUDGED_TOKEN} FROM tokens WHERE token_hash = $1`, [hash]);
    const row = rows[0];
    // The lookup is by hash; the constant-time compare is the documented check that decides.
    if (!row || !hashesEqual(row.token_hash, hash)) return INVALID;
    const outcome = judgeToken(row);
    if (outcome.kind === 'ok') {
      if (this.notified && changes === this.changes) this.cache.set(hash, outcome.runner, Date.now());
      this.touch(row.id, userAgent);
    }
    return outcome;
  }

  /** The same judgement again, by token id, for runners authenticated earlier (long-polls that have been waiting). */
  async reauthenticate(tokenIds: readonly string[]): Promise<Map<string, Authentication>> {
    const { rows } = await this.db.query<JudgedTokenRow>(`SELECT ${JUDGED_TOKEN} FROM tokens WHERE id = ANY($1::uuid[])`, [tokenIds]);
    const judged = new Map(rows.map((row) => [row.id, judgeToken(row)]));
    return new Map(tokenIds.map((id) => [id, judged.get(id) ?? INVALID]));
  }

  /** The token changed (revoked, its expiry moved): judge it afresh at its next request. */
  forget(tokenId: string): void {
    this.changes++;
    this.cache.forget(tokenId);
  }

  /**
   * Whether token changes reach this server as notifications. While they do not (the database's LISTEN connection
   * is down), every request looks its token up; when they come back, changes missed meanwhile cannot linger.
   */
  setNotified(notified: boolean): void {
    this.notified = notified;
    this.changes++;
    this.cache.clear();
  }

  /** Writes the pending `last_used_at` touches now (a listing shows them; the server's close keeps them). */
  async flushTouches(): Promise<void> {
    clearTimeout(this.touchTimer);
    this.touchTimer = undefined;
    if (this.pendingTouches.size === 0) return;
    const ids = [...this.pendingTouches.keys()];
    const versions = [...this.pendingTouches.values()];
    this.pendingTouches.clear();
    // Informational: a touch lost to a failing database is not worth failing a request or a listing for.
    await this.db
      .query(
        `UPDATE tokens SET last_used_at = now(), runner_version = COALESCE(used.version, tokens.runner_version)
           FROM unnest($1::uuid[], $2::text[]) AS used(id, version) WHERE tokens.id = used.id`,
        [ids, versions],
      )
      .catch(() => {});
  }

  private touch(tokenId: string, userAgent: string | undefined): void {
    if (!this.touches.due(tokenId, Date.now())) return;
    this.pendingTouches.set(tokenId, runnerVersionOf(userAgent));
    this.touchTimer ??= setTimeout(() => void this.flushTouches(), TOUCH_FLUSH_MS).unref();
  }
}

/**
 * What a runner says it is: the first word of its user-agent (`founderos-runner/0.2.0 node/20 (linux; x64)` gives
 * `founderos-runner/0.2.0`), printable ASCII and at most 80 characters, or null when it says nothing usable.
 */
export function runnerVersionOf(userAgent: string | undefined): string | null {
  const word = userAgent?.trim().split(/\s+/, 1)[0] ?? '';
  return /^[\x21-\x7e]{1,80}$/.test(word) ? word : null;
}

/** Revoked wins over expired: a revoked token is refused like an unknown one. */
function judgeToken(row: JudgedTokenRow): Authentication {
  if (row.revoked_at !== null) return INVALID;
  const expiresAt = iso(row.expires_at);
  if (row.expires_in_ms <= 0) return { kind: 'expired', expiredAt: expiresAt, preview: row.preview };
  const runner = {
    tokenId: row.id,
    companyId: row.company_id,
    preview: row.preview,
    expiresAt,
    validUntil: Date.now() + row.expires_in_ms,
  };
  return { kind: 'ok', runner };
}

async function insertToken(db: Queryable, companyId: string, name: string, ttlSec: number): Promise<CreatedToken> {
  const token = generateRunnerToken();
  const { rows } = await db.query<TokenRow>(
    `INSERT INTO tokens (id, company_id, name, token_hash, preview, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + ($6::integer * interval '1 second')) RETURNING *`,
    [randomUUID(), companyId, name, sha256Hex(token), tokenPreview(token), ttlSec],
  );
  return { token, info: toTokenInfo(returnedRow(rows, 'INSERT INTO tokens')) };
}
