/** Where subordinate ID ranges come from: getsubids (dynamic), /etc/sub[ug]id (static), or dynamic then static (auto). */
export type SubidSource = 'auto' | 'dynamic' | 'static';

/** One subordinate range of the caller; `from` says where it was found ("/etc/subuid:3" or "getsubids"). */
export interface IdRange {
  start: number;
  count: number;
  from: string;
}

/** One line of /proc/PID/uid_map or gid_map. */
export interface IdMapLine {
  inside: number;
  outside: number;
  count: number;
}

/** What to write for a user: the caller as root, their subordinate ranges below. */
export interface IdMaps {
  user: string;
  uid: number;
  gid: number;
  uidMap: IdMapLine[];
  gidMap: IdMapLine[];
  uidRanges: IdRange[];
  gidRanges: IdRange[];
  warnings: string[];
  source: 'dynamic' | 'static';
}

export interface ComputeOptions {
  /** user name to look up (default: the name of the current uid) */
  user?: string;
  /** default: the effective uid */
  uid?: number;
  /** default: the effective gid */
  gid?: number;
  /** default 'auto' */
  source?: SubidSource;
  /** default /etc/subuid */
  subuidFile?: string;
  /** default /etc/subgid */
  subgidFile?: string;
  /** getsubids binary (looked up on PATH unless it contains a slash); default 'getsubids' */
  getsubids?: string;
  /** receives notes on how the ranges were found (e.g. why auto fell back to the files) */
  debug?: (msg: string) => void;
}

/** UIDs or GIDs: the words and files that differ between the two. */
export type IdKind = 'uid' | 'gid';
