/**
 * Runner tokens in the database: issued, rotated, listed and revoked by the admin API, and judged on every runner
 * request. Only a token's sha256 and its 8-character preview are stored (see ../tokens.ts for the secrets themselves).
 */
import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../db.js';
import { generateRunnerToken, hashesEqual, isRunnerTokenFormat, sha256Hex, tokenPreview } from '../tokens.js';
import type { CreatedToken, ListTokensFilter, RotatedToken, RotateTokenInput, TokenInfo } from '../types.js';
import { iso, returnedRow, toTokenInfo, type TokenRow } from './rows.js';
import { TouchThrottle } from './touch-throttle.js';

/** The runner a valid token identifies. */
export interface RunnerIdentity {
  tokenId: string;
  companyId: string;
  preview: string;
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

/** A token row with its expiry judged by the database's clock, which every server sharing it agrees on. */
type JudgedTokenRow = TokenRow & { expired: boolean };
const JUDGED_TOKEN = `*, expires_at <= now() AS expired`;

const INVALID: Authentication = { kind: 'invalid' };

/** What a rotation did: the new token (and the old one's end), or why there is none. */
export type RotateOutcome = { kind: 'rotated'; rotated: RotatedToken } | { kind: 'revoked'; token: TokenInfo } | { kind: 'not_found' };

export class TokenStore {
  private readonly touches = new TouchThrottle(TOKEN_TOUCH_INTERVAL_MS);

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
    return this.db.transaction(async (tx): Promise<RotateOutcome> => {
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
  }

  async listTokens(filter: ListTokensFilter): Promise<TokenInfo[]> {
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
    return rows[0] && toTokenInfo(rows[0]);
  }

  /**
   * The runner behind a presented token; 'invalid' alike for a malformed, unknown or revoked one (callers must not
   * say which), 'expired' for a token past its expiry (the runner tells its user to rotate it).
   */
  async authenticate(presented: string, userAgent?: string): Promise<Authentication> {
    if (!isRunnerTokenFormat(presented)) return INVALID;
    const hash = sha256Hex(presented);
    const { rows } = await this.db.query<JudgedTokenRow>(`SELECT ${JUDGED_TOKEN} FROM tokens WHERE token_hash = $1`, [hash]);
    const row = rows[0];
    // The lookup is by hash; the constant-time compare is the documented check that decides.
    if (!row || !hashesEqual(row.token_hash, hash)) return INVALID;
    const outcome = judgeToken(row);
    if (outcome.kind === 'ok' && this.touches.due(row.id, Date.now())) {
      await this.db.query(`UPDATE tokens SET last_used_at = now(), runner_version = COALESCE($2, runner_version) WHERE id = $1`, [
        row.id,
        runnerVersionOf(userAgent),
      ]);
    }
    return outcome;
  }

  /** The same judgement again for a runner authenticated earlier (a long-poll that has been waiting). */
  async reauthenticate(runner: RunnerIdentity): Promise<Authentication> {
    const { rows } = await this.db.query<JudgedTokenRow>(`SELECT ${JUDGED_TOKEN} FROM tokens WHERE id = $1`, [runner.tokenId]);
    return rows[0] ? judgeToken(rows[0]) : INVALID;
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
  if (row.expired) return { kind: 'expired', expiredAt: iso(row.expires_at), preview: row.preview };
  return { kind: 'ok', runner: { tokenId: row.id, companyId: row.company_id, preview: row.preview } };
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
