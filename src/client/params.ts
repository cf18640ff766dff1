// Turns JS parameter values into Bind values. With the server's description
// of the statement each parameter gets the encoder of its declared type;
// without one (unnamed statements, pipelines) the JS value decides and the
// server infers the type.

import { ParameterError } from '../errors/base.js'
import type { ParamValue } from '../protocol/frontend.js'
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

/** Encodes by the JS value alone; `oids` says what Parse should declare (0 = infer). */
export function encodeUntyped(types: TypeMap, params: readonly unknown[]): BindParams {
  const n = params.length
  const out: BindParams = { oids: new Array(n), formats: new Array(n), values: new Array(n) }
  for (let i = 0; i < n; i++) {
    const p = types.encode(params[i], i)
    out.oids[i] = p.oid
    out.formats[i] = p.format
    out.values[i] = p.value
  }
  return out
}

/** Encodes for a described statement: one encoder per declared parameter type. */
export function encodeTyped(types: TypeMap, paramOids: readonly number[], params: readonly unknown[]): BindParams {
  const n = params.length
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
      out.formats[i] = enc.format
      out.values[i] = enc.encode(v, i)
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
    out.formats[i] = p.format
    out.values[i] = p.value
  }
  return out
}
