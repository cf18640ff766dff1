export * from 'pgline/pg'
export { default } from 'pgline/pg'
