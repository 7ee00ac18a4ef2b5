import { constants } from '@rk/native';

/** The namespaces a command can be started in. */
export interface NamespaceSet {
  user?: boolean;
  mount?: boolean;
  net?: boolean;
  pid?: boolean;
  uts?: boolean;
  ipc?: boolean;
  cgroup?: boolean;
}

/** clone(2) flags for a set of namespaces. */
export function cloneFlags(ns: NamespaceSet): number {
  let f = 0;
  if (ns.user) f |= constants.CLONE_NEWUSER;
  if (ns.mount) f |= constants.CLONE_NEWNS;
  if (ns.net) f |= constants.CLONE_NEWNET;
  if (ns.pid) f |= constants.CLONE_NEWPID;
  if (ns.uts) f |= constants.CLONE_NEWUTS;
  if (ns.ipc) f |= constants.CLONE_NEWIPC;
  if (ns.cgroup) f |= constants.CLONE_NEWCGROUP;
  return f;
}

/** Names of the namespaces in a set, for messages ("user, mount"). */
export function namespaceNames(ns: NamespaceSet): string {
  return Object.entries(ns)
    .filter(([, on]) => on)
    .map(([k]) => k)
    .join(', ');
}
