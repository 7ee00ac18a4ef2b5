#!/usr/bin/env node
require("../dist/rootlessctl.cjs");
