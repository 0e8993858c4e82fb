/**
 * Errors of the GitHub adapter. Octokit's `RequestError` is wrapped once, here
 * at the edge, so the rest of Fleetgate sees a status and a message it can act on.
 */

/** A GitHub REST call failed. `status` is the HTTP status (0 when no response came back). */
export class GitHubApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = GitHubApiError.name;
  }
}

/**
 * A compare-and-swap write was refused: the contents API answered 409 (the blob
 * `sha` is stale), 422 (`sha` missing for an existing file), or a ref update was
 * not a fast-forward. Re-read, then merge or report; never retry blindly.
 */
export class ScmConflictError extends GitHubApiError {
  constructor(message: string, status: number, options?: { cause?: unknown }) {
    super(message, status, options);
    this.name = ScmConflictError.name;
  }
}

/** The caller is not allowed to do this (permission check of a fallback approval or decision). */
export class NotAuthorizedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = NotAuthorizedError.name;
  }
}
