// The transaction retry policy, shared by the async API (runTransaction) and
// the sync one (SyncConnection.transaction): which errors are retried, how
// many times, and how long to wait in between. Each side keeps only its own
// way of waiting (a timer, or blocking the thread).

import { DeadlockDetected, SerializationFailure } from '../errors.js'

export interface RetryOptions {
  /** Total attempts, the first included (2 = one retry). */
  attempts: number
  /** Exponential backoff with full jitter: a random wait up to min(maxMs, initialMs * 2^n). */
  backoff?: { initialMs?: number; maxMs?: number }
}

function isRetryable(err: unknown): boolean {
  return err instanceof SerializationFailure || err instanceof DeadlockDetected
}

/**
 * After attempt `attempt` (0 for the first) failed with `err`: how many
 * milliseconds to wait before the next attempt, or undefined to give up and
 * rethrow `err`.
 */
export function retryDelay(err: unknown, attempt: number, retry: RetryOptions | undefined, closed: boolean): number | undefined {
  const attempts = Math.max(1, retry?.attempts ?? 1)
  if (!isRetryable(err) || attempt + 1 >= attempts || closed) return undefined
  const initial = retry!.backoff?.initialMs ?? 10
  const max = retry!.backoff?.maxMs ?? 1000
  return Math.random() * Math.min(max, initial * 2 ** attempt)
}
