/** The codes the API answers errors with (gRPC's codes in snake_case), plus `unavailable` when the
 * manager could not be reached at all. */
export type ErrorCode =
  | 'invalid_argument'
  | 'not_found'
  | 'already_exists'
  | 'failed_precondition'
  | 'permission_denied'
  | 'unauthenticated'
  | 'unavailable'
  | 'deadline_exceeded'
  | 'resource_exhausted'
  | 'internal'
  | (string & {});

/** An error as it crosses from the manager to the UI: `{ code, message }`, never a bare string. */
export class ApiError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
  }

  /** An error value shaped `{code, message}` (as the web API and the desktop shell send them). */
  static fromShape(value: unknown): ApiError | null {
    if (value && typeof value === 'object' && 'code' in value && 'message' in value) {
      const { code, message } = value as { code: unknown; message: unknown };
      if (typeof code === 'string' && typeof message === 'string') return new ApiError(code, message);
    }
    return null;
  }

  /** Reads an error body (`{"code": ..., "message": ...}`); falls back to the HTTP status. */
  static fromBody(status: number, body: string): ApiError {
    try {
      const shaped = ApiError.fromShape(JSON.parse(body));
      if (shaped) return shaped;
    } catch {
      // Not JSON: described by its status below.
    }
    const code = status === 401 ? 'unauthenticated' : status === 403 ? 'permission_denied' : 'internal';
    return new ApiError(code, body.trim() || `HTTP ${status}`);
  }

  /** Any thrown value as an ApiError (a programming error becomes `internal`). */
  static from(err: unknown): ApiError {
    if (err instanceof ApiError) return err;
    return new ApiError('internal', err instanceof Error ? err.message : String(err));
  }
}
