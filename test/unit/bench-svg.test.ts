// The benchmark's chart writer (bench/svg.ts): well-formed SVG, one bar per
// data point, bar lengths proportional to the ratio to each workload's
// fastest, names escaped, and results files parsed back into chart data.
import { describe, expect, it } from 'vitest'
import { chartTitle, driverFamily, escapeXml, parseResults, renderChart, wrap, type ChartGroup } from '../../bench/svg.js'

interface Element {
  name: string
  attrs: Record<string, string>
  children: Element[]
  text: string
}

/**
 * A rough XML parser, enough to check well-formedness: every tag closed in
 * order, attributes quoted, no raw '<' in text or attributes, no '&' outside
 * a known entity. Throws on anything else.
 */
function parseXml(xml: string): Element {
  let s = xml.replace(/^<\?xml[^?]*\?>\s*/, '')
  const root: Element = { name: '#root', attrs: {}, children: [], text: '' }
  const stack: Element[] = [root]
  const checkText = (t: string): void => {
    if (/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);)/i.test(t)) throw new Error(`bare & in ${JSON.stringify(t)}`)
  }
  while (s.length > 0) {
    const lt = s.indexOf('<')
    if (lt === -1) {
      if (s.trim() !== '') throw new Error(`text after the root: ${s.slice(0, 40)}`)
      break
    }
    const text = s.slice(0, lt)
    checkText(text)
    stack.at(-1)!.text += text
    s = s.slice(lt)
    const close = /^<\/([\w:-]+)\s*>/.exec(s)
    if (close) {
      const open = stack.pop()
      if (!open || open.name !== close[1]) throw new Error(`</${close[1]}> closes <${open?.name}>`)
      s = s.slice(close[0].length)
      continue
    }
    const tag = /^<([\w:-]+)((?:\s+[\w:-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(s)
    if (!tag) throw new Error(`malformed tag at ${JSON.stringify(s.slice(0, 60))}`)
    const attrs: Record<string, string> = {}
    for (const m of tag[2]!.matchAll(/([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
      if (m[1]! in attrs) throw new Error(`duplicate attribute ${m[1]}`)
      const v = m[2] ?? m[3] ?? ''
      checkText(v)
      attrs[m[1]!] = v
    }
    const el: Element = { name: tag[1]!, attrs, children: [], text: '' }
    stack.at(-1)!.children.push(el)
    if (tag[3] !== '/') stack.push(el)
    s = s.slice(tag[0].length)
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack.at(-1)!.name}>`)
  if (root.children.length !== 1) throw new Error(`${root.children.length} root elements`)
  return root.children[0]!
}

function all(el: Element, pred: (e: Element) => boolean, out: Element[] = []): Element[] {
  if (pred(el)) out.push(el)
  for (const c of el.children) all(c, pred, out)
  return out
}

const unescape = (s: string): string =>
  s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&')

const groups: ChartGroup[] = [
  {
    name: 'point-select',
    unit: 'queries/s',
    bars: [
      { label: 'pgline', value: 9000 },
      { label: 'pg', value: 4500 },
      { label: 'C ceiling: pgbench -M prepared', value: 12000 },
    ],
  },
  {
    name: 'copy-in',
    unit: 'rows/s',
    bars: [
      { label: 'pg + pg-copy-streams', value: 1_000_000 },
      { label: 'postgres.js (insert ${sql(rows)}) & <more>', value: 250_000 },
      { label: 'pgline (raw)', value: 500_000 },
      { label: 'not measured', value: Number.NaN },
    ],
  },
  { name: 'sync-point-select', unit: 'queries/s', bars: [], note: 'skipped: dist/ is absent' },
]

describe('bench chart (bench/svg.ts)', () => {
  const svg = renderChart(groups, { title: 'A & B <title>', subtitle: ['Node "20" & friends'] })
  const doc = parseXml(svg)
  const bars = all(doc, (e) => e.name === 'rect' && e.attrs.class === 'bar')

  it('writes a well-formed SVG document', () => {
    expect(svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true)
    expect(doc.name).toBe('svg')
    expect(doc.attrs.xmlns).toBe('http://www.w3.org/2000/svg')
    expect(Number(doc.attrs.height)).toBeGreaterThan(0)
    expect(doc.attrs.viewBox).toBe(`0 0 ${doc.attrs.width} ${doc.attrs.height}`)
  })

  it('draws one bar per data point with a positive finite value', () => {
    expect(bars).toHaveLength(6)
    // Every bar lies inside the drawing.
    for (const b of bars) expect(Number(b.attrs.y) + Number(b.attrs.height)).toBeLessThanOrEqual(Number(doc.attrs.height))
  })

  it('makes bar lengths proportional to the ratio to the group\'s fastest', () => {
    const ratios = bars.map((b) => Number(b.attrs['data-ratio']))
    // Fastest first within each group: point-select 12000, 9000, 4500; copy-in 1M, 500k, 250k.
    expect(ratios).toEqual([1, 0.75, 0.375, 1, 0.5, 0.25])
    const full = Number(bars[0]!.attrs.width)
    expect(full).toBeGreaterThan(100)
    for (const b of bars) {
      expect(Number(b.attrs.width)).toBeCloseTo(full * Number(b.attrs['data-ratio']), 0)
      expect(b.attrs.x).toBe(bars[0]!.attrs.x) // one shared 0 on the axis
      expect(Number(b.attrs.height)).toBe(Number(bars[0]!.attrs.height))
    }
    // And each bar is labelled with its ratio.
    const labels = all(doc, (e) => e.name === 'text' && e.attrs.class === 'ratio').map((e) => e.text)
    expect(labels).toEqual(['1.00', '0.75', '0.38', '1.00', '0.50', '0.25'])
  })

  it('colours bars by driver family, the same colour for every variant', () => {
    const fill = (label: string): string | undefined => {
      const row = all(doc, (e) => e.name === 'g' && e.attrs.class === 'bar-row').find((g) => g.children.some((c) => c.attrs.class === 'label' && unescape(c.text) === label))
      return row?.children.find((c) => c.name === 'rect')?.attrs.fill
    }
    expect(fill('pgline')).toBe(fill('pgline (raw)'))
    expect(fill('pg')).toBe(fill('pg + pg-copy-streams'))
    expect(fill('pg')).not.toBe(fill('pgline'))
    expect(driverFamily('pg (named statement)').name).toBe('pg')
    expect(driverFamily('pg.Pool').name).toBe('pg')
    expect(driverFamily('pg-native (named)').name).toBe('pg-native')
    expect(driverFamily('pgline sync (connectSync, dist/)').name).toBe('pgline')
    expect(driverFamily('postgres.js (max: 10)').name).toBe('postgres.js')
    expect(driverFamily('psql \\copy to /dev/null').name).toBe(driverFamily('C ceiling: pgbench -C').name)
    expect(driverFamily('something else').name).toBe('other')
    // The legend lists the families present, once each.
    const legend = all(doc, (e) => e.name === 'text' && e.attrs.class === 'legend').map((e) => unescape(e.text))
    expect(legend).toEqual(['pgline', 'pg', 'postgres.js', 'C / libpq (pgbench, psql, C ceiling)'])
  })

  it('escapes names with & < > and quotes', () => {
    expect(escapeXml(`a & b < c > d "e" 'f'`)).toBe('a &amp; b &lt; c &gt; d &quot;e&quot; &#39;f&#39;')
    expect(svg).toContain('A &amp; B &lt;title&gt;')
    expect(svg).toContain('Node &quot;20&quot; &amp; friends')
    const label = all(doc, (e) => e.name === 'text' && e.attrs.class === 'label').map((e) => unescape(e.text))
    expect(label).toContain('postgres.js (insert ${sql(rows)}) & <more>')
    expect(svg).not.toContain('<more>')
  })

  it('shows a workload without bars with its note', () => {
    const notes = all(doc, (e) => e.name === 'text' && e.attrs.class === 'note').map((e) => e.text)
    expect(notes).toEqual(['skipped: dist/ is absent'])
    const heads = all(doc, (e) => e.name === 'text' && e.attrs.class === 'group').map((e) => e.text)
    expect(heads).toEqual(['point-select', 'copy-in', 'sync-point-select'])
  })

  it('draws an empty chart without failing', () => {
    const empty = parseXml(renderChart([], { title: 'nothing' }))
    expect(all(empty, (e) => e.attrs.class === 'bar')).toHaveLength(0)
  })

  it('wraps long lines at spaces', () => {
    expect(wrap('aa bb cc dd', 5)).toEqual(['aa bb', 'cc dd'])
    expect(wrap('averyveryverylongword x', 5)).toEqual(['averyveryverylongword', 'x'])
  })
})

describe('results files parsed back (parseResults)', () => {
  const md = [
    '# pgline benchmark, 2026-11-24T00:00:00.000Z',
    '',
    'Node v20, 2 CPUs.',
    'pg 8.23.1.',
    '',
    '## wide-read: `select * from wide`: 12 columns (int4, int8, text) (rows/s)',
    '',
    '| driver | median | min | max | vs fastest | s per 1000 |',
    '|---|---:|---:|---:|---:|---:|',
    '| C ceiling: libpq | 425,987 | 390,021 | 446,387 | 1.00 | 0.002 |',
    '| pgline (rowMode \'array\') | 155,455 | 140,074 | 177,939 | 0.36 | 0.006 |',
    '',
    'pgline relative to: ...',
    '',
    '- Load average ...',
    '',
    '## sync-point-select: sync against async (queries/s)',
    '',
    'Skipped: dist/sync/index.js is absent.',
    '',
    '## Problems',
    '',
    '- pool: pg.Pool failed',
  ].join('\n')

  it('reads every workload section with its drivers and medians', () => {
    const r = parseResults(md)
    expect(r.title).toBe('pgline benchmark, 2026-11-24T00:00:00.000Z')
    expect(r.subtitle).toEqual(['Node v20, 2 CPUs.', 'pg 8.23.1.'])
    expect(r.groups).toEqual([
      {
        name: 'wide-read',
        unit: 'rows/s',
        bars: [
          { label: 'C ceiling: libpq', value: 425987 },
          { label: "pgline (rowMode 'array')", value: 155455 },
        ],
      },
      { name: 'sync-point-select', unit: 'queries/s', bars: [], note: 'Skipped: dist/sync/index.js is absent.' },
    ])
    expect(chartTitle(r.title).subtitle).toEqual(['Run of 2026-11-24T00:00:00.000Z.'])
  })
})
