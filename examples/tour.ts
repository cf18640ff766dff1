// npm start: a short tour of pgline against $DATABASE_URL or, when it is not
// set, an embedded PostgreSQL 18 that this script starts and stops itself.

import { connect, DatabaseError, UniqueViolation, type Connection } from '../src/index.js'

function step(title: string): void {
  console.log(`\n== ${title}`)
}

async function withServer<T>(fn: (url: string) => Promise<T>): Promise<T> {
  if (process.env.DATABASE_URL) {
    console.log('using $DATABASE_URL')
    return fn(process.env.DATABASE_URL)
  }
  console.log('DATABASE_URL is not set: starting an embedded PostgreSQL 18 (initdb + start, a few seconds)...')
  const { startEmbedded } = await import('../test/support/embedded.js')
  const server = await startEmbedded({ major: 18 })
  const i = server.info
  console.log(`started PostgreSQL ${i.major} on ${i.host}:${i.port} (data in ${i.dataDir})`)
  const url = `postgres://${encodeURIComponent(i.superuser.user)}:${encodeURIComponent(i.superuser.password ?? '')}@${i.host}:${i.port}/${i.database}`
  try {
    return await fn(url)
  } finally {
    console.log('\nstopping the embedded server and removing its data directory')
    await server.stop()
  }
}

async function tour(conn: Connection): Promise<void> {
  step('connected')
  console.log(`server ${conn.serverVersion}, protocol ${conn.protocolVersion}, backend pid ${conn.processId}`)

  step('a query with parameters')
  const r = await conn.query<{ n: number }>('select $1::int + 1 as n', [41])
  console.log(`select $1::int + 1 with [41] ->`, r.rows[0], `(${r.command}, ${r.rowCount} row)`)

  step('rows as arrays')
  const a = await conn.query('select 1 as x, 2 as y', [], { rowMode: 'array' })
  console.log(a.rows[0])

  step('types come back typed')
  await conn.query('create temp table tour_items (id int8 primary key, name text, price numeric, tags text[], meta jsonb, added timestamptz default now())')
  await conn.query('insert into tour_items (id, name, price, tags, meta) values ($1, $2, $3, $4, $5)', [
    9007199254740993n,
    'lamp',
    '19.90',
    ['home', 'light'],
    { watts: 40 },
  ])
  const item = (await conn.query('select * from tour_items')).rows[0]!
  console.log(item)
  console.log(`id is a ${typeof item.id}, price a ${typeof item.price} (exact), added a ${(item.added as object).constructor.name}`)

  step('several statements through the simple protocol')
  const results = await conn.simpleQuery('select 1 as one; select 2 as two')
  console.log(results.map((x) => x.rows[0]))

  step('errors are typed and the connection stays usable')
  try {
    await conn.query('insert into tour_items (id, name) values ($1, $2)', [9007199254740993n, 'duplicate'])
  } catch (err) {
    if (err instanceof UniqueViolation) console.log(`UniqueViolation ${err.code} on ${err.table}: ${err.detail}`)
    else if (err instanceof DatabaseError) console.log(`${err.name} ${err.code}: ${err.message}`)
    else throw err
  }
  console.log('still usable:', (await conn.query('select count(*)::int as n from tour_items')).rows[0])

  step('many queries in flight share round trips')
  const started = performance.now()
  const many = await Promise.all(Array.from({ length: 1000 }, (_, i) => conn.query('select $1::int as i', [i])))
  console.log(`1000 concurrent queries, results in order: ${many.every((m, i) => m.rows[0]!.i === i)}, ${Math.round(performance.now() - started)} ms`)

  step('an explicit pipeline: one round trip, each statement its own result')
  const [x, y] = await conn.pipeline((p) => Promise.all([p.query('select 1 as x'), p.query('select now() as y')]))
  console.log(x.rows[0], y.rows[0])

  step('a transaction with a savepoint')
  await conn.transaction(async (tx) => {
    await tx.query("insert into tour_items (id, name) values (1, 'kept')")
    await tx.transaction(async (sp) => {
      await sp.query("insert into tour_items (id, name) values (2, 'rolled back')")
      throw new Error('undo the savepoint only')
    }).catch((e: Error) => console.log(`savepoint rolled back: ${e.message}`))
  })
  console.log((await conn.query('select id, name from tour_items order by id')).rows)

  step('COPY in typed rows and out again')
  await conn.query('create temp table tour_copy (n int, label text)')
  const copied = await conn.copyFrom('copy tour_copy from stdin (format binary)', Array.from({ length: 1000 }, (_, i) => [i, `row ${i}`]))
  const firstRows: unknown[][] = []
  for await (const row of conn.copyTo('copy (select * from tour_copy order by n limit 3) to stdout').rows()) firstRows.push(row)
  console.log(`copied ${copied} rows in; first back out:`, firstRows)

  step('streaming a large result with flat memory')
  let total = 0
  for await (const row of conn.stream<{ g: number }>('select g from generate_series(1, 100000) g', [], { batchSize: 5000 })) total += row.g
  console.log(`sum over 100,000 streamed rows: ${total}`)

  step('notices reach a handler')
  conn.on('notice', (n) => console.log(`notice: ${n.severity} ${n.message}`))
  await conn.query(`do $$ begin raise notice 'hello from the server'; end $$`)
}

await withServer(async (url) => {
  const conn = await connect(url)
  try {
    await tour(conn)
  } finally {
    await conn.close()
  }
  console.log('\nclosed:', conn.closed)
})
