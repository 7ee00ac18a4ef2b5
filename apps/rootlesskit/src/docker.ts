// Rootless Docker's overlay networks (swarm mode). dockerd makes
// /var/lib/docker/network/files for each overlay network's load-balancer
// sandbox: the path is fixed in Docker (libnetwork), whatever --data-root
// says, and rootless it is not writable. Copying up /var/lib is not enough
// where a rootful Docker has ever run: /var/lib/docker is then root's own
// (0710), and its symlink on the tmpfs leads back to it. So when CMD is
// dockerd-rootless.sh (which runs itself again under rootlesskit), /var/lib
// is copied up with /var/lib/docker an empty directory of the namespace's
// own: the rootless daemon could not read the rootful one anyway, its data
// lives under --data-root, and nothing else changes (docs/swarm.md).
import { basename } from 'node:path';
import type { Logger } from '@rk/cli';

export const DOCKER_SCRIPT = 'dockerd-rootless.sh';
const VAR_LIB = '/var/lib';
const VAR_LIB_DOCKER = '/var/lib/docker';

/** The copy-up directories and empty directories for CMD: unchanged unless CMD is dockerd-rootless.sh. */
export function dockerCopyUp(cmd0: string, dirs: string[], log: Logger): { dirs: string[]; emptyDirs: string[] } {
  if (basename(cmd0) !== DOCKER_SCRIPT) return { dirs, emptyDirs: [] };
  const given = dirs.some((d) => d.replace(/\/+$/, '') === VAR_LIB);
  log.debug(
    `CMD is ${DOCKER_SCRIPT}: ${given ? '' : `${VAR_LIB} copied up, `}${VAR_LIB_DOCKER} an empty directory of the namespace's own (Docker makes ${VAR_LIB_DOCKER}/network/files for overlay networks whatever --data-root says)`,
  );
  return { dirs: given ? dirs : [...dirs, VAR_LIB], emptyDirs: [VAR_LIB_DOCKER] };
}
