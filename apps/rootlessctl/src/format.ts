// Text output of rootlessctl, laid out as upstream's client lays it out.
import type { Info, PortStatus } from '@rk/api';

/** Lines of cells laid out in columns: each cell padded to its column's widest cell plus 4 spaces. */
export function formatTable(rows: string[][]): string {
  const len = (s: string) => [...s].length;
  const widths: number[] = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 4, len(c) + 4)));
  return rows.map((row) => row.map((c, i) => c + ' '.repeat(widths[i]! - len(c))).join('') + '\n').join('');
}

export function formatInfo(info: Info): string {
  const lines = [
    `- REST API version: ${info.apiVersion}`,
    `- Implementation version: ${info.version}`,
    `- State Directory: ${info.stateDir}`,
    `- Child PID: ${info.childPID}`,
  ];
  const nd = info.networkDriver;
  if (nd) {
    lines.push(`- Network Driver: ${nd.driver}`, `  - DNS: [${(nd.dns ?? []).join(' ')}]`);
    if (nd.childIP) lines.push(`  - IP: ${nd.childIP}`);
  }
  const pd = info.portDriver;
  if (pd) lines.push(`- Port Driver: ${pd.driver}`, `  - Supported protocols: [${pd.protos.join(' ')}]`);
  const cu = info.copyUpDriver;
  if (cu) lines.push(`- Copy-up Driver: ${cu.driver}`, ...cu.dirs.map((d) => `  - ${d.path}: ${d.driver}`));
  return lines.map((l) => `${l}\n`).join('');
}

export function formatPorts(ports: PortStatus[]): string {
  const rows = [['ID', 'PROTO', 'PARENTIP', 'PARENTPORT', 'CHILDIP', 'CHILDPORT']];
  for (const p of ports) {
    const s = p.spec;
    // A socket file (proto unix) shows in its side's IP column, its port column empty.
    const parent = s.parentPath ? [s.parentPath, ''] : [s.parentIP ?? '', String(s.parentPort ?? 0)];
    const child = s.childPath ? [s.childPath, ''] : [s.childIP ?? '', String(s.childPort ?? 0)];
    rows.push([String(p.id), s.proto ?? '', ...parent, ...child]);
  }
  return formatTable(rows);
}
