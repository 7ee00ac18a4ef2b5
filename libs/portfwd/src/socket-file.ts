// A socket file about to be made for a listener: what already sits at its
// path decides (socat's refusals, said plainly). bind(2) itself never follows
// a symlink nor reuses a file; this only turns the likely cases into a
// message a user can act on before trying.
import { lstatSync } from 'node:fs';
import { dirname } from 'node:path';

/** Why a socket file cannot be made at path (socat's refusals, said plainly), or undefined; fix ends the "exists" line. */
export function socketFileProblem(path: string, unlinkEarly: boolean, fix = 'remove it, or add ,unlink-early to replace it (as socat)'): string | undefined {
  if (Buffer.byteLength(path) > 107) return `${path}: a socket path must fit sun_path (107 bytes), this one has ${Buffer.byteLength(path)}: use a shorter path`;
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return undefined;
  }
  if (st.isDirectory()) return `${path} is a directory: give the path of the socket file to create`;
  if (unlinkEarly) {
    if (process.geteuid && st.uid !== process.geteuid()) return `${path} belongs to uid ${st.uid}: rk-portfwd does not remove another user's file (unlink-early); choose another path`;
    return undefined;
  }
  const what = st.isSocket() ? 'a socket file' : st.isSymbolicLink() ? 'a symlink (never followed)' : 'a file';
  return `${path} exists (${what}${process.geteuid && st.uid !== process.geteuid() ? ` of uid ${st.uid}` : ''}): ${fix}`;
}

/** What to do when listening on the socket file path failed with code (undefined: no advice beyond the error). */
export function socketListenFix(path: string, code: string | undefined): string | undefined {
  const dir = dirname(path);
  if (code === 'ENOENT' || code === 'ENOTDIR') return `the directory ${dir} does not exist: create it first, or choose another path`;
  if (code === 'EACCES' || code === 'EPERM') return `you cannot create files in ${dir}: choose a directory of your own (e.g. under $XDG_RUNTIME_DIR)`;
  return undefined;
}
