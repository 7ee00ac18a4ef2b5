#!/usr/bin/env node
require("../dist/rootlesskit.cjs");
