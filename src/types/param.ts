// Shared pieces of the typed parameter encoders: how a refused value is
// described in a ParameterError, and the wrapper that turns a small
// "value -> bytes or refusal" function into a ParamEncoder.
import { ParameterError } from '../errors/base.js'
import type { ParamEncoder } from './codec.js'

/** A ParamEncoder that knows its PostgreSQL type, for error messages and derived (array, range) encoders. */
export interface TypedEncoder extends ParamEncoder {
  readonly oid: number
  /** The PostgreSQL type name used in messages: 'int4', 'int4[]', 'tstzrange'... */
  readonly type: string
  /** True when a JS array is one value of this type (multiranges), not an array dimension. */
  readonly takesArrays?: boolean
}

/** Why a value was refused, when more can be said than "cannot encode X as T". */
export class Refusal {
  constructor(readonly reason: string) {}
}

export const refuse = (reason: string): Refusal => new Refusal(reason)

/** An encoder from a function returning the encoded value, undefined (does not fit) or a Refusal. */
export function makeEncoder<F extends 0 | 1>(
  oid: number,
  type: string,
  format: F,
  fn: (value: unknown, index: number) => (F extends 1 ? Buffer : string) | Refusal | undefined,
  takesArrays = false,
): TypedEncoder {
  return {
    oid,
    type,
    format,
    takesArrays,
    encode(value: unknown, index: number): Buffer | string {
      const r = fn(value, index)
      if (r === undefined) throw paramError(index, value, type, oid)
      if (r instanceof Refusal) throw paramError(index, value, type, oid, r.reason)
      return r
    },
  }
}

/** `parameter $2: cannot encode a string (3 characters) as int4[: reason]`. */
export function paramError(index: number, value: unknown, type: string, oid: number, reason?: string): ParameterError {
  const why = reason === undefined ? '' : `: ${reason}`
  return new ParameterError(`parameter $${index + 1}: cannot encode ${describeValue(value)} as ${type}${why}`, {
    index,
    valueType: valueType(value),
    typeOid: oid,
  })
}

/**
 * 'a string (3 characters)', 'a number (1.5)', 'an array (3 elements)', 'an
 * object', 'a Map'. String contents are never quoted: a parameter may be a
 * password or a token, and error messages end up in logs.
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `a string (${value.length} character${value.length === 1 ? '' : 's'})`
    case 'number':
    case 'bigint':
    case 'boolean':
      return `a ${typeof value} (${String(value)})`
    default: {
      if (Array.isArray(value)) return `an array (${value.length} element${value.length === 1 ? '' : 's'})`
      if (isPlainObject(value)) return 'an object'
      const name = typeName(value)
      return `${/^[aeiou]/i.test(name) ? 'an' : 'a'} ${name}`
    }
  }
}

/** ParameterError.valueType: the typeof, plus the class for objects ('object Map'). */
export function valueType(value: unknown): string {
  return typeof value === 'object' && value !== null ? `object ${typeName(value)}` : typeof value
}

/** 'symbol', 'function', or the constructor name of an object ('Map', 'Promise'...). */
export function typeName(value: unknown): string {
  if (typeof value !== 'object' || value === null) return typeof value
  const proto: unknown = Object.getPrototypeOf(value)
  const ctor: unknown = proto === null ? undefined : (proto as { constructor?: unknown }).constructor
  const name = typeof ctor === 'function' ? ctor.name : ''
  return name === '' ? 'object' : name
}

/** PostgreSQL text cannot hold NUL; the server would refuse the whole message less helpfully. */
export function hasNul(s: string): boolean {
  return s.includes('\0')
}

export const NUL_REFUSAL = refuse('text cannot contain a NUL byte (\\0)')

/**
 * False when `s` holds a lone UTF-16 surrogate, which UTF-8 cannot spell:
 * Buffer.write would send U+FFFD in its place. Native (String.prototype.
 * isWellFormed, Node 20+) and O(1) for one-byte strings, so cheap on every value.
 */
export function isWellFormed(s: string): boolean {
  return (s as string & { isWellFormed(): boolean }).isWellFormed()
}

export const LONE_SURROGATE = 'a lone UTF-16 surrogate (half of a pair), which UTF-8 cannot encode without changing it'

export const LONE_SURROGATE_REFUSAL = refuse(`the string contains ${LONE_SURROGATE}`)

/** Double-quoted, with `"` and `\` backslash-escaped: safe inside array and range literals. */
export function quote(s: string): string {
  return '"' + (s.includes('"') || s.includes('\\') ? s.replace(/["\\]/g, '\\$&') : s) + '"'
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}
