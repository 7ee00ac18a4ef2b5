#!/usr/bin/env node
require("../dist/rk-idmap.cjs");
