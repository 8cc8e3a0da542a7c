/** Told when the network path to the server goes down, and when it is back. */
export interface PathWatcher {
  onPathDown?: () => void;
  /** With how long the path was down. */
  onPathBack?: (downMs: number) => void;
}

/**
 * What the runner knows of the server across all its requests, written by the transport and read by whoever decides
 * on a retry: how many requests it accepted, and whether the network path to it is down. One per server: every
 * request and job of a daemon shares it, so an outage is reported once, however many requests wait.
 */
export class ServerHealth {
  #accepted = 0;
  #pathDownSince: number | undefined;

  constructor(private readonly watcher: PathWatcher = {}) {}

  /** The server answered (any status proves the path; a 2xx also that it serves) at time `at`. */
  answered(status: number, at: number): void {
    if (status >= 200 && status < 300) this.#accepted++;
    this.pathBack(at);
  }

  /** A mark to compare with later: {@link acceptedSince} tells whether the server accepted a request after it. */
  mark(): number {
    return this.#accepted;
  }

  acceptedSince(mark: number): boolean {
    return this.#accepted > mark;
  }

  /** The server answers nothing, not even a probe, since `at` (the first call of an outage counts). */
  pathDown(at: number): void {
    if (this.#pathDownSince !== undefined) return;
    this.#pathDownSince = at;
    this.watcher.onPathDown?.();
  }

  /** The path is there at `at`: ends an outage, if one was seen. */
  pathBack(at: number): void {
    if (this.#pathDownSince === undefined) return;
    const downMs = at - this.#pathDownSince;
    this.#pathDownSince = undefined;
    this.watcher.onPathBack?.(downMs);
  }

  get pathIsDown(): boolean {
    return this.#pathDownSince !== undefined;
  }
}
