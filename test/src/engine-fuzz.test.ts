// Issue 13: a bounded fuzz run against --net=builtin in CI. 20 000 frames
// mutated from valid ones (ARP, DHCP, DNS, TCP, UDP, ICMP, ICMPv6, NDP, IPv4
// and IPv6 fragments sent in any order), seeded (RK_FUZZ_SEED, default 1),
// from inside the namespace on tap0; destinations are confined to the
// namespace's own networks and loopback, and rootlesskit runs in a network
// namespace of the test's own with only loopback (engine-lab.ts). Afterwards
// everything a user relies on must still work. Long runs: hack/fuzz-engine.sh.
import t from 'tap';
import { rootOnly } from './net-harness.js';
import { checkSurvived, EngineLab, HOST_PORT, rawframe } from './engine-lab.js';

const seed = process.env.RK_FUZZ_SEED ?? '1';

t.test(`fuzz: 20 000 mutated frames (seed ${seed}, v4 and v6) leave rootlesskit, CMD, the API, the port and outbound traffic working`, { skip: rootOnly }, async (t) => {
  const lab = await EngineLab.open(t, 'rk-fuzz');
  const er = await lab.start(t, ['--ipv6'], rawframe('fuzz', '--seed', seed, '--count', '20000', '--seconds', '40', '--dport', String(HOST_PORT), '--v6'));
  er.go();
  await checkSurvived(t, er, `fuzz seed ${seed}`);
});
