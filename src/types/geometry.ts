// Geometric types -> small plain objects of numbers:
//   point {x, y}; line {a, b, c} (ax + by + c = 0); lseg {start, end};
//   box {high, low} (upper-right and lower-left corners, as the server
//   normalises them); path {closed, points}; polygon {points};
//   circle {x, y, radius}.
// Text and binary (float8s in the same order) decode alike. Parameters go as
// text, from these shapes or from literal strings.
import type { Decoder } from './codec.js'
import type { TypeMap } from './type-map.js'
import { makeEncoder, hasNul, NUL_REFUSAL, isPlainObject, type TypedEncoder } from './param.js'
import * as O from './oids.js'

export interface Point {
  x: number
  y: number
}
export interface Line {
  a: number
  b: number
  c: number
}
export interface LineSegment {
  start: Point
  end: Point
}
export interface Box {
  high: Point
  low: Point
}
export interface Path {
  closed: boolean
  points: Point[]
}
export interface Polygon {
  points: Point[]
}
export interface Circle {
  x: number
  y: number
  radius: number
}

/** Every number in a geometric literal, in order; brackets and commas only separate them. */
function numbers(buf: Buffer, start: number, end: number): number[] {
  return buf
    .toString('latin1', start, end)
    .split(/[()<>{}[\],\s]+/)
    .filter((t) => t !== '')
    .map(Number)
}

function floats(buf: Buffer, start: number, count: number): number[] {
  const out = new Array<number>(count)
  for (let i = 0; i < count; i++) out[i] = buf.readDoubleBE(start + 8 * i)
  return out
}

const points = (n: number[], from = 0): Point[] => {
  const out: Point[] = []
  for (let i = from; i + 1 < n.length; i += 2) out.push({ x: n[i]!, y: n[i + 1]! })
  return out
}

const point = (n: number[]): Point => ({ x: n[0]!, y: n[1]! })
const line = (n: number[]): Line => ({ a: n[0]!, b: n[1]!, c: n[2]! })
const lseg = (n: number[]): LineSegment => ({ start: { x: n[0]!, y: n[1]! }, end: { x: n[2]!, y: n[3]! } })
const box = (n: number[]): Box => ({ high: { x: n[0]!, y: n[1]! }, low: { x: n[2]!, y: n[3]! } })
const circle = (n: number[]): Circle => ({ x: n[0]!, y: n[1]!, radius: n[2]! })

const fixed = (count: number, build: (n: number[]) => unknown): [Decoder, Decoder] => [
  (buf, start, end) => build(numbers(buf, start, end)),
  (buf, start) => build(floats(buf, start, count)),
]

/** Text path: '[...]' is open, '(...)' closed. Binary: closed byte, int32 count, points. */
const pathCodecs: [Decoder, Decoder] = [
  (buf, start, end): Path => ({ closed: buf[start] !== 0x5b, points: points(numbers(buf, start, end)) }),
  (buf, start): Path => ({ closed: buf[start] !== 0, points: points(floats(buf, start + 5, 2 * buf.readInt32BE(start + 1))) }),
]

const polygonCodecs: [Decoder, Decoder] = [
  (buf, start, end): Polygon => ({ points: points(numbers(buf, start, end)) }),
  (buf, start): Polygon => ({ points: points(floats(buf, start + 4, 2 * buf.readInt32BE(start))) }),
]

/** A float as float8in reads it back: String() except that -0 keeps its sign. */
const num = (n: number): string => (Object.is(n, -0) ? '-0' : String(n))
const isNum = (v: unknown): v is number => typeof v === 'number'
const isPoint = (v: unknown): v is Point => isPlainObject(v) && isNum(v.x) && isNum(v.y)
const pointText = (p: Point): string => `(${num(p.x)},${num(p.y)})`
const isPoints = (v: unknown): v is Point[] => Array.isArray(v) && v.length > 0 && v.every(isPoint)

function geometryEncoder(oid: number, type: string, spell: (v: Record<string, unknown>) => string | undefined): TypedEncoder {
  return makeEncoder(oid, type, 0, (value) => {
    if (typeof value === 'string') return hasNul(value) ? NUL_REFUSAL : value
    return isPlainObject(value) ? spell(value) : undefined
  })
}

const ENCODERS: ReadonlyArray<readonly [number, string, (v: Record<string, unknown>) => string | undefined]> = [
  [O.POINT, 'point', (v) => (isPoint(v) ? pointText(v) : undefined)],
  [O.LINE, 'line', (v) => (isNum(v.a) && isNum(v.b) && isNum(v.c) ? `{${num(v.a)},${num(v.b)},${num(v.c)}}` : undefined)],
  [O.LSEG, 'lseg', (v) => (isPoint(v.start) && isPoint(v.end) ? `[${pointText(v.start)},${pointText(v.end)}]` : undefined)],
  [O.BOX, 'box', (v) => (isPoint(v.high) && isPoint(v.low) ? `${pointText(v.high)},${pointText(v.low)}` : undefined)],
  [
    O.PATH,
    'path',
    (v) => {
      if (!isPoints(v.points) || (v.closed !== undefined && typeof v.closed !== 'boolean')) return undefined
      const body = v.points.map(pointText).join(',')
      return v.closed === false ? `[${body}]` : `(${body})`
    },
  ],
  [O.POLYGON, 'polygon', (v) => (isPoints(v.points) ? `(${v.points.map(pointText).join(',')})` : undefined)],
  [O.CIRCLE, 'circle', (v) => (isNum(v.x) && isNum(v.y) && isNum(v.radius) ? `<(${num(v.x)},${num(v.y)}),${num(v.radius)}>` : undefined)],
]

export function register(map: TypeMap): void {
  const decoders: ReadonlyArray<readonly [number, number, [Decoder, Decoder]]> = [
    [O.POINT, O.POINT_ARRAY, fixed(2, point)],
    [O.LINE, O.LINE_ARRAY, fixed(3, line)],
    [O.LSEG, O.LSEG_ARRAY, fixed(4, lseg)],
    [O.BOX, O.BOX_ARRAY, fixed(4, box)],
    [O.PATH, O.PATH_ARRAY, pathCodecs],
    [O.POLYGON, O.POLYGON_ARRAY, polygonCodecs],
    [O.CIRCLE, O.CIRCLE_ARRAY, fixed(3, circle)],
  ]
  for (const [oid, arrayOid, [text, binary]] of decoders) {
    map.registerDecoder(oid, 0, text)
    map.registerDecoder(oid, 1, binary)
    // box is the one built-in type whose array delimiter is ';': ',' occurs inside every box.
    map.registerArray(oid, arrayOid, oid === O.BOX ? ';' : ',')
  }
  for (const [oid, name, spell] of ENCODERS) map.registerEncoder(oid, geometryEncoder(oid, name, spell))
}
