// The results chart (bench/results/latest.svg): for every workload, each
// driver's median throughput relative to the fastest in that workload, as
// horizontal bars on a shared 0..1 axis. One group per workload, one bar per
// contender, one colour per driver family (every pgline variant is pgline's
// colour, and so on), a legend of the families present. Written as plain SVG
// text, no dependency. run.ts draws it from the rows of a run; chart.ts
// draws it from a results .md file.

/** One contender's figure in one workload. */
export interface ChartBar {
  label: string
  /** The median rate (any unit: only ratios within a group are drawn). */
  value: number
}

/** One workload. */
export interface ChartGroup {
  name: string
  /** Shown beside the name, e.g. 'queries/s'. */
  unit?: string
  bars: ChartBar[]
  /** Shown instead of bars when there are none (e.g. why the workload was skipped). */
  note?: string
}

export interface ChartOptions {
  title: string
  /** Smaller lines under the title (machine, rounds, date). */
  subtitle?: string[]
}

/** A driver family: its legend name and colour. */
export interface Family {
  name: string
  colour: string
}

// Okabe-Ito colours (told apart with the common colour-vision deficiencies).
const FAMILIES: readonly (Family & { test: RegExp })[] = [
  { name: 'pgline', colour: '#0072B2', test: /^pgline\b/ },
  { name: 'pg', colour: '#E69F00', test: /^pg(?:$|[ .+(])/ },
  { name: 'postgres.js', colour: '#009E73', test: /^postgres\.js\b/ },
  { name: 'pg-native', colour: '#CC79A7', test: /^pg-native\b/ },
  { name: 'C / libpq (pgbench, psql, C ceiling)', colour: '#555555', test: /^(?:C ceiling|psql|pgbench|libpq)\b/ },
]
const OTHER: Family = { name: 'other', colour: '#B0B0B0' }

/** The family a contender's label belongs to ('pg (named statement)' is pg, 'pgline sync (...)' is pgline). */
export function driverFamily(label: string): Family {
  const f = FAMILIES.find((x) => x.test.test(label))
  return f ? { name: f.name, colour: f.colour } : OTHER
}

/** Text safe in SVG/XML content and in double- or single-quoted attributes. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

const n = (x: number): string => String(Math.round(x * 10) / 10)

/** `s` cut to `max` characters with an ellipsis (the full text stays in the bar's tooltip). */
function clip(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max - 1) + '…'
}

// Layout, in px.
const WIDTH = 980
const LABEL_X = 12 // left edge of the bar labels
const PLOT_X = 372 // the axis's 0
const PLOT_W = 540 // the axis's 0..1
const BAR_H = 14
const BAR_GAP = 4
const GROUP_HEAD = 22
const GROUP_GAP = 14
const LABEL_CHARS = 58
const SUBTITLE_CHARS = 165
const TICKS = [0, 0.25, 0.5, 0.75, 1]

/**
 * The chart as an SVG document. Each group's bars are drawn fastest first;
 * a bar's length is its value over the group's largest, and its label ends
 * with that ratio. Bars with a value that is not a positive finite number are
 * left out.
 */
export function renderChart(groups: ChartGroup[], opts: ChartOptions): string {
  const out: string[] = []
  const subtitle = opts.subtitle ?? []
  let y = 28
  const head: string[] = []
  head.push(`<text x="${LABEL_X}" y="${y}" class="title">${escapeXml(opts.title)}</text>`)
  for (const line of subtitle.flatMap((l) => wrap(l, SUBTITLE_CHARS))) {
    y += 15
    head.push(`<text x="${LABEL_X}" y="${y}" class="sub">${escapeXml(line)}</text>`)
  }

  // The legend: the families that have at least one bar, in FAMILIES order.
  const present = new Map<string, Family>()
  for (const g of groups) for (const b of g.bars) if (valid(b.value)) present.set(driverFamily(b.label).name, driverFamily(b.label))
  const families = [...FAMILIES.map((f) => f.name), OTHER.name].filter((k) => present.has(k)).map((k) => present.get(k)!)
  y += 24
  let x = LABEL_X
  for (const f of families) {
    const w = 22 + f.name.length * 6.6 + 18
    if (x + w > WIDTH - 12) {
      x = LABEL_X
      y += 18
    }
    head.push(`<g class="legend-item"><rect x="${n(x)}" y="${y - 10}" width="12" height="12" fill="${f.colour}"/>` +
      `<text x="${n(x + 17)}" y="${y}" class="legend">${escapeXml(f.name)}</text></g>`)
    x += w
  }

  // The axis labels above the first group; the grid lines are drawn once the height is known.
  y += 28
  const axisTop = y
  for (const t of TICKS) head.push(`<text x="${n(PLOT_X + t * PLOT_W)}" y="${axisTop - 6}" class="tick">${t.toFixed(2)}</text>`)
  head.push(`<text x="${PLOT_X - 14}" y="${axisTop - 6}" class="tick end">median throughput ÷ the workload's fastest</text>`)

  const body: string[] = []
  y = axisTop + 4
  for (const g of groups) {
    y += GROUP_HEAD
    const unit = g.unit ? `(${g.unit})` : ''
    body.push(`<text x="${LABEL_X}" y="${y - 6}" class="group">${escapeXml(g.name)}<tspan class="unit" dx="5">${escapeXml(unit)}</tspan></text>`)
    const bars = g.bars.filter((b) => valid(b.value)).sort((a, b) => b.value - a.value)
    const best = bars[0]?.value ?? 1
    if (bars.length === 0) {
      y += BAR_H
      body.push(`<text x="${PLOT_X}" y="${y - 3}" class="note">${escapeXml(clip(g.note ?? 'no results', 90))}</text>`)
      y += BAR_GAP
    }
    for (const b of bars) {
      const ratio = b.value / best
      const f = driverFamily(b.label)
      const w = ratio * PLOT_W
      const tip = `${g.name}: ${b.label}: ${b.value.toLocaleString('en-US', { maximumFractionDigits: 0 })}${g.unit ? ' ' + g.unit : ''}, ${ratio.toFixed(2)} of the fastest`
      body.push(
        `<g class="bar-row"><title>${escapeXml(tip)}</title>` +
          `<text x="${PLOT_X - 8}" y="${y + BAR_H - 3}" class="label">${escapeXml(clip(b.label, LABEL_CHARS))}</text>` +
          `<rect class="bar" x="${PLOT_X}" y="${y}" width="${n(w)}" height="${BAR_H}" fill="${f.colour}" data-ratio="${ratio.toFixed(4)}"/>` +
          `<text x="${n(PLOT_X + w + 4)}" y="${y + BAR_H - 3}" class="ratio">${ratio.toFixed(2)}</text></g>`,
      )
      y += BAR_H + BAR_GAP
    }
    y += GROUP_GAP
  }
  const axisBottom = y - GROUP_GAP + 4
  const grid = TICKS.map((t) => `<line x1="${n(PLOT_X + t * PLOT_W)}" y1="${axisTop}" x2="${n(PLOT_X + t * PLOT_W)}" y2="${axisBottom}" class="${t === 0 ? 'axis' : 'grid'}"/>`)
  for (const t of TICKS) body.push(`<text x="${n(PLOT_X + t * PLOT_W)}" y="${axisBottom + 14}" class="tick">${t.toFixed(2)}</text>`)
  const height = Math.ceil(axisBottom + 30)

  out.push('<?xml version="1.0" encoding="UTF-8"?>')
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">`)
  out.push('<style>' +
    '.title{font-size:17px;font-weight:bold;fill:#111}' +
    '.sub{font-size:11px;fill:#555}' +
    '.legend{font-size:12px;fill:#222}' +
    '.group{font-size:13px;font-weight:bold;fill:#111}' +
    '.unit{font-weight:normal;fill:#666}' +
    '.label{font-size:11px;fill:#222;text-anchor:end}' +
    '.ratio{font-size:10.5px;fill:#222}' +
    '.note{font-size:11px;fill:#777;font-style:italic}' +
    '.tick{font-size:10px;fill:#666;text-anchor:middle}' +
    '.end{text-anchor:end}' +
    '.grid{stroke:#ddd;stroke-width:1}' +
    '.axis{stroke:#888;stroke-width:1}' +
    '</style>')
  out.push(`<rect width="${WIDTH}" height="${height}" fill="#fff"/>`)
  out.push(...head, ...grid, ...body)
  out.push('</svg>')
  return out.join('\n') + '\n'
}

/**
 * The chart's title, and the first subtitle line from a results file's
 * heading ('pgline benchmark, <date>' gives 'Run of <date>.').
 */
export function chartTitle(h1: string | undefined, suffix = ''): { title: string; subtitle: string[] } {
  const when = /^pgline benchmark, (.+)$/.exec(h1 ?? '')?.[1]
  return {
    title: `pgline benchmark${suffix}: median throughput relative to the fastest, per workload`,
    subtitle: when ? [`Run of ${when}.`] : h1 ? [h1] : [],
  }
}

/** `s` broken at spaces into lines of at most `max` characters (a longer word gets a line of its own). */
export function wrap(s: string, max: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of s.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > max) {
      lines.push(line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  if (line) lines.push(line)
  return lines
}

function valid(v: number): boolean {
  return Number.isFinite(v) && v > 0
}

/**
 * The groups of a results file written by run.ts: every `## name: title (unit)`
 * section with its table's driver and median columns; a section without a
 * table keeps its first line as the note (e.g. 'Skipped: ...').
 */
export function parseResults(md: string): { title?: string; subtitle: string[]; groups: ChartGroup[] } {
  const lines = md.split('\n')
  const groups: ChartGroup[] = []
  let title: string | undefined
  const subtitle: string[] = []
  let g: ChartGroup | undefined
  let inTable = false
  for (const line of lines) {
    const h1 = /^# (.*)$/.exec(line)
    if (h1) {
      title = h1[1]
      continue
    }
    const h2 = /^## ([^:]+): (.*?)(?: \(([^()]*)\))?$/.exec(line)
    if (h2) {
      if (h2[1] === 'Problems') {
        g = undefined
        continue
      }
      g = { name: h2[1]!, ...(h2[3] ? { unit: h2[3] } : {}), bars: [] }
      groups.push(g)
      inTable = false
      continue
    }
    if (/^## /.test(line)) {
      g = undefined
      continue
    }
    if (!g) {
      if (title !== undefined && groups.length === 0 && line.trim() !== '') subtitle.push(line.trim())
      continue
    }
    if (line.startsWith('|')) {
      const cells = line.split('|').slice(1, -1).map((c) => c.trim())
      if (cells[0] === 'driver') inTable = true
      else if (inTable && !/^-+:?$/.test(cells[0] ?? '') && cells.length >= 2) {
        g.bars.push({ label: cells[0]!, value: Number(cells[1]!.replace(/,/g, '')) })
      }
      continue
    }
    if (g.bars.length === 0 && g.note === undefined && line.trim() !== '' && !line.startsWith('- ')) g.note = line.trim()
  }
  return { ...(title !== undefined ? { title } : {}), subtitle, groups }
}
