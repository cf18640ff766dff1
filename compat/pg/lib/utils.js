'use strict'
const pg = require('pgline/pg')
module.exports = { prepareValue: pg.prepareValue, escapeIdentifier: pg.escapeIdentifier, escapeLiteral: pg.escapeLiteral }
