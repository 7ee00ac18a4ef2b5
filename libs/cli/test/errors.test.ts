// RkError and the helpers every command's main uses to turn a thrown value
// into one line on stderr and an exit status.
import t from 'tap';
import { RkError, exitCodeOf, messageOf } from '../src/index.js';

t.test('RkError: a named Error with the exit status the command ends with', async (t) => {
  const e = new RkError('state dir /x is in use: stop it or choose another --state-dir');
  t.type(e, Error);
  t.type(e, RkError);
  t.equal(e.name, 'RkError');
  t.equal(e.exitCode, 1, 'exit status 1 unless told');
  t.equal(new RkError('usage', 2).exitCode, 2);
  t.equal(new RkError('not found', 127).exitCode, 127);
  const cause = new Error('EPERM');
  t.equal(new RkError('wrapped', 1, { cause }).cause, cause, 'the cause is kept for --debug');
  t.match(String(e), /^RkError: state dir/);
});

t.test('exitCodeOf: an RkError\'s own status, 1 for anything else', async (t) => {
  t.equal(exitCodeOf(new RkError('x', 126)), 126);
  t.equal(exitCodeOf(new RkError('x')), 1);
  t.equal(exitCodeOf(new RkError('x', 0)), 0, 'a status of 0 is kept as is');
  t.equal(exitCodeOf(new Error('x')), 1);
  t.equal(exitCodeOf(Object.assign(new Error('x'), { exitCode: 5 })), 1, 'only RkError carries a status');
  t.equal(exitCodeOf('string'), 1);
  t.equal(exitCodeOf(undefined), 1);
});

t.test('messageOf: the first line of an Error\'s message, String() of anything else', async (t) => {
  t.equal(messageOf(new RkError('one line')), 'one line');
  t.equal(messageOf(new Error('first\nsecond\nthird')), 'first', 'never more than one line');
  t.equal(messageOf(new TypeError('bad type')), 'bad type', 'no "TypeError:" prefix');
  t.equal(messageOf(new Error('')), '');
  t.equal(messageOf('plain string'), 'plain string');
  t.equal(messageOf(42), '42');
  t.equal(messageOf(undefined), 'undefined');
  t.equal(messageOf(null), 'null');
});
