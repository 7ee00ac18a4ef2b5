#!/usr/bin/env node
require("../dist/rk-copyup.cjs");
