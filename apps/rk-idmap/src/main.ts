// rk-idmap: write a process's uid_map/gid_map from the caller's subordinate IDs
// (or only the caller, with --map-root); --print shows what it would write.
import { userInfo } from 'node:os';
import { Logger, runMain } from '@rk/cli';
import { computeIdMaps, writeIdMaps, writeRootOnlyMaps } from '@rk/idmap';
import { parseIdmapArgs } from './args.js';
import { readChildPid } from '@rk/state';
import { printMaps, printRootOnly, rootOnlyMaps } from './print.js';

const log = new Logger('rk-idmap');

runMain(log, async () => {
  const a = await parseIdmapArgs(process.argv.slice(2));
  log.debugEnabled = a.debug;
  const uid = process.geteuid!();
  const gid = process.getegid!();

  if (a['map-root']) {
    if (a.print) {
      const m = rootOnlyMaps(userName(uid), uid, gid);
      process.stdout.write(a.json ? `${JSON.stringify(m, null, 2)}\n` : printRootOnly(m));
      return 0;
    }
    const pid = targetPid(a.pid as string | undefined, a['state-dir']);
    await writeRootOnlyMaps(pid, uid, gid);
    log.debug(`process ${pid}: uid_map "0 ${uid} 1", gid_map "0 ${gid} 1", setgroups deny`);
    return 0;
  }

  const maps = await computeIdMaps({ source: a['subid-source'], debug: (m) => log.debug(m) });
  for (const w of maps.warnings) log.warn(w);
  if (a.print) {
    process.stdout.write(a.json ? `${JSON.stringify(maps, null, 2)}\n` : printMaps(maps));
    return 0;
  }
  const pid = targetPid(a.pid as string | undefined, a['state-dir']);
  await writeIdMaps(pid, maps);
  log.debug(`process ${pid}: ${maps.uidMap.length} uid_map and ${maps.gidMap.length} gid_map line(s) written`);
  return 0;
});

function targetPid(pid: string | undefined, stateDir: string | undefined): number {
  return pid !== undefined ? Number(pid) : readChildPid(stateDir!);
}

function userName(uid: number): string {
  try {
    return userInfo().username;
  } catch {
    return String(uid);
  }
}
