// rk-portfwd: forward ports host to host, into a namespace, or through
// slirp4netns's API; serve the ports API of a state dir.
import { Logger, RkError, runMain } from '@rk/cli';
import { ipOnlyDriverProblem, parsePortSpec } from '@rk/api';
import { BUILTIN_PROTOS, SLIRP4NETNS_PROTOS, SocatSyntaxError, parseSocatForward } from '@rk/portfwd';
import { parsePortfwdArgs } from './args.js';
import { runPortfwd } from './run.js';
import { runSocat } from './run-socat.js';

const log = new Logger('rk-portfwd');

runMain(log, async () => {
  const a = await parsePortfwdArgs(process.argv.slice(2));
  log.debugEnabled = a.debug;
  if (a._.length === 2) {
    let fwd;
    try {
      fwd = parseSocatForward(a._[0]!, a._[1]!);
    } catch (e) {
      if (e instanceof SocatSyntaxError) throw new RkError(`${e.message} (see rk-portfwd --help)`, 2);
      throw e;
    }
    return runSocat(a, fwd, log);
  }
  // Every spec is checked before anything listens.
  const protos = a['port-driver'] === 'slirp4netns' ? SLIRP4NETNS_PROTOS : BUILTIN_PROTOS;
  const specs = a.publish.map((s) => {
    let spec;
    try {
      spec = parsePortSpec(s);
    } catch (e) {
      throw new RkError(`${(e as Error).message} (see rk-portfwd --help)`, 2);
    }
    const ipOnly = a['port-driver'] === 'slirp4netns' ? ipOnlyDriverProblem(spec, 'slirp4netns') : undefined;
    if (ipOnly) throw new RkError(`port spec ${JSON.stringify(s)}: ${ipOnly}`, 2);
    if (!protos.includes(spec.proto)) {
      throw new RkError(`port spec ${JSON.stringify(s)}: proto ${spec.proto} is not supported by the ${a['port-driver']} port driver (use one of ${protos.join(', ')})`, 2);
    }
    return spec;
  });
  return runPortfwd(a, specs, log);
});
