// Turns JS parameter values into Bind values. With the server's description
// of the statement each parameter gets the encoder of its declared type;
// without one (unnamed statements, pipelines) the JS value decides and the
// server infers the type.

import { InterfaceError, ParameterError } from '../errors/base.js'
import type { ParamValue } from '../protocol/frontend.js'
import { isWellFormed, LONE_SURROGATE, valueType } from '../types/param.js'
import type { TypeMap } from '../types/type-map.js'

export interface BindParams {
  oids: number[]
  formats: number[]
  values: ParamValue[]
}

interface ParamEncoder {
  format: 0 | 1
  encode(value: unknown, index: number): Buffer | string
}

type WithEncoders = TypeMap & { encoder?: (oid: number) => ParamEncoder | undefined }

/** Parse and Bind carry the parameter count as an unsigned 16-bit number (libpq's limit too). */
export const MAX_PARAMS = 65535

/**
 * Refuses more parameters than the protocol can count. Past the limit the
 * Writer throws a RangeError halfway through a message, or (a statement
 * prepared with no declared types) the server wraps the count in its
 * ParameterDescription and the connection is lost: so this runs before
 * anything is written. `count` is the number of values or the highest $n.
 */
export function checkParamCount(count: number): void {
  if (count > MAX_PARAMS) {
    throw new ParameterError(`too many query parameters: ${count}, but the protocol carries at most ${MAX_PARAMS}`, {
      index: MAX_PARAMS,
      valueType: 'object Array',
    })
  }
}

/** Refuses SQL text that UTF-8 cannot carry unchanged (the server would run something else than what was written). */
export function checkSqlText(sql: string): void {
  if (!isWellFormed(sql)) throw new InterfaceError(`the query text contains ${LONE_SURROGATE}`)
}

/**
 * The encoders below check each text value once, on the final text whatever
 * built it (a string, an array or range literal, JSON, toPostgres()): the
 * Writer turns it into UTF-8, which would put U+FFFD in place of a lone
 * surrogate. Bytes (binary values) come from strict parsers or from bytes.
 */
function loneSurrogate(index: number, value: unknown, typeOid?: number): ParameterError {
  const what = typeof value === 'string' ? 'the string' : 'its text form'
  return new ParameterError(`cannot encode parameter $${index + 1}: ${what} contains ${LONE_SURROGATE}`, {
    index,
    valueType: valueType(value),
    ...(typeOid === undefined ? {} : { typeOid }),
  })
}

/** Encodes by the JS value alone; `oids` says what Parse should declare (0 = infer). */
export function encodeUntyped(types: TypeMap, params: readonly unknown[]): BindParams {
  const n = params.length
  checkParamCount(n)
  const out: BindParams = { oids: new Array(n), formats: new Array(n), values: new Array(n) }
  for (let i = 0; i < n; i++) {
    const p = types.encode(params[i], i)
    const v = p.value
    if (typeof v === 'string' && !isWellFormed(v)) throw loneSurrogate(i, params[i])
    out.oids[i] = p.oid
    out.formats[i] = p.format
    out.values[i] = v
  }
  return out
}

/** Encodes for a described statement: one encoder per declared parameter type. */
export function encodeTyped(types: TypeMap, paramOids: readonly number[], params: readonly unknown[]): BindParams {
  const n = params.length
  checkParamCount(n)
  const out: BindParams = { oids: paramOids as number[], formats: new Array(n), values: new Array(n) }
  const lookup = (types as WithEncoders).encoder
  for (let i = 0; i < n; i++) {
    const v = params[i]
    const oid = paramOids[i]!
    if (v === null || v === undefined) {
      out.formats[i] = 0
      out.values[i] = null
      continue
    }
    const enc = lookup?.call(types, oid)
    if (enc !== undefined) {
      const e = enc.encode(v, i)
      if (typeof e === 'string' && !isWellFormed(e)) throw loneSurrogate(i, v, oid)
      out.formats[i] = enc.format
      out.values[i] = e
      continue
    }
    const p = types.encode(v, i)
    if (p.format === 1 && p.oid !== oid) {
      // Raw bytes only make sense for the type they were meant for.
      throw new ParameterError(`cannot encode parameter $${i + 1}: binary data given for a parameter of type oid ${oid}`, {
        index: i,
        valueType: 'object Buffer',
        typeOid: oid,
      })
    }
    if (typeof p.value === 'string' && !isWellFormed(p.value)) throw loneSurrogate(i, v, oid)
    out.formats[i] = p.format
    out.values[i] = p.value
  }
  return out
}
