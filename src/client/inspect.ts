// Short console.log forms for the public handles. Printing a handle would
// otherwise dump every internal field (hundreds of lines, and settings that
// may hold a key passphrase). Node looks the method up by this registered
// symbol, so nothing here needs node:util.

export const inspectCustom: unique symbol = Symbol.for('nodejs.util.inspect.custom')

/** The `inspect` Node passes to a custom inspect method (typed here without node:util). */
export type InspectFn = (value: unknown, options?: object) => string

/** `Name { a: 1, b: 'x' }` on one line, or `[Name]` past the caller's depth. `fields` should hold primitives only. */
export function summary(name: string, depth: number, options: object, inspect: InspectFn, fields: object): string {
  if (depth < 0) return `[${name}]`
  return `${name} ${inspect(fields, { ...options, breakLength: Infinity })}`
}
