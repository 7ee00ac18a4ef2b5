#!/usr/bin/env node
// Writes docs/benchmarks.md and its charts (docs/img/benchmark-*.svg) from one
// run of the benchmark scripts: each script's table is captured as it prints
// it, and every throughput (Gbps) and time (ms) column becomes a bar chart of
// ours beside upstream, pasta, socat and loopback. No tool beyond Node.
//
//   node hack/benchmarks-doc.mjs            # full runs (minutes; on a quiet machine)
//   node hack/benchmarks-doc.mjs --quick    # short runs, to check the whole chain
//   node hack/benchmarks-doc.mjs --only startup,iperf3-net   # re-runs these; keeps the page's other sections
//   node hack/benchmarks-doc.mjs --only swarm --replay OUT     # the table a run of the script already printed (its stdout in OUT)
//
// A benchmark script prints one table, either as a markdown table (lines
// "| a | b |", a "|---|" line under the header) or as aligned columns (a
// header line, then one line per row, columns separated by two or more
// spaces); the first column is the row's label, numbers may be "-" (not
// measured). Other lines (a title, notes, ratios) are kept as they are.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : undefined;
const replay = args.includes('--replay') ? args[args.indexOf('--replay') + 1] : undefined;
if (replay && only?.length !== 1) throw new Error('--replay FILE needs --only NAME (one benchmark): FILE is that script\'s stdout');

/** The scripts, in the page's order, with their short-run settings. */
const BENCHMARKS = [
  {
    name: 'startup',
    script: 'hack/benchmark-startup.sh',
    title: 'Start-up: `rootlesskit true`',
    about: 'Median wall time of `rootlesskit true` (ours and upstream\'s Go binary) and of a bare `node -e 0`, from one hyperfine run. Target: ours minus one Node start at most upstream\'s time.',
    quickEnv: { RUNS: '5' },
  },
  {
    name: 'iperf3-net',
    script: 'hack/benchmark-iperf3-net.sh',
    title: 'Network drivers: egress throughput',
    about: 'iperf3 from inside the namespace to a server on the host\'s 127.0.0.1 (through the gateway), MTU 1500 and 65520; ours beside upstream rootlesskit + slirp4netns and pasta alone. Memory: RSS of rootlesskit and its helpers mid-run.',
    quickEnv: { DURATION: '2', ROUNDS: '1' },
  },
  {
    name: 'portfwd',
    script: 'hack/benchmark-portfwd.sh',
    title: 'rk-portfwd host to host',
    about: 'iperf3 TCP through a host-to-host forwarder: rk-portfwd beside socat, with loopback (no forwarder) as the ceiling; TCP->UNIX and UNIX->TCP rows run the same socat line through each (the UNIX side through one rk-portfwd bridge shared by both); interleaved rounds, medians. Target: rk-portfwd ≥ 2.5× socat TCP->TCP, ≥ 3× for the UNIX rows.',
    quickEnv: { ROUNDS: '1', SECONDS_PER_RUN: '2' },
  },
  {
    name: 'iperf3-port',
    script: 'hack/benchmark-iperf3-port.sh',
    title: 'Port drivers: host to namespace',
    about: 'iperf3 from the host to a server inside the namespace through `--port-driver=builtin -p`: ours beside upstream rootlesskit\'s builtin driver, with loopback as the ceiling; TCP Gbit/s and UDP datagrams per second. Targets: TCP ≥ 1.3×, UDP ≥ 1.5× upstream, none reordered.',
    quickEnv: { ROUNDS: '1', SECONDS_PER_RUN: '2' },
  },
  {
    name: 'bypass',
    script: 'hack/benchmark-bypass.sh',
    title: 'Socket bypass: egress at the host\'s speed',
    about: 'iperf3 from inside the namespace to a server in a test-made "remote" network namespace (192.0.2.202, a veth from the host namespace), TCP and UDP (received Gbit/s) at MTU 1500 and 65520: `rootlesskit --bypass` beside the same client run on the host (the ceiling), ours without bypass and upstream rootlesskit + slirp4netns; and 10 000 blocking connect()+close() from a small C client. Needs root (it makes the namespaces; the commands run as the test user). Targets: bypass ≥ 0.9× the host for TCP and UDP, connects within 2× of the namespace path.',
    quickEnv: { DURATION: '1', ROUNDS: '1', CONNECTS: '1000' },
  },
  {
    name: 'swarm',
    script: 'hack/benchmark-swarm.sh',
    title: 'Rootless Docker Swarm: overlay between two hosts',
    about: 'iperf3 between a container on host A and one on host B over an attachable overlay network (two rootless dockerds on our rootlesskit, in two network namespaces joined by a veth; hack/swarm-lib.sh), beside iperf3 between the two hosts directly (the ceiling) and over a kernel VXLAN of the overlay\'s MTU made on the hosts (the encapsulation alone); one swarm per case (by default --net=builtin and slirp4netns at dockerd-rootless.sh\'s default MTU and builtin with --mtu=65520 and an overlay made with `-o com.docker.network.driver.mtu=64000`; the table below is CASES="builtin-notnlgso builtin", the NAT engine\'s tap without and with UDP tunnel GSO, both with the UDP fast path), interleaved rounds in each, medians; CPU of the busiest threads mid-run during the overlay runs. Needs root (it makes the hosts). Goal: overlay TCP ≥ 0.5× direct at the default MTU.',
    quickEnv: { ROUNDS: '1', SECONDS_PER_RUN: '2', CASES: 'builtin' },
  },
];

function runScript(b) {
  if (replay) return { out: readFileSync(replay, 'utf8'), err: '' };
  const env = { ...process.env, ...(quick ? b.quickEnv : {}) };
  process.stderr.write(`[benchmarks-doc] ${b.script}${quick ? ` (${Object.entries(b.quickEnv).map(([k, v]) => `${k}=${v}`).join(' ')})` : ''}\n`);
  const r = spawnSync('bash', [join(root, b.script)], { env, encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`${b.script} failed (status ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return { out: r.stdout, err: r.stderr };
}

/** Header, rows and notes of a script's table; `markdown` when it printed a markdown table. */
export function parseTable(text) {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.some((l) => l.trim().startsWith('|'))) {
    const cells = (l) => l.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
    const table = lines.filter((l) => l.trim().startsWith('|') && !/^\|[\s|:-]+\|?$/.test(l.trim()));
    const [head, ...body] = table.map(cells);
    return {
      markdown: true,
      header: head ?? [],
      rows: body.map((c) => ({ label: c[0], values: c.slice(1) })),
      notes: lines.filter((l) => !l.trim().startsWith('|')),
    };
  }
  const cols = (l) => l.trim().split(/\s{2,}/);
  const header = cols(lines[0] ?? '');
  const rows = [];
  const notes = [];
  for (const l of lines.slice(1)) {
    const c = cols(l);
    if (c.length === header.length) rows.push({ label: c[0], values: c.slice(1) });
    else notes.push(l.trim());
  }
  return { markdown: false, header, rows, notes };
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Bar colour by what a row is. */
function colour(label) {
  if (/^ours|^rk-portfwd|--net=builtin/i.test(label)) return '#2b7bb9';
  if (/upstream/i.test(label)) return '#e08a1e';
  if (/loopback|node -e|ceiling|^direct/i.test(label)) return '#8c8c8c';
  return '#5aa25a'; // pasta, socat, other references
}

/** One horizontal bar chart per numeric column (Gbps or ms) of the table. */
export function svgChart(title, table) {
  const charts = [];
  table.header.slice(1).forEach((h, i) => {
    if (!/gbps|gbit\/s|pkt\/s|pps|\bms\b/i.test(h)) return;
    const bars = table.rows
      .map((r) => ({ label: r.label, value: Number(r.values[i]) }))
      .filter((b) => Number.isFinite(b.value) && !/ - /.test(b.label));
    if (bars.length) charts.push({ h, bars });
  });
  if (!charts.length) return undefined;
  const W = 760;
  const labelW = 300;
  const barH = 18;
  const gap = 6;
  let y = 34;
  let body = '';
  for (const c of charts) {
    body += `<text x="10" y="${y}" font-weight="bold">${esc(c.h)}</text>\n`;
    y += 10;
    const max = Math.max(...c.bars.map((b) => b.value)) || 1;
    for (const b of c.bars) {
      const w = Math.max(1, Math.round(((W - labelW - 90) * b.value) / max));
      body += `<text x="${labelW - 8}" y="${y + 13}" text-anchor="end">${esc(b.label)}</text>`;
      body += `<rect x="${labelW}" y="${y}" width="${w}" height="${barH}" fill="${colour(b.label)}"/>`;
      body += `<text x="${labelW + w + 6}" y="${y + 13}">${b.value}</text>\n`;
      y += barH + gap;
    }
    y += 22;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="18" font-size="14" font-weight="bold">${esc(title)}</text>
${body}</svg>
`;
}

function machine() {
  const cpu = cpus();
  const os = existsSync('/etc/os-release') ? (/^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '') : '';
  return `${cpu.length} × ${cpu[0]?.model?.trim() ?? 'CPU'}, Linux ${release()}, ${os}, Node ${process.versions.node}`;
}

/** A section of the current page (for --only: the benchmarks not re-run stay as they were). */
function previousSection(title) {
  const file = join(root, 'docs', 'benchmarks.md');
  if (!existsSync(file)) return undefined;
  const page = readFileSync(file, 'utf8');
  const start = page.indexOf(`\n## ${title}\n`);
  if (start < 0) return undefined;
  const end = page.indexOf('\n## ', start + 1);
  return page.slice(start + 1, end < 0 ? undefined : end + 1);
}

const sections = [];
for (const b of BENCHMARKS) {
  if (only && !only.includes(b.name)) {
    const kept = previousSection(b.title);
    if (kept) sections.push(kept.trimEnd() + '\n'); // one blank line between sections, however often re-run
    continue;
  }
  if (!existsSync(join(root, b.script))) {
    sections.push(`## ${b.title}\n\n${b.about}\n\n*Not run: \`${b.script}\` is not in this checkout.*\n`);
    continue;
  }
  const { out } = runScript(b);
  const table = parseTable(out);
  const how = `\`${b.script}\`${quick ? ` (short run: ${Object.entries(b.quickEnv).map(([k, v]) => `${k}=${v}`).join(' ')})` : ''}`;
  let text = `## ${b.title}\n\n${b.about}\n\n${how}:\n\n`;
  if (table.markdown) {
    // the table as markdown (rendered), its other lines as paragraphs around it
    let inTable = false;
    for (const l of out.trimEnd().split('\n')) {
      const isRow = l.trim().startsWith('|');
      if (isRow !== inTable) text += '\n';
      text += isRow ? `${l.trim()}\n` : `${l.trim()}\n`;
      inTable = isRow;
    }
  } else {
    text += `\`\`\`\n${out.trimEnd()}\n\`\`\`\n`;
  }
  const svg = svgChart(b.title.replace(/`/g, ''), table);
  if (svg) {
    mkdirSync(join(root, 'docs', 'img'), { recursive: true });
    writeFileSync(join(root, 'docs', 'img', `benchmark-${b.name}.svg`), svg);
    text += `\n![${b.title.replace(/`/g, '')}](img/benchmark-${b.name}.svg)\n`;
  }
  sections.push(text);
}

const page = `# Benchmarks

Written by \`node hack/benchmarks-doc.mjs${quick ? ' --quick' : ''}\` from one run of the benchmark
scripts; do not edit by hand. Each table puts ours beside the reference from the
same run: on a shared or noisy machine compare the ratios, not the absolute
numbers. Blue: ours; orange: upstream RootlessKit (Debian's Go build); green:
other references (pasta, socat, a kernel VXLAN); grey: the ceiling (loopback, direct) or the floor
(\`node -e 0\`).${quick ? '\n\n**These are short runs, made to check the chain end to end, not final numbers.**' : ''}

Machine: ${machine()}.

${sections.join('\n')}`;
writeFileSync(join(root, 'docs', 'benchmarks.md'), page);
process.stderr.write(`[benchmarks-doc] wrote docs/benchmarks.md\n`);
