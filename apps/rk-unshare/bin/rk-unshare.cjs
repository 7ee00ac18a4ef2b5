#!/usr/bin/env node
require("../dist/rk-unshare.cjs");
