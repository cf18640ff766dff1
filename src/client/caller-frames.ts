// Errors of async queries are created where the server's answer is read (a
// socket callback), so their stack shows only the driver. V8 records the
// awaiting async functions of a promise chain when an Error's stack is
// captured inside a reaction job of that chain: rejecting through one such
// job adds the caller's frames, and costs nothing when the query succeeds.

const extended = new WeakSet<object>()

/** A promise that rejects with `err` after appending the frames of whoever awaits it. */
export function rejectionWithCallerFrames(err: Error): Promise<never> {
  // Two hops: by the time addCallerFrames runs, the caller's promise has
  // subscribed to the returned one, so V8 can walk from it to the awaiters.
  return Promise.resolve()
    .then(noop)
    .then(() => addCallerFrames(err))
}

function noop(): void {}

function addCallerFrames(err: Error): never {
  if (!extended.has(err) && typeof err.stack === 'string') {
    // One error may fail several queries (a lost connection): extend it once.
    extended.add(err)
    const holder: { stack?: string } = {}
    Error.captureStackTrace(holder, addCallerFrames)
    const frames = (holder.stack ?? '').split('\n').filter((line) => line.includes(' at async '))
    if (frames.length > 0) {
      Object.defineProperty(err, 'stack', {
        value: `${err.stack}\n    --- the query was called from:\n${frames.join('\n')}`,
        writable: true,
        configurable: true,
        enumerable: false,
      })
    }
  }
  throw err
}
