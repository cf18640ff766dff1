/**
 * Calls user listeners so that one that throws cannot break the protocol
 * dispatch it is called from: its error is rethrown on its own tick, as an
 * EventEmitter listener's would be. (Shared with the sync API, which calls
 * notice listeners with the reply of a call.)
 */
export function emit<T>(listeners: readonly ((value: T) => void)[], value: T): void {
  for (const l of listeners) {
    try {
      l(value)
    } catch (err) {
      process.nextTick(() => {
        throw err
      })
    }
  }
}
