import { afterAll, beforeAll, describe, it } from 'vitest'
import type { Connection } from '../../src/index.js'
import * as O from '../../src/types/oids.js'
import { connectAs } from './_util.js'
import { checkArray, checkType, type Case } from './types-helpers.js'

let conn: Connection

beforeAll(async () => {
  conn = await connectAs('scram')
})
afterAll(async () => {
  await conn?.close()
})

const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`
const cases = (values: Array<string | [string, unknown] | [string, unknown, Case['roundTrip']]>): Case[] =>
  values.map((v) => (typeof v === 'string' ? { literal: lit(v) } : { literal: lit(v[0]), value: v[1], ...(v[2] ? { roundTrip: v[2] } : {}) }))

const SCALARS: ReadonlyArray<readonly [string, number, number, Case[]]> = [
  ['bool', O.BOOL, O.BOOL_ARRAY, cases([['t', true], ['f', false]])],
  ['int2', O.INT2, O.INT2_ARRAY, cases([['-32768', -32768], ['32767', 32767], ['0', 0]])],
  ['int4', O.INT4, O.INT4_ARRAY, cases([['-2147483648', -2147483648], ['2147483647', 2147483647], ['-7', -7]])],
  ['int8', O.INT8, O.INT8_ARRAY, cases([['-9223372036854775808', -(2n ** 63n)], ['9223372036854775807', 2n ** 63n - 1n], ['9007199254740993', 9007199254740993n]])],
  ['oid', O.OID, O.OID_ARRAY, cases([['4294967295', 4294967295], ['0', 0], ['-1', 4294967295]])],
  ['float4', O.FLOAT4, O.FLOAT4_ARRAY, cases([['1.1', 1.1], ['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity], ['-0', -0], ['3.4028235e38', 3.4028235e38], ['1e-45', 1e-45], '0.1', '16777217', '-1.17549435e-38'])],
  ['float8', O.FLOAT8, O.FLOAT8_ARRAY, cases([['0.1', 0.1], ['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity], ['-0', -0], ['1.7976931348623157e308', Number.MAX_VALUE], ['5e-324', 5e-324], '1e21', '-1.5e-7'])],
  ['numeric', O.NUMERIC, O.NUMERIC_ARRAY, cases([['NaN', 'NaN'], ['Infinity', 'Infinity'], ['-Infinity', '-Infinity'], ['0', '0'], ['-0.000100', '-0.000100'], ['123456789012345678901234567890.123456789', '123456789012345678901234567890.123456789'], '1e-20', '-99999999.00000001', '10000', '0.0000'])],
  ['text', O.TEXT, O.TEXT_ARRAY, cases([['', ''], ['NULL', 'NULL'], ['a "q" \\ {x,y}', 'a "q" \\ {x,y}'], ['é中😀', 'é中😀'], ' padded '])],
  ['varchar(5)', O.VARCHAR, O.VARCHAR_ARRAY, cases([['abc', 'abc'], ['', '']])],
  ['char(4)', O.BPCHAR, O.BPCHAR_ARRAY, cases([['ab', 'ab  ']])],
  ['name', O.NAME, O.NAME_ARRAY, cases([['pg_class', 'pg_class']])],
  ['"char"', O.CHAR, O.CHAR_ARRAY, cases([['a', 'a'], ['', ''], ['\\377', '\\377'], ['\\200', '\\200']])],
  ['bytea', O.BYTEA, O.BYTEA_ARRAY, [{ literal: `'\\x'`, value: Buffer.alloc(0) }, { literal: `'\\x00ff7f80'`, value: Buffer.from([0, 255, 127, 128]) }, { literal: `(select string_agg(set_byte('\\x00'::bytea, 0, b), ''::bytea) from generate_series(0, 255) b)` }]],
  ['uuid', O.UUID, O.UUID_ARRAY, cases([['A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'], '{00000000000000000000000000000000}'])],
  ['json', O.JSON_TYPE, O.JSON_ARRAY, cases([['{"a": [1, 2.5, "x", null, true]}', { a: [1, 2.5, 'x', null, true] }, 'value'], ['"str"', 'str', 'skip'], ['null', null, 'skip'], '[]', ['  {"b":1,  "a":2}  ', { b: 1, a: 2 }, 'value']])],
  ['jsonb', O.JSONB, O.JSONB_ARRAY, cases([['{"b": 1, "a": {"c": []}}', { a: { c: [] }, b: 1 }], ['"é"', 'é', 'skip'], ['1e3', 1000], ['null', null, 'skip'], '[1, [2, {"x": false}]]'])],
  ['jsonpath', O.JSONPATH, O.JSONPATH_ARRAY, cases([['$.a[*] ? (@ > 1)', '$."a"[*]?(@ > 1)'], 'strict $.x'])],
  ['money', O.MONEY, O.MONEY_ARRAY, cases([['12.34', '$12.34'], ['-1234567.89', '-$1,234,567.89']])],
  ['xml', O.XML, O.XML_ARRAY, cases([['<a x="1">é &amp; b</a>', '<a x="1">é &amp; b</a>'], 'text only', ['<?xml version="1.0"?><r/>', '<r/>', 'value']])],
  ['tsvector', O.TSVECTOR, O.TSVECTOR_ARRAY, cases([["a fat cat:3A 'it''s'", "'a' 'cat':3A 'fat' 'it''s'"]])],
  ['tsquery', O.TSQUERY, O.TSQUERY_ARRAY, cases([['fat & (rat | !cat)', "'fat' & ( 'rat' | !'cat' )"]])],
  ['bit(5)', O.BIT, O.BIT_ARRAY, cases([['10101', '10101'], ['00000', '00000']])],
  ['varbit', O.VARBIT, O.VARBIT_ARRAY, cases([['', ''], ['1', '1'], ['101100111', '101100111'], ['11111111', '11111111']])],
  ['inet', O.INET, O.INET_ARRAY, cases([['192.168.0.1', '192.168.0.1'], ['10.1.2.3/8', '10.1.2.3/8'], ['::1', '::1'], ['::', '::'], ['2001:db8::ff00:42:8329/64', '2001:db8::ff00:42:8329/64'], ['::ffff:1.2.3.4', '::ffff:1.2.3.4'], '::1.2.3.4', '1:0:0:1:0:0:0:1', '1:0:0:2:0:0:3:4', '0:0:1::', 'fe80::/10', '::2', '::ffff:0:1'])],
  ['cidr', O.CIDR, O.CIDR_ARRAY, cases([['10/8', '10.0.0.0/8'], ['192.168.1.7/32', '192.168.1.7/32'], ['::/0', '::/0'], ['2001:db8::/32', '2001:db8::/32'], '::1/128'])],
  ['macaddr', O.MACADDR, O.MACADDR_ARRAY, cases([['08:00:2B:01:02:03', '08:00:2b:01:02:03'], '0800.2b01.0203'])],
  ['macaddr8', O.MACADDR8, O.MACADDR8_ARRAY, cases([['08:00:2b:01:02:03:04:05', '08:00:2b:01:02:03:04:05'], '08002b0102030405'])],
]

describe('scalar types against the server', () => {
  for (const [type, oid, arrayOid, list] of SCALARS) {
    it(type, async () => {
      await checkType(conn, type, oid, list)
      await checkArray(conn, type, arrayOid, list, { oneDimensional: oid === O.JSON_TYPE || oid === O.JSONB })
    })
  }
})
