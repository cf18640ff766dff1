// What crosses between the caller thread and the sync worker: the request and
// reply envelopes, the shared status words, and the two codecs structured
// clone needs help with.
//
// Values: structured clone keeps Dates, bigints, typed arrays, Maps and plain
// data, but turns a Buffer into a Uint8Array and a class instance into a plain
// object, and refuses functions and symbols. pack() walks a value and records
// "fixups" (by path) for what must be restored on the other side: Buffers,
// instances of classes pgline exports (looked up by export name in both
// threads), and, for parameters only, stand-ins for values that cannot or
// should not be cloned as they are (instances of other classes, functions,
// symbols), so the worker's encoders accept or refuse them as they would the
// originals. The walk leaves the input untouched (copy-on-write).
//
// Errors: serializeError() keeps the class (pgline's by export name, or a
// built-in one) and every own property with its enumerability (code, detail,
// position, query, retrySafe, index, cause...); rebuildError() makes a real
// Error object of that class without running its constructor.

import * as api from '../index.js'

/** Indexes into the Int32Array over the shared buffer. */
export const SLOT = {
  /** Bumped (and notified) by the worker after each reply it posts, and when it dies. */
  SEQ: 0,
  /** 1 once the worker thread is exiting. */
  DEAD: 1,
  /** Bumped every HEARTBEAT_MS by a worker that has a request in hand. */
  BEAT: 2,
  /** The worker's exit code, once DEAD. */
  EXIT: 3,
  /** 1 once the worker's connection has closed (by us, the server, or a broken socket). */
  CLOSED: 4,
  /** Bumped (and notified) by the caller after each request it sends (in the shared data buffer, codec.ts, or on the port). */
  REQ: 5,
  /** The id of the call whose reply the worker wrote into the shared data buffer. */
  RID: 6,
  /** The id of the call whose request the caller wrote into the shared data buffer (set before REQ is bumped). */
  QID: 7,
  /** Bumped by the worker after each message it posts on the port, so the caller looks there only when there is something. */
  POSTED: 8,
  /** Bumped by the caller after each message it posts on the port, so the worker looks there only when there is something. */
  SENT: 9,
} as const
export const SLOT_COUNT = 16
export const HEARTBEAT_MS = 200

/** Handle 0 is the worker itself; connections, transactions, statements, cursors and COPYs get their own. */
export type HandleKind = 'root' | 'connection' | 'transaction' | 'statement' | 'cursor' | 'serverCursor' | 'copy'

export interface Request {
  id: number
  /** Handle the method is called on. */
  h: number
  /** Method name. */
  m: string
  /** Arguments, packed. */
  a: Packed
}

export type Reply =
  | {
      id: number
      ok: true
      v: Packed
      /** A handle the call created (a transaction, a prepared statement...). */
      h?: number
      /** The connection's transaction status after the call. */
      ts?: 'I' | 'T' | 'E'
      /** Notices received since the previous reply. */
      n?: unknown[]
    }
  | { id: number; ok: false; e: SerializedError; ts?: 'I' | 'T' | 'E'; n?: unknown[] }
  /** The worker hit an uncaught error and is exiting. */
  | { id: 0; fatal: SerializedError }

// ---------------------------------------------------------------- registry

type Ctor = abstract new (...args: never[]) => unknown

/** Export name <-> class for every class pgline exports (errors, value classes...). Same in both threads. */
export class Registry {
  private readonly byName = new Map<string, Ctor>()
  private readonly byProto = new Map<object, string>()

  add(name: string, ctor: Ctor): void {
    if (this.byName.has(name)) return
    this.byName.set(name, ctor)
    this.byProto.set(ctor.prototype as object, name)
  }

  nameOfProto(proto: object): string | undefined {
    return this.byProto.get(proto)
  }

  get(name: string): Ctor | undefined {
    return this.byName.get(name)
  }
}

export function registryOf(...namespaces: object[]): Registry {
  const r = new Registry()
  for (const ns of namespaces) {
    for (const [name, value] of Object.entries(ns)) {
      if (typeof value === 'function' && typeof value.prototype === 'object' && value.prototype !== null) r.add(name, value as Ctor)
    }
  }
  return r
}

/** Every class the public API exports; instances of these cross with their class. */
export const defaultRegistry = registryOf(api)

// ------------------------------------------------------------------ values

export type Path = (string | number)[]

export type Fixup =
  /** A Uint8Array that was a Buffer. */
  | { p: Path; k: 'B' }
  /** An instance of the registry class `n`. */
  | { p: Path; k: 'C'; n: string }
  /** Parameters only: a stand-in for an instance of another class (own properties, toPostgres()/toJSON() results). */
  | { p: Path; k: 'S'; n: string; o: Packed; tp?: string; tpKind?: string; tj?: Packed }
  /** Parameters only: a function or a symbol (so the encoder refuses it as it would the original). */
  | { p: Path; k: 'F'; n: string }
  | { p: Path; k: 'Y'; d: string | undefined }

export interface Packed {
  v: unknown
  /** Absent when nothing needs restoring (the common case: the receiver does no walk at all). */
  fx?: Fixup[]
}

/** Deeper than this the walk stops (cyclic or absurd data); structured clone and the encoders deal with the rest. */
const MAX_DEPTH = 64
/** A Buffer that is a small view of a large ArrayBuffer is copied, so the clone does not carry the whole backing store. */
const COMPACT_BACKING = 64 * 1024

/**
 * Prepares `value` for postMessage. `strict` (parameters): values structured
 * clone would refuse or flatten get stand-ins; otherwise (results) instances
 * of classes outside the registry simply arrive as plain objects.
 */
export function pack(value: unknown, strict: boolean, registry: Registry = defaultRegistry): Packed {
  const fx: Fixup[] = []
  const v = walk(value, [], fx, strict, registry, 0)
  return fx.length === 0 ? { v } : { v, fx }
}

function walk(v: unknown, path: Path, fx: Fixup[], strict: boolean, reg: Registry, depth: number): unknown {
  const t = typeof v
  if (t === 'function' || t === 'symbol') {
    if (!strict) return v // DataCloneError, reported as such
    fx.push(t === 'function' ? { p: path.slice(), k: 'F', n: (v as { name: string }).name } : { p: path.slice(), k: 'Y', d: (v as symbol).description })
    return null
  }
  if (t !== 'object' || v === null || depth > MAX_DEPTH) return v
  if (Array.isArray(v)) return walkEntries(v, path, fx, strict, reg, depth, true)
  if (ArrayBuffer.isView(v)) {
    if (!Buffer.isBuffer(v)) return v
    fx.push({ p: path.slice(), k: 'B' })
    return v.buffer.byteLength > COMPACT_BACKING && v.byteLength * 2 < v.buffer.byteLength ? new Uint8Array(v) : v
  }
  const proto = Object.getPrototypeOf(v) as object | null
  if (proto === Object.prototype || proto === null) return walkEntries(v as Record<string, unknown>, path, fx, strict, reg, depth, false)
  const name = reg.nameOfProto(proto)
  if (name !== undefined) {
    fx.push({ p: path.slice(), k: 'C', n: name })
    return walkEntries(v as Record<string, unknown>, path, fx, strict, reg, depth, false)
  }
  if (!strict || isCloneableBuiltin(v as object)) return v
  return standIn(v as object, path, fx, reg, depth)
}

/** Walks the children of an array or a plain object; copies the container only if a child is replaced. */
function walkEntries(
  v: unknown[] | Record<string, unknown>,
  path: Path,
  fx: Fixup[],
  strict: boolean,
  reg: Registry,
  depth: number,
  isArray: boolean,
): unknown {
  if (isArray) {
    const a = v as unknown[]
    let copy: unknown[] | undefined
    for (let i = 0; i < a.length; i++) {
      const e = a[i]
      if (typeof e !== 'object' && typeof e !== 'function' && typeof e !== 'symbol') continue
      path.push(i)
      const r = walk(e, path, fx, strict, reg, depth + 1)
      path.pop()
      if (r !== e) (copy ??= a.slice())[i] = r
    }
    return copy ?? v
  }
  const o = v as Record<string, unknown>
  let out: Record<string, unknown> | undefined
  for (const k of Object.keys(o)) {
    const e = o[k]
    if (typeof e !== 'object' && typeof e !== 'function' && typeof e !== 'symbol') continue
    path.push(k)
    const r = walk(e, path, fx, strict, reg, depth + 1)
    path.pop()
    if (r !== e) {
      if (out === undefined) {
        out = Object.create(Object.getPrototypeOf(o) as object | null) as Record<string, unknown>
        Object.assign(out, o)
      }
      out[k] = r
    }
  }
  return out ?? v
}

/** Built-ins structured clone keeps as they are (and the encoders know, or refuse by class name either way). */
function isCloneableBuiltin(v: object): boolean {
  return v instanceof Date || v instanceof Map || v instanceof Set || v instanceof RegExp || v instanceof ArrayBuffer
}

function standIn(v: object, path: Path, fx: Fixup[], reg: Registry, depth: number): null {
  const ctor = (Object.getPrototypeOf(v) as { constructor?: unknown }).constructor
  const name = typeof ctor === 'function' ? ctor.name : ''
  const own: Record<string, unknown> = {}
  for (const k of Object.keys(v)) own[k] = (v as Record<string, unknown>)[k]
  const f: Extract<Fixup, { k: 'S' }> = { p: path.slice(), k: 'S', n: name, o: packAt(own, reg, depth) }
  const tp = (v as { toPostgres?: unknown }).toPostgres
  if (typeof tp === 'function') {
    // Only a string crosses as such: anything else is refused by the worker's
    // encoder as it would be in the async API, not turned into '[object Object]'.
    const out: unknown = tp.call(v)
    if (typeof out === 'string') f.tp = out
    else f.tpKind = out === null ? 'null' : typeof out
  }
  const tj = (v as { toJSON?: unknown }).toJSON
  if (typeof tj === 'function') f.tj = packAt(tj.call(v, ''), reg, depth)
  fx.push(f)
  return null
}

function packAt(value: unknown, reg: Registry, depth: number): Packed {
  const fx: Fixup[] = []
  const v = walk(value, [], fx, true, reg, depth + 1)
  return fx.length === 0 ? { v } : { v, fx }
}

/** Restores what pack() recorded; mutates the (freshly cloned) value in place and returns the root. */
export function unpack(packed: Packed, registry: Registry = defaultRegistry): unknown {
  const fx = packed.fx
  let root = packed.v
  if (fx === undefined) return root
  for (const f of fx) {
    const p = f.p
    let parent: unknown = undefined
    let node = root
    for (let i = 0; i < p.length; i++) {
      parent = node
      node = (node as Record<string | number, unknown>)[p[i]!]
    }
    let replacement: unknown
    switch (f.k) {
      case 'B': {
        const u8 = node as Uint8Array
        replacement = Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength)
        break
      }
      case 'C': {
        const ctor = registry.get(f.n)
        if (ctor !== undefined && typeof node === 'object' && node !== null) Object.setPrototypeOf(node, ctor.prototype as object)
        continue
      }
      case 'S':
        replacement = makeStandIn(f, registry)
        break
      case 'F':
        replacement = { [f.n]: function () {} }[f.n]
        break
      case 'Y':
        replacement = Symbol(f.d)
        break
    }
    if (p.length === 0) root = replacement
    else (parent as Record<string | number, unknown>)[p[p.length - 1]!] = replacement
  }
  return root
}

/** A value of each kind a toPostgres() may wrongly return, for the worker to refuse by kind. */
const NOT_STRING: Record<string, unknown> = { number: 0, bigint: 0n, boolean: false, undefined: undefined, null: null, object: {}, symbol: Symbol('toPostgres'), function: () => undefined }

function makeStandIn(f: Extract<Fixup, { k: 'S' }>, registry: Registry): object {
  // A class of the same name, so a refusal names the original class ('object Foo').
  const Class = { [f.n]: class {} }[f.n]!
  const proto = Class.prototype as Record<string, unknown>
  if (f.tp !== undefined) {
    const text = f.tp
    proto.toPostgres = () => text
  } else if (f.tpKind !== undefined) {
    const sample = f.tpKind in NOT_STRING ? NOT_STRING[f.tpKind] : {}
    proto.toPostgres = () => sample
  }
  if (f.tj !== undefined) {
    const json = unpack(f.tj, registry)
    proto.toJSON = () => json
  }
  return Object.assign(new Class(), unpack(f.o, registry) as object)
}

// ------------------------------------------------------------------ errors

export interface SerializedError {
  /** ['p', exportName] for a pgline class, ['g', name] for a built-in error class. */
  cls: ['p' | 'g', string]
  props: Array<[key: string, value: unknown, enumerable: boolean]>
}

const BUILTIN_ERRORS: Record<string, ErrorConstructor | undefined> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
}

const MAX_CAUSE_DEPTH = 8

export function serializeError(err: unknown, registry: Registry = defaultRegistry, depth = 0): SerializedError {
  if (!(err instanceof Error)) {
    return { cls: ['g', 'Error'], props: [['message', `non-error thrown: ${safeString(err)}`, false]] }
  }
  let cls: SerializedError['cls'] = ['g', 'Error']
  for (let proto = Object.getPrototypeOf(err) as object | null; proto !== null; proto = Object.getPrototypeOf(proto) as object | null) {
    const name = registry.nameOfProto(proto)
    if (name !== undefined) {
      cls = ['p', name]
      break
    }
    const ctor = (proto as { constructor?: unknown }).constructor
    if (typeof ctor === 'function' && BUILTIN_ERRORS[ctor.name] === ctor) {
      cls = ['g', ctor.name]
      break
    }
  }
  const props: SerializedError['props'] = []
  const seen = new Set<string>()
  for (const key of Object.getOwnPropertyNames(err)) {
    const d = Object.getOwnPropertyDescriptor(err, key)!
    const value = 'value' in d ? d.value : safeGet(err, key)
    props.push([key, serializeValue(value, registry, depth), d.enumerable === true])
    seen.add(key)
  }
  // DOMException and friends keep these as prototype getters.
  for (const key of ['name', 'message', 'stack']) {
    if (!seen.has(key)) {
      const value = safeGet(err, key)
      if (typeof value === 'string') props.push([key, value, false])
    }
  }
  return { cls, props }
}

interface SerializedErrorValue {
  $error: SerializedError
}

function serializeValue(value: unknown, registry: Registry, depth: number): unknown {
  if (value instanceof Error) {
    if (depth >= MAX_CAUSE_DEPTH) return `${value.name}: ${value.message}`
    return { $error: serializeError(value, registry, depth + 1) } satisfies SerializedErrorValue
  }
  if (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol') return value
  try {
    structuredClone(value)
    return value
  } catch {
    return safeString(value)
  }
}

/**
 * Rebuilds an error of the same class with the same own properties. The object
 * is a real Error (Reflect.construct with Error as the target) whose
 * prototype is the class's; the class's constructor does not run.
 * `callerStack`, when given, is appended to the worker's stack.
 */
export function rebuildError(s: SerializedError, callerStack?: string, registry: Registry = defaultRegistry): Error {
  const [origin, name] = s.cls
  let Class: Ctor | undefined = origin === 'p' ? registry.get(name) : BUILTIN_ERRORS[name]
  if (Class === undefined && origin === 'p') {
    const code = s.props.find(([k]) => k === 'code')?.[1]
    Class = typeof code === 'string' ? api.errorClassByCode.get(code) ?? api.errorClassByClass.get(code.slice(0, 2)) : undefined
  }
  const err = Reflect.construct(Error, [], (Class ?? Error) as new () => Error) as Error
  for (const [key, raw, enumerable] of s.props) {
    let value = raw
    if (typeof raw === 'object' && raw !== null && '$error' in raw) value = rebuildError((raw as SerializedErrorValue).$error, undefined, registry)
    if (key === 'stack' && typeof value === 'string' && callerStack !== undefined) value = `${value}\n    at <pgline sync worker>${callerStack}`
    Object.defineProperty(err, key, { value, enumerable, writable: true, configurable: true })
  }
  return err
}

function safeGet(o: object, key: string): unknown {
  try {
    return (o as Record<string, unknown>)[key]
  } catch {
    return undefined
  }
}

function safeString(v: unknown): string {
  try {
    return String(v)
  } catch {
    return Object.prototype.toString.call(v)
  }
}
