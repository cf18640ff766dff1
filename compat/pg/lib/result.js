'use strict'
// pg-cursor and pg-query-stream load these paths of pg.
module.exports = require('pgline/pg').Result
