// The fast argument path: a flag table parsed with yargs-parser alone when the
// flags are valid, undefined whenever the full yargs parser must take over
// (help, version, usage errors); Go-style bare booleans; the yargs options.
import t from 'tap';
import { checkFlags, explicitBooleans, fastParse, goInt, yargsOptions, type FlagTable } from '../src/fast.js';

const FLAGS = {
  help: { type: 'boolean', describe: 'show help' },
  version: { type: 'boolean', describe: 'print the version' },
  debug: { type: 'boolean', default: false, describe: 'debug mode' },
  pidns: { type: 'boolean', default: false, describe: 'a PID namespace' },
  'copy-up': { type: 'string', array: true, default: [], describe: 'copy up DIR (repeatable)' },
  publish: { type: 'string', array: true, alias: 'p', default: [], describe: 'publish a port (repeatable)' },
  net: { type: 'string', choices: ['host', 'none', 'slirp4netns'], default: 'host', describe: 'network driver' },
  mtu: { type: 'number', default: 0, describe: 'MTU' },
  'state-dir': { type: 'string', describe: 'state directory' },
} satisfies FlagTable;

const DEFAULTS = { debug: false, pidns: false, 'copy-up': [], publish: [], net: 'host', mtu: 0 };

/** Parse the way rootlesskit does: bare booleans made explicit, halting at CMD. */
function parse(args: string[]) {
  return fastParse(explicitBooleans(args, FLAGS), FLAGS, { haltAtCommand: true });
}

t.test('defaults when no flag is given', async (t) => {
  t.same(parse([]), { _: [], ...DEFAULTS });
  t.same(parse(['sh']), { _: [], ...DEFAULTS, '--': ['sh'] });
});

t.test('valid flags of every type, with = or as the next word', async (t) => {
  t.same(parse(['--debug', '--net=none', '--mtu', '1500', '--state-dir', '/run/x', '--pidns', 'bash']), {
    _: [],
    ...DEFAULTS,
    debug: true,
    pidns: true,
    net: 'none',
    mtu: 1500,
    'state-dir': '/run/x',
    '--': ['bash'],
  });
  t.equal(parse(['--mtu=65520'])?.mtu, 65520);
  t.equal(parse(['--debug=false', 'true'])?.debug, false, 'an explicit --flag=false');
  t.equal(typeof parse(['--mtu', '9000'])?.mtu, 'number', 'numbers come back as numbers');
});

t.test('array flags: repeated, with = or a separate value, in order', async (t) => {
  const a = parse(['--copy-up=/etc', '--copy-up', '/run', '--copy-up', '/var/lib', 'sh']);
  t.same(a?.['copy-up'], ['/etc', '/run', '/var/lib']);
  t.same(a?.['--'], ['sh'], 'one value per flag: the command is not swallowed');
  t.same(parse(['--copy-up', '/etc'])?.['copy-up'], ['/etc'], 'a single use is still an array');
});

t.test('an alias: -p fills publish, and is not listed under its own name', async (t) => {
  const a = parse(['-p', '8080:80/tcp', '--publish=127.0.0.1:9090:90', '-p', '1:2', 'sh']);
  t.same(a?.publish, ['8080:80/tcp', '127.0.0.1:9090:90', '1:2']);
  t.notOk(a && 'p' in a, 'the alias is stripped');
  t.same(a?.['--'], ['sh']);
});

t.test('parsing halts at the command: its own flags are left to it', async (t) => {
  const a = parse(['--debug', 'CMD', '--flag', '--debug', '-p', 'x']);
  t.equal(a?.debug, true);
  t.same(a?.['--'], ['CMD', '--flag', '--debug', '-p', 'x']);
  t.same(a?.publish, [], 'a flag after CMD does not count');
  t.same(parse(['--', 'sh', '--help'])?.['--'], ['sh', '--help'], 'after --, even --help is CMD\'s');
  t.same(parse(['--net', 'none', '--', '--weird-name'])?.['--'], ['--weird-name']);
  t.same(parse(['--debug', 'true'])?.['--'], ['true'], '"--debug true" runs true');
});

t.test('without haltAtCommand, positionals land in _ and flags keep parsing', async (t) => {
  const a = fastParse(['a', '--debug', 'b', '7'], FLAGS);
  t.same(a?._, ['a', 'b', '7'], 'positionals as strings');
  t.equal(a?.debug, true);
});

t.test('undefined: the full parser must run', async (t) => {
  const cases: Array<[string[], string]> = [
    [['--bogus'], 'an unknown flag'],
    [['--bogus=1', 'sh'], 'an unknown flag with a value'],
    [['-x'], 'an unknown short flag'],
    [['--no-debug'], 'no boolean negation'],
    [['--net', 'bogus', 'sh'], 'a value outside the choices'],
    [['--net=bogus'], 'a value outside the choices, with ='],
    [['--mtu', 'abc', 'sh'], 'a number that is not one'],
    [['--mtu=NaN'], 'NaN'],
    [['--copy-up'], 'an array flag without its value'],
    [['--help'], '--help'],
    [['--version'], '--version'],
    [['--debug', '--help', 'sh'], '--help after another flag'],
    [['--mtu', '1', '--mtu', '2'], 'a single-valued flag given twice'],
  ];
  for (const [args, why] of cases) t.equal(parse(args), undefined, `${args.join(' ')}: ${why}`);
  t.same(parse(['--help=false'])?._, [], '--help=false is no request for help');
});

t.test('explicitBooleans: a bare boolean becomes --flag=true, nothing else changes', async (t) => {
  t.same(explicitBooleans(['--debug', 'true'], FLAGS), ['--debug=true', 'true']);
  t.same(explicitBooleans(['--debug', '--pidns', 'sh', '-c', 'x'], FLAGS), ['--debug=true', '--pidns=true', 'sh', '-c', 'x']);
  t.same(explicitBooleans(['--debug=false', 'sh'], FLAGS), ['--debug=false', 'sh'], 'an explicit value is kept');
  t.same(explicitBooleans([], FLAGS), []);
});

t.test('explicitBooleans: a valued flag\'s value is skipped, even if it looks like a flag name', async (t) => {
  t.same(explicitBooleans(['--state-dir', '--debug', '--debug', 'sh'], FLAGS), ['--state-dir', '--debug', '--debug=true', 'sh']);
  t.same(explicitBooleans(['-p', '8080:80', '--debug', 'sh'], FLAGS), ['-p', '8080:80', '--debug=true', 'sh'], 'aliases too');
  t.same(explicitBooleans(['--copy-up', '/etc', '--mtu', '1500', '--debug'], FLAGS), ['--copy-up', '/etc', '--mtu', '1500', '--debug=true']);
});

t.test('explicitBooleans: stops at -- and at the command', async (t) => {
  t.same(explicitBooleans(['--debug', '--', '--debug'], FLAGS), ['--debug=true', '--', '--debug']);
  t.same(explicitBooleans(['sh', '--debug'], FLAGS), ['sh', '--debug']);
  t.same(explicitBooleans(['--net=none', 'CMD', '--pidns'], FLAGS), ['--net=none', 'CMD', '--pidns']);
  t.same(explicitBooleans(['--unknown', '--debug'], FLAGS), ['--unknown', '--debug=true'], 'an unknown flag is left for the parser to refuse');
});

t.test('explicitBooleans: a boolean alias', async (t) => {
  const table = { verbose: { type: 'boolean', alias: 'v', describe: 'v' }, quiet: { type: 'boolean', alias: 'silent', describe: 'q' } } satisfies FlagTable;
  t.same(explicitBooleans(['-v', '--silent', 'x'], table), ['-v=true', '--silent=true', 'x']);
  t.same(fastParse(explicitBooleans(['-v', '--silent', 'x'], table), table, { haltAtCommand: true }), { _: [], verbose: true, quiet: true, '--': ['x'] });
});

t.test('yargsOptions: the same table as yargs options', async (t) => {
  const o = yargsOptions(FLAGS);
  t.same(Object.keys(o), Object.keys(FLAGS), 'every flag, in order');
  t.same(o.debug, { type: 'boolean', default: false, describe: 'debug mode' });
  t.same(o.help, { type: 'boolean', describe: 'show help' }, 'no default key when there is none');
  t.same(o['copy-up'], { type: 'string', array: true, nargs: 1, default: [], describe: 'copy up DIR (repeatable)' }, 'arrays take one value per use');
  t.same(o.publish, { type: 'string', array: true, nargs: 1, alias: 'p', default: [], describe: 'publish a port (repeatable)' });
  t.same(o.net, { type: 'string', default: 'host', choices: ['host', 'none', 'slirp4netns'], describe: 'network driver' });
  t.same(o.mtu, { type: 'number', default: 0, describe: 'MTU' });
  t.same(o['state-dir'], { type: 'string', describe: 'state directory' });
  t.notOk('group' in (yargsOptions({ x: { type: 'string', describe: 'x', group: 'G:' } }).x as object), 'groups are applied separately');
});

t.test('checkFlags: Go flag-package rules before CMD', async (t) => {
  t.same(checkFlags(['--debug=0', '--pidns=T', 'sh'], FLAGS), { args: ['--debug=false', '--pidns=true', 'sh'] });
  t.same(checkFlags(['--pidns=yes', 'sh'], FLAGS).error, 'invalid boolean value "yes" for --pidns: parse error');
  t.same(checkFlags(['--state-dir'], FLAGS).error, 'flag needs an argument: --state-dir');
  t.match(checkFlags(['--state-dir', '--pidns', 'sh'], FLAGS).error, /^flag needs an argument: --state-dir \(--pidns is a flag/);
  t.same(checkFlags(['--state-dir=--pidns', 'sh'], FLAGS), { args: ['--state-dir=--pidns', 'sh'] }, 'an explicit value may start with -');
  t.same(checkFlags(['--state-dir', '-', 'sh'], FLAGS), { args: ['--state-dir', '-', 'sh'] });
  t.same(checkFlags(['--mtu', '0x5dc', '--mtu=0o17', 'sh'], FLAGS), { args: ['--mtu', '1500', '--mtu=15', 'sh'] });
  t.same(checkFlags(['--mtu=abc'], FLAGS).error, 'invalid value "abc" for flag --mtu: parse error');
  t.same(checkFlags(['sh', '--state-dir'], FLAGS), { args: ['sh', '--state-dir'] }, 'CMD\'s own flags are not ours');
  t.same(checkFlags(['--', '--pidns=yes'], FLAGS), { args: ['--', '--pidns=yes'] });
  t.same(checkFlags(['--bogus', '--debug'], FLAGS), { args: ['--bogus', '--debug=true'] }, 'an unknown flag is left for the parser to refuse');
});

t.test('goInt: strconv.ParseInt(s, 0, 64)', async (t) => {
  for (const [s, n] of [['42', 42], ['-7', -7], ['+7', 7], ['0x2a', 42], ['0X2A', 42], ['0o52', 42], ['052', 42], ['0b101010', 42], ['1_000', 1000], ['0x_2a', 42], ['0', 0]] as const) t.equal(goInt(s), n, s);
  for (const s of ['', 'abc', '1e3', '12.5', '08', '0x', ' 1', '1 ']) t.ok(Number.isNaN(goInt(s)), JSON.stringify(s));
});
