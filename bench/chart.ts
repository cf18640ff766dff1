// Draws the results chart from a results file of run.ts, for a file written
// before the chart existed or a partial run:
//   npx tsx bench/chart.ts [bench/results/latest.md] [out.svg]
// The SVG goes next to the .md (same name, .svg) unless `out.svg` is given.
// `npm run bench` draws its own chart; this is for redrawing.

import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chartTitle, parseResults, renderChart } from './svg.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const input = process.argv[2] ?? path.join(here, 'results', 'latest.md')
const output = process.argv[3] ?? input.replace(/\.md$/, '') + '.svg'
const parsed = parseResults(readFileSync(input, 'utf8'))
if (parsed.groups.length === 0) throw new Error(`${input}: no '## workload: title (unit)' sections`)
const heading = chartTitle(parsed.title)
writeFileSync(output, renderChart(parsed.groups, { title: heading.title, subtitle: [...heading.subtitle, ...parsed.subtitle] }))
console.log(`${output}: ${parsed.groups.length} workloads, ${parsed.groups.reduce((k, g) => k + g.bars.length, 0)} bars`)

