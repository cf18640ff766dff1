#!/usr/bin/env node
// Generates src/errors/sqlstate.ts from scripts/errcodes.txt (PostgreSQL's own
// list of SQLSTATE codes), so the error classes track the server's codes
// instead of a hand-kept copy.
//
//   node scripts/gen-errcodes.mjs [output-path]
//
// The output path defaults to src/errors/sqlstate.ts; the unit test passes a
// temporary path and compares the result with the committed file byte for byte.
//
// Naming rules (all deterministic, all checked below — a clash aborts):
// - Each "Section: Class NN - Title" becomes a class named PascalCase(Title),
//   with any trailing "(...)" remark dropped: "Class 02 - No Data (this is
//   also a warning ...)" -> NoData, "PL/pgSQL Error" -> PlpgsqlError.
// - Each code becomes a class named PascalCase(condition name), extending its
//   section's class. The generic "NN000" code of a section (and any code whose
//   name equals the section's class name) is represented by the section class
//   itself instead of a duplicate: 23000 -> IntegrityConstraintViolation, and
//   F0000 (config_file_error) -> ConfigurationFileError.
// - A few condition names occur in two classes (string_data_right_truncation
//   is warning 01004 and error 22001; null_value_not_allowed, modifying_sql_-
//   data_not_permitted, ...). PostgreSQL tells them apart by the C macro: the
//   occurrence whose macro is exactly ERRCODE_<NAME> keeps the plain name, and
//   every other occurrence gets its class title appended: 01004 ->
//   string_data_right_truncation_warning / StringDataRightTruncationWarning.
//   When no occurrence is plain (the 2F/38 pairs), all of them are suffixed.
//   conditionName() still returns PostgreSQL's own name for every code.
// - Names that would shadow a JavaScript global error (SyntaxError, 42601) are
//   declared under a "Pg" prefix inside the module and exported under their
//   real name, so the module itself never sees a shadowed global.
// - Lines without a condition name are C-only aliases of a code listed with a
//   name (ERRCODE_ARRAY_ELEMENT_ERROR = 2202E, ERRCODE_UNDEFINED_CURSOR = 34000
//   filed under class 42); they are skipped, but each must have a named twin.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const INPUT = fileURLToPath(new URL('errcodes.txt', import.meta.url))
const DEFAULT_OUTPUT = fileURLToPath(new URL('../src/errors/sqlstate.ts', import.meta.url))

// Error constructors that are globals in some JavaScript engine. A fixed list
// (not `name in globalThis`) keeps the output identical on every Node version.
const JS_GLOBAL_ERRORS = new Set([
  'Error', 'AggregateError', 'EvalError', 'InternalError', 'RangeError',
  'ReferenceError', 'SuppressedError', 'SyntaxError', 'TypeError', 'URIError',
])

const words = (s) => s.split(/[\s_-]+/).map((w) => w.replace(/[^A-Za-z0-9]/g, '')).filter(Boolean)
const pascal = (s) => words(s).map((w) => w[0].toUpperCase() + w.slice(1).toLowerCase()).join('')
const snake = (s) => words(s).map((w) => w.toLowerCase()).join('_')

/** @returns {{ cls: string, title: string, codes: { code: string, macro: string, name: string }[] }[]} */
function parse(text) {
  const sections = []
  const aliases = [] // [line number, code] of unnamed lines
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const sec = /^Section: Class ([0-9A-Z]{2}) - (.+)$/.exec(line)
    if (sec) {
      sections.push({ cls: sec[1], title: sec[2].replace(/\s*\(.*\)\s*$/, ''), codes: [] })
      return
    }
    const m = /^([0-9A-Z]{5})\s+([EWS])\s+(ERRCODE_[A-Z0-9_]+)(?:\s+([a-z0-9_]+))?$/.exec(line)
    if (!m) throw new Error(`errcodes.txt:${i + 1}: cannot parse ${JSON.stringify(raw)}`)
    if (m[4] === undefined) {
      aliases.push([i + 1, m[1]])
      return
    }
    const section = sections.at(-1)
    if (!section || !m[1].startsWith(section.cls)) {
      throw new Error(`errcodes.txt:${i + 1}: code ${m[1]} is outside its class section`)
    }
    section.codes.push({ code: m[1], macro: m[3], name: m[4] })
  })
  const named = new Set(sections.flatMap((s) => s.codes.map((c) => c.code)))
  for (const [n, code] of aliases) {
    if (!named.has(code)) throw new Error(`errcodes.txt:${n}: ${code} has no condition name anywhere`)
  }
  return sections
}

function build(sections) {
  const entries = sections.flatMap((s) => s.codes.map((c) => ({ section: s, code: c.code, macro: c.macro, pgName: c.name })))
  const codes = new Set()
  for (const e of entries) {
    if (codes.has(e.code)) throw new Error(`SQLSTATE ${e.code} is named twice`)
    codes.add(e.code)
  }
  const uses = new Map()
  for (const e of entries) uses.set(e.pgName, (uses.get(e.pgName) ?? 0) + 1)
  for (const e of entries) {
    const plain = uses.get(e.pgName) === 1 || e.macro === `ERRCODE_${e.pgName.toUpperCase()}`
    e.key = plain ? e.pgName : `${e.pgName}_${snake(e.section.title)}`
  }

  const classes = [] // { name, parent, doc, codeType } in output order
  const classOf = new Map() // section cls -> class name
  const classOfCode = new Map() // code -> class name
  for (const s of sections) {
    if (classOf.has(s.cls)) throw new Error(`class ${s.cls} has two sections`)
    const name = pascal(s.title)
    classOf.set(s.cls, name)
    classes.push({ name, parent: 'DatabaseError', doc: `Class ${s.cls} — ${s.title}.`, codeType: `\`${s.cls}\${string}\`` })
    for (const e of entries.filter((x) => x.section === s)) {
      const own = pascal(e.key)
      if (e.code === `${s.cls}000` || own === name) {
        classOfCode.set(e.code, name)
        classes.find((c) => c.name === name).doc += ` Also stands for ${e.code} ${e.pgName}.`
        continue
      }
      classOfCode.set(e.code, own)
      classes.push({ name: own, parent: name, doc: `${e.code} ${e.pgName}`, codeType: `'${e.code}'` })
    }
  }

  const seen = new Set()
  for (const c of classes) {
    if (seen.has(c.name) || c.name === 'DatabaseError') throw new Error(`class name ${c.name} is used twice`)
    seen.add(c.name)
    c.local = JS_GLOBAL_ERRORS.has(c.name) ? `Pg${c.name}` : c.name
  }
  for (const c of classes) {
    if (c.local !== c.name && seen.has(c.local)) throw new Error(`local name ${c.local} clashes`)
  }
  const keys = new Set()
  for (const e of entries) {
    if (keys.has(e.key)) throw new Error(`SQLSTATE key ${e.key} is used twice`)
    keys.add(e.key)
  }
  return { entries, classes, classOf, classOfCode }
}

function render({ entries, classes, classOf, classOfCode }) {
  const local = new Map(classes.map((c) => [c.name, c.local]))
  const ref = (name) => local.get(name) ?? name
  const out = [
    '// DO NOT EDIT — generated by scripts/gen-errcodes.mjs from scripts/errcodes.txt.',
    '// Run `npm run gen:errcodes` after changing either.',
    "import { DatabaseError } from './base.js'",
    '',
    '// Each class narrows `code`, which also keeps the otherwise identical',
    '// classes distinct to TypeScript, so `instanceof` narrowing works.',
  ]
  for (const c of classes) {
    out.push('', `/** ${c.doc} */`)
    const head = c.local === c.name ? 'export class' : 'class'
    out.push(`${head} ${c.local} extends ${ref(c.parent)} {`, `  declare readonly code: ${c.codeType}`, '}')
    if (c.local !== c.name) {
      out.push(`// Declared as ${c.local} so this module never shadows the global ${c.name}.`)
      out.push(`Object.defineProperty(${c.local}, 'name', { value: '${c.name}' })`)
      out.push(`export { ${c.local} as ${c.name} }`)
    }
  }
  out.push('', '/** Condition name (as in PL/pgSQL, suffixed where PostgreSQL reuses one) → SQLSTATE. */')
  out.push('export const SQLSTATE = {')
  for (const e of entries) out.push(`  ${e.key}: '${e.code}',`)
  out.push('} as const', '')
  out.push('const CONDITION_NAMES: ReadonlyMap<string, string> = new Map([')
  for (const e of entries) out.push(`  ['${e.code}', '${e.pgName}'],`)
  out.push('])', '')
  out.push("/** PostgreSQL's condition name for a SQLSTATE, e.g. '23505' → 'unique_violation'. */")
  out.push('export function conditionName(code: string): string | undefined {', '  return CONDITION_NAMES.get(code)', '}', '')
  out.push('/** SQLSTATE → the most specific class for it. */')
  out.push('export const errorClassByCode: ReadonlyMap<string, typeof DatabaseError> = new Map<string, typeof DatabaseError>([')
  for (const e of entries) out.push(`  ['${e.code}', ${ref(classOfCode.get(e.code))}],`)
  out.push('])', '')
  out.push('/** Two-character SQLSTATE class → its class, for codes this list does not know. */')
  out.push('export const errorClassByClass: ReadonlyMap<string, typeof DatabaseError> = new Map<string, typeof DatabaseError>([')
  for (const [cls, name] of classOf) out.push(`  ['${cls}', ${ref(name)}],`)
  out.push('])', '')
  return out.join('\n')
}

const output = process.argv[2] ?? DEFAULT_OUTPUT
writeFileSync(output, render(build(parse(readFileSync(INPUT, 'utf8')))))
